//! `handsync doctor`: checks what syncing a phone needs on this machine and says, one line
//! each, what is fine and what to do about what is not.
//!
//! Each check gathers its facts (files, /proc, sysfs, the system bus) and turns them into
//! lines; the paths it reads go through [`Roots`], so tests point them at a directory they
//! built (the hidden `--root`) and produce each failing condition without the hardware.
//! Exit status: 0 when no line is `FAIL`, 1 otherwise (`warn` does not fail).

mod bluetooth;
mod devices;
mod installed;
mod local;
mod system;

use std::fmt;
use std::path::{Path, PathBuf};

use clap::Args;

use super::Failure;
use crate::daemon::config::{default_config_path, ConfigFile};

#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// The configuration file (TOML, see docs/daemon.md). Default:
    /// $XDG_CONFIG_HOME/handsync/config.toml when it exists.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,

    /// Read /dev, /sys, /proc, /etc, /run, /usr and /lib under this directory instead of /
    /// (for tests: a machine described by files).
    #[arg(long, value_name = "DIR", hide = true)]
    root: Option<PathBuf>,
}

/// How one line came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Ok,
    Warn,
    Fail,
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // pad, not write_str: the lines' texts line up behind `{:<4}`.
        f.pad(match self {
            Mark::Ok => "ok",
            Mark::Warn => "warn",
            Mark::Fail => "FAIL",
        })
    }
}

/// The lines of every check, in order.
#[derive(Debug, Default)]
pub struct Report {
    lines: Vec<(Mark, String)>,
}

impl Report {
    pub fn ok(&mut self, text: impl Into<String>) {
        self.push(Mark::Ok, text);
    }

    pub fn warn(&mut self, text: impl Into<String>) {
        self.push(Mark::Warn, text);
    }

    pub fn fail(&mut self, text: impl Into<String>) {
        self.push(Mark::Fail, text);
    }

    pub fn push(&mut self, mark: Mark, text: impl Into<String>) {
        let text: String = text.into();
        // One line each, whatever an error message brought along.
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        self.lines.push((mark, text));
    }

    pub fn failures(&self) -> usize {
        self.lines.iter().filter(|(m, _)| *m == Mark::Fail).count()
    }

    #[cfg(test)]
    pub fn lines(&self) -> &[(Mark, String)] {
        &self.lines
    }
}

/// Where the machine's files are: `/`, or a directory standing for it.
#[derive(Debug, Clone)]
pub struct Roots {
    root: PathBuf,
}

impl Roots {
    pub fn new(root: Option<PathBuf>) -> Roots {
        Roots {
            root: root.unwrap_or_else(|| PathBuf::from("/")),
        }
    }

    /// The file that stands for `logical` (an absolute path as the machine names it).
    pub fn path(&self, logical: impl AsRef<Path>) -> PathBuf {
        let logical = logical.as_ref();
        match logical.strip_prefix("/") {
            Ok(relative) => self.root.join(relative),
            // Relative paths (a configured device "ttyUSB0") are the user's, as given.
            Err(_) => logical.to_path_buf(),
        }
    }

    /// The logical path of a file under the root (the inverse of [`Roots::path`]).
    pub fn logical(&self, real: &Path) -> PathBuf {
        match real.strip_prefix(&self.root) {
            Ok(relative) => Path::new("/").join(relative),
            Err(_) => real.to_path_buf(),
        }
    }
}

/// What the checks after the configuration's need from it.
pub struct Setup {
    pub roots: Roots,
    /// The file as read; the defaults when it is missing or does not parse.
    pub file: ConfigFile,
    pub db: Option<PathBuf>,
}

pub fn run(db: Option<PathBuf>, args: &DoctorArgs) -> Result<(), Failure> {
    let mut report = Report::default();
    let file = check_config(args.config.as_ref(), &mut report);
    let setup = Setup {
        roots: Roots::new(args.root.clone()),
        file,
        db,
    };
    local::check_database(&setup, &mut report);
    local::check_listeners(&setup, &mut report);
    bluetooth::check(&setup, &mut report);
    devices::check_serial(&setup, &mut report);
    devices::check_modem_manager(&setup, &mut report);
    devices::check_usb(&setup, &mut report);
    installed::check_udev_rules(&setup, &mut report);
    installed::check_systemd_units(&setup, &mut report);
    for (mark, text) in &report.lines {
        println!("{mark:<4} {text}");
    }
    match report.failures() {
        0 => Ok(()),
        failed => Err(Failure::io(format!(
            "{} to fix (the FAIL lines above)",
            super::support::describe_count(failed, "problem")
        ))),
    }
}

