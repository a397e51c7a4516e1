//! The checks of handsync's own things: the database and the listeners' ports.

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::Path;

use super::system::{self, human_size, Process};
use super::{Report, Roots, Setup};
use crate::daemon::config::{parse_listen, DEFAULT_HTTP_LISTEN};

/// The database: there (or not yet), readable and writable, intact (`PRAGMA
/// integrity_check`), and its size.
pub fn check_database(setup: &Setup, report: &mut Report) {
    let path = match crate::cli::serve::resolve_db(setup.db.clone(), &setup.file) {
        Ok(path) => path,
        Err(failure) => {
            report.fail(format!("database: {}: give --db PATH", failure.message));
            return;
        }
    };
    if let Some(url) = path.to_str().filter(|p| handsync_store::is_postgres_url(p)) {
        check_postgres(url, report);
        return;
    }
    let shown = path.display();
    let metadata = match std::fs::metadata(&path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            report.ok(format!(
                "database: {shown} does not exist yet: the first sync or import creates it"
            ));
            return;
        }
        Err(e) => {
            report.fail(format!(
                "database: cannot read {shown}: {e}: check the permissions of its folder"
            ));
            return;
        }
    };
    if !metadata.is_file() {
        report.fail(format!(
            "database: {shown} is not a file: give --db the database file"
        ));
        return;
    }
    if let Err(e) = system::may_read_write(&path) {
        let groups = system::groups(&setup.roots);
        report.fail(format!(
            "database: you cannot write {shown} ({}; {e}): it should be yours: sudo chown $USER {shown}",
            system::ownership(&metadata, &groups, &setup.roots)
        ));
        return;
    }
    let mut size = metadata.len();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    size += std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    match integrity(&path) {
        Ok(problems) if problems.is_empty() => report.ok(format!(
            "database: {shown} is intact (integrity_check), {}",
            human_size(size)
        )),
        Ok(problems) => report.fail(format!(
            "database: {shown} is damaged ({}{}): stop handsync serve, keep a copy, then restore a backup \
             or salvage it: sqlite3 {shown} .recover | sqlite3 recovered.db",
            problems[0],
            match problems.len() {
                1 => String::new(),
                n => format!(", and {} more", n - 1),
            }
        )),
        Err(e) => {
            use rusqlite::ErrorCode;
            match e.sqlite_error_code() {
                Some(ErrorCode::DatabaseCorrupt) => report.fail(format!(
                    "database: {shown} is damaged ({e}): stop handsync serve, keep a copy, then \
                     restore a backup or salvage it: sqlite3 {shown} .recover | sqlite3 recovered.db"
                )),
                Some(ErrorCode::NotADatabase) => report.fail(format!(
                    "database: {shown} is not a SQLite database ({e}): give --db handsync's \
                     database (or move this file away)"
                )),
                _ => report.fail(format!(
                    "database: {shown} cannot be checked ({e}): is another program holding it \
                     locked? Try again when it is done"
                )),
            }
        }
    }
}

/// A PostgreSQL store: reachable with the URL's role, its schema one this build knows.
fn check_postgres(url: &str, report: &mut Report) {
    let shown = handsync_store::redact_url(url);
    match handsync_store::probe_postgres(url) {
        Ok(probe) if probe.schema > probe.supported => report.fail(format!(
            "database: {shown} has schema {} from a newer handsync (this one knows {}): \
             upgrade handsync",
            probe.schema, probe.supported
        )),
        Ok(probe) if probe.schema == 0 => report.ok(format!(
            "database: {shown} (PostgreSQL {}) has no handsync tables yet: the first \
             command that opens it creates them",
            probe.server_version
        )),
        Ok(probe) => report.ok(format!(
            "database: {shown} (PostgreSQL {}), schema {}{}, {}",
            probe.server_version,
            probe.schema,
            if probe.schema < probe.supported {
                " (brought forward at the next start)"
            } else {
                ""
            },
            human_size(probe.size.max(0) as u64)
        )),
        Err(e) => report.fail(format!(
            "database: {e}: is PostgreSQL running there, and may the URL's role log in \
             (pg_hba.conf) and use that database?"
        )),
    }
}

