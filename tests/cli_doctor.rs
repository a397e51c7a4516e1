//! `handsync doctor`, each check brought to its failing condition (and to its passing one)
//! with the real binary: a machine described by files under the hidden `--root` (/dev, /sys,
//! /etc), a private system bus with or without a stand-in for bluetoothd, a process named
//! ModemManager holding a pty, a port held open, a damaged copy of a database, an invalid
//! configuration. Device access is refused for real: as root the binary runs as nobody.

mod doctor_support;
mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use doctor_support::{Bus, Fake, Pty};

/// A system bus that is not there.
const NO_BUS: &str = "unix:path=/nonexistent/handsync-test/system_bus_socket";
/// nobody:nogroup on Debian.
const NOBODY: u32 = 65534;
const DIALOUT: u32 = 20;

/// A test's folder: `home` for HOME, `root` for --root, `db`, `config.toml`.
struct Scene {
    dir: PathBuf,
}

impl Scene {
    fn new(name: &str) -> Scene {
        let dir = support::scratch_dir(&format!("doctor-{name}"));
        std::fs::create_dir_all(dir.join("home")).unwrap();
        // Readable by nobody (the binary runs as nobody in some tests).
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        Scene { dir }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }

    /// Writes a file under the scene, its folders made.
    fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn config(&self, text: &str) -> PathBuf {
        self.write("config.toml", text)
    }

    /// `handsync --db <scene>/db doctor`, HOME in the scene, no system bus, nothing from
    /// the environment that would point elsewhere.
    fn doctor(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_handsync"));
        command
            .env("DBUS_SYSTEM_BUS_ADDRESS", NO_BUS)
            .env("HOME", self.path("home"))
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME")
            .env_remove("HANDSYNC_DB")
            .arg("--db")
            .arg(self.path("db"))
            .arg("doctor")
            .args(args);
        command
    }

    fn doctor_in_root(&self, args: &[&str]) -> Command {
        let mut command = self.doctor(args);
        command.arg("--root").arg(self.path("root"));
        command
    }
}

/// What doctor said: its exit status and its lines as (mark, text).
#[derive(Debug)]
struct Said {
    code: Option<i32>,
    lines: Vec<(String, String)>,
    stderr: String,
}

