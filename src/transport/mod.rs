//! The wires phones and SyncML clients reach us by; each hands messages' bytes to the session
//! hub through the one handle of [`sessions`] and carries its answers back.
//!
//! - [`sessions`]: the handle to the hub and what crosses its channel;
//! - `pump`: the one driver of every sans-IO [`crate::machine::Machine`] on a byte stream;
//! - [`http`]: the SyncML HTTP binding (POST per message, RespURI, idle expiry);
//! - [`obex`]: SyncML over OBEX on any byte stream, both roles;
//! - [`limits`]: connection caps and read timeouts of the network listeners;
//! - [`tcp`]: OBEX over TCP (the phone emulator, IrDA/Bluetooth bridges, tests);
//! - [`emulated`]: the phone emulator on these wires (`handsync emulate`);
//! - [`serial`]: OBEX on a serial or USB-serial cable (AT switch, Siemens BFB framing);
//! - [`bluetooth`]: OBEX on RFCOMM through BlueZ (the SyncML Server record, SDP lookups of
//!   phones, pairing).

pub mod bluetooth;
pub mod emulated;
pub mod emulated_irda;
pub mod emulated_irda_usb;
pub mod emulated_usb;
pub mod http;
pub mod irda;
pub mod limits;
pub mod obex;
mod pump;
pub mod serial;
pub mod sessions;
pub mod tcp;
pub mod usb;

use std::time::Duration;

/// The longest pause between tries at a missing port or a silent phone.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(60);

/// Failures in a row: each different one reported once (a phone left unplugged for hours does
/// not fill the journal), tried again after a pause that doubles up to a minute.
pub(crate) struct Retry {
    base: Duration,
    pause: Duration,
    last: Option<String>,
}

impl Retry {
    pub(crate) fn new(base: Duration) -> Retry {
        Retry {
            base,
            pause: base,
            last: None,
        }
    }

    /// Reports `line` unless it was the last one; the pause before the next try.
    pub(crate) fn failed(
        &mut self,
        report: &(dyn Fn(&str) + Send + Sync),
        line: String,
    ) -> Duration {
        if self.last.as_deref() != Some(line.as_str()) {
            report(&line);
        }
        self.last = Some(line);
        let pause = self.pause;
        self.pause = (self.pause * 2).min(MAX_RETRY_PAUSE.max(self.base));
        pause
    }

    pub(crate) fn succeeded(&mut self) {
        self.pause = self.base;
        self.last = None;
    }
}
