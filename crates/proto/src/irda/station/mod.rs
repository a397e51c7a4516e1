//! The whole IrDA stack as one sans-IO machine carrying one OBEX byte stream: IrLAP below,
//! IrLMP with its IAS server and client in the middle, TinyTP on top, the way IrOBEX lays
//! them out.
//!
//! - The side that starts (a PC calling a phone, or a phone calling "PC Suite") discovers,
//!   connects IrLAP to the station it picked, asks that station's IAS where its OBEX service
//!   is (class `OBEX`, attribute `IrDA:TinyTP:LsapSel`) and opens a TinyTP connection there.
//! - The side that waits is discoverable, answers IAS from its database and takes the
//!   TinyTP connection to its OBEX service.
//!
//! OBEX runs on TinyTP as a byte stream (IrOBEX uses no TinyTP segmentation: an OBEX packet
//! says its own length), so what [`Station::write_obex`] takes goes out in PDUs of the size
//! the peer allows, and what [`Station::read_obex`] gives is the PDUs' bytes in order. Reading
//! is what grants the peer TinyTP credit: a reader that stops stops the peer.

use std::collections::VecDeque;
use std::time::Instant;

use super::frame::{Discovery, DiscoveryInfo, Hints};
use super::ias::{IasDatabase, IasValue};
use super::lap::{DisconnectReason, Lap, LapConfig, LapEvent};
use super::lmp::{self, ConnectionId, Lmp, LmpConfig, LmpEvent, Lsap, QueryId};
use super::qos::Capabilities;
use super::ttp::{Ttp, TtpConfig};
use super::{DeviceAddress, Received, Transmit};

/// The IAS class and attribute that say where a station's OBEX service is.
pub const OBEX_CLASS: &str = "OBEX";
pub const OBEX_LSAP_ATTRIBUTE: &str = "IrDA:TinyTP:LsapSel";
/// Where our own OBEX service listens.
pub const OBEX_LSAP: u8 = 0x05;

/// TinyTP credits we grant at a time: enough to keep a whole IrLAP window in flight.
const INITIAL_CREDIT: u8 = 14;
/// OBEX bytes taken from the writer but not yet in TinyTP PDUs.
const OBEX_SEND_BUDGET: usize = 32 * 1024;

/// Who this station is and what it offers.
#[derive(Debug, Clone)]
pub struct StationConfig {
    pub address: DeviceAddress,
    /// The name discovery shows ("PC Suite" for us, the model for a phone).
    pub nickname: String,
    pub hints: Hints,
    pub capabilities: Capabilities,
    /// Answers discovery and takes IrLAP connections.
    pub discoverable: bool,
    /// Offers an OBEX service through IAS and takes TinyTP connections to it.
    pub obex_server: bool,
    /// Seeds the discovery slot choice (reproducible tests).
    pub seed: u64,
}

/// Why the OBEX channel closed or could not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// We closed it.
    Requested,
    /// The peer closed the OBEX connection or the link.
    ByPeer,
    /// The peer went silent past the link disconnect threshold: out of range, covered, gone.
    OutOfRange,
    /// The station we called did not answer its connection request.
    NoAnswer,
    /// It refused the IrLAP connection.
    Refused,
    /// Its IAS has no OBEX service.
    NoObexService,
    /// A protocol fault (the peer's or ours), in words.
    Fault(String),
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::Requested => f.write_str("closed"),
            CloseReason::ByPeer => f.write_str("the phone closed the infrared link"),
            CloseReason::OutOfRange => f.write_str(
                "the phone went out of range (nothing heard past the link disconnect threshold)",
            ),
            CloseReason::NoAnswer => f.write_str("the phone did not answer the connection"),
            CloseReason::Refused => f.write_str("the phone refused the connection"),
            CloseReason::NoObexService => {
                f.write_str("the phone offers no OBEX service (its IAS has no OBEX class)")
            }
            CloseReason::Fault(why) => write!(f, "infrared protocol error: {why}"),
        }
    }
}

