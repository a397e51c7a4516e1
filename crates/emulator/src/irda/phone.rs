//! The phone's infrared face, sans-IO: the PC's transceiver sits on a UART (a laptop's SIR
//! port, or a dongle whose infrared speed follows the line's), so what the PC writes to its
//! tty is SIR. Its frames cross the simulated [`Air`] to the phone's own IrDA station, the
//! same stack as the PC's in the phone's role, and the phone's frames come back the same way,
//! SIR-encoded for the PC's tty when the air delivers them.
//!
//! The OBEX machine on top is the caller's: bytes come out of [`IrPhone::station_mut`]'s
//! `read_obex` and go in through its `write_obex`.

use std::collections::VecDeque;
use std::time::Instant;

use handsync_proto::irda::frame::Hints;
use handsync_proto::irda::qos::{baud, Capabilities, THRESHOLD_3S};
use handsync_proto::irda::sir::{self, SirDecoder, SirItem};
use handsync_proto::irda::station::{Station, StationConfig};
use handsync_proto::irda::{DeviceAddress, Received, Transmit, CONTACT_SPEED};

use super::link::{Air, AirConfig, End};

/// The PC's side of the air.
const PC: End = End::A;
/// The phone's side.
const PHONE: End = End::B;

/// The largest frame the PC's tty may hand the phone (2048 data bytes and headers).
const MAX_FRAME: usize = 2048 + 64;

/// The phone's infrared port facing a PC's SIR transceiver.
pub struct IrPhone {
    on_air: PhoneOnAir,
    from_pc: SirDecoder,
    /// The speed the PC's transceiver sends and listens at: its UART's.
    pc_speed: u32,
    /// SIR bytes for the PC's tty.
    to_pc: VecDeque<Vec<u8>>,
}

/// The station of a phone model with an infrared port.
pub fn phone_station(nickname: &str, address: DeviceAddress, seed: u64, starts: bool) -> Station {
    Station::new(StationConfig {
        address,
        nickname: nickname.to_string(),
        hints: Hints::TELEPHONY | Hints::IRCOMM | Hints::OBEX,
        // Phones of the era: SIR up to 115200, 1 KB frames, seven in flight. The 3-second
        // disconnect threshold lets a link that went out of range end quickly (the highest
        // threshold both offer wins).
        capabilities: Capabilities {
            baud_rates: baud::SIR,
            disconnect_thresholds: THRESHOLD_3S,
            data_size: 1024,
            window: 7,
            ..Capabilities::default()
        },
        // A phone that starts the sync itself discovers and connects; one waiting for the
        // PC answers discovery and offers its OBEX service.
        discoverable: !starts,
        obex_server: !starts,
        seed,
    })
}

/// The phone's station with the air in front of it: what every face of the phone (a PC's
/// SIR tty, a USB dongle) shares. End A of the air is the PC's, end B the phone's.
pub struct PhoneOnAir {
    pub air: Air,
    pub station: Station,
}

impl PhoneOnAir {
    pub fn new(station: Station, air: AirConfig, pc_speed: u32) -> PhoneOnAir {
        let mut air = Air::new(air);
        air.set_receive_speed(PC, pc_speed);
        air.set_receive_speed(PHONE, CONTACT_SPEED);
        PhoneOnAir { air, station }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.air.poll_timeout(), self.station.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Time passes for the air and the station.
    pub fn advance(&mut self, now: Instant) {
        self.air.handle_timeout(now);
        self.station.handle_timeout(now);
    }

    /// A frame the PC's transceiver put on the air.
    pub fn from_pc(&mut self, now: Instant, transmit: Transmit) {
        // When the frame is off the air is the air's business here.
        let _ = self.air.transmit(now, PC, transmit);
    }

    /// The phone's frames onto the air, the air's to the phone; whether any moved.
    pub fn step_phone(&mut self, now: Instant) -> bool {
        let mut moved = false;
        while let Some(transmit) = self.station.poll_transmit() {
            moved = true;
            let _ = self.air.transmit(now, PHONE, transmit);
        }
        self.air.set_receive_speed(PHONE, self.station.speed());
        while let Some(received) = self.air.poll_receive(PHONE) {
            moved = true;
            self.station.handle_received(now, received);
        }
        moved
    }

    /// What reaches the PC's transceiver, listening at `speed`.
    pub fn to_pc(&mut self, speed: u32) -> Option<Received> {
        self.air.set_receive_speed(PC, speed);
        self.air.poll_receive(PC)
    }
}

impl IrPhone {
    pub fn new(station: Station, air: AirConfig) -> IrPhone {
        IrPhone {
            on_air: PhoneOnAir::new(station, air, CONTACT_SPEED),
            from_pc: SirDecoder::new(MAX_FRAME),
            pc_speed: CONTACT_SPEED,
            to_pc: VecDeque::new(),
        }
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

    /// The PC set its UART (and so its transceiver) to `speed`.
    pub fn set_pc_speed(&mut self, speed: u32) {
        self.pc_speed = speed;
    }

    /// Bytes the PC wrote to its tty.
    pub fn handle_pc_bytes(&mut self, now: Instant, bytes: &[u8]) {
        // Until a link is up everything goes at the contact speed (discovery, SNRM and its
        // UA): the tty's speed read now may already be the one the PC switches to right
        // after its UA, which these bytes did not go out at.
        let speed = if self.on_air.station.is_linked() {
            self.pc_speed
        } else {
            CONTACT_SPEED
        };
        for item in self.from_pc.push(bytes) {
            match item {
                SirItem::Frame(frame) => self.on_air.from_pc(
                    now,
                    Transmit {
                        frame,
                        speed,
                        extra_bofs: 0,
                    },
                ),
                // A damaged frame from the PC still lights the air.
                SirItem::Damaged(_) => self.on_air.from_pc(
                    now,
                    Transmit {
                        frame: vec![0xFF],
                        speed,
                        extra_bofs: 0,
                    },
                ),
            }
        }
        self.step(now);
    }

    /// SIR bytes to write to the PC's tty now.
    pub fn poll_pc_bytes(&mut self) -> Option<Vec<u8>> {
        self.to_pc.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.on_air.poll_timeout()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.on_air.advance(now);
        self.step(now);
    }

    /// Moves frames between the air, the station and the PC's tty.
    pub fn step(&mut self, now: Instant) {
        loop {
            let mut moved = self.on_air.step_phone(now);
            while let Some(received) = self.on_air.to_pc(self.pc_speed) {
                moved = true;
                let mut bytes = Vec::new();
                match received {
                    Received::Frame(frame) => sir::encode_frame(&frame, 0, &mut bytes),
                    // What the PC's transceiver makes of a garbled frame: bytes that end in
                    // no good frame.
                    Received::Activity => bytes.extend_from_slice(&[sir::BOF, 0x55, sir::EOF]),
                }
                self.to_pc.push_back(bytes);
            }
            if !moved {
                break;
            }
        }
    }
}
