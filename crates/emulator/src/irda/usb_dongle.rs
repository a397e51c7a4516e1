//! An IrDA-USB class dongle behind a USB/IP server, sans-IO: what `usbip attach` turns into a
//! real USB device for the PC's driver, whose infrared side the simulated air drives.
//!
//! USB side (the [`crate::usb::usbip`] wire protocol, as the emulated phone's device uses):
//! the standard requests from the dongle's descriptors, the class requests (the class
//! descriptor, check media busy, receiving, rate sniff and unicast list when the descriptor
//! offers them), bulk OUT transfers (header and frame: the frame goes to the air at the
//! dongle's speed, then the header's settings apply, as the class definition says; a dongle
//! with the "speed bug" of early parts applies them first) and bulk IN transfers (header and
//! one received frame, or a status-only header reporting media busy).
//!
//! IR side: [`UsbDongle::poll_ir_transmit`] hands out what the host sent, with the speed and
//! BOFs it went out at; [`UsbDongle::ir_receive`] takes what the air delivered.

use std::collections::VecDeque;
use std::time::Instant;

use handsync_proto::irda::usb_dongle::{
    self as class, inbound_transfer, ClassDescriptor, InboundHeader, OutboundHeader, MAX_FRAME,
};
use handsync_proto::irda::{Received, Transmit, CONTACT_SPEED};
use handsync_proto::machine::Machine;
use handsync_proto::usb::{string_descriptor, DeviceDescriptor};

use crate::usb::usbip::{
    self, device_list_reply, import_reply, parse_command, parse_op_request, submit_reply,
    unlink_reply, Command, ExportedDevice, OpRequest, Submit, WireError,
};

/// Who the dongle says it is, and how it behaves where dongles differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DongleModel {
    pub vendor_id: u16,
    pub product_id: u16,
    pub device_version: u16,
    pub manufacturer: String,
    pub product: String,
    pub descriptor: ClassDescriptor,
    /// Applies a header's settings before the frame it comes with (Linux's IUC_SPEED_BUG).
    pub settings_before_frame: bool,
}

impl DongleModel {
    /// A FIR dongle in the class's plain form, named as ACTiSYS named its ACT-IR2000U
    /// (09c4:0011): up to 4 Mbps, 2048-byte frames, windows of up to 7, any BOFs.
    ///
    /// Not SigmaTel's STIr4210/4220/4116 (066f:4210...): those speak a three-byte header and
    /// need a firmware patch downloaded first, which a host keys on their ids.
    pub fn act_ir2000u() -> DongleModel {
        DongleModel {
            vendor_id: 0x09c4,
            product_id: 0x0011,
            device_version: 0x0100,
            manufacturer: "ACTiSYS".to_string(),
            product: "ACT-IR2000U FIR-USB Adapter".to_string(),
            descriptor: ClassDescriptor {
                spec_revision: 0x0100,
                data_size_bits: 0x3f,
                window_size_bits: 0x7f,
                min_turnaround_bits: 0x7f,
                baud_rate_bits: 0x01ff,
                additional_bof_bits: 0xff,
                rate_sniff: false,
                max_unicast_list: 0,
            },
            settings_before_frame: false,
        }
    }

    fn device_descriptor(&self) -> DeviceDescriptor {
        DeviceDescriptor {
            usb_version: 0x0110,
            // Defined per interface.
            class: 0,
            subclass: 0,
            protocol: 0,
            max_packet_size_0: 64,
            vendor_id: self.vendor_id,
            product_id: self.product_id,
            device_version: self.device_version,
            manufacturer_string: 1,
            product_string: 2,
            serial_string: 0,
            configurations: 1,
        }
    }
}

/// The interface and its pipes (endpoint numbers, without the direction bit).
pub const INTERFACE: u8 = 0;
pub const BULK_IN: u8 = 1;
pub const BULK_OUT: u8 = 2;
/// Full-speed bulk packets.
const MAX_PACKET: u16 = 64;