/// The problems `PRAGMA integrity_check` finds (at most ten), none when intact. Opened
/// read-only: a damaged file is not touched.
fn integrity(path: &Path) -> Result<Vec<String>, rusqlite::Error> {
    use rusqlite::OpenFlags;
    let connection = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // The daemon may be writing: wait for it rather than fail.
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    let mut statement = connection.prepare("PRAGMA integrity_check(10)")?;
    let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
    let mut problems = Vec::new();
    for row in rows {
        let line = row?;
        if line != "ok" {
            problems.push(line);
        }
    }
    Ok(problems)
}

/// The listeners `serve` would open: each address free, or held by handsync itself.
pub fn check_listeners(setup: &Setup, report: &mut Report) {
    let file = &setup.file;
    let http = match file.http_listen() {
        Ok(Some(list)) => list,
        Ok(None) => vec![parse_listen(DEFAULT_HTTP_LISTEN)
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 9180)))],
        Err(e) => {
            report.fail(format!("HTTP listener: not checked: {e}"));
            Vec::new()
        }
    };
    if file.http.listen.as_ref().is_some_and(|l| l.is_empty()) {
        report.ok("HTTP listener: off ([http] listen = [])");
    }
    let obex = file.obex_tcp_listen().unwrap_or_else(|e| {
        report.fail(format!("OBEX over TCP listener: not checked: {e}"));
        Vec::new()
    });
    let wanted = http
        .into_iter()
        .map(|a| ("HTTP", "[http] listen", a))
        .chain(
            obex.into_iter()
                .map(|a| ("OBEX over TCP", "[obex-tcp] listen", a)),
        );
    for (what, setting, address) in wanted {
        check_port(&setup.roots, report, what, setting, address);
    }
}

fn check_port(roots: &Roots, report: &mut Report, what: &str, setting: &str, address: SocketAddr) {
    let error = match TcpListener::bind(address) {
        Ok(listener) => {
            drop(listener);
            report.ok(format!(
                "{what} listener {address}: free for handsync serve"
            ));
            return;
        }
        Err(e) => e,
    };
    match error.kind() {
        std::io::ErrorKind::AddrInUse => match port_holder(roots, address) {
            Some(holder) if is_handsync_serve(roots, &holder) => report.ok(format!(
                "{what} listener {address}: in use by handsync serve (pid {}), the daemon itself",
                holder.pid
            )),
            Some(holder) => report.fail(format!(
                "{what} listener {address}: in use by {}: stop it, or give handsync another \
                 address ({setting} in the configuration)",
                holder.label()
            )),
            None => report.fail(format!(
                "{what} listener {address}: in use, by handsync serve? (systemctl --user status \
                 handsync; ss -ltnp 'sport = :{port}' names the program): stop it, or give \
                 handsync another address ({setting} in the configuration)",
                port = address.port()
            )),
        },
        std::io::ErrorKind::AddrNotAvailable => report.fail(format!(
            "{what} listener {address}: no network interface of this machine has that address: \
             fix {setting} in the configuration"
        )),
        std::io::ErrorKind::PermissionDenied => report.fail(format!(
            "{what} listener {address}: ports below 1024 need privileges: pick one above 1023 \
             ({setting} in the configuration)"
        )),
        _ => report.fail(format!(
            "{what} listener {address}: cannot listen there ({error}): fix {setting} in the \
             configuration"
        )),
    }
}

/// A `handsync serve` (another handsync command on the port, an emulator say, is in the way).
fn is_handsync_serve(roots: &Roots, process: &Process) -> bool {
    let words = process.cmdline(roots);
    let program = words
        .first()
        .and_then(|p| Path::new(p).file_name())
        .is_some_and(|n| n == "handsync");
    (program || process.comm == "handsync") && words.iter().skip(1).any(|w| w == "serve")
}