impl Said {
    fn of(command: &mut Command) -> Said {
        let output = command.output().expect("run handsync doctor");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let lines = stdout
            .lines()
            .map(|line| {
                let (mark, text) = line.split_at(line.len().min(5));
                (mark.trim().to_string(), text.to_string())
            })
            .collect();
        Said {
            code: output.status.code(),
            lines,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// The lines whose text starts with `start`.
    fn all(&self, start: &str) -> Vec<&(String, String)> {
        self.lines
            .iter()
            .filter(|(_, t)| t.starts_with(start))
            .collect()
    }

    /// The one line whose text starts with `start`.
    fn line(&self, start: &str) -> &(String, String) {
        let found = self.all(start);
        assert_eq!(found.len(), 1, "one line {start:?} in {self:#?}");
        found[0]
    }

    fn expect(&self, mark: &str, start: &str, containing: &[&str]) {
        let (got, text) = self.line(start);
        assert_eq!(got, mark, "{text}\n{self:#?}");
        for part in containing {
            assert!(text.contains(part), "{part:?} not in {text:?}");
        }
    }
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// Run as nobody when we are root: root opens everything, nobody is refused for real.
fn as_nobody(command: &mut Command) {
    if is_root() {
        command.uid(NOBODY).gid(NOBODY);
    }
}

/// Makes `path` a file nobody (or, when not root, we ourselves) may not open for writing:
/// owned by root and `group` with `mode` when root, mode 000 otherwise.
fn lock(path: &Path, group: u32, mode: u32) {
    if is_root() {
        std::os::unix::fs::chown(path, Some(0), Some(group)).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    } else {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
}

// --- the configuration file ---

#[test]
fn an_invalid_configuration_fails_with_its_line_and_column() {
    let scene = Scene::new("config-syntax");
    let config = scene.config("[server]\nconflicts = \"pc-loses\"\n");
    let said = Said::of(
        scene
            .doctor(&["--config", config.to_str().unwrap()])
            .arg("--root")
            .arg(scene.path("root")),
    );
    let place = format!("{}:2:13", config.display());
    said.expect(
        "FAIL",
        "configuration:",
        &[&place, "pc-wins", "docs/daemon.md"],
    );
    assert_eq!(said.code, Some(1), "{said:#?}");
    assert!(said.stderr.contains("to fix"), "{}", said.stderr);
}

#[test]
fn a_value_serve_would_refuse_fails_and_a_good_file_passes() {
    let scene = Scene::new("config-values");
    let config = scene.config("[serial]\nbaud = 5\n");
    let said = Said::of(&mut scene.doctor_in_root(&["--config", config.to_str().unwrap()]));
    said.expect("FAIL", "configuration:", &["serial.baud = 5"]);

    let config = scene.config("[server]\nconflicts = \"pc-wins\"\n[serial]\nbaud = 9600\n");
    let said = Said::of(&mut scene.doctor_in_root(&["--config", config.to_str().unwrap()]));
    said.expect("ok", "configuration:", &["is valid"]);

    // A file given that is not there.
    let missing = scene.path("missing.toml");
    let said = Said::of(&mut scene.doctor_in_root(&["--config", missing.to_str().unwrap()]));
    said.expect(
        "FAIL",
        "configuration:",
        &["does not exist", "give --config"],
    );

    // No file where the default one would be: defaults, no failure.
    let said = Said::of(&mut scene.doctor_in_root(&[]));
    said.expect("ok", "configuration:", &["does not exist: defaults apply"]);
}

// --- the database ---

#[test]
fn a_damaged_copy_of_the_database_fails_and_the_original_passes() {
    let scene = Scene::new("database");
    let db = scene.path("db");
    let made = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .arg("--db")
        .arg(&db)
        .args(["account", "add", "nokia", "--password", "secret"])
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let said = Said::of(&mut scene.doctor_in_root(&[]));
    let size = std::fs::metadata(&db).unwrap().len();
    said.expect(
        "ok",
        "database:",
        &["is intact", &format!("{:.1} KiB", size as f64 / 1024.0)],
    );

    // Every page after the first (the header and the schema) overwritten.
    let mut bytes = std::fs::read(&db).unwrap();
    let page = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    assert!(bytes.len() > 2 * page, "the store has more than one page");
    for (i, byte) in bytes[page..].iter_mut().enumerate() {
        *byte = (i % 251) as u8;
    }
    let damaged = scene.path("damaged.db");
    std::fs::write(&damaged, &bytes).unwrap();
    // The copy as --db (HOME and the bus as Scene::doctor sets them).
    let mut command = Command::new(env!("CARGO_BIN_EXE_handsync"));
    command
        .env("DBUS_SYSTEM_BUS_ADDRESS", NO_BUS)
        .env("HOME", scene.path("home"))
        .arg("--db")
        .arg(&damaged)
        .args(["doctor", "--root"])
        .arg(scene.path("root"));
    let said = Said::of(&mut command);
    said.expect(
        "FAIL",
        "database:",
        &[&damaged.display().to_string(), "damaged", ".recover"],
    );
    assert_eq!(said.code, Some(1));

    // Not a database at all.
    std::fs::write(&damaged, b"BEGIN:VCARD\r\nEND:VCARD\r\n".repeat(300)).unwrap();
    let said = Said::of(&mut command);
    said.expect("FAIL", "database:", &["is not a SQLite database", "--db"]);
}

#[test]
fn a_database_that_is_not_yet_there_is_fine() {
    let scene = Scene::new("database-none");
    let said = Said::of(&mut scene.doctor_in_root(&[]));
    said.expect("ok", "database:", &["does not exist yet"]);
}

// --- the listeners' ports ---

#[test]
fn a_port_held_by_another_program_fails_and_names_it() {
    let scene = Scene::new("ports");
    let http = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let obex = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let free_port = free.local_addr().unwrap().port();
    drop(free);
    let config = scene.config(&format!(
        "[http]\nlisten = [\"{}\", \"127.0.0.1:{free_port}\"]\n[obex-tcp]\nlisten = [\"{}\"]\n",
        http.local_addr().unwrap(),
        obex.local_addr().unwrap()
    ));
    let said = Said::of(&mut scene.doctor(&["--config", config.to_str().unwrap()]));
    let me = format!("(pid {})", std::process::id());
    said.expect(
        "FAIL",
        &format!("HTTP listener {}:", http.local_addr().unwrap()),
        &["in use by", &me, "[http] listen"],
    );
    said.expect(
        "FAIL",
        &format!("OBEX over TCP listener {}:", obex.local_addr().unwrap()),
        &["in use by", &me, "[obex-tcp] listen"],
    );
    said.expect(
        "ok",
        &format!("HTTP listener 127.0.0.1:{free_port}:"),
        &["free"],
    );
}

#[test]
fn the_port_of_a_running_handsync_serve_is_fine() {
    use std::io::{BufRead, BufReader};
    let scene = Scene::new("ports-serve");
    let mut serve = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .env("DBUS_SYSTEM_BUS_ADDRESS", NO_BUS)
        .env("HOME", scene.path("home"))
        .arg("--db")
        .arg(scene.path("serve.db"))
        .args([
            "serve",
            "--http",
            "127.0.0.1:0",
            "--no-bluetooth",
            "--no-usb",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(serve.stdout.take().unwrap());
    let address = loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "serve ended");
        if let Some(rest) = line.trim().strip_prefix("HTTP: listening on http://") {
            break rest.trim_end_matches('/').to_string();
        }
    };
    let config = scene.config(&format!("[http]\nlisten = [\"{address}\"]\n"));
    let said = Said::of(&mut scene.doctor(&["--config", config.to_str().unwrap()]));
    unsafe { libc::kill(serve.id() as i32, libc::SIGTERM) };
    serve.wait().unwrap();
    said.expect(
        "ok",
        &format!("HTTP listener {address}:"),
        &["handsync serve", &format!("(pid {})", serve.id())],
    );
}

// --- serial ports and ModemManager ---

/// A machine with one phone cable, /dev/ttyACM0, that nobody may not open, and the
/// /etc/group and /etc/passwd that say who is who.
fn serial_machine(scene: &Scene, dialout_members: &str) -> PathBuf {
    scene.write(
        "root/etc/group",
        &format!("root:x:0:\ndialout:x:{DIALOUT}:{dialout_members}\nnogroup:x:{NOBODY}:\n"),
    );
    scene.write("root/etc/passwd", &format!("root:x:0:0::/root:/bin/sh\nnobody:x:{NOBODY}:{NOBODY}::/nonexistent:/usr/sbin/nologin\n"));
    let tty = scene.write("root/dev/ttyACM0", "");
    lock(&tty, DIALOUT, 0o660);
    tty
}

#[test]
fn a_serial_port_of_a_group_the_user_is_not_in_fails_with_the_group_to_join() {
    let scene = Scene::new("serial-group");
    serial_machine(&scene, "");
    let mut command = scene.doctor_in_root(&[]);
    as_nobody(&mut command);
    let said = Said::of(&mut command);
    if is_root() {
        said.expect(
            "FAIL",
            "serial /dev/ttyACM0",
            &[
                "root:dialout 0660",
                "you cannot open it",
                "sudo usermod -aG dialout $USER",
                "log out and in again",
            ],
        );
    } else {
        said.expect("FAIL", "serial /dev/ttyACM0", &["you cannot open it"]);
    }
    assert_eq!(said.code, Some(1));
}

#[test]
fn a_serial_port_of_a_group_joined_after_login_says_to_log_in_again() {
    if !is_root() {
        eprintln!("skipping: needs root to run doctor as a user outside the port's group");
        return;
    }
    let scene = Scene::new("serial-relogin");
    serial_machine(&scene, "daemon,nobody");
    let mut command = scene.doctor_in_root(&[]);
    as_nobody(&mut command);
    let said = Said::of(&mut command);
    said.expect(
        "FAIL",
        "serial /dev/ttyACM0",
        &["you were added to group dialout", "log out and in again"],
    );
    assert!(!said.line("serial /dev/ttyACM0").1.contains("usermod"));
}

#[test]
fn a_configured_serial_port_that_is_missing_fails_and_an_open_one_passes() {
    let scene = Scene::new("serial-configured");
    let tty = scene.write("root/dev/ttyUSB0", "");
    std::fs::set_permissions(&tty, std::fs::Permissions::from_mode(0o666)).unwrap();
    let config = scene.config("[serial]\ndevices = [\"/dev/ttyACM7\"]\n");
    let mut command = scene.doctor_in_root(&["--config", config.to_str().unwrap()]);
    as_nobody(&mut command);
    let said = Said::of(&mut command);
    said.expect(
        "FAIL",
        "serial /dev/ttyACM7",
        &["[serial] devices", "does not exist", "/dev/serial/by-id/"],
    );
    said.expect("ok", "serial /dev/ttyUSB0", &["you can open it"]);

    // Nothing plugged in, nothing configured.
    std::fs::remove_file(&tty).unwrap();
    let said = Said::of(&mut scene.doctor_in_root(&[]));
    said.expect("ok", "serial:", &["no phone cable plugged in"]);
}

#[test]
fn modem_manager_holding_the_phone_port_fails() {
    let scene = Scene::new("modem-manager");
    let pty = Pty::open();
    // The kernel names a process after the file it runs: a link named ModemManager to
    // sleep is a process called ModemManager, holding the pty as its stdin.
    let sleep = ["/bin/sleep", "/usr/bin/sleep"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("sleep");
    let fake = scene.path("ModemManager");
    std::os::unix::fs::symlink(sleep, &fake).unwrap();
    let mut manager = Command::new(&fake)
        .arg("60")
        .stdin(pty.open_slave())
        .spawn()
        .unwrap();
    let config = scene.config(&format!(
        "[serial]\ndevices = [\"{}\"]\n",
        pty.path.display()
    ));
    let said = Said::of(&mut scene.doctor(&["--config", config.to_str().unwrap()]));
    let _ = manager.kill();
    let _ = manager.wait();
    let held: Vec<_> = said
        .all("ModemManager:")
        .into_iter()
        .filter(|(_, t)| t.contains(&format!("(pid {})", manager.id())))
        .collect();
    assert_eq!(held.len(), 1, "{said:#?}");
    let (mark, text) = held[0];
    assert_eq!(mark, "FAIL", "{text}");
    let holds = format!("holds {}", pty.path.display());
    for part in [
        holds.as_str(),
        "70-handsync-serial.rules",
        "systemctl stop ModemManager",
    ] {
        assert!(text.contains(part), "{part:?} not in {text:?}");
    }
    // It is gone: nothing holds the port any more.
    let said = Said::of(&mut scene.doctor(&["--config", config.to_str().unwrap()]));
    assert!(
        said.all("ModemManager:")
            .iter()
            .all(|(_, t)| !t.contains(&format!("(pid {})", manager.id()))),
        "{said:#?}"
    );
    said.expect(
        "ok",
        &format!("serial {}", pty.path.display()),
        &["you can open it"],
    );
}

#[test]
fn modem_manager_with_a_phone_port_as_its_modem_fails_for_users_who_cannot_see_its_files() {
    let scene = Scene::new("modem-manager-bus");
    let Some(bus) = Bus::start(&scene.dir) else {
        return;
    };
    let Some(_manager) = Fake::modem_manager(&bus, r#"["ttyACM0"]"#) else {
        return;
    };
    // A ModemManager process whose descriptors this user cannot list (none in the
    // described /proc), and the phone's tty.
    scene.write("root/proc/812/comm", "ModemManager\n");
    let tty = scene.write("root/dev/ttyACM0", "");
    std::fs::set_permissions(&tty, std::fs::Permissions::from_mode(0o666)).unwrap();
    let said = Said::of(
        scene
            .doctor_in_root(&[])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address),
    );
    said.expect(
        "FAIL",
        "ModemManager: ModemManager (pid 812) has taken /dev/ttyACM0 as a modem (Nokia 6230i)",
        &["70-handsync-serial.rules"],
    );
    // No phone port among its modems': only a warning that root sees more.
    std::fs::rename(&tty, scene.path("root/dev/ttyUSB3")).unwrap();
    let said = Said::of(
        scene
            .doctor_in_root(&[])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address),
    );
    said.expect(
        "warn",
        "ModemManager: ModemManager (pid 812) runs",
        &["sudo handsync doctor"],
    );
}

#[test]
fn modem_manager_not_running_is_fine() {
    let scene = Scene::new("modem-manager-none");
    std::fs::create_dir_all(scene.path("root/proc/1")).unwrap();
    scene.write("root/proc/1/comm", "init\n");
    let said = Said::of(&mut scene.doctor_in_root(&[]));
    said.expect("ok", "ModemManager:", &["not running"]);
}

// --- USB phones ---

/// A Nokia 6230i plugged in at 1-1 as sysfs shows it (CDC OBEX and a modem), its node
/// /dev/bus/usb/001/005.
fn usb_machine(scene: &Scene) -> PathBuf {
    let device = "root/sys/bus/usb/devices/1-1";
    for (name, value) in [
        ("idVendor", "0421"),
        ("idProduct", "0428"),
        ("product", "Nokia 6230i"),
        ("busnum", "1"),
        ("devnum", "5"),
    ] {
        scene.write(&format!("{device}/{name}"), &format!("{value}\n"));
    }
    for (interface, class, subclass) in [
        ("1.0", "02", "02"),
        ("1.1", "0a", "00"),
        ("1.8", "02", "0b"),
    ] {
        scene.write(
            &format!("{device}/1-1:{interface}/bInterfaceClass"),
            &format!("{class}\n"),
        );
        scene.write(
            &format!("{device}/1-1:{interface}/bInterfaceSubClass"),
            &format!("{subclass}\n"),
        );
    }
    // A hub beside it is no phone.
    scene.write("root/sys/bus/usb/devices/usb1/busnum", "1\n");
    scene.write(
        "root/sys/bus/usb/devices/usb1/usb1:1.0/bInterfaceClass",
        "09\n",
    );
    scene.write("root/dev/bus/usb/001/005", "")
}

#[test]
fn a_usb_phone_the_user_cannot_open_fails_with_the_udev_rule_to_install() {
    let scene = Scene::new("usb-locked");
    let node = usb_machine(&scene);
    lock(&node, 0, 0o664);
    let mut command = scene.doctor_in_root(&[]);
    as_nobody(&mut command);
    let said = Said::of(&mut command);
    said.expect(
        "FAIL",
        "USB phone Nokia 6230i (0421:0428 on 1-1)",
        &[
            "you cannot open /dev/bus/usb/001/005",
            "70-handsync-usb.rules",
            "plug the phone in again",
        ],
    );
    assert_eq!(
        said.all("USB phone").len(),
        1,
        "the hub is no phone: {said:#?}"
    );
}

#[test]
fn a_usb_phone_the_user_can_open_passes() {
    let scene = Scene::new("usb-open");
    let node = usb_machine(&scene);
    std::fs::set_permissions(&node, std::fs::Permissions::from_mode(0o666)).unwrap();
    let mut command = scene.doctor_in_root(&[]);
    as_nobody(&mut command);
    let said = Said::of(&mut command);
    said.expect(
        "ok",
        "USB phone Nokia 6230i",
        &["CDC OBEX and a modem", "you can open /dev/bus/usb/001/005"],
    );
    // Its node gone (udev not running): said so.
    std::fs::remove_file(&node).unwrap();
    let said = Said::of(&mut scene.doctor_in_root(&[]));
    said.expect("FAIL", "USB phone Nokia 6230i", &["is missing", "udev"]);
}

#[test]
fn no_usb_at_all_is_said() {
    let scene = Scene::new("usb-none");
    let said = Said::of(&mut scene.doctor_in_root(&[]));
    said.expect("ok", "USB:", &["no USB"]);
    std::fs::create_dir_all(scene.path("root/sys/bus/usb/devices")).unwrap();
    let said = Said::of(&mut scene.doctor_in_root(&[]));
    said.expect("ok", "USB:", &["no phone plugged in"]);
}

// --- udev rules and systemd units ---

#[test]
fn udev_rules_missing_or_different_are_said_and_installed_ones_pass() {
    let scene = Scene::new("udev");
    let shipped = |name: &str| {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("udev")
                .join(name),
        )
        .unwrap()
    };
    scene.write(
        "root/etc/udev/rules.d/70-handsync-usb.rules",
        &shipped("70-handsync-usb.rules"),
    );
    scene.write(
        "root/usr/lib/udev/rules.d/70-handsync-irda.rules",
        &format!("{}# edited\n", shipped("70-handsync-irda.rules")),
    );
    let said = Said::of(&mut scene.doctor_in_root(&[]));
    said.expect(
        "warn",
        "udev rule 70-handsync-serial.rules is not installed",
        &["sudo install -Dm644 udev/70-handsync-serial.rules /etc/udev/rules.d/"],
    );
    said.expect(
        "ok",
        "udev rule 70-handsync-usb.rules: installed",
        &["/etc/udev/rules.d/70-handsync-usb.rules"],
    );
    said.expect(
        "warn",
        "udev rule 70-handsync-irda.rules (/usr/lib/udev/rules.d/70-handsync-irda.rules)",
        &["differs"],
    );
}

#[test]
fn systemd_units_missing_broken_or_not_enabled_are_said() {
    let scene = Scene::new("systemd");
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/handsync.service"),
    )
    .unwrap();
    let said = Said::of(&mut scene.doctor_in_root(&[]));
    said.expect(
        "warn",
        "systemd user unit handsync.service is not installed",
        &["systemctl --user daemon-reload"],
    );

    // Installed, but ExecStart's ~/.cargo/bin/handsync is not there.
    scene.write("home/.config/systemd/user/handsync.service", &shipped);
    let said = Said::of(&mut scene.doctor_in_root(&[]));
    let program = scene.path("home/.cargo/bin/handsync");
    said.expect(
        "FAIL",
        "systemd user unit handsync.service (",
        &[&format!(
            "ExecStart runs {}, which does not exist",
            program.display()
        )],
    );
    assert_eq!(said.code, Some(1));

    scene.write("home/.cargo/bin/handsync", "");
    let said = Said::of(&mut scene.doctor_in_root(&[]));
    said.expect(
        "warn",
        "systemd user unit handsync.service (",
        &["not enabled", "systemctl --user enable --now handsync"],
    );

    std::fs::create_dir_all(scene.path("home/.config/systemd/user/default.target.wants")).unwrap();
    std::os::unix::fs::symlink(
        "../handsync.service",
        scene.path("home/.config/systemd/user/default.target.wants/handsync.service"),
    )
    .unwrap();
    scene.write(
        "root/usr/lib/systemd/user/handsync-usb@.service",
        "[Service]\nExecStart=/bin/true\n",
    );
    let said = Said::of(&mut scene.doctor_in_root(&[]));
    said.expect("ok", "systemd user unit handsync.service:", &["installed"]);
    said.expect(
        "ok",
        "systemd user unit handsync-usb@.service:",
        &["/usr/lib/systemd/user/handsync-usb@.service"],
    );
    said.expect(
        "warn",
        "systemd user unit handsync-sync@.service is not installed",
        &[],
    );
}

// --- Bluetooth ---

#[test]
fn no_system_bus_fails_and_bluetooth_turned_off_is_not_checked() {
    let scene = Scene::new("bt-no-bus");
    let said = Said::of(&mut scene.doctor_in_root(&[]));
    said.expect(
        "FAIL",
        "bluetoothd",
        &["no system D-Bus", "[bluetooth] enabled = false"],
    );
    let config = scene.config("[bluetooth]\nenabled = false\n");
    let said = Said::of(&mut scene.doctor_in_root(&["--config", config.to_str().unwrap()]));
    said.expect("ok", "Bluetooth: off in the configuration", &[]);
    assert!(said.all("bluetoothd").is_empty(), "{said:#?}");
}

/// A machine whose bluetoothd says it is version 5.99.
fn bluetoothd_installed(scene: &Scene) {
    let program = scene.write(
        "root/usr/libexec/bluetooth/bluetoothd",
        "#!/bin/sh\necho 5.99\n",
    );
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn bluetoothd_installed_but_not_running_fails_with_its_version() {
    let scene = Scene::new("bt-not-running");
    let Some(bus) = Bus::start(&scene.dir) else {
        return;
    };
    bluetoothd_installed(&scene);
    let said = Said::of(
        scene
            .doctor_in_root(&[])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address),
    );
    said.expect(
        "FAIL",
        "bluetoothd 5.99 is installed but not running",
        &["sudo systemctl enable --now bluetooth"],
    );
    assert!(said.all("Bluetooth adapter").is_empty(), "{said:#?}");

    std::fs::remove_file(scene.path("root/usr/libexec/bluetooth/bluetoothd")).unwrap();
    let said = Said::of(
        scene
            .doctor_in_root(&[])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address),
    );
    said.expect(
        "FAIL",
        "bluetoothd is not running",
        &["not installed", "sudo apt install bluez"],
    );
}

