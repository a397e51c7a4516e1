//! The IrLAP station (IrLAP 1.1), sans-IO, both roles: discovery and answering it, the
//! connection handshake with its negotiation, and normal response mode data transfer
//! (windows, retransmission, the F and WD timers, the disconnect threshold).
//!
//! Frames go out through [`Lap::poll_transmit`] no earlier than the peer's minimum
//! turnaround after the last frame received; [`Lap::poll_timeout`] says when to come back.
//! The driver does not report when a frame has left, so the timers that run after our
//! own transmission start from its air time, estimated from its SIR length and the speed.

mod link;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::frame::{
    Discovery, DiscoveryInfo, Frame, FrameError, FrameKind, FrameReject, SnrmInfo, UaInfo, Xid,
    BROADCAST_CONNECTION, FINAL_SLOT,
};
use super::qos::{Capabilities, Negotiated};
use super::{sir, DeviceAddress, Transmit, CONTACT_SPEED};
use link::Link;

/// Silence a station in NDM listens for before its first transmission (media busy check).
pub const MEDIA_SENSE: Duration = Duration::from_millis(500);
/// How long discovery or connection waits for a busy medium to go quiet before giving up.
pub const MEDIA_BUSY_LIMIT: Duration = Duration::from_secs(5);
/// The slot timer of discovery.
pub const SLOT_TIME: Duration = Duration::from_millis(80);
/// The minimum turnaround kept before a connection negotiates one (the largest value).
pub const NDM_MIN_TURNAROUND: Duration = Duration::from_millis(10);
/// SNRMs sent again after the first when no UA comes (N3).
pub const SNRM_RETRIES: u8 = 3;
/// DISCs sent before a disconnect completes without a UA.
pub const DISC_ATTEMPTS: u8 = 3;
/// PDUs [`Lap::send`] queues beyond those sent and awaiting acknowledgement.
pub const SEND_QUEUE_LIMIT: usize = 16;
/// Received PDUs waiting in [`Lap::poll_event`] before the station says it is busy.
pub const RECEIVE_QUEUE_LIMIT: usize = 32;
/// Slack on the timers for drivers' latency.
const TIMER_SLACK: Duration = Duration::from_millis(50);

/// How a station presents itself and what it accepts.
#[derive(Clone, Debug)]
pub struct LapConfig {
    pub address: DeviceAddress,
    pub info: DiscoveryInfo,
    pub capabilities: Capabilities,
    /// Answer discovery XIDs and accept SNRMs.
    pub discoverable: bool,
    /// Seeds the discovery slot choice and the connection address (deterministic).
    pub seed: u64,
}

/// What the station tells its user.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum LapEvent {
    /// The end of our discovery: every station that answered.
    Discovered(Vec<Discovery>),
    /// Another station ended a discovery (its final XID carries its information).
    DiscoveredBy(Discovery),
    /// A primary's SNRM for us arrived: accepted at once when discoverable (then
    /// [`LapEvent::Connected`] follows), left unanswered otherwise.
    ConnectIndication(DeviceAddress),
    Connected {
        peer: DeviceAddress,
        primary: bool,
    },
    /// One upper-layer PDU, in order.
    Data(Vec<u8>),
    Disconnected(DisconnectReason),
}

/// Why a connection ended (or never began).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum DisconnectReason {
    /// We asked ([`Lap::disconnect`]).
    Requested,
    /// The peer disconnected.
    ByPeer,
    /// Nothing heard for the disconnect threshold.
    LinkLost,
    /// The peer answered our SNRM with DM.
    Refused,
    /// No UA to our SNRMs (or the medium never went quiet).
    NoAnswer,
    ProtocolError(ProtocolError),
}

