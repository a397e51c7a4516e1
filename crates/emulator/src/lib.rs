//! A phone emulator: a SyncML DS client that behaves like the phones handsync serves, for
//! tests and for users without a phone at hand (`handsync emulate`, `docs/emulator.md`). The
//! engine's tests run it against the real server; its recorded sessions are the golden
//! transcripts in `captures/`.
//!
//! Sans-IO like the other protocol cores: no sockets, threads or clocks; time is passed in.
//! Files are touched only by the explicit directory and transcript functions.
//!
//! Dependencies: `handsync-proto` (the codecs, the SyncML model, the DS pieces it shares with
//! the engine in `handsync_proto::ds`, OBEX and cable machines) and small data crates (base64,
//! encoding_rs, serde and toml for the model files, tracing). Never tokio, hyper, rusqlite,
//! bluer or dbus, and not the engine or the store: the transports in the root package drive
//! it, and `scripts/test-all` checks the dependency tree.
//!
//! - [`DeviceProfile`]: a phone model (identity, SyncML version, encoding, limits, datastores,
//!   capabilities, cable switch command); the built-ins (Nokia S40/S60, Sony Ericsson,
//!   Siemens, Motorola) are data files, `models/*.toml`;
//! - [`PhoneStore`]: the phone's memory (items by LUID, change log, anchors, Maps owed),
//!   loaded from and saved to a directory; [`generate()`] fills one deterministically;
//! - [`EmulatedPhone`]: the SyncML client session machine (`start_sync`, `receive`, `abort`);
//! - [`cable`]: a phone's end of a data cable (AT commands, the switch to OBEX, BFB);
//! - [`PhoneStartsObex`], [`PcStartsObex`]: the phone on OBEX, as client or server;
//! - [`Transcript`]: every message of a session, recorded as text; [`replay`] checks a phone
//!   against one.

pub mod cable;
mod client;
mod error;
mod generate;
pub mod irda;
mod models;
mod notification;
mod obex;
mod profile;
mod saved_dir;
mod store;
mod transcript;
pub mod usb;

pub use client::{
    encode_message, AuthKind, Credentials, DatastoreReport, EmulatedPhone, Outgoing, PhoneConfig,
    SessionReport, Step, SyncMode, SyncRequest,
};
pub use error::EmulatorError;
pub use generate::{contact, event, generate, note, photo, todo, DataSetSpec, Rng};
pub use models::ModelError;
pub use notification::request_from_notification;
pub use obex::{PcStartsObex, PhoneEvent, PhoneStartsObex};
pub use profile::{
    AnchorStyle, CableSwitch, Capability, CapabilityProperty, DatastoreSpec, DeviceProfile,
    TextStyle,
};
pub use store::{Change, PhoneDatastore, PhoneItem, PhoneStore};
pub use transcript::{display_xml, replay, Direction, Entry, ReplayMismatch, Transcript};

/// Wall-clock time in milliseconds since the Unix epoch, as the phone's clock reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixMillis(pub u64);

impl UnixMillis {
    /// The time a `SystemTime` reads (for drivers; the core never reads a clock).
    pub fn from_system_time(time: std::time::SystemTime) -> UnixMillis {
        let millis = time
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        UnixMillis(u64::try_from(millis).unwrap_or(u64::MAX))
    }
}