/// The configuration file: it parses and the daemon would accept every value in it.
fn check_config(explicit: Option<&PathBuf>, report: &mut Report) -> ConfigFile {
    let (path, required) = match (explicit, default_config_path()) {
        (Some(path), _) => (path.clone(), true),
        (None, Some(path)) => (path, false),
        (None, None) => {
            report.ok("configuration: no HOME nor XDG_CONFIG_HOME, so no file: defaults apply");
            return ConfigFile::default();
        }
    };
    if !required && !path.exists() {
        report.ok(format!(
            "configuration: {} does not exist: defaults apply (docs/daemon.md lists the settings)",
            path.display()
        ));
        return ConfigFile::default();
    }
    if !path.exists() {
        report.fail(format!(
            "configuration: {} does not exist: give --config the file (or leave --config out \
             for the defaults); the checks below use the defaults",
            path.display()
        ));
        return ConfigFile::default();
    }
    let file = match ConfigFile::load(&path, required) {
        Ok(file) => file,
        Err(e) => {
            report.fail(format!(
                "configuration: {e}: fix it (docs/daemon.md lists the settings); the checks below use the defaults"
            ));
            return ConfigFile::default();
        }
    };
    match validate(&file) {
        Ok(()) => {
            report.ok(format!("configuration: {} is valid", path.display()));
            file
        }
        Err(e) => {
            report.fail(format!(
                "configuration: {}: {e}: fix it (docs/daemon.md lists the settings)",
                path.display()
            ));
            // What parsed still tells the other checks where things are.
            file
        }
    }
}

/// Every check `serve` makes of the file's values before it starts.
fn validate(file: &ConfigFile) -> Result<(), String> {
    file.server_config().map_err(|e| e.to_string())?;
    file.http_listen().map_err(|e| e.to_string())?;
    file.obex_tcp_listen().map_err(|e| e.to_string())?;
    file.idle_timeout().map_err(|e| e.to_string())?;
    file.serial_baud().map_err(|e| e.to_string())?;
    file.bluetooth_channel().map_err(|e| e.to_string())?;
    file.bluetooth_pin().map_err(|e| e.to_string())?;
    file.limits().map_err(|e| e.to_string())?;
    if let Some(device) = &file.irda.device {
        let kind = match &file.irda.dongle {
            Some(name) => Some(
                name.parse::<handsync_proto::irda::dongle::DongleKind>()
                    .map_err(|e| format!("irda.dongle: {e}"))?,
            ),
            None => None,
        };
        crate::transport::irda::DongleSpec::parse(device, kind)
            .map_err(|e| format!("irda.device: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_map_logical_paths_both_ways() {
        let roots = Roots::new(Some(PathBuf::from("/tmp/machine")));
        assert_eq!(
            roots.path("/dev/ttyACM0"),
            Path::new("/tmp/machine/dev/ttyACM0")
        );
        assert_eq!(
            roots.logical(Path::new("/tmp/machine/dev/ttyACM0")),
            Path::new("/dev/ttyACM0")
        );
        assert_eq!(roots.path("ttyS0"), Path::new("ttyS0"));
        assert_eq!(
            Roots::new(None).path("/dev/ttyACM0"),
            Path::new("/dev/ttyACM0")
        );
    }

    #[test]
    fn a_line_stays_one_line() {
        let mut report = Report::default();
        report.fail("first\nsecond  third");
        report.warn("w");
        assert_eq!(report.lines()[0], (Mark::Fail, "first second third".into()));
        assert_eq!(report.failures(), 1);
    }

    #[test]
    fn values_serve_refuses_are_invalid() {
        let file = ConfigFile::parse(
            "[irda]\ndevice = \"/dev/ttyS1\"\ndongle = \"nope\"\n",
            Path::new("c"),
        )
        .unwrap();
        assert!(validate(&file).unwrap_err().starts_with("irda.dongle"));
        let file = ConfigFile::parse("[serial]\nbaud = 5\n", Path::new("c")).unwrap();
        assert!(validate(&file).unwrap_err().contains("serial.baud = 5"));
        assert!(validate(&ConfigFile::default()).is_ok());
    }
}