/// A peer broke the protocol badly enough to end the link.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ProtocolError {
    /// The secondary rejected one of our frames.
    Rejected(FrameReject),
    /// A frame of the peer could not be decoded.
    BadFrame(FrameError),
    /// The peer acknowledged a frame we never sent.
    InvalidNr { nr: u8, vs: u8 },
    /// An I-frame longer than the data size we accept.
    TooLong { len: usize, limit: usize },
    /// The peer asked for a link reset, which this station answers by disconnecting.
    ResetRequested,
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtocolError::Rejected(reject) => write!(f, "peer sent {reject}"),
            ProtocolError::BadFrame(e) => write!(f, "bad frame: {e}"),
            ProtocolError::InvalidNr { nr, vs } => {
                write!(
                    f,
                    "peer acknowledged up to {nr}, but our next frame is {vs}"
                )
            }
            ProtocolError::TooLong { len, limit } => {
                write!(f, "{len}-byte I-frame, more than the {limit} negotiated")
            }
            ProtocolError::ResetRequested => write!(f, "peer asked for a link reset"),
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DisconnectReason::Requested => write!(f, "disconnected as requested"),
            DisconnectReason::ByPeer => write!(f, "disconnected by the peer"),
            DisconnectReason::LinkLost => {
                write!(f, "link lost (nothing heard for the disconnect threshold)")
            }
            DisconnectReason::Refused => write!(f, "connection refused"),
            DisconnectReason::NoAnswer => write!(f, "no answer"),
            DisconnectReason::ProtocolError(e) => write!(f, "protocol error: {e}"),
        }
    }
}

/// Why [`Lap::send`] refused a PDU.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum LapError {
    NotConnected,
    /// Longer than the data size the peer accepts.
    TooLong {
        len: usize,
        limit: usize,
    },
    /// The send queue is full: wait for [`Lap::send_window_free`].
    QueueFull,
}

impl std::fmt::Display for LapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LapError::NotConnected => write!(f, "no IrLAP connection"),
            LapError::TooLong { len, limit } => {
                write!(f, "{len}-byte PDU, the link carries {limit}")
            }
            LapError::QueueFull => write!(f, "send queue full"),
        }
    }
}

impl std::error::Error for LapError {}

#[derive(Clone, Copy, Debug)]
enum Pending {
    Discover { slots: u8 },
    Connect { peer: DeviceAddress },
}

#[derive(Debug)]
enum State {
    Ndm,
    /// Waiting for [`MEDIA_SENSE`] of silence before `pending`.
    Sensing {
        pending: Pending,
        requested: Instant,
    },
    /// Our discovery: `slot` is the current one; `deadline` runs once its XID is out.
    Querying {
        slots: u8,
        slot: u8,
        found: Vec<Discovery>,
        deadline: Option<Instant>,
    },
    /// SNRM sent, waiting for UA.
    Setup {
        peer: DeviceAddress,
        connection: u8,
        attempts: u8,
        deadline: Option<Instant>,
    },
    Connected(Box<Link>),
}

/// Our answer to someone else's discovery.
#[derive(Clone, Copy, Debug)]
struct Reply {
    discoverer: DeviceAddress,
    last_slot: u8,
    chosen: u8,
    answered: bool,
}

/// What releasing a frame sets off.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum After {
    Nothing,
    /// The last discovery XID of a slot: the slot timer starts.
    SlotTimer,
    /// SNRM: the wait for UA starts.
    SetupTimer,
    /// The frame with the P/F bit: the F or WD timer starts.
    PassToken,
    /// UA accepting a connection (P/F passed) or a DISC (link over): change speed after.
    PassTokenAndSwitch(u32),
    SwitchSpeed(u32),
}

#[derive(Debug)]
struct Outgoing {
    frame: Vec<u8>,
    speed: u32,
    extra_bofs: u16,
    after: After,
}

/// The IrLAP station.
#[derive(Debug)]
pub struct Lap {
    config: LapConfig,
    state: State,
    now: Option<Instant>,
    listening_since: Option<Instant>,
    last_activity: Option<Instant>,
    /// Frames built and waiting for the minimum turnaround.
    outgoing: VecDeque<Outgoing>,
    /// Earliest release of the next frame (last frame received + the peer's need).
    release_at: Option<Instant>,
    /// When our frames released so far have left the air.
    air_end: Option<Instant>,
    speed: u32,
    reply: Option<Reply>,
    connect_after_discovery: Option<DeviceAddress>,
    events: VecDeque<LapEvent>,
    data_events: usize,
    user_busy: bool,
    rng: u64,
}

/// How long `frame` occupies the air as SIR at `speed` (10 bits per byte).
pub fn air_time(frame: &[u8], speed: u32, extra_bofs: u16) -> Duration {
    let bits = sir::encoded_len(frame, extra_bofs) as u64 * 10;
    Duration::from_nanos(bits * 1_000_000_000 / u64::from(speed.max(1)))
}