/// The configuration descriptor set: one interface FE/02/00 with a bulk pair.
fn configuration_descriptor() -> Vec<u8> {
    let mut out = vec![9, 2, 0, 0, 1, 1, 0, 0x80, 50];
    out.extend([
        9,
        4,
        INTERFACE,
        0,
        2,
        class::INTERFACE_CLASS,
        class::INTERFACE_SUBCLASS,
        0,
        0,
    ]);
    let [low, high] = MAX_PACKET.to_le_bytes();
    out.extend([7, 5, 0x80 | BULK_IN, 2, low, high, 0]);
    out.extend([7, 5, BULK_OUT, 2, low, high, 0]);
    let total = (out.len() as u16).to_le_bytes();
    out[2..4].copy_from_slice(&total);
    out
}

/// What the dongle tells its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DongleEvent {
    /// A `usbip attach` imported the dongle.
    Attached,
    /// The host set a configuration: the dongle is ready (its IR side listens from now on).
    Configured,
    /// The host changed the dongle's speed or BOFs (takes effect as the event says).
    SettingsChanged { speed: u32, extra_bofs: u16 },
    /// The peer broke the USB/IP protocol; the connection should close.
    Broken(String),
}

/// Frames the air delivered and no IN transfer has taken yet; past it the newest are lost,
/// as in a dongle's full receive buffer.
const RECEIVED_LIMIT: usize = 16;
/// Frames the host sent and the air has not taken yet; past it OUT transfers wait (the host
/// queues, as a dongle NAKs its bulk pipe).
const TO_AIR_LIMIT: usize = 16;
/// Transfers a host may leave waiting; more is not a kernel.
const WAITING_IN_LIMIT: usize = 64;
const WAITING_OUT_LIMIT: usize = 64;
/// Linux's errno for an IN transfer too short for what the device sends (babble).
const EOVERFLOW: i32 = 75;

/// One USB/IP connection to the emulated dongle.
pub struct UsbDongle {
    model: DongleModel,
    exported: ExportedDevice,
    input: Vec<u8>,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<DongleEvent>,
    attached: bool,
    broken: bool,
    configuration: u8,
    halted: Vec<u8>,
    speed: u32,
    extra_bofs: u16,
    /// Someone transmitted since the host last heard of it.
    media_busy: bool,
    /// The host asked (Check Media Busy) and is owed a status report.
    status_owed: bool,
    rate_sniff: bool,
    unicast: Vec<u32>,
    received: VecDeque<Vec<u8>>,
    lost: u64,
    to_air: VecDeque<Transmit>,
    waiting_in: VecDeque<Submit>,
    waiting_out: VecDeque<Submit>,
}

impl UsbDongle {
    /// The dongle of `model`, exported under bus id `busid` ("1-1").
    pub fn new(model: DongleModel, busid: &str) -> UsbDongle {
        let exported = ExportedDevice {
            path: format!("/sys/devices/platform/handsync-emulator/usb1/{busid}"),
            busid: busid.to_string(),
            busnum: 1,
            devnum: 2,
            speed: usbip::SPEED_FULL,
            vendor_id: model.vendor_id,
            product_id: model.product_id,
            device_version: model.device_version,
            class: 0,
            subclass: 0,
            protocol: 0,
            configuration_value: 0,
            configurations: 1,
            interfaces: vec![(class::INTERFACE_CLASS, class::INTERFACE_SUBCLASS, 0)],
        };
        UsbDongle {
            model,
            exported,
            input: Vec::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            attached: false,
            broken: false,
            configuration: 0,
            halted: Vec::new(),
            speed: CONTACT_SPEED,
            extra_bofs: 0,
            media_busy: false,
            status_owed: false,
            rate_sniff: false,
            unicast: Vec::new(),
            received: VecDeque::new(),
            lost: 0,
            to_air: VecDeque::new(),
            waiting_in: VecDeque::new(),
            waiting_out: VecDeque::new(),
        }
    }

    pub fn is_attached(&self) -> bool {
        self.attached
    }

    pub fn is_configured(&self) -> bool {
        self.configuration != 0
    }

    /// The speed the dongle sends and listens at now.
    pub fn speed(&self) -> u32 {
        self.speed
    }

    pub fn extra_bofs(&self) -> u16 {
        self.extra_bofs
    }

    /// Received frames lost to a full buffer (the host did not read fast enough).
    pub fn frames_lost(&self) -> u64 {
        self.lost
    }

