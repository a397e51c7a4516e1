//! A phone facing an emulated IrDA-USB dongle, sans-IO: the PC's driver reaches the dongle
//! ([`UsbDongle`]) over USB/IP, the dongle's frames cross the simulated [`Air`] to the
//! phone's own IrDA station ([`super::phone::phone_station`]), and the phone's frames come
//! back to the dongle, which hands them to the PC in its IN transfers.
//!
//! Unlike [`super::phone::IrPhone`] (a PC on a SIR tty) the PC's speed is the dongle's: the
//! host changes it with the headers of its OUT transfers.
//!
//! The OBEX machine on top is the caller's: bytes come out of [`UsbIrPhone::station_mut`]'s
//! `read_obex` and go in through its `write_obex`.

use std::time::Instant;

use handsync_proto::irda::station::Station;
use handsync_proto::machine::Machine;

use super::link::{Air, AirConfig};
use super::phone::PhoneOnAir;
use super::usb_dongle::{DongleEvent, UsbDongle};

/// An emulated IrDA-USB dongle with a phone in front of it.
pub struct UsbIrPhone {
    dongle: UsbDongle,
    on_air: PhoneOnAir,
}

impl UsbIrPhone {
    pub fn new(dongle: UsbDongle, station: Station, air: AirConfig) -> UsbIrPhone {
        UsbIrPhone {
            on_air: PhoneOnAir::new(station, air, dongle.speed()),
            dongle,
        }
    }

    pub fn dongle(&self) -> &UsbDongle {
        &self.dongle
    }

    pub fn station_mut(&mut self) -> &mut Station {
        &mut self.on_air.station
    }

    pub fn air(&self) -> &Air {
        &self.on_air.air
    }

    pub fn air_mut(&mut self) -> &mut Air {
        &mut self.on_air.air
    }

    /// USB/IP bytes from the host (the kernel's vhci-hcd, or `usbip` before attaching).
    pub fn handle_usbip(&mut self, now: Instant, bytes: &[u8]) {
        self.dongle.handle_input(now, bytes);
        self.step(now);
    }

    /// USB/IP bytes for the host.
    pub fn poll_usbip(&mut self) -> Option<Vec<u8>> {
        self.dongle.poll_transmit()
    }

    /// What the dongle tells its USB/IP server (attached, configured, broken...).
    pub fn poll_dongle_event(&mut self) -> Option<DongleEvent> {
        self.dongle.poll_event()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.on_air.poll_timeout()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.on_air.advance(now);
        self.step(now);
    }

    /// Moves frames between the dongle, the air and the phone's station until none moves.
    pub fn step(&mut self, now: Instant) {
        loop {
            let mut moved = false;
            while let Some(transmit) = self.dongle.poll_ir_transmit() {
                moved = true;
                self.on_air.from_pc(now, transmit);
            }
            moved |= self.on_air.step_phone(now);
            while let Some(received) = self.on_air.to_pc(self.dongle.speed()) {
                moved = true;
                self.dongle.ir_receive(received);
            }
            if !moved {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests;
