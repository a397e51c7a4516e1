//! handsync in the Linux ecosystem: shell completions loaded by the real shells, man pages
//! checked by the real formatters, `scripts/install` into a staged tree and a user's home
//! (and its uninstall), and help texts that say what the program does.
//! The shells and formatters are oracles: missing ones skip a test, unless
//! HANDSYNC_REQUIRE_ORACLES is set (scripts/test-all installs them).

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clap::CommandFactory;
use handsync::emulator::DeviceProfile;
use support::{oracle_available, scratch_dir};

const BIN: &str = env!("CARGO_BIN_EXE_handsync");

fn handsync(args: &[&str]) -> Output {
    let output = Command::new(BIN).args(args).output().expect("run handsync");
    assert!(
        output.status.success(),
        "handsync {args:?}: {}",
        both(&output)
    );
    output
}

fn both(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn completion_file(dir: &Path, shell: &str, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, handsync(&["completions", shell]).stdout).unwrap();
    path
}

/// Runs a shell and returns its stdout; its failure fails the test with what it said.
fn shell(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        both(&output)
    );
    stdout(&output)
}

// ---- completions ----

#[test]
fn bash_loads_the_completion_and_completes_commands_and_models() {
    if !oracle_available("bash") {
        return;
    }
    let dir = scratch_dir("eco-bash");
    let file = completion_file(&dir, "bash", "handsync.bash");
    let file = file.to_str().unwrap();
    shell("bash", &["-n", file]);
    let registered = shell(
        "bash",
        &["-c", &format!("source {file}; complete -p handsync")],
    );
    assert!(registered.contains("-F _handsync"), "{registered}");
    // The completion function as bash calls it: the words so far, the word being completed.
    let complete =
        |words: &[&str]| {
            let script =
                format!(
            "source {file}; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE=\"${{COMP_WORDS[*]}}\"; \
             COMP_POINT=${{#COMP_LINE}}; _handsync handsync \"${{COMP_WORDS[COMP_CWORD]}}\" \
             \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
            words.len() - 1
        );
            shell("bash", &["-c", &script])
        };
    assert_eq!(complete(&["handsync", "se"]).trim(), "serve");
    let models = complete(&["handsync", "emulate", "--profile", ""]);
    for model in DeviceProfile::BUILTIN {
        assert!(models.lines().any(|l| l == model), "{model} in {models}");
    }
    assert!(complete(&["handsync", "serve", "--obex"]).contains("--obex-tcp"));
}

#[test]
fn zsh_parses_the_completion_and_compinit_binds_it() {
    if !oracle_available("zsh") {
        return;
    }
    let dir = scratch_dir("eco-zsh");
    let file = completion_file(&dir, "zsh", "_handsync");
    shell("zsh", &["-n", file.to_str().unwrap()]);
    // As installed: a _handsync in fpath, found by compinit through its #compdef line.
    let bound = shell(
        "zsh",
        &[
            "-fc",
            &format!(
                "fpath=({} $fpath); autoload -U compinit; compinit -u -d {}/dump; \
                 print -r -- ${{_comps[handsync]}}",
                dir.display(),
                dir.display()
            ),
        ],
    );
    assert_eq!(bound.trim(), "_handsync");
}

#[test]
fn fish_completes_commands_options_and_models() {
    if !oracle_available("fish") {
        return;
    }
    let dir = scratch_dir("eco-fish");
    let file = completion_file(&dir, "fish", "handsync.fish");
    let file = file.to_str().unwrap();
    shell("fish", &["-n", file]);
    let complete = |line: &str| {
        shell(
            "fish",
            &[
                "--no-config",
                "-c",
                &format!("source {file}; complete -C '{line}'"),
            ],
        )
    };
    let commands = complete("handsync ");
    for command in ["serve", "sync", "emulate", "account", "completions", "man"] {
        assert!(
            commands
                .lines()
                .any(|l| l.split('\t').next() == Some(command)),
            "{command} in {commands}"
        );
    }
    let models = complete("handsync emulate --profile ");
    for model in DeviceProfile::BUILTIN {
        assert!(
            models.lines().any(|l| l.split('\t').next() == Some(model)),
            "{model}"
        );
    }
    let adds = complete("handsync account ");
    assert!(adds.lines().any(|l| l.starts_with("add\t")), "{adds}");
}

