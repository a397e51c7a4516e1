//! The daemon's settings: the configuration file (TOML), with command-line flags over it.
//!
//! ```toml
//! db = "/var/lib/handsync/handsync.db"   # else --db, $HANDSYNC_DB, the XDG data dir
//!
//! [server]
//! server-id = "PC Suite"                 # what phones expect to talk to
//! conflicts = "phone-wins"               # pc-wins, newer-wins, keep-both
//! auth = "none"                          # basic, md5 (all transports)
//! allow-unauthenticated-network = false  # true: HTTP/OBEX beyond loopback with auth "none"
//! max-sessions = 64                      # open at once; more are told to come back later
//! max-sessions-per-device = 4
//! max-sessions-per-address = 16          # from one network address (HTTP, OBEX over TCP)
//! max-msg-size = 65536                   # our MaxMsgSize
//! max-obj-size = 4194304                 # our MaxObjSize
//!
//! [server.auth-by-transport]
//! http = "md5"
//!
//! [server.aliases]                       # extra datastore names phones use
//! "PhoneBook" = "contacts"
//!
//! [http]
//! listen = ["127.0.0.1:9180"]            # [] turns HTTP off
//! idle-timeout = 300                     # seconds before a silent session is cut
//! trusted-proxies = ["10.0.0.0/8"]       # whose X-Forwarded-For names the client; none by default
//!
//! [cluster]                            # several serve processes on one database
//! node-address = "10.0.0.5:9180"         # where the others reach this one's HTTP; default: its listener
//! heartbeat = 5                          # seconds; a node silent for 3 of them is gone
//!
//! [obex-tcp]
//! listen = ["127.0.0.1:6500"]            # off unless listed
//!
//! [serial]
//! devices = ["/dev/ttyUSB0"]             # phones that stay on a cable; off unless listed
//! baud = 115200
//!
//! [desktop]                            # the vdir kept in step both ways (khard, khal...)
//! enabled = true
//! vdir = "/home/me/.local/share/handsync/vdir"  # default: vdir/ beside handsync.db (NAME-vdir/ beside NAME.db)
//! conflicts = "phone-wins"               # default: [server] conflicts
//!
//! [limits]                             # what peers can make the daemon hold
//! connections = 256                      # per listener (HTTP, OBEX over TCP, Bluetooth)
//! connections-per-address = 32           # per listener from one network address
//! header-timeout = 30                    # seconds for an HTTP request's headers (and keep-alive)
//! body-timeout = 120                     # seconds for an HTTP request's body
//! obex-connect-timeout = 30              # seconds from connecting to OBEX CONNECT
//! obex-silence = 300                     # seconds of OBEX silence between operations
//! queue = 256                            # messages waiting for the session thread
//! large-objects = 67108864               # bytes all sessions' large objects hold together
//!
//! [bluetooth]
//! enabled = true                         # the SyncML Server profile, when an adapter exists
//! adapter = "hci0"                       # default: BlueZ's default adapter
//! channel = 26                           # RFCOMM channel of the record
//! name = "PC Suite"                      # the service name phones show
//! serve-unpaired = false                 # serve phones that are not paired and trusted
//! agent = false                          # answer pairing requests (headless machines)
//! pin = "0000"                           # the agent's PIN for legacy phones
//!
//! [usb]
//! enabled = true                         # serve phones plugged in (CDC OBEX), when USB exists
//! sync-on-plug = false                   # the PC starts a sync when a phone is plugged in
//!
//! [irda]
//! device = "/dev/ttyS1"                  # a dongle's tty, or "usb" / "usb:VID:PID"; off if unset
//! dongle = "plain"                       # a serial dongle's kind (see `handsync sync --help`)
//!
//! [notify]
//! enabled = true                         # a desktop notification when a phone's sync ends
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::cluster::{ClusterSettings, NodeAddress};
use super::Limits;
use crate::engine::{AuthPolicy, ConflictPolicy, ServerConfig};
use crate::store::Datastore;
use crate::transport::http::client::{IpNet, TrustedProxies};

/// Where HTTP listens when neither the file nor the command line says (loopback only: a
/// SyncML server on the network is the user's explicit choice).
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:9180";