impl Lap {
    pub fn new(config: LapConfig) -> Lap {
        let rng = config.seed ^ 0x9E37_79B9_7F4A_7C15 ^ u64::from(config.address.0);
        Lap {
            config,
            state: State::Ndm,
            now: None,
            listening_since: None,
            last_activity: None,
            outgoing: VecDeque::new(),
            release_at: None,
            air_end: None,
            speed: CONTACT_SPEED,
            reply: None,
            connect_after_discovery: None,
            events: VecDeque::new(),
            data_events: 0,
            user_busy: false,
            rng: rng.max(1),
        }
    }

    fn random(&mut self) -> u64 {
        // xorshift64*: deterministic from the seed, enough to spread discovery slots.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn tick(&mut self, now: Instant) -> Instant {
        let now = self.now.map_or(now, |then| then.max(now));
        self.now = Some(now);
        self.listening_since.get_or_insert(now);
        now
    }

    /// Starts a discovery of `slots` slots (1, 6, 8 or 16; others round up). Ends with
    /// [`LapEvent::Discovered`]; at once with nobody when a connection is up.
    pub fn discover(&mut self, now: Instant, slots: u8) {
        let now = self.tick(now);
        let slots = [1, 6, 8, 16]
            .into_iter()
            .find(|&n| n >= slots)
            .unwrap_or(16);
        match self.state {
            State::Ndm => {
                self.state = State::Sensing {
                    pending: Pending::Discover { slots },
                    requested: now,
                };
                self.check_sensing(now);
            }
            _ => self.events.push_back(LapEvent::Discovered(Vec::new())),
        }
    }

    /// Connects to `peer` as primary. Ends with [`LapEvent::Connected`] or
    /// [`LapEvent::Disconnected`]. During our discovery it waits for its end; ignored
    /// while a connection exists or is being set up.
    pub fn connect(&mut self, now: Instant, peer: DeviceAddress) {
        let now = self.tick(now);
        match self.state {
            State::Ndm => {
                self.state = State::Sensing {
                    pending: Pending::Connect { peer },
                    requested: now,
                };
                self.check_sensing(now);
            }
            State::Querying { .. }
            | State::Sensing {
                pending: Pending::Discover { .. },
                ..
            } => self.connect_after_discovery = Some(peer),
            _ => {}
        }
    }

    /// Queues one upper-layer PDU of at most the negotiated data size.
    pub fn send(&mut self, data: Vec<u8>) -> Result<(), LapError> {
        let now = self.now;
        let State::Connected(link) = &mut self.state else {
            return Err(LapError::NotConnected);
        };
        link.queue_pdu(data, now)
    }

    /// How many PDUs [`Lap::send`] takes now.
    pub fn send_window_free(&self) -> usize {
        match &self.state {
            State::Connected(link) => link.send_window_free(),
            _ => 0,
        }
    }

    /// Whether the upper layer can take no more data: the peer is told RNR.
    pub fn set_local_busy(&mut self, busy: bool) {
        let was = self.local_busy();
        self.user_busy = busy;
        let now = self.now;
        if was != self.local_busy() {
            if let State::Connected(link) = &mut self.state {
                link.wake(now);
            }
        }
    }

    fn local_busy(&self) -> bool {
        self.user_busy || self.data_events >= RECEIVE_QUEUE_LIMIT
    }

    /// Ends the connection (or its setup, or a pending connect).
    pub fn disconnect(&mut self, now: Instant) {
        let now = self.tick(now);
        match &mut self.state {
            State::Connected(link) => link.request_disconnect(now, DisconnectReason::Requested),
            State::Setup { .. }
            | State::Sensing {
                pending: Pending::Connect { .. },
                ..
            } => self.end_link(DisconnectReason::Requested),
            _ => {}
        }
    }