#[test]
fn an_unknown_shell_is_refused_with_the_known_ones() {
    let output = Command::new(BIN)
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let said = both(&output);
    assert!(
        said.contains("bash") && said.contains("zsh") && said.contains("fish"),
        "{said}"
    );
}

// ---- man pages ----

/// The commands `--help` lists under "Commands:", without clap's `help`.
fn listed_commands(path: &[&str]) -> Vec<String> {
    let mut args: Vec<&str> = path.to_vec();
    args.push("--help");
    let help = stdout(&handsync(&args));
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Every command path the user can type, as the help shows them: [], [serve], [account, add]...
fn command_paths() -> Vec<Vec<String>> {
    let mut paths = vec![Vec::new()];
    let mut next = 0;
    while next < paths.len() {
        let path = paths[next].clone();
        let words: Vec<&str> = path.iter().map(String::as_str).collect();
        for command in listed_commands(&words) {
            let mut child = path.clone();
            child.push(command);
            paths.push(child);
        }
        next += 1;
    }
    paths
}

fn page_name(path: &[String]) -> String {
    std::iter::once("handsync".to_string())
        .chain(path.iter().cloned())
        .collect::<Vec<_>>()
        .join("-")
        + ".1"
}

#[test]
fn every_command_has_a_man_page_that_groff_and_mandoc_accept() {
    let dir = scratch_dir("eco-man");
    let out = dir.join("man1");
    let printed = stdout(&handsync(&["man", "--out", out.to_str().unwrap()]));
    let paths = command_paths();
    assert!(paths.len() > 15, "{paths:?}");
    let expected: BTreeSet<String> = paths.iter().map(|p| page_name(p)).collect();
    let written: BTreeSet<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(written, expected, "one page per command, no other");
    assert_eq!(printed.lines().count(), expected.len(), "{printed}");
    assert!(expected.contains("handsync-account-add.1"));

    let groff = oracle_available("groff");
    let mandoc = oracle_available("mandoc");
    let man = oracle_available("man");
    for path in &paths {
        let name = page_name(path);
        let page = out.join(&name);
        let text = std::fs::read_to_string(&page).unwrap();
        assert!(text.is_ascii(), "{name}: roff input must be ASCII");
        // The page documents every option the command's help lists.
        let mut words: Vec<&str> = path.iter().map(String::as_str).collect();
        words.push("--help");
        for option in long_options(&stdout(&handsync(&words))) {
            if option != "--help" && option != "--version" {
                let roff = option.replace('-', "\\-");
                assert!(text.contains(&roff), "{name} lacks {option}");
            }
        }
        if groff {
            let output = Command::new("groff")
                .args(["-man", "-ww", "-z"])
                .arg(&page)
                .output()
                .unwrap();
            assert!(
                output.status.success() && output.stderr.is_empty(),
                "{name}: {}",
                both(&output)
            );
        }
        if mandoc {
            // Errors only: clap_mangen's paragraph breaks around value lists are style notes.
            let output = Command::new("mandoc")
                .args(["-Tlint", "-W", "error"])
                .arg(&page)
                .output()
                .unwrap();
            assert!(output.status.success(), "{name}: {}", both(&output));
        }
        if man {
            let output = Command::new("man")
                .arg("-l")
                .arg(&page)
                .env("MANWIDTH", "100")
                .output()
                .unwrap();
            let shown = without_overstrike(&stdout(&output));
            let title = name.trim_end_matches(".1");
            assert!(output.status.success(), "{name}: {}", both(&output));
            assert!(
                shown.contains("NAME") && shown.contains(title),
                "{name}: {shown}"
            );
        }
    }
}

/// Text as man prints it to a pipe, without the backspaces of its bold and underline.
fn without_overstrike(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\u{8}' {
            plain.pop();
        } else {
            plain.push(c);
        }
    }
    plain
}

/// The `--long` options a help text lists.
fn long_options(help: &str) -> Vec<String> {
    help.lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| {
            l.split([' ', ',', '.'])
                .find(|w| w.starts_with("--"))
                .map(|w| w.split(['[', '=']).next().unwrap().to_string())
        })
        .collect()
}