/// The process listening on `address`: the socket's inode from /proc/net/tcp{,6}, then the
/// process holding it among those whose descriptors we may read.
fn port_holder(roots: &Roots, address: SocketAddr) -> Option<Process> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(roots.path(table)) else {
            continue;
        };
        inodes.extend(text.lines().filter_map(|line| {
            let listener = parse_tcp_line(line)?;
            let same_address = listener.address.ip() == address.ip()
                || listener.address.ip().is_unspecified()
                || address.ip().is_unspecified();
            (listener.address.port() == address.port() && same_address && listener.listening)
                .then_some(listener.inode)
        }));
    }
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    system::processes(roots).into_iter().find(|process| {
        process.open_files(roots).is_ok_and(|files| {
            files
                .iter()
                .any(|f| wanted.iter().any(|w| f.as_os_str() == w.as_str()))
        })
    })
}

#[derive(Debug, PartialEq, Eq)]
struct TcpSocket {
    address: SocketAddr,
    listening: bool,
    inode: u64,
}

/// One line of /proc/net/tcp or tcp6: `0: 0100007F:23DC 00000000:0000 0A ... inode ...`.
/// Addresses are the kernel's 32-bit words in this machine's byte order.
fn parse_tcp_line(line: &str) -> Option<TcpSocket> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() < 10 || !fields[0].ends_with(':') {
        return None;
    }
    let (host, port) = fields[1].split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let mut bytes = Vec::with_capacity(16);
    for word in host.as_bytes().chunks(8) {
        let word = u32::from_str_radix(std::str::from_utf8(word).ok()?, 16).ok()?;
        bytes.extend_from_slice(&word.to_ne_bytes());
    }
    let ip = match bytes.len() {
        4 => IpAddr::from(<[u8; 4]>::try_from(bytes.as_slice()).ok()?),
        16 => {
            let v6 = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes.as_slice()).ok()?);
            v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
        }
        _ => return None,
    };
    Some(TcpSocket {
        address: SocketAddr::new(ip, port),
        listening: fields[3] == "0A",
        inode: fields[9].parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrity_check_lists_what_is_wrong_and_nothing_when_intact() {
        let dir =
            std::env::temp_dir().join(format!("handsync-doctor-integrity-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.db");
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "CREATE TABLE t(a INTEGER, b TEXT); CREATE INDEX tb ON t(b);
                 INSERT INTO t VALUES (1, 'x'), (2, 'y'), (3, 'z');",
            )
            .unwrap();
        drop(connection);
        assert_eq!(integrity(&path).unwrap(), Vec::<String>::new());
        // The index's schema made to name another column than its entries hold.
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "PRAGMA writable_schema = ON;
                 UPDATE sqlite_master SET sql = 'CREATE INDEX tb ON t(a)' WHERE name = 'tb';",
            )
            .unwrap();
        drop(connection);
        let problems = integrity(&path).unwrap();
        assert!(!problems.is_empty());
        assert!(problems.iter().any(|p| p.contains("tb")), "{problems:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn proc_net_tcp_lines_are_read() {
        let loopback = u32::from_ne_bytes([127, 0, 0, 1]);
        let line = format!(
            "   3: {loopback:08X}:23DC 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 48121 1 0000000000000000 100 0 0 10 0"
        );
        assert_eq!(
            parse_tcp_line(&line),
            Some(TcpSocket {
                address: "127.0.0.1:9180".parse().unwrap(),
                listening: true,
                inode: 48121,
            })
        );
        let any6 = "   0: 00000000000000000000000000000000:1964 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1";
        let socket = parse_tcp_line(any6).unwrap();
        assert_eq!(socket.address, "[::]:6500".parse().unwrap());
        assert_eq!(socket.inode, 777);
        assert_eq!(
            parse_tcp_line("  sl  local_address rem_address   st tx_queue"),
            None
        );
        assert_eq!(parse_tcp_line("0: zz:1 0 0A a b c d e f"), None);
    }
}