/// What the station tells its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StationEvent {
    /// A discovery ended: the stations that answered.
    Discovered(Vec<Discovery>),
    /// A station discovered us.
    DiscoveredBy(Discovery),
    /// The OBEX byte stream is open, over a link at `speed` bits per second.
    ObexOpened { peer: DeviceAddress, speed: u32 },
    /// It closed (or never opened); the link is down or going down.
    ObexClosed(CloseReason),
}

impl StationEvent {
    /// Whether this event ends what a driver waits for on this station.
    pub fn ends_link(&self) -> bool {
        matches!(self, StationEvent::ObexClosed(_))
    }
}

#[derive(Debug)]
enum Obex {
    /// No OBEX connection, none asked for.
    Idle,
    /// Waiting for the IrLAP connection to the peer, then its IAS answer.
    Linking {
        peer: DeviceAddress,
    },
    Querying {
        peer: DeviceAddress,
        query: QueryId,
    },
    Connecting {
        peer: DeviceAddress,
        connection: ConnectionId,
        ttp: Box<Ttp>,
    },
    Open {
        connection: ConnectionId,
        ttp: Box<Ttp>,
    },
    /// Closed by us: waiting for IrLAP to finish its disconnect.
    Closing,
}

/// IrLAP, IrLMP and TinyTP for one OBEX stream.
pub struct Station {
    config: StationConfig,
    lap: Lap,
    lmp: Lmp,
    obex: Obex,
    /// OBEX bytes the writer gave that TinyTP has not taken yet.
    outgoing: VecDeque<u8>,
    events: VecDeque<StationEvent>,
    /// The reason to report once IrLAP is down, when we know better than IrLAP does.
    closing_reason: Option<CloseReason>,
    /// The station at the other end of the link, while there is one.
    link_peer: Option<DeviceAddress>,
}

impl Station {
    pub fn new(config: StationConfig) -> Station {
        let lap = Lap::new(LapConfig {
            address: config.address,
            info: DiscoveryInfo {
                hints: config.hints,
                charset: 0, // ASCII
                nickname: config.nickname.as_bytes().to_vec(),
            },
            capabilities: config.capabilities.clone(),
            discoverable: config.discoverable,
            seed: config.seed,
        });
        let mut ias = IasDatabase::with_device(&config.nickname);
        if config.obex_server {
            // A fixed class and a valid LSAP: cannot fail.
            let _ = ias.add_tinytp_service(OBEX_CLASS, OBEX_LSAP);
        }
        let mut lmp = Lmp::new(LmpConfig {
            // OBEX and an IAS query at a time are all a phone opens.
            max_connections: 4,
            ..LmpConfig::new(ias)
        });
        if config.obex_server {
            // A fixed, valid LSAP: cannot fail.
            let _ = lmp.listen(Lsap(OBEX_LSAP));
        }
        Station {
            config,
            lap,
            lmp,
            obex: Obex::Idle,
            outgoing: VecDeque::new(),
            events: VecDeque::new(),
            closing_reason: None,
            link_peer: None,
        }
    }

    pub fn config(&self) -> &StationConfig {
        &self.config
    }

    /// Looks for stations in range; [`StationEvent::Discovered`] says who answered.
    pub fn discover(&mut self, now: Instant) {
        self.lap.discover(now, 8);
        self.process(now);
    }

    /// Connects to `peer` and opens a TinyTP connection to its OBEX service.
    pub fn open_obex(&mut self, now: Instant, peer: DeviceAddress) {
        if !matches!(self.obex, Obex::Idle) {
            return;
        }
        self.obex = Obex::Linking { peer };
        if self.lap.is_connected() {
            self.link_up(now);
        } else {
            self.lap.connect(now, peer);
        }
        self.process(now);
    }