#[test]
fn an_adapter_that_is_off_and_a_phone_not_trusted_fail() {
    let scene = Scene::new("bt-adapter-off");
    let Some(bus) = Bus::start(&scene.dir) else {
        return;
    };
    bluetoothd_installed(&scene);
    let spec = r#"{"adapters": [{"name": "hci0", "address": "00:1A:7D:DA:71:13", "powered": false}],
        "devices": [
          {"adapter": "hci0", "address": "00:16:DB:01:02:03", "alias": "Nokia 6230i", "paired": true, "trusted": false},
          {"adapter": "hci0", "address": "00:0E:07:04:05:06", "alias": "K750i", "paired": true, "trusted": true},
          {"adapter": "hci0", "address": "00:0E:07:07:08:09", "alias": "Stranger", "paired": false, "trusted": false}]}"#;
    let Some(_bluez) = Fake::bluez(&bus, spec) else {
        return;
    };
    let said = Said::of(
        scene
            .doctor_in_root(&[])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address),
    );
    said.expect("ok", "bluetoothd 5.99 is running", &[]);
    said.expect(
        "FAIL",
        "Bluetooth adapter hci0 (00:1A:7D:DA:71:13) is off",
        &["bluetoothctl power on", "rfkill unblock bluetooth"],
    );
    said.expect(
        "FAIL",
        "paired phone Nokia 6230i (00:16:DB:01:02:03): not trusted",
        &["handsync pair 00:16:DB:01:02:03"],
    );
    said.expect("ok", "paired phone K750i (00:0E:07:04:05:06): trusted", &[]);
    assert!(said.all("paired phone Stranger").is_empty(), "{said:#?}");
}

