//! One face for both kinds of dongle, so the station's driver does not care which it has.

use std::io;

use handsync_proto::irda::qos::{Capabilities, BAUD_RATES};
use handsync_proto::irda::{Received, Transmit};

use super::serial::SerialDongle;
use super::usb::UsbDongle;

/// A dongle, open.
pub enum IrdaPort {
    Serial(SerialDongle),
    Usb(UsbDongle),
}

impl IrdaPort {
    /// Puts one frame on the air, at its speed.
    pub async fn send(&mut self, transmit: &Transmit) -> io::Result<()> {
        match self {
            IrdaPort::Serial(dongle) => dongle.send(transmit).await.map_err(io::Error::other),
            IrdaPort::Usb(dongle) => dongle.send(transmit).await.map_err(io::Error::other),
        }
    }

    /// The next frame or sign of activity from the air. Cancel-safe.
    pub async fn recv(&mut self) -> io::Result<Received> {
        match self {
            IrdaPort::Serial(dongle) => dongle.recv().await,
            IrdaPort::Usb(dongle) => dongle.recv().await,
        }
    }

    pub async fn set_speed(&mut self, speed: u32) -> io::Result<()> {
        match self {
            IrdaPort::Serial(dongle) => dongle.set_speed(speed).await.map_err(io::Error::other),
            IrdaPort::Usb(dongle) => dongle.set_speed(speed).await.map_err(io::Error::other),
        }
    }

    pub fn speed(&self) -> u32 {
        match self {
            IrdaPort::Serial(dongle) => dongle.speed(),
            IrdaPort::Usb(dongle) => dongle.speed(),
        }
    }

    /// What the station may offer in negotiation: the speeds this dongle reaches.
    pub fn capabilities(&self) -> Capabilities {
        match self {
            IrdaPort::Serial(dongle) => Capabilities {
                baud_rates: baud_bits(dongle.kind().speeds()),
                ..Capabilities::default()
            },
            IrdaPort::Usb(dongle) => {
                // What the dongle's class descriptor says it receives and needs.
                let class = dongle.capabilities();
                let defaults = Capabilities::default();
                Capabilities {
                    baud_rates: baud_bits(&class.speeds),
                    data_size: class.data_sizes.last().map_or(defaults.data_size, |&size| {
                        u16::try_from(size)
                            .unwrap_or(u16::MAX)
                            .min(defaults.data_size)
                    }),
                    window: class
                        .window_sizes
                        .last()
                        .map_or(defaults.window, |&window| window.clamp(1, 7)),
                    min_turnaround_us: class.min_turnaround_us().max(defaults.min_turnaround_us),
                    ..defaults
                }
            }
        }
    }
}

/// The negotiation bits of a list of speeds (IrLAP's baud rate parameter).
pub fn baud_bits(speeds: &[u32]) -> u16 {
    BAUD_RATES
        .iter()
        .enumerate()
        .filter(|(_, rate)| speeds.contains(rate))
        .fold(0, |bits, (index, _)| bits | (1 << index))
}