    /// Closes the OBEX connection and the link under it.
    pub fn close_obex(&mut self, now: Instant) {
        match std::mem::replace(&mut self.obex, Obex::Closing) {
            Obex::Open { connection, .. } | Obex::Connecting { connection, .. } => {
                let _ = self
                    .lmp
                    .disconnect(connection, lmp::DisconnectReason::UserRequest);
            }
            Obex::Idle if !self.lap.is_connected() => {
                self.obex = Obex::Idle;
                return;
            }
            _ => {}
        }
        self.closing_reason = Some(CloseReason::Requested);
        self.flush_lmp();
        self.lap.disconnect(now);
        self.process(now);
    }

    /// Stops at once: the link goes down (a DISC goes out if it was up).
    pub fn shut_down(&mut self, now: Instant) {
        self.close_obex(now);
    }

    /// Whether IrLAP still holds a link (the driver waits for its DISC to be answered).
    pub fn is_linked(&self) -> bool {
        self.lap.is_connected()
    }

    /// How many OBEX bytes [`Station::write_obex`] takes now.
    pub fn obex_room(&self) -> usize {
        match self.obex {
            Obex::Open { .. } => OBEX_SEND_BUDGET.saturating_sub(self.outgoing.len()),
            _ => 0,
        }
    }

    /// OBEX bytes to send; at most [`Station::obex_room`] of them are taken.
    pub fn write_obex(&mut self, bytes: &[u8]) {
        let take = bytes.len().min(self.obex_room());
        self.outgoing.extend(&bytes[..take]);
        self.feed_ttp();
        self.flush_lmp();
    }

    /// OBEX bytes the peer sent, in order.
    pub fn read_obex(&mut self) -> Option<Vec<u8>> {
        let Obex::Open { ttp, .. } = &mut self.obex else {
            return None;
        };
        let sdu = ttp.poll_sdu();
        // Reading granted credit: its PDU goes out.
        self.flush_ttp();
        self.flush_lmp();
        sdu
    }

    pub fn handle_received(&mut self, now: Instant, received: Received) {
        match received {
            Received::Frame(frame) => self.lap.handle_frame(now, &frame),
            Received::Activity => self.lap.handle_activity(now),
        }
        self.process(now);
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.lap.poll_transmit()
    }

    pub fn poll_event(&mut self) -> Option<StationEvent> {
        self.events.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.lap.poll_timeout(), self.lmp.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.lap.handle_timeout(now);
        self.lmp.handle_timeout(now);
        self.process(now);
    }

    /// The speed the station sends and receives at now.
    pub fn speed(&self) -> u32 {
        self.lap.speed()
    }

    /// Moves everything between the layers until nothing moves.
    fn process(&mut self, now: Instant) {
        loop {
            let mut moved = false;
            while let Some(event) = self.lap.poll_event() {
                moved = true;
                self.on_lap_event(now, event);
            }
            while let Some(event) = self.lmp.poll_event() {
                moved = true;
                self.on_lmp_event(now, event);
            }
            moved |= self.feed_ttp();
            moved |= self.flush_ttp();
            moved |= self.flush_lmp();
            if !moved {
                break;
            }
        }
    }