#[test]
fn man_pages_carry_the_version_and_a_reproducible_date() {
    let dir = scratch_dir("eco-man-date");
    let output = Command::new(BIN)
        .args(["man", "--out", dir.to_str().unwrap()])
        .env("SOURCE_DATE_EPOCH", "1136073600") // 2006-01-01
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", both(&output));
    let page = std::fs::read_to_string(dir.join("handsync-rejected-show.1")).unwrap();
    let title = page.lines().find(|l| l.starts_with(".TH ")).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        title,
        format!(
            ".TH handsync-rejected-show 1 2006-01-01 \"handsync {version}\" \"handsync manual\""
        )
    );
}

// ---- help texts ----

#[test]
fn serve_help_names_every_listener_and_its_option() {
    let help = stdout(&handsync(&["serve", "--help"]));
    let about = help.lines().next().unwrap();
    for listener in [
        "HTTP",
        "OBEX over TCP",
        "Bluetooth",
        "serial",
        "USB",
        "IrDA",
    ] {
        assert!(
            about.contains(listener),
            "serve's about names {listener}: {about}"
        );
    }
    let options = long_options(&help);
    for option in [
        "--http",
        "--obex-tcp",
        "--no-bluetooth",
        "--serial",
        "--no-usb",
        "--irda",
    ] {
        assert!(
            options.iter().any(|o| o == option),
            "{option} in {options:?}"
        );
    }
    assert!(!help.contains("today"), "{help}");
}

#[test]
fn emulate_help_offers_every_built_in_model() {
    let help = stdout(&handsync(&["emulate", "--help"]));
    for model in DeviceProfile::BUILTIN {
        assert!(help.contains(model), "{model} in emulate --help");
    }
    let unknown = Command::new(BIN)
        .args([
            "emulate",
            "--profile",
            "nokia-3310",
            "--http",
            "http://127.0.0.1:1/",
        ])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        both(&unknown).contains("sonyericsson-z600"),
        "{}",
        both(&unknown)
    );
}

#[test]
fn every_visible_option_and_command_says_what_it_is_for() {
    fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("{path} --{}", arg.get_id()));
            }
        }
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            let name = format!("{path} {}", sub.get_name());
            if sub.get_about().is_none() {
                missing.push(name.clone());
            }
            walk(sub, &name, missing);
        }
    }
    let mut command = handsync::cli::Cli::command();
    command.build();
    let mut missing = Vec::new();
    walk(&command, "handsync", &mut missing);
    assert!(missing.is_empty(), "without help: {missing:?}");
}

// ---- scripts/install ----

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install");

fn install(args: &[&str], home: Option<&Path>) -> Output {
    let mut command = Command::new(SCRIPT);
    command.args(args).args(["--binary", BIN]);
    if let Some(home) = home {
        // Only HOME says where a user install goes: no inherited XDG folder may redirect it.
        command
            .env("HOME", home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME");
    }
    let output = command.output().expect("run scripts/install");
    assert!(
        output.status.success(),
        "install {args:?}: {}",
        both(&output)
    );
    output
}

/// Every file under a folder, as paths relative to it.
fn files_under(root: &Path) -> BTreeSet<String> {
    fn walk(dir: &Path, root: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, found);
            } else {
                found.insert(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    let mut found = BTreeSet::new();
    if root.exists() {
        walk(root, root, &mut found);
    }
    found
}

/// What an install must put in place: (folder for units, folder for udev rules or none,
/// bash, zsh, fish completion files), all relative to the tree's root.
struct Layout<'a> {
    bin: &'a str,
    units: &'a str,
    rules: Option<&'a str>,
    bash: &'a str,
    zsh: &'a str,
    fish: &'a str,
    man: &'a str,
    manifest: &'a str,
}

fn expected_files(layout: &Layout) -> BTreeSet<String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = BTreeSet::new();
    files.insert(format!("{}/handsync", layout.bin));
    for unit in [
        "handsync.service",
        "handsync-sync@.service",
        "handsync-usb@.service",
    ] {
        assert!(repo.join("systemd").join(unit).exists(), "{unit}");
        files.insert(format!("{}/{unit}", layout.units));
    }
    if let Some(rules) = layout.rules {
        for entry in std::fs::read_dir(repo.join("udev")).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".rules") {
                files.insert(format!("{rules}/{name}"));
            }
        }
    }
    files.insert(layout.bash.to_string());
    files.insert(layout.zsh.to_string());
    files.insert(layout.fish.to_string());
    for path in command_paths() {
        files.insert(format!("{}/{}", layout.man, page_name(&path)));
    }
    files.insert(layout.manifest.to_string());
    files
}

