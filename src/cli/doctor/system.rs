//! Facts about this machine the checks share: who the user is and in which groups, whether
//! a device node opens for them, and the processes with the files they hold open.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use super::Roots;

/// The user running doctor: the groups of this login (the process's), and the name to look
/// them up by in /etc/group.
#[derive(Debug, Clone)]
pub struct Me {
    pub name: Option<String>,
    pub groups: Vec<u32>,
}

impl Me {
    pub fn current(roots: &Roots) -> Me {
        // SAFETY: getuid and getgid cannot fail.
        let uid = unsafe { libc::getuid() };
        let gid = unsafe { libc::getgid() };
        let mut groups = vec![gid];
        // SAFETY: a first call with size 0 returns the count; the second fills that many.
        let count = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
        if count > 0 {
            let mut list = vec![0 as libc::gid_t; count as usize];
            let filled = unsafe { libc::getgroups(count, list.as_mut_ptr()) };
            if filled > 0 {
                list.truncate(filled as usize);
                groups.extend(list);
            }
        }
        groups.sort_unstable();
        groups.dedup();
        let name = passwd_name(roots, uid).or_else(|| {
            std::env::var("USER")
                .ok()
                .filter(|u| !u.is_empty() && uid != 0)
        });
        Me { name, groups }
    }
}

/// A line of /etc/group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// The groups /etc/group lists (empty when it cannot be read).
pub fn groups(roots: &Roots) -> Vec<Group> {
    let text = std::fs::read_to_string(roots.path("/etc/group")).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?.trim();
            let _password = fields.next()?;
            let gid = fields.next()?.trim().parse().ok()?;
            let members = fields
                .next()
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect();
            (!name.is_empty()).then(|| Group {
                name: name.to_string(),
                gid,
                members,
            })
        })
        .collect()
}

fn passwd_name(roots: &Roots, uid: u32) -> Option<String> {
    let text = std::fs::read_to_string(roots.path("/etc/passwd")).ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let _password = fields.next()?;
        let id: u32 = fields.next()?.trim().parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_string())
    })
}

/// Whether this user may open `path` for reading and writing, as the kernel decides it
/// (permission bits and ACLs, such as the one logind's uaccess gives the user at the seat).
pub fn may_read_write(path: &Path) -> io::Result<()> {
    let name = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the path"))?;
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::access(name.as_ptr(), libc::R_OK | libc::W_OK) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A device node's owner, group and mode as `ls -l` would give them (`root:dialout 0660`).
pub fn ownership(metadata: &std::fs::Metadata, groups: &[Group], roots: &Roots) -> String {
    let owner = if metadata.uid() == 0 {
        "root".to_string()
    } else {
        passwd_user(roots, metadata.uid()).unwrap_or_else(|| metadata.uid().to_string())
    };
    let group = groups
        .iter()
        .find(|g| g.gid == metadata.gid())
        .map_or_else(|| metadata.gid().to_string(), |g| g.name.clone());
    format!("{owner}:{group} {:04o}", metadata.mode() & 0o7777)
}

fn passwd_user(roots: &Roots, uid: u32) -> Option<String> {
    passwd_name(roots, uid)
}

/// A running process.
#[derive(Debug, Clone)]
pub struct Process {
    pub pid: u32,
    /// Its name as the kernel keeps it (`/proc/PID/comm`, at most 15 bytes).
    pub comm: String,
}

impl Process {
    /// Its command line, words apart (empty when it is gone or hidden).
    pub fn cmdline(&self, roots: &Roots) -> Vec<String> {
        std::fs::read(roots.path(format!("/proc/{}/cmdline", self.pid)))
            .map(|bytes| {
                bytes
                    .split(|b| *b == 0)
                    .filter(|w| !w.is_empty())
                    .map(|w| String::from_utf8_lossy(w).into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Where its open file descriptors lead (`/dev/ttyACM0`, `socket:[1234]`); an error
    /// when they cannot be read (another user's process, unless we are root).
    pub fn open_files(&self, roots: &Roots) -> io::Result<Vec<PathBuf>> {
        let dir = roots.path(format!("/proc/{}/fd", self.pid));
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let Ok(entry) = entry else { continue };
            if let Ok(target) = std::fs::read_link(entry.path()) {
                files.push(target);
            }
        }
        Ok(files)
    }

    /// `ModemManager (pid 812)`.
    pub fn label(&self) -> String {
        format!("{} (pid {})", self.comm, self.pid)
    }
}

/// The processes running now (those /proc shows), by pid.
pub fn processes(roots: &Roots) -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir(roots.path("/proc")) else {
        return Vec::new();
    };
    let mut found: Vec<Process> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(entry.path().join("comm")).ok()?;
            Some(Process {
                pid,
                comm: comm.trim_end_matches('\n').to_string(),
            })
        })
        .collect();
    found.sort_by_key(|p| p.pid);
    found
}

/// `1.4 MiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_file_lines_are_read_and_odd_ones_skipped() {
        let dir =
            std::env::temp_dir().join(format!("handsync-doctor-groups-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        std::fs::write(
            dir.join("etc/group"),
            "root:x:0:\ndialout:x:20:alice, bob\nbroken\nnonum:x:zz:\n:x:5:\n",
        )
        .unwrap();
        let roots = Roots::new(Some(dir.clone()));
        let groups = groups(&roots);
        assert_eq!(groups.len(), 2, "{groups:?}");
        assert_eq!(groups[1].name, "dialout");
        assert_eq!(groups[1].gid, 20);
        assert_eq!(groups[1].members, ["alice", "bob"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn sizes_read_as_people_do() {
        assert_eq!(human_size(10), "10 bytes");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 * 1024 * 1024), "3.0 MiB");
    }
}