    fn on_lap_event(&mut self, now: Instant, event: LapEvent) {
        match event {
            LapEvent::Discovered(found) => self.events.push_back(StationEvent::Discovered(found)),
            LapEvent::DiscoveredBy(by) => self.events.push_back(StationEvent::DiscoveredBy(by)),
            LapEvent::Connected { peer, .. } => {
                self.link_peer = Some(peer);
                self.link_up(now)
            }
            LapEvent::Data(pdu) => {
                if let Err(e) = self.lmp.handle_pdu(now, &pdu) {
                    tracing::debug!("IrDA: IrLMP PDU refused: {e}");
                }
            }
            LapEvent::Disconnected(reason) => {
                self.lmp.link_down(now);
                let reason = self.closing_reason.take().unwrap_or(match reason {
                    DisconnectReason::Requested => CloseReason::Requested,
                    DisconnectReason::ByPeer => CloseReason::ByPeer,
                    DisconnectReason::LinkLost => CloseReason::OutOfRange,
                    DisconnectReason::Refused => CloseReason::Refused,
                    DisconnectReason::NoAnswer => CloseReason::NoAnswer,
                    DisconnectReason::ProtocolError(why) => CloseReason::Fault(why.to_string()),
                });
                let was = std::mem::replace(&mut self.obex, Obex::Idle);
                self.outgoing.clear();
                self.link_peer = None;
                // A server that never had an OBEX connection on this link has nothing to
                // report but the link's end when it was not asked to close.
                let report = !matches!(was, Obex::Idle) || reason != CloseReason::ByPeer;
                if report {
                    self.events.push_back(StationEvent::ObexClosed(reason));
                }
            }
            _ => {}
        }
    }

    fn link_up(&mut self, now: Instant) {
        self.lmp.link_up(now, self.send_data_size());
        if let Obex::Linking { peer } = self.obex {
            match self.lmp.ias_query(now, OBEX_CLASS, OBEX_LSAP_ATTRIBUTE) {
                Ok(query) => self.obex = Obex::Querying { peer, query },
                Err(e) => self.fail(now, CloseReason::Fault(e.to_string())),
            }
        }
    }

    fn on_lmp_event(&mut self, now: Instant, event: LmpEvent) {
        match event {
            LmpEvent::IasAnswer { query, result } => {
                let Obex::Querying { peer, query: ours } = self.obex else {
                    return;
                };
                if query != ours {
                    return;
                }
                let lsap = result.ok().and_then(|entries| {
                    entries.iter().find_map(|entry| match entry.value {
                        IasValue::Integer(lsap) => u8::try_from(lsap).ok().map(Lsap),
                        _ => None,
                    })
                });
                let Some(lsap) = lsap.filter(|lsap| lsap.is_user()) else {
                    return self.fail(now, CloseReason::NoObexService);
                };
                let ttp = Ttp::new(self.ttp_config());
                match self.lmp.connect(now, lsap, ttp.connect_parameters()) {
                    Ok(connection) => {
                        self.obex = Obex::Connecting {
                            peer,
                            connection,
                            ttp: Box::new(ttp),
                        }
                    }
                    Err(e) => self.fail(now, CloseReason::Fault(e.to_string())),
                }
            }
            LmpEvent::Connected {
                conn, user_data, ..
            } => {
                let Obex::Connecting {
                    peer, connection, ..
                } = &self.obex
                else {
                    return;
                };
                if *connection != conn {
                    return;
                }
                let peer = *peer;
                let Obex::Connecting { mut ttp, .. } =
                    std::mem::replace(&mut self.obex, Obex::Idle)
                else {
                    return;
                };
                if let Err(e) = ttp.handle_connect_parameters(&user_data) {
                    return self.fail(now, CloseReason::Fault(e.to_string()));
                }
                self.obex = Obex::Open {
                    connection: conn,
                    ttp,
                };
                self.events.push_back(StationEvent::ObexOpened {
                    peer,
                    speed: self.lap.speed(),
                });
            }
            LmpEvent::ConnectIndication {
                conn,
                local,
                user_data,
                ..
            } => {
                let ours = local == Lsap(OBEX_LSAP) && self.config.obex_server;
                if !ours || !matches!(self.obex, Obex::Idle) {
                    // One OBEX session per link; nothing else is offered.
                    let _ = self
                        .lmp
                        .disconnect(conn, lmp::DisconnectReason::NoAvailableClient);
                    return;
                }
                let mut ttp = Ttp::new(self.ttp_config());
                if let Err(e) = ttp.handle_connect_parameters(&user_data) {
                    let _ = self
                        .lmp
                        .disconnect(conn, lmp::DisconnectReason::UserRequest);
                    tracing::debug!("IrDA: TinyTP connect refused: {e}");
                    return;
                }
                if let Err(e) = self.lmp.accept(conn, ttp.connect_parameters()) {
                    tracing::debug!("IrDA: IrLMP accept failed: {e}");
                    return;
                }
                self.obex = Obex::Open {
                    connection: conn,
                    ttp: Box::new(ttp),
                };
                let peer = self.link_peer.unwrap_or(DeviceAddress(0));
                self.events.push_back(StationEvent::ObexOpened {
                    peer,
                    speed: self.lap.speed(),
                });
            }
            LmpEvent::Data { conn, data } => {
                let Obex::Open { connection, ttp } = &mut self.obex else {
                    return;
                };
                if *connection != conn {
                    return;
                }
                if let Err(e) = ttp.handle_pdu(&data) {
                    self.fail(now, CloseReason::Fault(e.to_string()));
                }
            }
            LmpEvent::Disconnected { conn, .. } => {
                let ours = match &self.obex {
                    Obex::Open { connection, .. } | Obex::Connecting { connection, .. } => {
                        *connection == conn
                    }
                    _ => false,
                };
                if ours {
                    // The peer closed OBEX's connection: the link goes with it.
                    self.closing_reason = Some(CloseReason::ByPeer);
                    self.obex = Obex::Closing;
                    self.lap.disconnect(now);
                }
            }
        }
    }