/// How long an HTTP session may stay silent before it is cut (phones on GPRS pause for tens
/// of seconds between messages; five minutes leaves room for the slowest).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// The file as written by the user.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    pub db: Option<PathBuf>,
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub http: HttpSection,
    #[serde(default)]
    pub obex_tcp: ObexTcpSection,
    #[serde(default)]
    pub serial: SerialSection,
    #[serde(default)]
    pub bluetooth: BluetoothSection,
    #[serde(default)]
    pub usb: UsbSection,
    #[serde(default)]
    pub irda: IrdaSection,
    #[serde(default)]
    pub limits: LimitsSection,
    #[serde(default)]
    pub desktop: DesktopSection,
    #[serde(default)]
    pub notify: NotifySection,
    #[serde(default)]
    pub cluster: ClusterSection,
}

/// This process among others serving the same database (values checked as they are read, so
/// a bad one is reported at its line and column).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClusterSection {
    pub node_address: Option<NodeAddress>,
    /// Seconds between heartbeats.
    pub heartbeat: Option<u64>,
}

/// Desktop notifications (org.freedesktop.Notifications on the session bus) when a sync the
/// user did not start from a terminal ends: `serve`'s sessions, `sync --notify`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NotifySection {
    /// Off only when false.
    pub enabled: Option<bool>,
}

/// The vdir `serve` keeps in step with the store both ways (on unless `enabled = false`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DesktopSection {
    pub enabled: Option<bool>,
    /// Default: `vdir/` beside `handsync.db`, `NAME-vdir/` beside a database `NAME.db`.
    pub vdir: Option<PathBuf>,
    /// Who wins an item changed both in the store and on the desktop; default: [server]
    /// conflicts (phone-wins: the store's side, which holds what phones sent).
    pub conflicts: Option<ConflictName>,
}

/// An infrared dongle to stay discoverable on (off unless a device is named: a dongle does
/// not announce itself, and a tty may be anything).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IrdaSection {
    pub device: Option<String>,
    pub dongle: Option<String>,
}

/// Phones plugged in on USB.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UsbSection {
    /// Off only when false.
    pub enabled: Option<bool>,
    /// The PC starts a sync with each phone plugged in (otherwise the phone starts).
    #[serde(default)]
    pub sync_on_plug: bool,
}

/// What peers can make the daemon hold (see [`crate::transport::limits`]).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LimitsSection {
    pub connections: Option<usize>,
    pub connections_per_address: Option<usize>,
    pub header_timeout: Option<u64>,
    pub body_timeout: Option<u64>,
    pub obex_connect_timeout: Option<u64>,
    pub obex_silence: Option<u64>,
    pub queue: Option<usize>,
    pub large_objects: Option<u64>,
}

/// Phones on Bluetooth (the SyncML Server profile through BlueZ).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BluetoothSection {
    /// Off only when false.
    pub enabled: Option<bool>,
    pub adapter: Option<String>,
    pub channel: Option<u8>,
    pub name: Option<String>,
    #[serde(default)]
    pub serve_unpaired: bool,
    #[serde(default)]
    pub agent: bool,
    pub pin: Option<String>,
}

