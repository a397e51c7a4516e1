//! `handsync serve` as a user runs it: the configuration file, the status lines, a clean stop.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

fn handsync() -> Command {
    Command::new(env!("CARGO_BIN_EXE_handsync"))
}

#[test]
fn a_bad_configuration_file_is_refused_with_its_position() {
    let dir = support::scratch_dir("serve-bad-config");
    let config = dir.join("config.toml");
    std::fs::write(&config, "[server]\nconflicts = \"pc-loses\"\n").unwrap();
    let output = handsync()
        .arg("--db")
        .arg(dir.join("db"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{}:2:13: ", config.display())),
        "{stderr}"
    );
    assert!(stderr.contains("phone-wins"), "{stderr}");

    let output = handsync()
        .args(["serve", "--config", "/nonexistent/handsync.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/handsync.toml"));

    let output = handsync()
        .args(["serve", "--http", "example.org:80"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("`example.org:80`"));
}

#[test]
fn serve_reads_its_configuration_says_what_it_listens_on_and_stops_on_sigterm() {
    let dir = support::scratch_dir("serve-config");
    let db = dir.join("from-config.db");
    std::fs::create_dir_all(dir.join("handsync")).unwrap();
    std::fs::write(
        dir.join("handsync/config.toml"),
        format!(
            "db = \"{}\"\n[server]\nserver-id = \"PC Suite Data Sync\"\n[http]\nlisten = [\"127.0.0.1:0\"]\n",
            db.display()
        ),
    )
    .unwrap();
    let mut child = handsync()
        .arg("serve")
        .env("XDG_CONFIG_HOME", &dir)
        .env_remove("HANDSYNC_DB")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    let address = loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "{lines:?}");
        lines.push(line.clone());
        if let Some(url) = line.trim().strip_prefix("HTTP: listening on http://") {
            break url.trim_end_matches('/').to_string();
        }
    };
    assert!(
        lines[0].contains("\"PC Suite Data Sync\"") && lines[0].contains("from-config.db"),
        "{lines:?}"
    );
    assert!(
        !address.ends_with(":0"),
        "the real port is printed: {address}"
    );
    assert!(db.exists(), "the database named in the file is used");

    // It answers HTTP.
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    std::io::Write::write_all(
        &mut stream,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("stopping"), "{rest}");
}

/// Listening beyond loopback with no authentication would let anyone on the network read and
/// change the user's data: `serve` refuses to start so, saying what to do, and starts once the
/// configuration asks for authentication or explicitly allows it.
#[test]
fn serve_refuses_an_open_network_listener_without_authentication() {
    let dir = support::scratch_dir("serve-open-network");
    let output = handsync()
        .arg("--db")
        .arg(dir.join("db"))
        .args(["serve", "--http", "0.0.0.0:0"])
        .env("XDG_CONFIG_HOME", &dir)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("without a password"), "{stderr}");
    assert!(stderr.contains("auth = \"md5\""), "{stderr}");

    for setting in ["auth = \"md5\"", "allow-unauthenticated-network = true"] {
        std::fs::create_dir_all(dir.join("handsync")).unwrap();
        std::fs::write(
            dir.join("handsync/config.toml"),
            format!("[server]\n{setting}\n"),
        )
        .unwrap();
        let mut child = handsync()
            .arg("--db")
            .arg(dir.join("db"))
            .args(["serve", "--http", "0.0.0.0:0"])
            .env("XDG_CONFIG_HOME", &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let listening = lines
            .by_ref()
            .map_while(Result::ok)
            .any(|line| line.starts_with("HTTP: listening on"));
        let _ = child.kill();
        let _ = child.wait();
        assert!(listening, "{setting}: serve did not start");
    }
}
