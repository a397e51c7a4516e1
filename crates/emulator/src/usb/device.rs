//! The emulated phone as a USB device behind a USB/IP server, sans-IO: it answers the `usbip`
//! tool's list and import, then the kernel's URBs: standard control requests on endpoint 0
//! from the model's descriptors, SET_INTERFACE between the idle and active settings of its
//! CDC OBEX data interfaces, and bulk transfers, which it carries to and from byte streams its
//! driver connects to the phone's OBEX machines (the SyncML function) or answers itself (an
//! OBEX function of another service refuses a SyncML CONNECT with 0xC4).

use std::collections::VecDeque;
use std::time::Instant;

use handsync_proto::machine::Machine;
use handsync_proto::obex::{Response, ResponseCode};

use super::layout::{ObexService, Pipes, UsbLayout};
use super::usbip::{
    self, device_list_reply, import_reply, parse_command, parse_op_request, submit_reply,
    unlink_reply, Command, ExportedDevice, OpRequest, Submit, WireError,
};

/// What the device tells its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsbEvent {
    /// A `usbip attach` imported the device: URBs follow on this connection.
    Attached,
    /// The host selected the active setting of an OBEX function's data interface.
    FunctionActive(FunctionId),
    /// ... and went back to its idle setting (the host is done with the function).
    FunctionIdle(FunctionId),
    /// The peer broke the protocol; the connection should close.
    Broken(String),
}

/// A function whose bulk pipes carry a byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunctionId {
    /// The CDC OBEX function carrying the phone's SyncML.
    Syncml,
    /// The CDC ACM modem.
    Modem,
}

/// Bytes the host wrote and the driver has not taken yet are capped here: past it, OUT
/// transfers wait (the host's own queue then holds what a flood sends).
const FROM_HOST_LIMIT: usize = 256 * 1024;

/// Transfers a host may leave waiting (vhci-hcd keeps a handful per endpoint); a peer that
/// leaves more is not a kernel and is dropped.
const WAITING_IN_LIMIT: usize = 1024;
const WAITING_OUT_LIMIT: usize = 64;

#[derive(Debug)]
struct Stream {
    pipes: Pipes,
    kind: StreamKind,
    from_host: Vec<u8>,
    to_host: VecDeque<u8>,
    /// Bytes of the OBEX packet being sent that are still to go (OBEX framing of IN data).
    packet_left: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamKind {
    Function(FunctionId),
    /// An OBEX function of another service: refuses what comes.
    Refusing,
}

impl Stream {
    fn is_obex(&self) -> bool {
        !matches!(self.kind, StreamKind::Function(FunctionId::Modem))
    }

    /// How much of the queued IN data may complete one transfer of `room` bytes: OBEX packets
    /// go whole (a phone ends each with a short or zero-length packet), the modem's bytes as
    /// they come.
    fn ready(&mut self, room: usize) -> Option<usize> {
        if self.to_host.is_empty() {
            return None;
        }
        if !self.is_obex() {
            return Some(room.min(self.to_host.len()));
        }
        if self.packet_left == 0 {
            if self.to_host.len() < 3 {
                return None;
            }
            let length = usize::from(u16::from_be_bytes([self.to_host[1], self.to_host[2]]));
            self.packet_left = length.max(3);
        }
        let want = room.min(self.packet_left);
        (self.to_host.len() >= want).then_some(want)
    }

