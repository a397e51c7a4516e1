//! `handsync completions SHELL` and `handsync man --out DIR`: what a distribution
//! installs beside the binary, generated from the clap definitions so they say what the parser
//! takes. The man pages come from the binary itself rather than from a build step, so that
//! `scripts/install --binary PATH` writes the pages of exactly the program it installs,
//! without the sources, cargo or the network.

use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, Failure};

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for; the script goes to stdout (`scripts/install` puts it where
    /// the shell looks).
    #[arg(value_enum, value_name = "SHELL")]
    shell: Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// The folder to write handsync.1 and one handsync-COMMAND.1 per command into (created
    /// when missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub fn completions(args: &CompletionsArgs) -> Result<(), Failure> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "handsync", &mut std::io::stdout());
    Ok(())
}

pub fn man(args: &ManArgs) -> Result<(), Failure> {
    let written = write_man_pages(&args.out)
        .map_err(|e| Failure::io(format!("{}: {e}", args.out.display())))?;
    for path in written {
        println!("{}", path.display());
    }
    Ok(())
}

/// Writes a page for the program and for every visible command at any depth (`account add`
/// gets handsync-account-add.1); returns the files written.
fn write_man_pages(out: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out)?;
    // `help` is clap's, not ours: no page for it. Building the command names each nested
    // command after its parents (handsync-account-add), which names its page.
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let mut written = Vec::new();
    write_tree(command, None, out, &mut written)?;
    Ok(written)
}

fn write_tree(
    command: clap::Command,
    parent: Option<&str>,
    out: &Path,
    written: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    let name = command
        .get_display_name()
        .unwrap_or(command.get_name())
        .to_string();
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_tree(sub.clone(), Some(&name), out, written)?;
    }
    let has_options = command.get_arguments().any(|a| !a.is_hide_set());
    let has_commands = command.get_subcommands().any(|s| !s.is_hide_set());
    // Every page names the program and its version (by default a nested page would name
    // only its own command) and carries a date, which `.TH` needs in its place.
    let page = clap_mangen::Man::new(command)
        .source(format!("handsync {}", env!("CARGO_PKG_VERSION")))
        .date(page_date())
        .manual("handsync manual");
    // clap_mangen's sections, with the program's files and environment before the version,
    // and a SEE ALSO, in the order man-pages(7) gives.
    let mut roff = Vec::new();
    page.render_title(&mut roff)?;
    page.render_name_section(&mut roff)?;
    page.render_synopsis_section(&mut roff)?;
    page.render_description_section(&mut roff)?;
    if has_options {
        page.render_options_section(&mut roff)?;
    }
    if has_commands {
        page.render_subcommands_section(&mut roff)?;
    }
    if parent.is_none() {
        roff.extend_from_slice(FILES_AND_ENVIRONMENT.as_bytes());
        page.render_version_section(&mut roff)?;
    }
    roff.extend_from_slice(see_also(parent).as_bytes());
    let path = out.join(page.get_filename());
    std::fs::write(&path, ascii_roff(&String::from_utf8_lossy(&roff)))?;
    written.push(path);
    Ok(())
}

/// What the program reads and where, for handsync.1 (as `support::db_path` and
/// `daemon::config::default_config_path` resolve them).
const FILES_AND_ENVIRONMENT: &str = r#".SH FILES
.TP
\fI$XDG_CONFIG_HOME/handsync/config.toml\fR
The configuration of \fBserve\fR and \fBsync\fR (listeners, Bluetooth, USB, IrDA, limits);
without XDG_CONFIG_HOME, \fI~/.config/handsync/config.toml\fR.
.TP
\fI$XDG_DATA_HOME/handsync/handsync.db\fR
The SQLite store (items and their history, phones, sessions, accounts); without
XDG_DATA_HOME, \fI~/.local/share/handsync/handsync.db\fR.
.SH ENVIRONMENT
.TP
\fBHANDSYNC_DB\fR
The store, when \fB\-\-db\fR is not given.
.TP
\fBHANDSYNC_LOG\fR
What to log on stderr, as a tracing filter (\fBhandsync::wbxml=trace\fR); overrides \fB\-v\fR.
.TP
\fBXDG_CONFIG_HOME\fR, \fBXDG_DATA_HOME\fR
Where the configuration and the store are looked for.
"#;

/// The program's page from every command's, and the parent's from a nested one.
fn see_also(parent: Option<&str>) -> String {
    let pages = match parent {
        None => "\\fBkhard\\fR(1), \\fBkhal\\fR(1), \\fBvdirsyncer\\fR(1), \\fBsystemctl\\fR(1), \\fBudevadm\\fR(8)".to_string(),
        Some("handsync") => "\\fBhandsync\\fR(1)".to_string(),
        Some(parent) => format!("\\fBhandsync\\fR(1), \\fB{}\\fR(1)", parent.replace('-', "\\-")),
    };
    format!(".SH \"SEE ALSO\"\n{pages}\n")
}

/// roff input is read as Latin-1 by groff without preconv: a help text's `…` or `é` is
/// written as a named Unicode escape (`\[u2026]`), which groff and mandoc both render.
fn ascii_roff(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", u32::from(c)));
        }
    }
    out
}

/// The pages' date: `$SOURCE_DATE_EPOCH` when set (reproducible builds), else today (UTC),
/// as YYYY-MM-DD.
fn page_date() -> String {
    let seconds = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
    let (year, month, day) = civil_date(seconds / 86_400);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// days-to-civil algorithm).
fn civil_date(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_of_known_days() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(20_426), (2025, 12, 4));
    }

    #[test]
    fn non_ascii_help_becomes_a_unicode_escape() {
        assert_eq!(
            ascii_roff("guid-\u{2026} caf\u{e9}"),
            "guid-\\[u2026] caf\\[u00E9]"
        );
    }
}
