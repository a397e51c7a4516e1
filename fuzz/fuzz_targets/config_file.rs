//! Any text as the daemon's TOML configuration file, then every check the daemon runs on what
//! it read, and any text as a listen address: errors are fine (a parse error names the file
//! first), panics and hangs are not. The text is also read as the values of a file whose keys
//! are all known (line N, when not blank, is the value of the Nth key: a number or boolean as
//! it stands, a list for the lists, other text quoted, or after a `=` raw TOML), so that the
//! checks behind the parser are reached without a dictionary.
#![no_main]
use std::path::Path;
use std::time::Duration;

use handsync::daemon::config::{parse_listen, ConfigFile};
use libfuzzer_sys::fuzz_target;

const ORIGIN: &str = "/etc/handsync/config.toml";

/// The root crate links the bundled SQLite (through handsync-store), whose FTS3 and FTS5 carry
/// identical function-local `static const unsigned short aiOff[]` tables that the linker
/// merges into one: AddressSanitizer then reports an ODR violation at start-up, before any
/// input. This turns off that one-time check only; the memory checks stay on.
#[no_mangle]
pub extern "C" fn __asan_default_options() -> *const std::ffi::c_char {
    c"detect_odr_violation=0".as_ptr()
}

/// Every key of the file, by section (the top level first).
const KEYS: [(&str, &str); 33] = [
    ("", "db"),
    ("server", "server-id"),
    ("server", "conflicts"),
    ("server", "auth"),
    ("server", "allow-unauthenticated-network"),
    ("server", "max-sessions"),
    ("server", "max-sessions-per-device"),
    ("server", "max-sessions-per-address"),
    ("server", "max-msg-size"),
    ("server", "max-obj-size"),
    ("server", "default-client-max-msg-size"),
    ("server", "max-auth-failures"),
    ("server.auth-by-transport", "http"),
    ("server.aliases", "\"PhoneBook\""),
    ("http", "listen"),
    ("http", "idle-timeout"),
    ("obex-tcp", "listen"),
    ("serial", "devices"),
    ("serial", "baud"),
    ("limits", "connections"),
    ("limits", "connections-per-address"),
    ("limits", "header-timeout"),
    ("limits", "body-timeout"),
    ("limits", "obex-connect-timeout"),
    ("limits", "obex-silence"),
    ("limits", "queue"),
    ("limits", "large-objects"),
    ("bluetooth", "enabled"),
    ("bluetooth", "adapter"),
    ("bluetooth", "channel"),
    ("bluetooth", "name"),
    ("bluetooth", "serve-unpaired"),
    ("bluetooth", "pin"),
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    parse_and_check(&text);
    parse_and_check(&with_known_keys(&text));
    // The listen addresses one by one, as `--listen` gives them.
    if let Ok(addr) = parse_listen(&text) {
        if text.trim().parse::<u16>().is_ok() {
            assert!(addr.ip().is_loopback(), "a bare port listens on loopback");
        }
    }
});

/// Line N of `text`, when not blank, as the value of the Nth key.
fn with_known_keys(text: &str) -> String {
    let mut file = String::new();
    let mut section = "";
    for ((key_section, key), value) in KEYS.iter().zip(text.lines()) {
        if value.trim().is_empty() {
            continue;
        }
        if *key_section != section {
            section = key_section;
            file.push_str(&format!("[{section}]\n"));
        }
        file.push_str(&format!("{key} = {}\n", toml_value(key, value)));
    }
    file
}

fn toml_value(key: &str, line: &str) -> String {
    if let Some(raw) = line.strip_prefix('=') {
        return raw.to_string();
    }
    let value = line.trim();
    if matches!(key, "listen" | "devices") {
        let items: Vec<String> = value.split(',').map(|item| quote(item.trim())).collect();
        format!("[{}]", items.join(", "))
    } else if value.parse::<i64>().is_ok() || value == "true" || value == "false" {
        value.to_string()
    } else {
        quote(value)
    }
}

/// A TOML basic string.
fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn parse_and_check(text: &str) {
    match ConfigFile::parse(text, Path::new(ORIGIN)) {
        Err(error) => {
            let message = error.to_string();
            assert!(!message.is_empty());
            assert!(
                message.starts_with(ORIGIN),
                "a parse error does not name the file first: {message:?}"
            );
        }
        Ok(file) => check(&file),
    }
}

/// Every checker the daemon calls on a parsed file, and what each promises when it passes.
fn check(file: &ConfigFile) {
    if let Ok(config) = file.server_config() {
        assert!(!config.server_id.trim().is_empty());
        assert!(config.max_sessions >= 1);
        assert!(config.max_sessions_per_device >= 1);
        assert!(config.max_sessions_per_address >= 1);
        assert!(config.max_auth_failures >= 1);
        assert!(config.max_msg_size >= 1024);
        assert!(config.max_obj_size >= 1024);
        assert!(config.default_client_max_msg_size >= 512);
    }
    let _ = file.http_listen();
    let _ = file.obex_tcp_listen();
    if let Ok(Some(baud)) = file.serial_baud() {
        assert!((300..=4_000_000).contains(&baud), "baud {baud}");
    }
    if let Ok(Some(channel)) = file.bluetooth_channel() {
        assert!((1..=30).contains(&channel), "channel {channel}");
    }
    if let Ok(Some(pin)) = file.bluetooth_pin() {
        assert!(!pin.is_empty());
    }
    if let Ok(Some(timeout)) = file.idle_timeout() {
        assert!(timeout >= Duration::from_secs(1));
    }
    if let Ok(limits) = file.limits() {
        assert!(limits.connections.per_listener >= 1);
        assert!(limits.connections.per_address >= 1);
        assert!(limits.queue >= 1);
        assert!(limits.connections.header_timeout >= Duration::from_secs(1));
        assert!(limits.connections.body_timeout >= Duration::from_secs(1));
        assert!(limits.connections.obex_before_connect >= Duration::from_secs(1));
        assert!(limits.connections.obex_silence >= Duration::from_secs(1));
        assert!(limits.large_objects >= 1024);
    }
}