    /// A refusing function answers each whole OBEX request it has received.
    fn refuse_requests(&mut self) {
        while self.from_host.len() >= 3 {
            let length = usize::from(u16::from_be_bytes([self.from_host[1], self.from_host[2]]));
            if length < 3 {
                self.from_host.clear();
                self.to_host
                    .extend(Response::refusal_to(None, ResponseCode::BadRequest));
                return;
            }
            if self.from_host.len() < length {
                return;
            }
            let first = self.from_host[0];
            self.from_host.drain(..length);
            self.to_host
                .extend(Response::refusal_to(Some(first), ResponseCode::NotFound));
        }
    }
}

/// One USB/IP connection to the emulated phone.
pub struct UsbipDevice {
    layout: UsbLayout,
    exported: ExportedDevice,
    input: Vec<u8>,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<UsbEvent>,
    attached: bool,
    broken: bool,
    configuration: u8,
    /// Current alternate setting per interface number.
    alternates: Vec<(u8, u8)>,
    /// Endpoint addresses (with direction bit) halted by SET_FEATURE.
    halted: Vec<u8>,
    streams: Vec<Stream>,
    /// IN transfers waiting for data (bulk and interrupt), oldest first.
    waiting_in: VecDeque<Submit>,
    /// OUT transfers waiting for the driver to take earlier bytes.
    waiting_out: VecDeque<Submit>,
}

impl UsbipDevice {
    /// The phone of `layout`, exported under bus id `busid` ("1-1").
    pub fn new(layout: UsbLayout, busid: &str) -> UsbipDevice {
        let exported = ExportedDevice {
            path: format!("/sys/devices/platform/handsync-emulator/usb1/{busid}"),
            busid: busid.to_string(),
            busnum: 1,
            devnum: 2,
            speed: usbip::SPEED_FULL,
            vendor_id: layout.device.vendor_id,
            product_id: layout.device.product_id,
            device_version: layout.device.device_version,
            class: layout.device.class,
            subclass: layout.device.subclass,
            protocol: layout.device.protocol,
            configuration_value: 0,
            configurations: 1,
            interfaces: layout.interface_classes(),
        };
        let mut streams: Vec<Stream> = layout
            .obex
            .iter()
            .map(|(pipes, service)| Stream {
                pipes: *pipes,
                kind: match service {
                    ObexService::Syncml => StreamKind::Function(FunctionId::Syncml),
                    ObexService::Other => StreamKind::Refusing,
                },
                from_host: Vec::new(),
                to_host: VecDeque::new(),
                packet_left: 0,
            })
            .collect();
        if let Some(pipes) = layout.modem {
            streams.push(Stream {
                pipes,
                kind: StreamKind::Function(FunctionId::Modem),
                from_host: Vec::new(),
                to_host: VecDeque::new(),
                packet_left: 0,
            });
        }
        let alternates = layout.interfaces.iter().map(|(n, _)| (*n, 0)).collect();
        UsbipDevice {
            layout,
            exported,
            input: Vec::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            attached: false,
            broken: false,
            configuration: 0,
            alternates,
            halted: Vec::new(),
            streams,
            waiting_in: VecDeque::new(),
            waiting_out: VecDeque::new(),
        }
    }

    pub fn is_attached(&self) -> bool {
        self.attached
    }

    /// Whether the host has `function`'s pipes active (configured, data setting selected).
    pub fn is_active(&self, function: FunctionId) -> bool {
        self.stream_index(function)
            .is_some_and(|i| self.pipes_active(&self.streams[i].pipes))
    }

    /// Bytes the host wrote to `function` since the last call.
    pub fn take_from_host(&mut self, function: FunctionId) -> Vec<u8> {
        let Some(index) = self.stream_index(function) else {
            return Vec::new();
        };
        let taken = std::mem::take(&mut self.streams[index].from_host);
        self.accept_waiting_out();
        taken
    }

    /// Bytes for the host on `function` (the phone's OBEX output, whole packets or not).
    pub fn send_to_host(&mut self, function: FunctionId, bytes: &[u8]) {
        if let Some(index) = self.stream_index(function) {
            self.streams[index].to_host.extend(bytes);
            self.complete_waiting_in();
        }
    }

    /// Bytes queued for the host on `function` that no IN transfer has taken yet.
    pub fn queued_to_host(&self, function: FunctionId) -> usize {
        self.stream_index(function)
            .map_or(0, |i| self.streams[i].to_host.len())
    }

    fn stream_index(&self, function: FunctionId) -> Option<usize> {
        self.streams
            .iter()
            .position(|s| s.kind == StreamKind::Function(function))
    }

    fn alternate(&self, interface: u8) -> u8 {
        self.alternates
            .iter()
            .find(|(n, _)| *n == interface)
            .map_or(0, |(_, a)| *a)
    }

    fn pipes_active(&self, pipes: &Pipes) -> bool {
        // The modem's data interface has one setting, active once configured.
        let modem = self.layout.modem.as_ref() == Some(pipes);
        self.configuration != 0 && (modem || self.alternate(pipes.data_interface) == 1)
    }

    fn stream_for_endpoint(&self, endpoint: u8, direction_in: bool) -> Option<usize> {
        self.streams.iter().position(|s| {
            if direction_in {
                s.pipes.bulk_in == endpoint
            } else {
                s.pipes.bulk_out == endpoint
            }
        })
    }