/// The installed tree holds what the layout says (beside the `foreign` files that were there
/// before), the units run the installed binary, and the binary and completions are the
/// program's own.
fn check_installed(root: &Path, layout: &Layout, installed_binary: &str, foreign: &[&str]) {
    let mut expected = expected_files(layout);
    expected.extend(foreign.iter().map(|f| f.to_string()));
    assert_eq!(files_under(root), expected);
    assert_eq!(
        std::fs::read(root.join(layout.bin).join("handsync")).unwrap(),
        std::fs::read(BIN).unwrap()
    );
    for unit in [
        "handsync.service",
        "handsync-sync@.service",
        "handsync-usb@.service",
    ] {
        let text = std::fs::read_to_string(root.join(layout.units).join(unit)).unwrap();
        let starts: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("ExecStart="))
            .collect();
        assert_eq!(starts.len(), 1, "{unit}");
        assert!(
            starts[0].starts_with(&format!("ExecStart={installed_binary} ")),
            "{unit}: {}",
            starts[0]
        );
        assert!(!text.contains(".cargo/bin"), "{unit}");
    }
    assert_eq!(
        std::fs::read(root.join(layout.bash)).unwrap(),
        handsync(&["completions", "bash"]).stdout
    );
    let manifest = std::fs::read_to_string(root.join(layout.manifest)).unwrap();
    let listed = manifest.lines().filter(|l| l.starts_with("file ")).count();
    assert_eq!(
        listed,
        expected_files(layout).len() - 1,
        "the manifest lists every file but itself"
    );
}

#[test]
fn a_system_install_into_a_destdir_and_its_uninstall() {
    let dir = scratch_dir("eco-install-system");
    let root = dir.join("stage");
    let root_text = root.to_str().unwrap();
    let layout = Layout {
        bin: "usr/local/bin",
        units: "usr/local/lib/systemd/user",
        rules: Some("etc/udev/rules.d"),
        bash: "usr/local/share/bash-completion/completions/handsync",
        zsh: "usr/local/share/zsh/site-functions/_handsync",
        fish: "usr/local/share/fish/vendor_completions.d/handsync.fish",
        man: "usr/local/share/man/man1",
        manifest: "usr/local/share/handsync/install-manifest",
    };
    let said = both(&install(&["--destdir", root_text], None));
    check_installed(&root, &layout, "/usr/local/bin/handsync", &[]);
    // A staged tree is not the running system: nothing is reloaded.
    assert!(!said.contains("reloaded"), "{said}");

    // Installing again over itself is fine and writes the same tree.
    install(&["--destdir", root_text], None);
    check_installed(&root, &layout, "/usr/local/bin/handsync", &[]);

    // A file the install did not write, beside its own; and one of its own changed since.
    let foreign = root.join(layout.man).join("other-program.1");
    std::fs::write(&foreign, ".TH OTHER 1\n").unwrap();
    let foreign_unit = root.join(layout.units).join("someone-else.service");
    std::fs::write(&foreign_unit, "[Service]\n").unwrap();
    let edited = root
        .join(layout.rules.unwrap())
        .join("70-handsync-usb.rules");
    std::fs::write(&edited, "# the administrator's own version\n").unwrap();

    let said = both(&install(&["--destdir", root_text, "--uninstall"], None));
    let left: BTreeSet<String> = files_under(&root);
    let expected: BTreeSet<String> = [
        format!("{}/other-program.1", layout.man),
        format!("{}/someone-else.service", layout.units),
        format!("{}/70-handsync-usb.rules", layout.rules.unwrap()),
    ]
    .into();
    assert_eq!(left, expected, "{said}");
    assert!(said.contains("changed since it was installed"), "{said}");
    // Folders the install created and left empty are gone; the ones still holding files stay.
    assert!(!root.join("usr/local/share/bash-completion").exists());
    assert!(!root.join("usr/local/share/handsync").exists());
    assert!(root.join(layout.man).is_dir());

    // Nothing is left to uninstall.
    let again = Command::new(SCRIPT)
        .args(["--destdir", root_text, "--uninstall"])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        both(&again).contains("no install manifest"),
        "{}",
        both(&again)
    );
}