    fn fail(&mut self, now: Instant, reason: CloseReason) {
        self.obex = Obex::Closing;
        self.closing_reason = Some(reason);
        self.lap.disconnect(now);
    }

    /// Information bytes per I-frame the peer takes (64, the minimum, before negotiation).
    fn send_data_size(&self) -> usize {
        self.lap
            .negotiated()
            .map(|n| n.peer_data_size())
            .unwrap_or(64)
    }

    fn ttp_config(&self) -> TtpConfig {
        TtpConfig {
            initial_credit: INITIAL_CREDIT,
            // Byte stream: no segmentation and reassembly (IrOBEX).
            max_sdu_size: 0,
            ..TtpConfig::new(TtpConfig::segment_size_for_link(self.send_data_size()).max(1))
        }
    }

    /// OBEX bytes into TinyTP PDUs, as many as TinyTP's queue takes.
    fn feed_ttp(&mut self) -> bool {
        let Obex::Open { ttp, .. } = &mut self.obex else {
            return false;
        };
        let mut moved = false;
        while !self.outgoing.is_empty() && ttp.can_send_sdu() {
            let chunk: Vec<u8> = {
                let take = self.outgoing.len().min(ttp.max_segment_size());
                self.outgoing.drain(..take).collect()
            };
            if ttp.send_sdu(chunk).is_err() {
                break;
            }
            moved = true;
        }
        moved
    }

    fn flush_ttp(&mut self) -> bool {
        let Obex::Open { connection, ttp } = &mut self.obex else {
            return false;
        };
        let mut moved = false;
        // TinyTP spends a credit on each PDU it gives: take one only when IrLMP takes it.
        while self.lmp.can_send() {
            let Some(pdu) = ttp.poll_pdu() else {
                break;
            };
            moved = true;
            if let Err(e) = self.lmp.send(*connection, pdu) {
                tracing::debug!("IrDA: IrLMP refused TinyTP data: {e}");
            }
        }
        moved
    }

    /// LMP PDUs into IrLAP while its window has room.
    fn flush_lmp(&mut self) -> bool {
        let mut moved = false;
        while self.lap.send_window_free() > 0 {
            let Some(pdu) = self.lmp.poll_pdu() else {
                break;
            };
            moved = true;
            if let Err(e) = self.lap.send(pdu) {
                tracing::debug!("IrDA: IrLAP refused a PDU: {e}");
            }
        }
        moved
    }
}

#[cfg(test)]
mod tests;
