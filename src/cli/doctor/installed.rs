//! What is installed beside the program: the udev rules (compared with the ones this build
//! ships) and the systemd user units (whose ExecStart must name a program that exists).

use std::path::{Path, PathBuf};

use super::{Report, Setup};

/// The rules this build ships, what each does, and their text.
const RULES: [(&str, &str, &str); 3] = [
    (
        "70-handsync-serial.rules",
        "syncs a phone cable when it is plugged in and keeps ModemManager off it",
        include_str!("../../../udev/70-handsync-serial.rules"),
    ),
    (
        "70-handsync-usb.rules",
        "lets you open USB phones and keeps ModemManager off them",
        include_str!("../../../udev/70-handsync-usb.rules"),
    ),
    (
        "70-handsync-irda.rules",
        "lets you open USB infrared dongles",
        include_str!("../../../udev/70-handsync-irda.rules"),
    ),
];

/// udev's rule folders, the one that wins first (a file in /etc masks one of the same name
/// further down).
const RULE_DIRS: [&str; 5] = [
    "/etc/udev/rules.d",
    "/run/udev/rules.d",
    "/usr/local/lib/udev/rules.d",
    "/usr/lib/udev/rules.d",
    "/lib/udev/rules.d",
];

pub fn check_udev_rules(setup: &Setup, report: &mut Report) {
    for (name, purpose, shipped) in RULES {
        let install = format!(
            "sudo install -Dm644 udev/{name} /etc/udev/rules.d/{name} && sudo udevadm control --reload"
        );
        let found = RULE_DIRS
            .iter()
            .map(|dir| Path::new(dir).join(name))
            .find(|path| setup.roots.path(path).is_file());
        let Some(path) = found else {
            report.warn(format!(
                "udev rule {name} is not installed (it {purpose}): {install}"
            ));
            continue;
        };
        match std::fs::read_to_string(setup.roots.path(&path)) {
            Ok(text) if text == shipped => {
                report.ok(format!("udev rule {name}: installed ({})", path.display()))
            }
            Ok(_) => report.warn(format!(
                "udev rule {name} ({}): differs from this handsync's udev/{name}; unless you \
                 edited it, install this one: {install}",
                path.display()
            )),
            Err(e) => report.warn(format!(
                "udev rule {name} ({}): cannot be read ({e}): sudo chmod 644 {}",
                path.display(),
                path.display()
            )),
        }
    }
}

/// The user units this build ships and what each does.
const UNITS: [(&str, &str); 3] = [
    ("handsync.service", "runs handsync serve for you"),
    (
        "handsync-sync@.service",
        "syncs a phone cable when udev sees it plugged in",
    ),
    (
        "handsync-usb@.service",
        "syncs a USB phone when udev sees it plugged in",
    ),
];

/// Where systemd looks for user units, the user's own first.
fn unit_dirs(setup: &Setup) -> Vec<(PathBuf, PathBuf)> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home.as_ref().map(|h| h.join(".local/share")));
    let mut dirs = Vec::new();
    // The user's folders are theirs, not the machine's: not under --root.
    for base in [config, data].into_iter().flatten() {
        let dir = base.join("systemd/user");
        dirs.push((dir.clone(), dir));
    }
    for dir in [
        "/etc/systemd/user",
        "/usr/local/lib/systemd/user",
        "/usr/lib/systemd/user",
    ] {
        dirs.push((PathBuf::from(dir), setup.roots.path(dir)));
    }
    dirs
}

pub fn check_systemd_units(setup: &Setup, report: &mut Report) {
    let dirs = unit_dirs(setup);
    let home = std::env::var("HOME").unwrap_or_default();
    for (name, purpose) in UNITS {
        let found = dirs
            .iter()
            .map(|(shown, real)| (shown.join(name), real.join(name)))
            .find(|(_, real)| real.is_file());
        let Some((shown, real)) = found else {
            report.warn(format!(
                "systemd user unit {name} is not installed (it {purpose}): install -Dm644 \
                 systemd/{name} ~/.config/systemd/user/{name} && systemctl --user daemon-reload"
            ));
            continue;
        };
        let text = match std::fs::read_to_string(&real) {
            Ok(text) => text,
            Err(e) => {
                report.fail(format!(
                    "systemd user unit {name} ({}): cannot be read ({e})",
                    shown.display()
                ));
                continue;
            }
        };
        match exec_start(&text, &home) {
            Some(program) if !program.is_file() => {
                report.fail(format!(
                    "systemd user unit {name} ({}): ExecStart runs {}, which does not exist: cargo install \
                     --path . puts handsync there, or edit ExecStart to where handsync is \
                     (command -v handsync), then systemctl --user daemon-reload",
                    shown.display(),
                    program.display()
                ));
                continue;
            }
            Some(_) => {}
            None => {
                report.fail(format!(
                    "systemd user unit {name} ({}): has no ExecStart: install this handsync's systemd/{name}",
                    shown.display()
                ));
                continue;
            }
        }
        // Only the daemon's unit is enabled by the user; the others are started by udev.
        let wants = dirs
            .iter()
            .any(|(_, dir)| dir.join("default.target.wants").join(name).exists());
        if name == "handsync.service" && !wants {
            report.warn(format!(
                "systemd user unit {name} ({}): installed but not enabled, so handsync serve does not \
                 start at login: systemctl --user enable --now handsync",
                shown.display()
            ));
        } else {
            report.ok(format!(
                "systemd user unit {name}: installed ({})",
                shown.display()
            ));
        }
    }
}

/// The program the unit's (last) ExecStart runs, with `%h` as the home folder.
fn exec_start(unit: &str, home: &str) -> Option<PathBuf> {
    let line = unit
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("ExecStart="))
        .rfind(|l| !l.trim().is_empty())?;
    // Prefixes that change how systemd runs it, not what it runs.
    let command = line.trim_start_matches(['-', '@', ':', '+', '!']);
    let program = command.split_whitespace().next()?;
    Some(PathBuf::from(program.replace("%h", home)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_start_names_the_program() {
        let unit = "[Service]\nExecStart=\nExecStart=-%h/.cargo/bin/handsync serve\n";
        assert_eq!(
            exec_start(unit, "/home/a"),
            Some(PathBuf::from("/home/a/.cargo/bin/handsync"))
        );
        assert_eq!(exec_start("[Service]\nType=oneshot\n", "/h"), None);
        assert_eq!(
            exec_start(include_str!("../../../systemd/handsync.service"), "/h"),
            Some(PathBuf::from("/h/.cargo/bin/handsync"))
        );
    }
}