/// Phones that stay on a serial cable (`handsync serve` switches and serves them).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SerialSection {
    #[serde(default)]
    pub devices: Vec<PathBuf>,
    /// Line speed (default 115200).
    pub baud: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ObexTcpSection {
    /// Off unless listed (650 is the IrOBEX port, which needs privileges).
    #[serde(default)]
    pub listen: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServerSection {
    pub server_id: Option<String>,
    pub conflicts: Option<ConflictName>,
    pub auth: Option<AuthName>,
    #[serde(default)]
    pub auth_by_transport: BTreeMap<String, AuthName>,
    #[serde(default)]
    pub aliases: BTreeMap<String, DatastoreName>,
    pub max_msg_size: Option<u64>,
    pub max_obj_size: Option<u64>,
    pub default_client_max_msg_size: Option<u64>,
    pub max_auth_failures: Option<u32>,
    /// Listeners beyond loopback without authentication (refused unless true).
    pub allow_unauthenticated_network: Option<bool>,
    pub max_sessions: Option<usize>,
    pub max_sessions_per_device: Option<usize>,
    pub max_sessions_per_address: Option<usize>,
    /// Devices that never exchanged anything kept on record.
    pub empty_devices_kept: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpSection {
    pub listen: Option<Vec<String>>,
    /// Seconds.
    pub idle_timeout: Option<u64>,
    /// Reverse proxies (addresses or networks) whose X-Forwarded-For is believed.
    pub trusted_proxies: Option<Vec<IpNet>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictName {
    PhoneWins,
    PcWins,
    NewerWins,
    KeepBoth,
}

impl From<ConflictName> for ConflictPolicy {
    fn from(name: ConflictName) -> ConflictPolicy {
        match name {
            ConflictName::PhoneWins => ConflictPolicy::PhoneWins,
            ConflictName::PcWins => ConflictPolicy::PcWins,
            ConflictName::NewerWins => ConflictPolicy::NewerWins,
            ConflictName::KeepBoth => ConflictPolicy::KeepBoth,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthName {
    None,
    Basic,
    Md5,
}

impl From<AuthName> for AuthPolicy {
    fn from(name: AuthName) -> AuthPolicy {
        match name {
            AuthName::None => AuthPolicy::None,
            AuthName::Basic => AuthPolicy::Basic,
            AuthName::Md5 => AuthPolicy::Md5,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatastoreName {
    Contacts,
    Calendar,
    Tasks,
    Notes,
}

impl From<DatastoreName> for Datastore {
    fn from(name: DatastoreName) -> Datastore {
        match name {
            DatastoreName::Contacts => Datastore::Contacts,
            DatastoreName::Calendar => Datastore::Calendar,
            DatastoreName::Tasks => Datastore::Tasks,
            DatastoreName::Notes => Datastore::Notes,
        }
    }
}

/// A configuration problem, said so that the user can fix it (file, line, column, field).
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigFile {
    /// Parses a configuration file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<ConfigFile, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let position = e
                .span()
                .map(|span| {
                    let (line, column) = line_column(text, span.start);
                    format!(":{line}:{column}")
                })
                .unwrap_or_default();
            ConfigError(format!(
                "{}{position}: {}",
                origin.display(),
                e.message().trim_end()
            ))
        })
    }

    /// Reads `path`; `required` says whether a missing file is an error (given explicitly)
    /// or just means defaults (the XDG location).
    pub fn load(path: &Path, required: bool) -> Result<ConfigFile, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => ConfigFile::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                Ok(ConfigFile::default())
            }
            Err(e) => Err(ConfigError(format!("{}: {e}", path.display()))),
        }
    }

    /// The engine's configuration: defaults, then what the file says.
    pub fn server_config(&self) -> Result<ServerConfig, ConfigError> {
        let mut config = ServerConfig::default();
        let section = &self.server;
        if let Some(id) = &section.server_id {
            if id.trim().is_empty() {
                return Err(ConfigError("server.server-id must not be empty".into()));
            }
            config.server_id = id.clone();
        }
        if let Some(conflicts) = section.conflicts {
            config.conflicts = conflicts.into();
        }
        if let Some(auth) = section.auth {
            config.auth = auth.into();
        }
        for (transport, auth) in &section.auth_by_transport {
            config
                .auth_by_transport
                .insert(transport.clone(), (*auth).into());
        }
        // The user's names first: they win over a built-in alias of the same name.
        let mut aliases: Vec<(String, Datastore)> = section
            .aliases
            .iter()
            .map(|(name, datastore)| (name.clone(), (*datastore).into()))
            .collect();
        aliases.append(&mut config.aliases);
        config.aliases = aliases;
        for (field, value, minimum, target) in [
            (
                "server.max-msg-size",
                section.max_msg_size,
                1024,
                &mut config.max_msg_size,
            ),
            (
                "server.max-obj-size",
                section.max_obj_size,
                1024,
                &mut config.max_obj_size,
            ),
            (
                "server.default-client-max-msg-size",
                section.default_client_max_msg_size,
                512,
                &mut config.default_client_max_msg_size,
            ),
        ] {
            if let Some(value) = value {
                if value < minimum {
                    return Err(ConfigError(format!(
                        "{field} = {value}: at least {minimum} bytes"
                    )));
                }
                *target = value;
            }
        }
        if let Some(limit) = section.max_sessions {
            config.max_sessions = limit.max(1);
        }
        if let Some(limit) = section.max_sessions_per_device {
            config.max_sessions_per_device = limit.max(1);
        }
        if let Some(limit) = section.max_sessions_per_address {
            config.max_sessions_per_address = limit.max(1);
        }
        if let Some(kept) = section.empty_devices_kept {
            config.empty_devices_kept = kept;
        }
        if let Some(allow) = section.allow_unauthenticated_network {
            config.unauthenticated_network = allow;
        }
        if let Some(failures) = section.max_auth_failures {
            config.max_auth_failures = failures.max(1);
        }
        Ok(config)
    }

    /// HTTP listen addresses from the file, `None` when it does not say.
    pub fn http_listen(&self) -> Result<Option<Vec<SocketAddr>>, ConfigError> {
        match &self.http.listen {
            None => Ok(None),
            Some(list) => list
                .iter()
                .map(|text| {
                    parse_listen(text).map_err(|e| ConfigError(format!("http.listen: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
        }
    }

    /// OBEX-over-TCP listen addresses from the file.
    pub fn obex_tcp_listen(&self) -> Result<Vec<SocketAddr>, ConfigError> {
        self.obex_tcp
            .listen
            .iter()
            .map(|text| {
                parse_listen(text).map_err(|e| ConfigError(format!("obex-tcp.listen: {e}")))
            })
            .collect()
    }

    /// The serial line speed from the file, checked.
    pub fn serial_baud(&self) -> Result<Option<u32>, ConfigError> {
        match self.serial.baud {
            Some(baud) if !(300..=4_000_000).contains(&baud) => Err(ConfigError(format!(
                "serial.baud = {baud}: not a serial line speed (300..4000000)"
            ))),
            other => Ok(other),
        }
    }

    /// The RFCOMM channel from the file, checked.
    pub fn bluetooth_channel(&self) -> Result<Option<u8>, ConfigError> {
        match self.bluetooth.channel {
            Some(channel) if !(1..=30).contains(&channel) => Err(ConfigError(format!(
                "bluetooth.channel = {channel}: RFCOMM channels are 1..30"
            ))),
            other => Ok(other),
        }
    }

    /// The agent's PIN from the file, checked (1..16 characters, as Bluetooth allows).
    pub fn bluetooth_pin(&self) -> Result<Option<String>, ConfigError> {
        match &self.bluetooth.pin {
            Some(pin) if pin.is_empty() || pin.len() > 16 => Err(ConfigError(
                "bluetooth.pin: a PIN has 1 to 16 characters".into(),
            )),
            other => Ok(other.clone()),
        }
    }

    /// The limits: defaults, then what the file says (each at least 1).
    pub fn limits(&self) -> Result<Limits, ConfigError> {
        let mut limits = Limits::default();
        let section = &self.limits;
        for (field, value, target) in [
            (
                "limits.connections",
                section.connections,
                &mut limits.connections.per_listener,
            ),
            (
                "limits.connections-per-address",
                section.connections_per_address,
                &mut limits.connections.per_address,
            ),
            ("limits.queue", section.queue, &mut limits.queue),
        ] {
            match value {
                Some(0) => return Err(ConfigError(format!("{field} = 0: at least 1"))),
                Some(value) => *target = value,
                None => {}
            }
        }
        for (field, value, target) in [
            (
                "limits.header-timeout",
                section.header_timeout,
                &mut limits.connections.header_timeout,
            ),
            (
                "limits.body-timeout",
                section.body_timeout,
                &mut limits.connections.body_timeout,
            ),
            (
                "limits.obex-connect-timeout",
                section.obex_connect_timeout,
                &mut limits.connections.obex_before_connect,
            ),
            (
                "limits.obex-silence",
                section.obex_silence,
                &mut limits.connections.obex_silence,
            ),
        ] {
            match value {
                Some(0) => return Err(ConfigError(format!("{field} = 0: at least 1 second"))),
                Some(seconds) => *target = Duration::from_secs(seconds),
                None => {}
            }
        }
        if let Some(bytes) = section.large_objects {
            if bytes < 1024 {
                return Err(ConfigError(format!(
                    "limits.large-objects = {bytes}: at least 1024 bytes"
                )));
            }
            limits.large_objects = bytes;
        }
        Ok(limits)
    }

    /// The cluster settings: defaults, then what the file says.
    pub fn cluster(&self) -> Result<ClusterSettings, ConfigError> {
        let mut settings = ClusterSettings {
            node_address: self.cluster.node_address.clone(),
            ..ClusterSettings::default()
        };
        match self.cluster.heartbeat {
            Some(0) => {
                return Err(ConfigError(
                    "cluster.heartbeat = 0: at least 1 second".into(),
                ))
            }
            Some(seconds) => settings.heartbeat = Duration::from_secs(seconds),
            None => {}
        }
        Ok(settings)
    }

    /// The reverse proxies the file trusts (none unless listed).
    pub fn trusted_proxies(&self) -> TrustedProxies {
        TrustedProxies(self.http.trusted_proxies.clone().unwrap_or_default())
    }

    pub fn idle_timeout(&self) -> Result<Option<Duration>, ConfigError> {
        match self.http.idle_timeout {
            Some(0) => Err(ConfigError(
                "http.idle-timeout = 0: sessions need at least one second".into(),
            )),
            other => Ok(other.map(Duration::from_secs)),
        }
    }
}

/// `HOST:PORT`, or a bare port meaning loopback (`9180` → `127.0.0.1:9180`).
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Some(port) = text
        .strip_prefix("localhost:")
        .and_then(|p| p.parse::<u16>().ok())
    {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    Err(format!(
        "`{text}` is not an address: write IP:PORT (127.0.0.1:9180, [::1]:9180) or a port"
    ))
}

/// The default configuration file: `$XDG_CONFIG_HOME/handsync/config.toml`, else
/// `~/.config/handsync/config.toml`.
pub fn default_config_path() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| Path::new(p).is_absolute())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|home| PathBuf::from(home).join(".config"))
        })
        .map(|dir| dir.join("handsync").join("config.toml"))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_sets_every_field() {
        let file = ConfigFile::parse(
            r#"
db = "/tmp/x.db"
[server]
server-id = "PC Suite Data Sync"
conflicts = "keep-both"
auth = "basic"
max-msg-size = 20000
[server.auth-by-transport]
http = "md5"
[server.aliases]
"Telefonbuch" = "contacts"
[http]
listen = ["127.0.0.1:9000", "8000"]
idle-timeout = 60
[obex-tcp]
listen = ["6500"]
[notify]
enabled = false
"#,
            Path::new("test.toml"),
        )
        .unwrap();
        let config = file.server_config().unwrap();
        assert_eq!(config.server_id, "PC Suite Data Sync");
        assert_eq!(config.conflicts, ConflictPolicy::KeepBoth);
        assert_eq!(config.auth, AuthPolicy::Basic);
        assert_eq!(config.auth_by_transport["http"], AuthPolicy::Md5);
        assert_eq!(config.max_msg_size, 20000);
        assert_eq!(
            config.aliases[0],
            ("Telefonbuch".to_string(), Datastore::Contacts)
        );
        assert!(config.aliases.len() > 1, "built-in aliases kept");
        assert_eq!(
            file.http_listen().unwrap().unwrap(),
            vec![
                "127.0.0.1:9000".parse().unwrap(),
                "127.0.0.1:8000".parse().unwrap()
            ]
        );
        assert_eq!(file.idle_timeout().unwrap(), Some(Duration::from_secs(60)));
        assert_eq!(
            file.obex_tcp_listen().unwrap(),
            vec!["127.0.0.1:6500".parse().unwrap()]
        );
        assert_eq!(file.db.as_deref(), Some(Path::new("/tmp/x.db")));
        assert_eq!(file.notify.enabled, Some(false));
    }

    #[test]
    fn errors_name_the_file_line_and_column() {
        let error = ConfigFile::parse(
            "[server]\nconflicts = \"pc-loses\"\n",
            Path::new("/etc/h.toml"),
        )
        .unwrap_err();
        assert!(error.0.starts_with("/etc/h.toml:2:13: "), "{error}");
        assert!(
            error.0.contains("pc-wins"),
            "the valid names are listed: {error}"
        );

        let error = ConfigFile::parse("[htp]\n", Path::new("c.toml")).unwrap_err();
        assert!(error.0.starts_with("c.toml:1:2: "), "{error}");
        assert!(error.0.contains("htp"), "{error}");
    }

    #[test]
    fn bad_values_are_refused_with_the_field() {
        let file = ConfigFile::parse("[server]\nmax-msg-size = 10\n", Path::new("c")).unwrap();
        assert!(file
            .server_config()
            .unwrap_err()
            .0
            .contains("server.max-msg-size = 10"));
        let file = ConfigFile::parse("[http]\nlisten = [\"nowhere\"]\n", Path::new("c")).unwrap();
        assert!(file.http_listen().unwrap_err().0.contains("`nowhere`"));
        let file = ConfigFile::parse("[http]\nidle-timeout = 0\n", Path::new("c")).unwrap();
        assert!(file.idle_timeout().is_err());
    }

    #[test]
    fn limits_default_and_from_the_file() {
        let defaults = ConfigFile::parse("", Path::new("c"))
            .unwrap()
            .limits()
            .unwrap();
        assert_eq!(defaults.connections.per_listener, 256);
        assert_eq!(defaults.queue, 256);
        let file = ConfigFile::parse(
            "[limits]\nconnections = 8\nheader-timeout = 5\nbody-timeout = 6\n\
             obex-connect-timeout = 7\nobex-silence = 9\nqueue = 10\nlarge-objects = 4096\n",
            Path::new("c"),
        )
        .unwrap();
        let limits = file.limits().unwrap();
        assert_eq!(limits.connections.per_listener, 8);
        assert_eq!(limits.connections.header_timeout, Duration::from_secs(5));
        assert_eq!(limits.connections.body_timeout, Duration::from_secs(6));
        assert_eq!(
            limits.connections.obex_before_connect,
            Duration::from_secs(7)
        );
        assert_eq!(limits.connections.obex_silence, Duration::from_secs(9));
        assert_eq!(limits.queue, 10);
        assert_eq!(limits.large_objects, 4096);
        for bad in ["connections = 0", "obex-silence = 0", "large-objects = 10"] {
            let file = ConfigFile::parse(&format!("[limits]\n{bad}\n"), Path::new("c")).unwrap();
            let error = file.limits().unwrap_err().0;
            assert!(error.starts_with(&format!("limits.{bad}")), "{error}");
        }
    }

    #[test]
    fn the_cluster_and_trusted_proxies_from_the_file() {
        let file = ConfigFile::parse(
            "[http]\ntrusted-proxies = [\"10.0.0.0/8\", \"192.0.2.1\"]\n\
             [cluster]\nnode-address = \"node1.example:9180\"\nheartbeat = 2\n",
            Path::new("c"),
        )
        .unwrap();
        let cluster = file.cluster().unwrap();
        assert_eq!(cluster.node_address.unwrap().as_str(), "node1.example:9180");
        assert_eq!(cluster.heartbeat, Duration::from_secs(2));
        let proxies = file.trusted_proxies();
        assert!(proxies.trusts("10.9.8.7".parse().unwrap()));
        assert!(proxies.trusts("192.0.2.1".parse().unwrap()));
        assert!(!proxies.trusts("192.0.2.2".parse().unwrap()));
        let defaults = ConfigFile::parse("", Path::new("c")).unwrap();
        assert_eq!(defaults.cluster().unwrap(), ClusterSettings::default());
        assert!(defaults.trusted_proxies().is_empty());
        let file = ConfigFile::parse("[cluster]\nheartbeat = 0\n", Path::new("c")).unwrap();
        assert!(file
            .cluster()
            .unwrap_err()
            .0
            .starts_with("cluster.heartbeat = 0"));
    }

    /// A bad node address or proxy is reported where it stands in the file.
    #[test]
    fn bad_cluster_values_name_their_line_and_column() {
        let error = ConfigFile::parse(
            "[cluster]\nnode-address = \"10.0.0.5\"\n",
            Path::new("/etc/h.toml"),
        )
        .unwrap_err();
        assert!(error.0.starts_with("/etc/h.toml:2:16: "), "{error}");
        assert!(error.0.contains("HOST:PORT"), "{error}");
        let error = ConfigFile::parse(
            "[http]\ntrusted-proxies = [\"10.0.0.0/8\", \"10.0.0.0/40\"]\n",
            Path::new("h.toml"),
        )
        .unwrap_err();
        // The list is pointed at; the message names the entry.
        assert!(error.0.starts_with("h.toml:2:19: "), "{error}");
        assert!(error.0.contains("`10.0.0.0/40`"), "{error}");
    }

    #[test]
    fn a_missing_default_file_means_defaults_but_a_given_one_is_an_error() {
        let missing = Path::new("/nonexistent/handsync/config.toml");
        assert!(ConfigFile::load(missing, false).unwrap().db.is_none());
        assert!(ConfigFile::load(missing, true).is_err());
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(
            parse_listen("9180").unwrap(),
            "127.0.0.1:9180".parse().unwrap()
        );
        assert_eq!(
            parse_listen("localhost:80").unwrap(),
            "127.0.0.1:80".parse().unwrap()
        );
        assert_eq!(
            parse_listen("[::1]:81").unwrap(),
            "[::1]:81".parse().unwrap()
        );
        assert!(parse_listen("example.org:80").is_err());
    }
}