    /// The addresses Set IrDA Unicast List gave, if any.
    pub fn unicast_list(&self) -> &[u32] {
        &self.unicast
    }

    pub fn rate_sniff(&self) -> bool {
        self.rate_sniff
    }

    /// The next frame the host sent, for the air: at the speed and BOFs it goes out with.
    pub fn poll_ir_transmit(&mut self) -> Option<Transmit> {
        let frame = self.to_air.pop_front()?;
        self.accept_waiting_out();
        Some(frame)
    }

    /// What the air delivered at the dongle's speed. An unconfigured dongle hears nothing.
    pub fn ir_receive(&mut self, received: Received) {
        if self.configuration == 0 {
            return;
        }
        match received {
            Received::Activity => self.media_busy = true,
            Received::Frame(frame) if frame.len() > MAX_FRAME => self.media_busy = true,
            Received::Frame(frame) => {
                // Whoever sent it made the media busy too.
                self.media_busy = true;
                if self.received.len() >= RECEIVED_LIMIT {
                    self.lost += 1;
                } else {
                    self.received.push_back(frame);
                }
            }
        }
        self.complete_waiting_in();
    }

    fn fail(&mut self, why: String) {
        if !self.broken {
            self.broken = true;
            self.events.push_back(DongleEvent::Broken(why));
        }
    }

    fn reply(&mut self, submit: &Submit, status: i32, data: &[u8]) {
        let actual = match (status, submit.direction_in) {
            (0, true) => data.len(),
            (0, false) => submit.data.len(),
            _ => 0,
        };
        self.transmit
            .push_back(submit_reply(submit, -status.abs(), actual, data));
    }

    fn stall(&mut self, submit: &Submit) {
        self.reply(submit, usbip::EPIPE, &[]);
    }

    fn header(&self) -> InboundHeader {
        InboundHeader {
            media_busy: self.media_busy,
            speed: Some(self.speed),
        }
    }

    /// Completes waiting IN transfers with received frames, or with a status report when
    /// the host asked for one.
    fn complete_waiting_in(&mut self) {
        while !self.waiting_in.is_empty() && (!self.received.is_empty() || self.status_owed) {
            let submit = self
                .waiting_in
                .pop_front()
                .unwrap_or_else(|| unreachable!());
            let frame = self.received.pop_front().unwrap_or_default();
            let transfer = inbound_transfer(self.header(), &frame);
            self.media_busy = false;
            self.status_owed = false;
            if transfer.len() > submit.length {
                self.reply(&submit, EOVERFLOW, &[]);
            } else {
                self.reply(&submit, 0, &transfer);
            }
        }
    }

    fn set_settings(&mut self, header: OutboundHeader) {
        let speed = header.speed.unwrap_or(self.speed);
        let extra_bofs = header.additional_bofs.unwrap_or(self.extra_bofs);
        if (speed, extra_bofs) != (self.speed, self.extra_bofs) {
            self.speed = speed;
            self.extra_bofs = extra_bofs;
            self.events
                .push_back(DongleEvent::SettingsChanged { speed, extra_bofs });
        }
    }

    /// Takes OUT transfers while the air has room for their frames.
    fn accept_waiting_out(&mut self) {
        while self.to_air.len() < TO_AIR_LIMIT {
            let Some(submit) = self.waiting_out.pop_front() else {
                break;
            };
            let Some((&byte, frame)) = submit.data.split_first() else {
                // A zero-length transfer carries no header: nothing to do.
                self.reply(&submit, 0, &[]);
                continue;
            };
            let header = match OutboundHeader::decode(byte) {
                Ok(header) if frame.len() <= MAX_FRAME => header,
                // A reserved code or an oversized frame: the dongle refuses the transfer.
                _ => {
                    self.stall(&submit);
                    continue;
                }
            };
            let speed_limit = self
                .model
                .descriptor
                .capabilities()
                .speeds
                .last()
                .copied()
                .unwrap_or(CONTACT_SPEED);
            if header.speed.is_some_and(|speed| speed > speed_limit) {
                self.stall(&submit);
                continue;
            }
            if frame.is_empty() || self.model.settings_before_frame {
                self.set_settings(header);
            }
            if !frame.is_empty() {
                self.to_air.push_back(Transmit {
                    frame: frame.to_vec(),
                    speed: self.speed,
                    extra_bofs: self.extra_bofs,
                });
                if !self.model.settings_before_frame {
                    self.set_settings(header);
                }
            }
            self.reply(&submit, 0, &[]);
        }
    }