    fn fail(&mut self, why: String) {
        if !self.broken {
            self.broken = true;
            self.events.push_back(UsbEvent::Broken(why));
        }
    }

    fn reply(&mut self, submit: &Submit, status: i32, data: &[u8]) {
        let actual = if status == 0 {
            if submit.direction_in {
                data.len()
            } else {
                submit.data.len()
            }
        } else {
            0
        };
        self.transmit
            .push_back(submit_reply(submit, -status.abs(), actual, data));
    }

    fn stall(&mut self, submit: &Submit) {
        self.reply(submit, usbip::EPIPE, &[]);
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
        if self.halted.contains(&address) {
            return self.stall(&submit);
        }
        let Some(index) = self.stream_for_endpoint(submit.endpoint, submit.direction_in) else {
            // The modem's notification endpoint: it never has anything to say.
            if submit.direction_in && self.configuration != 0 {
                if self.waiting_in.len() >= WAITING_IN_LIMIT {
                    return self.fail(format!("more than {WAITING_IN_LIMIT} IN transfers waiting"));
                }
                self.waiting_in.push_back(submit);
            } else {
                self.stall(&submit);
            }
            return;
        };
        if !self.pipes_active(&self.streams[index].pipes) {
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

    fn accept_waiting_out(&mut self) {
        while let Some(submit) = self.waiting_out.front() {
            let Some(index) = self.stream_for_endpoint(submit.endpoint, false) else {
                break;
            };
            if self.streams[index].from_host.len() >= FROM_HOST_LIMIT {
                break;
            }
            let submit = self
                .waiting_out
                .pop_front()
                .unwrap_or_else(|| unreachable!());
            let stream = &mut self.streams[index];
            stream.from_host.extend(&submit.data);
            if stream.kind == StreamKind::Refusing {
                stream.refuse_requests();
            }
            self.reply(&submit, 0, &[]);
        }
        self.complete_waiting_in();
    }

    fn complete_waiting_in(&mut self) {
        let mut still_waiting = VecDeque::new();
        while let Some(submit) = self.waiting_in.pop_front() {
            let stream = self.stream_for_endpoint(submit.endpoint, true);
            let ready = stream.and_then(|i| self.streams[i].ready(submit.length));
            match (stream, ready) {
                (Some(index), Some(count)) => {
                    let stream = &mut self.streams[index];
                    let data: Vec<u8> = stream.to_host.drain(..count).collect();
                    if stream.is_obex() {
                        stream.packet_left -= count;
                    }
                    self.reply(&submit, 0, &data);
                }
                _ => still_waiting.push_back(submit),
            }
        }
        self.waiting_in = still_waiting;
    }

    fn unlink(&mut self, seqnum: u32, victim: u32) {
        let before = self.waiting_in.len() + self.waiting_out.len();
        self.waiting_in.retain(|s| s.seqnum != victim);
        self.waiting_out.retain(|s| s.seqnum != victim);
        let taken_back = self.waiting_in.len() + self.waiting_out.len() < before;
        let status = if taken_back { -usbip::ECONNRESET } else { 0 };
        self.transmit.push_back(unlink_reply(seqnum, status));
    }

    fn set_interface(&mut self, interface: u8, alternate: u8) -> bool {
        let Some(settings) = self
            .layout
            .interfaces
            .iter()
            .find(|(n, _)| *n == interface)
            .map(|(_, count)| *count)
        else {
            return false;
        };
        if alternate >= settings {
            return false;
        }
        let mut previous = 0;
        if let Some(slot) = self.alternates.iter_mut().find(|(n, _)| *n == interface) {
            previous = slot.1;
            slot.1 = alternate;
        }
        let Some(index) = self
            .streams
            .iter()
            .position(|s| s.pipes.data_interface == interface)
        else {
            return true;
        };
        let stream = &mut self.streams[index];
        let (bulk_in, bulk_out) = (stream.pipes.bulk_in, stream.pipes.bulk_out);
        if alternate == 0 {
            // Going idle ends whatever the function carried.
            stream.from_host.clear();
            stream.to_host.clear();
            stream.packet_left = 0;
            let mut dropped = Vec::new();
            self.waiting_in.retain(|s| {
                let keep = s.endpoint != bulk_in;
                if !keep {
                    dropped.push(s.clone());
                }
                keep
            });
            self.waiting_out.retain(|s| {
                let keep = s.endpoint != bulk_out;
                if !keep {
                    dropped.push(s.clone());
                }
                keep
            });
            for submit in dropped {
                self.reply(&submit, usbip::ESHUTDOWN, &[]);
            }
        }
        let changed = previous != alternate && self.streams[index].is_obex();
        if let (StreamKind::Function(function), true) = (self.streams[index].kind, changed) {
            self.events.push_back(if alternate == 0 {
                UsbEvent::FunctionIdle(function)
            } else {
                UsbEvent::FunctionActive(function)
            });
        }
        true
    }

    fn control(&mut self, submit: Submit) {
        let setup = submit.setup;
        let request_type = setup[0];
        let request = setup[1];
        let value = u16::from_le_bytes([setup[2], setup[3]]);
        let index = u16::from_le_bytes([setup[4], setup[5]]);
        let length = usize::from(u16::from_le_bytes([setup[6], setup[7]]));
        let answer = |data: Vec<u8>| data.into_iter().take(length).collect::<Vec<u8>>();
        let result: Option<Vec<u8>> = match (request_type, request) {
            // GET_STATUS (device, interface, endpoint)
            (0x80..=0x82, 0x00) => Some(answer(vec![0, 0])),
            // CLEAR_FEATURE(ENDPOINT_HALT)
            (0x02, 0x01) if value == 0 => {
                self.halted.retain(|a| u16::from(*a) != index & 0xff);
                Some(Vec::new())
            }
            // SET_FEATURE(ENDPOINT_HALT)
            (0x02, 0x03) if value == 0 => {
                self.halted.push((index & 0xff) as u8);
                Some(Vec::new())
            }
            (0x00, 0x05) => Some(Vec::new()), // SET_ADDRESS (vhci-hcd keeps it to itself)
            (0x80, 0x06) => self.descriptor(value).map(answer),
            (0x80, 0x08) => Some(answer(vec![self.configuration])),
            (0x00, 0x09) => match value {
                0 | 1 => {
                    self.configuration = value as u8;
                    for (interface, _) in self.layout.interfaces.clone() {
                        self.set_interface(interface, 0);
                    }
                    Some(Vec::new())
                }
                _ => None,
            },
            (0x81, 0x0a) => Some(answer(vec![self.alternate(index as u8)])),
            (0x01, 0x0b) if self.configuration != 0 => {
                self.set_interface(index as u8, value as u8).then(Vec::new)
            }
            // CDC class requests: SET_LINE_CODING, SET_CONTROL_LINE_STATE, SEND_BREAK...
            (0x21, 0x20 | 0x22 | 0x23) => Some(Vec::new()),
            // GET_LINE_CODING: 115200 8N1.
            (0xa1, 0x21) => Some(answer(vec![0x00, 0xc2, 0x01, 0x00, 0, 0, 8])),
            _ => None,
        };
        match result {
            Some(data) => self.reply(&submit, 0, &data),
            None => self.stall(&submit),
        }
    }

    fn descriptor(&self, value: u16) -> Option<Vec<u8>> {
        let [index, kind] = value.to_le_bytes();
        match kind {
            0x01 => Some(self.layout.device.to_bytes().to_vec()),
            0x02 if index == 0 => Some(self.layout.configuration.clone()),
            0x03 => self.layout.string_descriptor(index),
            // A full-speed USB 1.1 device has no qualifier and no BOS: the host takes the stall.
            _ => None,
        }
    }

    fn handle_operation(&mut self) -> Result<bool, WireError> {
        let Some((request, used)) = parse_op_request(&self.input)? else {
            return Ok(false);
        };
        self.input.drain(..used);
        match request {
            OpRequest::DeviceList => {
                self.transmit.push_back(device_list_reply(&self.exported));
                // The client closes after a list.
            }
            OpRequest::Import { busid } => {
                if busid == self.exported.busid {
                    self.transmit.push_back(import_reply(Some(&self.exported)));
                    self.attached = true;
                    self.events.push_back(UsbEvent::Attached);
                } else {
                    self.transmit.push_back(import_reply(None));
                }
            }
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

/// The most the device buffers of a command not yet whole (a header and 64 KiB of OUT data).
const INPUT_LIMIT: usize = usbip::HEADER_LEN + usbip::MAX_TRANSFER as usize;

impl Machine for UsbipDevice {
    type Event = UsbEvent;

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

    fn poll_event(&mut self) -> Option<UsbEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn handle_timeout(&mut self, _now: Instant) {}
}