    /// One received frame whose FCS was good.
    pub fn handle_frame(&mut self, now: Instant, bytes: &[u8]) {
        let now = self.tick(now);
        self.last_activity = Some(now);
        let decoded = Frame::decode(bytes);
        if let State::Connected(_) = self.state {
            self.link_frame(now, bytes, decoded);
            return;
        }
        let Ok(frame) = decoded else {
            return;
        };
        // Whoever sent it may need the NDM turnaround before it hears us.
        self.release_at = Some(now + NDM_MIN_TURNAROUND);
        match (&mut self.state, frame.kind) {
            (State::Ndm | State::Sensing { .. }, FrameKind::Xid(xid)) if frame.command => {
                self.answer_discovery(now, xid)
            }
            (State::Ndm | State::Sensing { .. }, FrameKind::Snrm(Some(info)))
                if frame.command && frame.connection == BROADCAST_CONNECTION =>
            {
                self.accept_connection(now, info)
            }
            (State::Querying { found, .. }, FrameKind::Xid(xid))
                if !frame.command
                    && xid.destination == self.config.address
                    && !found.iter().any(|d| d.address == xid.source) =>
            {
                found.push(Discovery {
                    address: xid.source,
                    info: xid.info.unwrap_or_default(),
                });
            }
            (
                State::Setup {
                    peer, connection, ..
                },
                FrameKind::Ua(info),
            ) if !frame.command && frame.connection == *connection => {
                let (peer, connection) = (*peer, *connection);
                let parameters = info
                    .filter(|info| info.source == peer)
                    .and_then(|info| info.parameters)
                    .unwrap_or_else(Capabilities::mandatory);
                let negotiated = Negotiated::new(&self.config.capabilities, &parameters);
                self.release_at = Some(now + negotiated.min_turnaround);
                self.speed = negotiated.speed;
                self.events.push_back(LapEvent::Connected {
                    peer,
                    primary: true,
                });
                self.state = State::Connected(Box::new(Link::new(
                    connection,
                    true,
                    negotiated,
                    self.own_min_turnaround(),
                    now,
                )));
            }
            (State::Setup { connection, .. }, FrameKind::Dm)
                if !frame.command && frame.connection == *connection =>
            {
                self.end_link(DisconnectReason::Refused)
            }
            _ => {}
        }
    }

    /// Bytes on the air that made no frame for us (damaged frames, other speeds): the
    /// medium is busy.
    pub fn handle_activity(&mut self, now: Instant) {
        let now = self.tick(now);
        self.last_activity = Some(now);
    }