    fn handle_submit(&mut self, submit: Submit) {
        if submit.endpoint == 0 {
            return self.control(submit);
        }
        let address = if submit.direction_in {
            0x80 | submit.endpoint
        } else {
            submit.endpoint
        };
        let ours = (submit.direction_in && submit.endpoint == BULK_IN)
            || (!submit.direction_in && submit.endpoint == BULK_OUT);
        if !ours || self.configuration == 0 || self.halted.contains(&address) {
            return self.stall(&submit);
        }
        if submit.direction_in {
            if self.waiting_in.len() >= WAITING_IN_LIMIT {
                return self.fail(format!("more than {WAITING_IN_LIMIT} IN transfers waiting"));
            }
            self.waiting_in.push_back(submit);
            self.complete_waiting_in();
        } else {
            if self.waiting_out.len() >= WAITING_OUT_LIMIT {
                return self.fail(format!(
                    "more than {WAITING_OUT_LIMIT} OUT transfers waiting"
                ));
            }
            self.waiting_out.push_back(submit);
            self.accept_waiting_out();
        }
    }

    fn unlink(&mut self, seqnum: u32, victim: u32) {
        let before = self.waiting_in.len() + self.waiting_out.len();
        self.waiting_in.retain(|s| s.seqnum != victim);
        self.waiting_out.retain(|s| s.seqnum != victim);
        let taken_back = self.waiting_in.len() + self.waiting_out.len() < before;
        let status = if taken_back { -usbip::ECONNRESET } else { 0 };
        self.transmit.push_back(unlink_reply(seqnum, status));
    }

    /// Going unconfigured (or configured anew) ends what the pipes carried.
    fn reset_pipes(&mut self) {
        for submit in std::mem::take(&mut self.waiting_in)
            .into_iter()
            .chain(std::mem::take(&mut self.waiting_out))
        {
            self.reply(&submit, usbip::ESHUTDOWN, &[]);
        }
        self.received.clear();
        self.to_air.clear();
        self.halted.clear();
        self.media_busy = false;
        self.status_owed = false;
        self.speed = CONTACT_SPEED;
        self.extra_bofs = 0;
    }

    fn control(&mut self, submit: Submit) {
        let setup = class::SetupPacket::from_bytes(submit.setup);
        let length = usize::from(setup.length);
        let answer = |data: Vec<u8>| data.into_iter().take(length).collect::<Vec<u8>>();
        let ours = setup.index & 0xff == u16::from(INTERFACE);
        let configured = self.configuration != 0;
        let result: Option<Vec<u8>> = match (setup.request_type, setup.request) {
            (0x80..=0x82, 0x00) => Some(answer(vec![0, 0])),
            (0x02, 0x01) if setup.value == 0 => {
                self.halted.retain(|a| u16::from(*a) != setup.index & 0xff);
                Some(Vec::new())
            }
            (0x02, 0x03) if setup.value == 0 => {
                self.halted.push((setup.index & 0xff) as u8);
                Some(Vec::new())
            }
            (0x00, 0x05) => Some(Vec::new()),
            (0x80, 0x06) => self.descriptor(setup.value).map(answer),
            (0x80, 0x08) => Some(answer(vec![self.configuration])),
            (0x00, 0x09) if setup.value <= 1 => {
                self.reset_pipes();
                self.configuration = setup.value as u8;
                if self.configuration != 0 {
                    self.events.push_back(DongleEvent::Configured);
                }
                Some(Vec::new())
            }
            (0x81, 0x0a) if configured && ours => Some(answer(vec![0])),
            (0x01, 0x0b) if configured && ours && setup.value == 0 => Some(Vec::new()),
            // The class descriptor, by the class request or (as some hosts try) a
            // descriptor request of type 0x21.
            (class::CLASS_INTERFACE_IN, class::REQUEST_GET_CLASS_DESCRIPTOR) if ours => {
                Some(answer(self.model.descriptor.to_bytes().to_vec()))
            }
            (class::CLASS_INTERFACE_IN, class::REQUEST_RECEIVING) if configured && ours => {
                Some(answer(vec![0]))
            }
            (class::CLASS_INTERFACE_OUT, class::REQUEST_CHECK_MEDIA_BUSY) if configured && ours => {
                self.status_owed = true;
                Some(Vec::new())
            }
            (class::CLASS_INTERFACE_OUT, class::REQUEST_SET_RATE_SNIFF)
                if configured && ours && self.model.descriptor.rate_sniff =>
            {
                self.rate_sniff = setup.value != 0;
                Some(Vec::new())
            }
            (class::CLASS_INTERFACE_OUT, class::REQUEST_SET_UNICAST_LIST)
                if configured
                    && ours
                    && submit.data.len() % 4 == 0
                    && submit.data.len() / 4
                        <= usize::from(self.model.descriptor.max_unicast_list) =>
            {
                self.unicast = submit
                    .data
                    .chunks_exact(4)
                    .map(|a| u32::from_le_bytes([a[0], a[1], a[2], a[3]]))
                    .collect();
                Some(Vec::new())
            }
            _ => None,
        };
        match result {
            Some(data) => self.reply(&submit, 0, &data),
            None => self.stall(&submit),
        }
        self.complete_waiting_in();
    }