#[test]
fn a_prefix_of_usr_puts_the_rules_where_the_distribution_s_go() {
    let dir = scratch_dir("eco-install-usr");
    let root = dir.join("stage");
    install(
        &["--prefix", "/usr", "--destdir", root.to_str().unwrap()],
        None,
    );
    let layout = Layout {
        bin: "usr/bin",
        units: "usr/lib/systemd/user",
        rules: Some("usr/lib/udev/rules.d"),
        bash: "usr/share/bash-completion/completions/handsync",
        zsh: "usr/share/zsh/site-functions/_handsync",
        fish: "usr/share/fish/vendor_completions.d/handsync.fish",
        man: "usr/share/man/man1",
        manifest: "usr/share/handsync/install-manifest",
    };
    check_installed(&root, &layout, "/usr/bin/handsync", &[]);
}

#[test]
fn a_user_install_into_home_without_udev_rules_and_its_uninstall() {
    let dir = scratch_dir("eco-install-user");
    let home = dir.join("home");
    std::fs::create_dir_all(home.join(".config/systemd/user")).unwrap();
    let mine = home.join(".config/systemd/user/mine.service");
    std::fs::write(&mine, "[Service]\nExecStart=/bin/true\n").unwrap();

    let said = both(&install(&["--user"], Some(&home)));
    assert!(
        said.contains("udev rules skipped: they need root"),
        "{said}"
    );
    // The user's manager is told, or the user is told to tell it (no manager in a container):
    // either way the install succeeded.
    assert!(
        said.contains("systemd user manager reloaded")
            || said.contains("no systemd user manager reached")
            || !said.contains("systemctl"),
        "{said}"
    );
    let layout = Layout {
        bin: ".local/bin",
        units: ".config/systemd/user",
        rules: None,
        bash: ".local/share/bash-completion/completions/handsync",
        zsh: ".local/share/zsh/site-functions/_handsync",
        fish: ".config/fish/completions/handsync.fish",
        man: ".local/share/man/man1",
        manifest: ".local/share/handsync/install-manifest",
    };
    let installed = home.join(".local/bin/handsync");
    check_installed(
        &home,
        &layout,
        installed.to_str().unwrap(),
        &[".config/systemd/user/mine.service"],
    );

    // The store handsync keeps in the same XDG folder is not the install's either.
    let db = home.join(".local/share/handsync/handsync.db");
    std::fs::write(&db, b"SQLite format 3\0").unwrap();

    let said = both(&install(&["--user", "--uninstall"], Some(&home)));
    let left = files_under(&home);
    let expected: BTreeSet<String> = [
        ".config/systemd/user/mine.service".to_string(),
        ".local/share/handsync/handsync.db".to_string(),
    ]
    .into();
    assert_eq!(left, expected, "{said}");
    assert!(
        !home.join(".local/bin").exists(),
        "the install made it, and it is empty"
    );
    assert!(!home.join(".config/fish").exists());
}

// ---- docs/phones.md ----

/// The body rows of the first table after a heading, as trimmed cells.
fn table_rows(doc: &str, heading: &str) -> Vec<Vec<String>> {
    let rows: Vec<Vec<String>> = doc
        .lines()
        .skip_while(|l| *l != heading)
        .skip(1)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // the header and its separator
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_string())
                .collect()
        })
        .collect();
    assert!(!rows.is_empty(), "no table under {heading:?}");
    rows
}

fn docs_phones() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/phones.md")).unwrap()
}