    /// The next frame to put on the air, once the minimum turnaround has passed.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let now = self.now?;
        if self.release_at.is_some_and(|at| at > now) {
            return None;
        }
        if self.outgoing.is_empty() {
            self.build_burst(now);
        }
        let out = self.outgoing.pop_front()?;
        let start = self.air_end.map_or(now, |end| end.max(now));
        let end = start + air_time(&out.frame, out.speed, out.extra_bofs);
        self.air_end = Some(end);
        self.released(end, out.after);
        Some(Transmit {
            frame: out.frame,
            speed: out.speed,
            extra_bofs: out.extra_bofs,
        })
    }

    pub fn poll_event(&mut self) -> Option<LapEvent> {
        let event = self.events.pop_front()?;
        if let LapEvent::Data(_) = event {
            let was_busy = self.local_busy();
            self.data_events -= 1;
            if was_busy && !self.local_busy() {
                let now = self.now;
                if let State::Connected(link) = &mut self.state {
                    link.wake(now);
                }
            }
        }
        Some(event)
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let release = self.release_at.filter(|_| !self.outgoing.is_empty());
        let state = match &self.state {
            State::Ndm => None,
            State::Sensing { requested, .. } => Some(self.quiet_at(*requested)),
            State::Querying { deadline, .. } | State::Setup { deadline, .. } => *deadline,
            State::Connected(link) => link
                .timeout()
                .map(|at| self.release_at.map_or(at, |r| r.max(at))),
        };
        [release, state].into_iter().flatten().min()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.tick(now);
        match &mut self.state {
            State::Sensing { .. } => self.check_sensing(now),
            State::Querying { deadline, .. } if deadline.is_some_and(|d| d <= now) => {
                self.next_slot(now)
            }
            State::Setup { deadline, .. } if deadline.is_some_and(|d| d <= now) => {
                self.setup_expired(now)
            }
            State::Connected(_) => {
                self.link_timeout(now);
                // Build a due turn now, so the timeout stops reporting it.
                if self.outgoing.is_empty() && self.release_at.is_none_or(|at| at <= now) {
                    self.build_burst(now);
                }
            }
            _ => {}
        }
    }

    /// The speed we send and receive at now.
    pub fn speed(&self) -> u32 {
        self.speed
    }

    pub fn negotiated(&self) -> Option<&Negotiated> {
        match &self.state {
            State::Connected(link) => Some(&link.negotiated),
            _ => None,
        }
    }

    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Connected(_))
    }

    fn own_min_turnaround(&self) -> Duration {
        Duration::from_micros(u64::from(
            self.config.capabilities.min_turnaround_us.min(10_000),
        ))
    }

    /// When the medium will have been quiet for [`MEDIA_SENSE`].
    fn quiet_at(&self, requested: Instant) -> Instant {
        let since = [
            Some(requested.min(self.listening_since.unwrap_or(requested))),
            self.last_activity,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(requested);
        let quiet = since + MEDIA_SENSE;
        // Past the busy limit the check fires to give up.
        quiet.min(requested + MEDIA_BUSY_LIMIT)
    }

    fn check_sensing(&mut self, now: Instant) {
        let State::Sensing { pending, requested } = self.state else {
            return;
        };
        let medium_quiet = self.last_activity.is_none_or(|at| at + MEDIA_SENSE <= now)
            && self
                .listening_since
                .is_some_and(|since| since + MEDIA_SENSE <= now);
        if medium_quiet {
            match pending {
                Pending::Discover { slots } => {
                    self.state = State::Querying {
                        slots,
                        slot: 0,
                        found: Vec::new(),
                        deadline: None,
                    };
                    self.send_discovery_xid(slots, 0);
                }
                Pending::Connect { peer } => {
                    let connection = (self.random() % 0x7E) as u8 + 1;
                    self.state = State::Setup {
                        peer,
                        connection,
                        attempts: 0,
                        deadline: None,
                    };
                    self.send_snrm();
                }
            }
        } else if now >= requested + MEDIA_BUSY_LIMIT {
            match pending {
                Pending::Discover { .. } => {
                    self.state = State::Ndm;
                    self.events.push_back(LapEvent::Discovered(Vec::new()));
                    if self.connect_after_discovery.take().is_some() {
                        self.events
                            .push_back(LapEvent::Disconnected(DisconnectReason::NoAnswer));
                    }
                }
                Pending::Connect { .. } => self.end_link(DisconnectReason::NoAnswer),
            }
        }
    }

    fn push_ndm(&mut self, frame: Frame, after: After) {
        self.outgoing.push_back(Outgoing {
            frame: frame.encode(),
            speed: CONTACT_SPEED,
            extra_bofs: 0,
            after,
        });
    }

    fn send_discovery_xid(&mut self, slots: u8, slot: u8) {
        let info = (slot == FINAL_SLOT).then(|| self.config.info.clone());
        let frame = Frame {
            connection: BROADCAST_CONNECTION,
            command: true,
            poll_final: true,
            kind: FrameKind::Xid(Xid {
                source: self.config.address,
                destination: DeviceAddress::BROADCAST,
                slots,
                new_address: false,
                slot,
                version: 0,
                info,
            }),
        };
        let after = if slot == FINAL_SLOT {
            After::Nothing
        } else {
            After::SlotTimer
        };
        self.push_ndm(frame, after);
    }

    fn next_slot(&mut self, now: Instant) {
        let State::Querying {
            slots,
            slot,
            found,
            deadline,
        } = &mut self.state
        else {
            return;
        };
        *deadline = None;
        *slot += 1;
        let (slots, slot) = (*slots, *slot);
        if slot < slots {
            self.send_discovery_xid(slots, slot);
        } else {
            let found = std::mem::take(found);
            self.state = State::Ndm;
            self.send_discovery_xid(slots, FINAL_SLOT);
            self.events.push_back(LapEvent::Discovered(found));
            if let Some(peer) = self.connect_after_discovery.take() {
                self.connect(now, peer);
            }
        }
    }

    fn answer_discovery(&mut self, now: Instant, xid: Xid) {
        if xid.destination != DeviceAddress::BROADCAST && xid.destination != self.config.address {
            return;
        }
        if xid.slot == FINAL_SLOT {
            self.reply = None;
            self.events.push_back(LapEvent::DiscoveredBy(Discovery {
                address: xid.source,
                info: xid.info.unwrap_or_default(),
            }));
            return;
        }
        if !self.config.discoverable || xid.slot >= xid.slots {
            return;
        }
        let fresh = self
            .reply
            // One XID per slot: a slot number not above the last one seen is a new discovery.
            .is_none_or(|r| r.discoverer != xid.source || xid.slot <= r.last_slot);
        if fresh {
            let chosen = xid.slot + (self.random() % u64::from(xid.slots - xid.slot)) as u8;
            self.reply = Some(Reply {
                discoverer: xid.source,
                last_slot: xid.slot,
                chosen,
                answered: false,
            });
        }
        let Some(reply) = &mut self.reply else {
            return;
        };
        reply.last_slot = xid.slot;
        if reply.answered || reply.chosen != xid.slot {
            return;
        }
        reply.answered = true;
        let frame = Frame {
            connection: BROADCAST_CONNECTION,
            command: false,
            poll_final: true,
            kind: FrameKind::Xid(Xid {
                source: self.config.address,
                destination: xid.source,
                slots: xid.slots,
                new_address: false,
                slot: xid.slot,
                version: 0,
                info: Some(self.config.info.clone()),
            }),
        };
        self.release_at = Some(now + NDM_MIN_TURNAROUND);
        self.push_ndm(frame, After::Nothing);
    }

    fn send_snrm(&mut self) {
        let State::Setup {
            peer,
            connection,
            attempts,
            ..
        } = &mut self.state
        else {
            return;
        };
        *attempts += 1;
        let frame = Frame {
            connection: BROADCAST_CONNECTION,
            command: true,
            poll_final: true,
            kind: FrameKind::Snrm(Some(SnrmInfo {
                source: self.config.address,
                destination: *peer,
                connection: *connection,
                parameters: self.config.capabilities.clone(),
            })),
        };
        self.push_ndm(frame, After::SetupTimer);
    }

    fn setup_expired(&mut self, _now: Instant) {
        let State::Setup {
            attempts, deadline, ..
        } = &mut self.state
        else {
            return;
        };
        *deadline = None;
        if *attempts > SNRM_RETRIES {
            self.end_link(DisconnectReason::NoAnswer);
        } else {
            self.send_snrm();
        }
    }

    fn accept_connection(&mut self, now: Instant, info: SnrmInfo) {
        if info.destination != self.config.address || info.connection == BROADCAST_CONNECTION {
            return;
        }
        self.events
            .push_back(LapEvent::ConnectIndication(info.source));
        if !self.config.discoverable {
            return;
        }
        let negotiated = Negotiated::new(&self.config.capabilities, &info.parameters);
        let speed = negotiated.speed;
        let frame = Frame {
            connection: info.connection,
            command: false,
            poll_final: true,
            kind: FrameKind::Ua(Some(UaInfo {
                source: self.config.address,
                destination: info.source,
                parameters: Some(self.config.capabilities.clone()),
            })),
        };
        self.outgoing.clear();
        self.reply = None;
        self.release_at = Some(now + NDM_MIN_TURNAROUND);
        self.push_ndm(frame, After::PassTokenAndSwitch(speed));
        self.events.push_back(LapEvent::Connected {
            peer: info.source,
            primary: false,
        });
        self.state = State::Connected(Box::new(Link::new(
            info.connection,
            false,
            negotiated,
            self.own_min_turnaround(),
            now,
        )));
    }

    /// Back to NDM at the contact speed, telling the user why (frames already built, such
    /// as a UA to a DISC, still go out).
    fn end_link(&mut self, reason: DisconnectReason) {
        self.outgoing.clear();
        self.speed = CONTACT_SPEED;
        self.state = State::Ndm;
        self.events.push_back(LapEvent::Disconnected(reason));
    }

    fn released(&mut self, air_end: Instant, after: After) {
        match after {
            After::Nothing => {}
            After::SlotTimer => {
                if let State::Querying { deadline, .. } = &mut self.state {
                    *deadline = Some(air_end + SLOT_TIME);
                }
            }
            After::SetupTimer => {
                if let State::Setup { deadline, .. } = &mut self.state {
                    let peer_turn = Duration::from_millis(u64::from(
                        self.config.capabilities.max_turnaround_ms,
                    ));
                    *deadline = Some(air_end + NDM_MIN_TURNAROUND + peer_turn + TIMER_SLACK);
                }
            }
            After::PassToken => self.token_passed(air_end),
            After::PassTokenAndSwitch(speed) => {
                if let State::Connected(_) = self.state {
                    self.speed = speed;
                    self.token_passed(air_end);
                }
            }
            After::SwitchSpeed(speed) => self.speed = speed,
        }
    }
}