    fn descriptor(&self, value: u16) -> Option<Vec<u8>> {
        let [index, kind] = value.to_le_bytes();
        match kind {
            0x01 => Some(self.model.device_descriptor().to_bytes().to_vec()),
            0x02 if index == 0 => Some(configuration_descriptor()),
            0x03 => match index {
                0 => Some(vec![4, 3, 0x09, 0x04]),
                1 => Some(string_descriptor(&self.model.manufacturer)),
                2 => Some(string_descriptor(&self.model.product)),
                _ => None,
            },
            class::CLASS_DESCRIPTOR_TYPE => Some(self.model.descriptor.to_bytes().to_vec()),
            _ => None,
        }
    }

    fn handle_operation(&mut self) -> Result<bool, WireError> {
        let Some((request, used)) = parse_op_request(&self.input)? else {
            return Ok(false);
        };
        self.input.drain(..used);
        match request {
            OpRequest::DeviceList => self.transmit.push_back(device_list_reply(&self.exported)),
            OpRequest::Import { busid } if busid == self.exported.busid => {
                self.transmit.push_back(import_reply(Some(&self.exported)));
                self.attached = true;
                self.events.push_back(DongleEvent::Attached);
            }
            OpRequest::Import { .. } => self.transmit.push_back(import_reply(None)),
        }
        Ok(true)
    }

    fn handle_command(&mut self) -> Result<bool, WireError> {
        let Some((command, used)) = parse_command(&self.input)? else {
            return Ok(false);
        };
        self.input.drain(..used);
        match command {
            Command::Submit(submit) => self.handle_submit(submit),
            Command::Unlink { seqnum, victim } => self.unlink(seqnum, victim),
        }
        Ok(true)
    }
}

/// The most buffered of a command not yet whole.
const INPUT_LIMIT: usize = usbip::HEADER_LEN + usbip::MAX_TRANSFER as usize;

impl Machine for UsbDongle {
    type Event = DongleEvent;

    fn handle_input(&mut self, _now: Instant, input: &[u8]) {
        if self.broken {
            return;
        }
        self.input.extend_from_slice(input);
        loop {
            let step = if self.attached {
                self.handle_command()
            } else {
                self.handle_operation()
            };
            match step {
                Ok(true) => continue,
                Ok(false) => break,
                Err(error) => {
                    self.fail(error.to_string());
                    self.input.clear();
                    return;
                }
            }
        }
        if self.input.len() > INPUT_LIMIT {
            self.fail("a USB/IP command larger than any this device takes".into());
            self.input.clear();
        }
    }

    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.transmit.is_empty() {
            return None;
        }
        Some(self.transmit.drain(..).flatten().collect())
    }

    fn poll_event(&mut self) -> Option<DongleEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn handle_timeout(&mut self, _now: Instant) {}
}

#[cfg(test)]
mod tests;