#[test]
fn the_compatibility_table_describes_every_emulated_model_as_the_emulator_does() {
    use handsync::emulator::usb::UsbLayout;
    use handsync::markup::Version;
    use handsync::syncml::Encoding;

    let doc = docs_phones();
    let rows = table_rows(&doc, "### Emulated models");
    let named: BTreeSet<&str> = rows.iter().map(|r| r[0].trim_matches('`')).collect();
    let known: BTreeSet<&str> = DeviceProfile::BUILTIN.into_iter().collect();
    assert_eq!(
        named, known,
        "the table's models are the emulator's, no more, no fewer"
    );
    assert_eq!(rows.len(), known.len(), "one row per model");

    for profile in DeviceProfile::all() {
        let row = rows
            .iter()
            .find(|r| r[0] == format!("`{}`", profile.name))
            .unwrap();
        let (links, syncml, datastores) = (&row[2], &row[3], &row[4]);
        let version = match profile.version {
            Version::V1_0 => "1.0",
            Version::V1_1 => "1.1",
            Version::V1_2 => "1.2",
        };
        let encoding = match profile.encoding {
            Encoding::Xml => "XML",
            Encoding::Wbxml => "WBXML",
        };
        assert_eq!(
            *syncml,
            format!("{version}, {encoding}"),
            "{}",
            profile.name
        );
        assert_eq!(
            links.contains("IrDA"),
            profile.infrared,
            "{}: {links}",
            profile.name
        );
        assert_eq!(
            links.contains("USB"),
            UsbLayout::for_model(&profile.name).is_some(),
            "{}: {links}",
            profile.name
        );
        if let Some(switch) = profile.cable_switch {
            assert!(
                links.contains(&format!("`{}`", switch.command())),
                "{}: {links}",
                profile.name
            );
        }
        for datastore in &profile.datastores {
            let named = format!("{} `{}`", datastore.kind.as_str(), datastore.local_uri);
            assert!(
                datastores.contains(&named),
                "{}: {named} in {datastores}",
                profile.name
            );
        }
        assert_eq!(
            datastores.matches(" `").count(),
            profile.datastores.len(),
            "{}: no datastore the model lacks: {datastores}",
            profile.name
        );
    }
}

#[test]
fn the_tested_table_names_every_model_its_golden_transcripts_and_no_real_phone() {
    let doc = docs_phones();
    let rows = table_rows(&doc, "### What was tested against what");
    let named: BTreeSet<&str> = rows.iter().map(|r| r[0].trim_matches('`')).collect();
    let known: BTreeSet<&str> = DeviceProfile::BUILTIN.into_iter().collect();
    assert_eq!(named, known);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for row in &rows {
        let name = row[0].trim_matches('`');
        let golden = &row[row.len() - 3];
        assert_eq!(*golden, format!("`captures/{name}`"));
        assert!(
            repo.join("captures")
                .join(name)
                .join("session-1.txt")
                .is_file(),
            "{name}"
        );
        // Nothing has been tried on a real phone: the table must not claim otherwise.
        assert_eq!(row[row.len() - 1], "none", "{name}");
    }
    assert!(doc.contains("**No real phone has been tested with handsync.**"));
}

#[test]
fn a_system_install_without_root_is_refused_with_what_to_do_instead() {
    // As root, the test drops to nobody (setpriv, util-linux) to be the user who forgot sudo,
    // running a copy of the script in a folder nobody can read (the checkout may be under
    // root's home); the check comes before the script looks at anything else.
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch_dir("eco-install-nonroot");
    std::fs::create_dir_all(dir.join("scripts")).unwrap();
    let script = dir.join("scripts/install");
    std::fs::copy(SCRIPT, &script).unwrap();
    for path in [dir.as_path(), &dir.join("scripts"), &script] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut command = if unsafe { libc::geteuid() } == 0 {
        let mut command = Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
        command.arg(&script);
        command
    } else {
        Command::new(&script)
    };
    let output = command
        .args(["--binary", BIN])
        .env("HOME", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    assert!(
        both(&output).contains("run it as root, or use --user or --destdir"),
        "{}",
        both(&output)
    );
}

#[test]
fn the_program_s_page_says_its_files_and_every_page_links_back() {
    let dir = scratch_dir("eco-man-sections");
    handsync(&["man", "--out", dir.to_str().unwrap()]);
    let main = std::fs::read_to_string(dir.join("handsync.1")).unwrap();
    for section in [".SH FILES", ".SH ENVIRONMENT", ".SH \"SEE ALSO\""] {
        assert!(main.contains(section), "handsync.1 lacks {section}");
    }
    for named in [
        "handsync/config.toml",
        "handsync/handsync.db",
        "HANDSYNC_DB",
        "HANDSYNC_LOG",
    ] {
        assert!(main.contains(named), "handsync.1 lacks {named}");
    }
    let see_also = |page: &str| {
        let text = std::fs::read_to_string(dir.join(page)).unwrap();
        let start = text
            .find(".SH \"SEE ALSO\"")
            .unwrap_or_else(|| panic!("{page}"));
        text[start..].to_string()
    };
    assert!(see_also("handsync-serve.1").contains("\\fBhandsync\\fR(1)"));
    let nested = see_also("handsync-account-add.1");
    assert!(
        nested.contains("\\fBhandsync\\fR(1)") && nested.contains("\\fBhandsync\\-account\\fR(1)"),
        "{nested}"
    );
}