#[test]
fn no_adapter_fails_and_a_powered_one_passes() {
    let scene = Scene::new("bt-adapters");
    let Some(bus) = Bus::start(&scene.dir) else {
        return;
    };
    {
        let Some(_bluez) = Fake::bluez(&bus, r#"{"adapters": [], "devices": []}"#) else {
            return;
        };
        let said = Said::of(
            scene
                .doctor_in_root(&[])
                .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address),
        );
        said.expect("ok", "bluetoothd is running", &["version is unknown"]);
        said.expect("FAIL", "Bluetooth adapter: none", &["rfkill"]);
    }
    // A second machine's bus, so that no name is left over from the first stand-in.
    let second = scene.path("second");
    std::fs::create_dir_all(&second).unwrap();
    let Some(bus) = Bus::start(&second) else {
        return;
    };
    let spec = r#"{"adapters": [{"name": "hci0", "address": "00:1A:7D:DA:71:13", "powered": true}], "devices": []}"#;
    let Some(_bluez) = Fake::bluez(&bus, spec) else {
        return;
    };
    let said = Said::of(
        scene
            .doctor_in_root(&[])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address),
    );
    said.expect(
        "ok",
        "Bluetooth adapter hci0 (00:1A:7D:DA:71:13) is present and powered",
        &[],
    );
    said.expect("warn", "paired phones: none on hci0", &["handsync pair"]);
    let config = scene.config("[bluetooth]\nadapter = \"hci1\"\n");
    let said = Said::of(
        scene
            .doctor_in_root(&["--config", config.to_str().unwrap()])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address),
    );
    said.expect(
        "FAIL",
        "Bluetooth adapter hci1",
        &["is not there", "there is hci0"],
    );
}

// --- all together ---

#[test]
fn warnings_alone_exit_zero() {
    let scene = Scene::new("all-well");
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = free.local_addr().unwrap();
    drop(free);
    let config = scene.config(&format!(
        "[http]\nlisten = [\"{address}\"]\n[bluetooth]\nenabled = false\n"
    ));
    let said = Said::of(&mut scene.doctor_in_root(&["--config", config.to_str().unwrap()]));
    assert!(
        said.lines.iter().all(|(mark, _)| mark != "FAIL"),
        "{said:#?}"
    );
    assert!(
        said.lines.iter().any(|(mark, _)| mark == "warn"),
        "{said:#?}"
    );
    assert_eq!(said.code, Some(0), "{said:#?}");
    assert!(said.stderr.is_empty(), "{}", said.stderr);
    for start in [
        "configuration:",
        "database:",
        "HTTP listener",
        "Bluetooth:",
        "serial:",
        "ModemManager:",
        "USB:",
        "udev rule",
        "systemd user unit",
    ] {
        assert!(!said.all(start).is_empty(), "no {start:?} line: {said:#?}");
    }
}
