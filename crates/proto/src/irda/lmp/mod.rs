//! IrLMP's LM-MUX over one IrLAP link (IrLMP 1.1), sans-IO: LSAP connections multiplexed on
//! the link, the IAS server on LSAP 0 answering from an [`IasDatabase`], and an IAS client
//! for the peer's directory.
//!
//! [`Lmp`] takes the PDUs IrLAP delivers ([`Lmp::handle_pdu`]) and gives the PDUs for IrLAP's
//! I-frames ([`Lmp::poll_pdu`]); its user sees [`LmpEvent`]s. It knows nothing of IrLAP
//! itself: the station tells it when the link comes up and goes down.
//!
//! Everything a peer can make us hold is bounded: connections ([`LmpConfig::max_connections`]),
//! PDUs waiting for the link ([`LmpConfig::max_queued_pdus`]) and data waiting for the user
//! ([`LmpConfig::max_queued_events`]: a user that stops reading loses the connection that
//! overflows, with reason "non responsive LM-MUX client").
//!
//! Calls that start a timer ([`Lmp::connect`], [`Lmp::ias_query`]) take the time, as
//! [`Lmp::handle_pdu`] does; [`Lmp::poll_timeout`] says when [`Lmp::handle_timeout`] is due.
//!
//! TinyTP ([`crate::irda::ttp::Ttp`]) rides on a user connection: its connect parameters are
//! the connect user data, its PDUs the data. Check [`Lmp::can_send`] before taking a PDU
//! from TinyTP, which spends a credit on every data PDU it gives.

mod pdu;
mod types;

#[cfg(test)]
mod oracle_tests;
#[cfg(test)]
mod tests;

pub use pdu::{
    access_mode, access_status, LmPdu, LmpDecodeError, LmpDecodeErrorKind, CONTROL_HEADER_LEN,
    DATA_HEADER_LEN,
};
pub use types::{ConnectionId, DisconnectReason, LmpConfig, LmpError, LmpEvent, Lsap, QueryId};

use std::collections::{BTreeSet, VecDeque};
use std::time::Instant;

use crate::irda::ias::{ClientSession, GetValueByClass, IasDatabase, IasError, ServerSession};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// We sent a connect and wait for the confirm until the deadline.
    Connecting {
        deadline: Instant,
    },
    /// The peer connected; our user has not answered yet.
    Incoming,
    Open,
}

#[derive(Debug)]
enum Role {
    User,
    IasServer(ServerSession),
    IasClient(ClientSession),
}

#[derive(Debug)]
struct Connection {
    id: ConnectionId,
    local: Lsap,
    remote: Lsap,
    state: State,
    role: Role,
}

#[derive(Debug)]
struct Query {
    id: QueryId,
    request: GetValueByClass,
}

/// The IAS client: queries run one at a time over one connection to the peer's LSAP 0,
/// opened when the first is asked and closed when the last is answered.
#[derive(Debug, Default)]
struct IasClient {
    connection: Option<ConnectionId>,
    queue: VecDeque<Query>,
    /// The query sent and its answer deadline.
    active: Option<(Query, Instant)>,
}

/// One PDU waiting for IrLAP, with the connection it belongs to (purged if that ends).
#[derive(Debug)]
struct Outgoing {
    connection: Option<ConnectionId>,
    pdu: Vec<u8>,
}

/// The LM-MUX over one IrLAP link.
#[derive(Debug)]
pub struct Lmp {
    config: LmpConfig,
    /// The IrLAP data size while the link is up.
    link_data_size: Option<usize>,
    connections: Vec<Connection>,
    listeners: BTreeSet<Lsap>,
    outgoing: VecDeque<Outgoing>,
    events: VecDeque<LmpEvent>,
    ias_client: IasClient,
    next_connection: u32,
    next_query: u32,
    /// PDUs dropped: replies to a flooding peer, connectionless data with no user.
    dropped_pdus: u64,
}

/// Replies not tied to a connection (refusals) may use this much room past the user limit;
/// beyond it they are dropped, so a peer flooding us cannot grow the queue.
const UNATTACHED_REPLY_ROOM: usize = 8;

impl Lmp {
    pub fn new(config: LmpConfig) -> Lmp {
        Lmp {
            config,
            link_data_size: None,
            connections: Vec::new(),
            listeners: BTreeSet::new(),
            outgoing: VecDeque::new(),
            events: VecDeque::new(),
            ias_client: IasClient::default(),
            next_connection: 0,
            next_query: 0,
            dropped_pdus: 0,
        }
    }

    /// The database our IAS server answers from (to register services after start).
    pub fn ias_database_mut(&mut self) -> &mut IasDatabase {
        &mut self.config.ias
    }

    /// IrLAP connected; `link_data_size` is the negotiated data size of its I-frames (the
    /// most one LM-PDU may hold).
    pub fn link_up(&mut self, _now: Instant, link_data_size: usize) {
        self.link_data_size = Some(link_data_size.max(CONTROL_HEADER_LEN + 1));
    }

    /// IrLAP is gone: every connection ends with reason "unexpected IrLAP disconnect" and
    /// every IAS query fails.
    pub fn link_down(&mut self, _now: Instant) {
        self.link_data_size = None;
        self.outgoing.clear();
        let reason = DisconnectReason::UnexpectedLinkDisconnect;
        for connection in std::mem::take(&mut self.connections) {
            if matches!(connection.role, Role::User) {
                self.events.push_back(LmpEvent::Disconnected {
                    conn: connection.id,
                    reason,
                });
            }
        }
        self.ias_client.connection = None;
        self.fail_queries(IasError::Disconnected(reason));
    }

    pub fn is_link_up(&self) -> bool {
        self.link_data_size.is_some()
    }

    /// The most user data one data PDU carries on this link (what TinyTP segments to, less
    /// its own header).
    pub fn max_data_size(&self) -> Option<usize> {
        self.link_data_size.map(|size| size - DATA_HEADER_LEN)
    }

    /// LSAP connections held, in any state (the station may drop an idle link).
    pub fn connection_count(&self) -> usize {
        self.connections.len()
    }

    /// PDUs dropped so far: refusals we had no room to send, data for LSAPs without a user.
    pub fn dropped_pdus(&self) -> u64 {
        self.dropped_pdus
    }

    /// Accepts connections to a local user LSAP.
    pub fn listen(&mut self, lsap: Lsap) -> Result<(), LmpError> {
        if !lsap.is_user() {
            return Err(LmpError::InvalidLsap(lsap));
        }
        if self.listeners.contains(&lsap) || self.connections.iter().any(|c| c.local == lsap) {
            return Err(LmpError::LsapInUse(lsap));
        }
        self.listeners.insert(lsap);
        Ok(())
    }

    /// Stops accepting connections to `lsap` (connections already made stay).
    pub fn unlisten(&mut self, lsap: Lsap) {
        self.listeners.remove(&lsap);
    }

    /// Connects a free local LSAP to the peer's `remote`; [`LmpEvent::Connected`] or
    /// [`LmpEvent::Disconnected`] follows.
    pub fn connect(
        &mut self,
        now: Instant,
        remote: Lsap,
        user_data: Vec<u8>,
    ) -> Result<ConnectionId, LmpError> {
        if !remote.is_user() {
            return Err(LmpError::InvalidLsap(remote));
        }
        self.open_connection(now, remote, &user_data, Role::User)
    }

    fn open_connection(
        &mut self,
        now: Instant,
        remote: Lsap,
        user_data: &[u8],
        role: Role,
    ) -> Result<ConnectionId, LmpError> {
        let link_data_size = self.link_data_size.ok_or(LmpError::LinkDown)?;
        let max = link_data_size - CONTROL_HEADER_LEN;
        if user_data.len() > max {
            return Err(LmpError::TooLarge {
                len: user_data.len(),
                max,
            });
        }
        if self.connections.len() >= self.config.max_connections {
            return Err(LmpError::TooManyConnections);
        }
        let local = (Lsap::FIRST_USER.0..=Lsap::LAST_USER.0)
            .map(Lsap)
            .find(|&lsap| {
                !self.listeners.contains(&lsap) && !self.connections.iter().any(|c| c.local == lsap)
            })
            .ok_or(LmpError::NoFreeLsap)?;
        let id = self.new_connection_id();
        self.connections.push(Connection {
            id,
            local,
            remote,
            state: State::Connecting {
                deadline: now + self.config.connect_timeout,
            },
            role,
        });
        let pdu = LmPdu::Connect {
            destination: remote,
            source: local,
            user_data,
        };
        self.queue(Some(id), pdu.encode());
        Ok(id)
    }

    /// Accepts a connection announced by [`LmpEvent::ConnectIndication`].
    pub fn accept(&mut self, conn: ConnectionId, user_data: Vec<u8>) -> Result<(), LmpError> {
        let max = self.link_data_size.ok_or(LmpError::LinkDown)? - CONTROL_HEADER_LEN;
        if user_data.len() > max {
            return Err(LmpError::TooLarge {
                len: user_data.len(),
                max,
            });
        }
        let connection = self
            .connection_mut(conn)
            .ok_or(LmpError::UnknownConnection)?;
        if connection.state != State::Incoming {
            return Err(LmpError::WrongState);
        }
        connection.state = State::Open;
        let pdu = LmPdu::ConnectConfirm {
            destination: connection.remote,
            source: connection.local,
            user_data: &user_data,
        };
        let pdu = pdu.encode();
        self.queue(Some(conn), pdu);
        Ok(())
    }

    /// Sends one PDU of data on an open connection.
    pub fn send(&mut self, conn: ConnectionId, data: Vec<u8>) -> Result<(), LmpError> {
        let max = self.max_data_size().ok_or(LmpError::LinkDown)?;
        if data.len() > max {
            return Err(LmpError::TooLarge {
                len: data.len(),
                max,
            });
        }
        let connection = self.connection(conn).ok_or(LmpError::UnknownConnection)?;
        if connection.state != State::Open || !matches!(connection.role, Role::User) {
            return Err(LmpError::WrongState);
        }
        if self.outgoing.len() >= self.config.max_queued_pdus {
            return Err(LmpError::QueueFull);
        }
        let pdu = LmPdu::Data {
            destination: connection.remote,
            source: connection.local,
            data: &data,
        }
        .encode();
        self.queue(Some(conn), pdu);
        Ok(())
    }

    /// Whether [`Lmp::send`] would take a PDU now.
    pub fn can_send(&self) -> bool {
        self.is_link_up() && self.outgoing.len() < self.config.max_queued_pdus
    }

    /// Ends (or refuses) a connection. Data already queued on it goes first.
    pub fn disconnect(
        &mut self,
        conn: ConnectionId,
        reason: DisconnectReason,
    ) -> Result<(), LmpError> {
        let index = self
            .connections
            .iter()
            .position(|c| c.id == conn && matches!(c.role, Role::User))
            .ok_or(LmpError::UnknownConnection)?;
        let connection = self.connections.remove(index);
        self.send_disconnect(&connection, reason);
        Ok(())
    }

    /// Asks the peer's IAS for `attribute` of the objects of `class`; the answer comes as
    /// [`LmpEvent::IasAnswer`]. Queries go one at a time over one connection to the peer's
    /// LSAP 0, closed after the last answer; a query unanswered in
    /// [`LmpConfig::ias_timeout`] fails with those waiting behind it.
    pub fn ias_query(
        &mut self,
        now: Instant,
        class: &str,
        attribute: &str,
    ) -> Result<QueryId, LmpError> {
        if !self.is_link_up() {
            return Err(LmpError::LinkDown);
        }
        let waiting = self.ias_client.queue.len() + usize::from(self.ias_client.active.is_some());
        if waiting >= self.config.max_ias_queries {
            return Err(LmpError::TooManyQueries);
        }
        let request = GetValueByClass::new(class, attribute).map_err(LmpError::Ias)?;
        if self.ias_client.connection.is_none() {
            let id =
                self.open_connection(now, Lsap::IAS, &[], Role::IasClient(ClientSession::new()))?;
            self.ias_client.connection = Some(id);
        }
        let id = QueryId(self.next_query);
        self.next_query = self.next_query.wrapping_add(1);
        self.ias_client.queue.push_back(Query { id, request });
        self.run_ias_client(now);
        Ok(id)
    }

    /// The next PDU for IrLAP to send (the caller respects IrLAP's window).
    pub fn poll_pdu(&mut self) -> Option<Vec<u8>> {
        self.outgoing.pop_front().map(|outgoing| outgoing.pdu)
    }

    pub fn poll_event(&mut self) -> Option<LmpEvent> {
        self.events.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let connects = self.connections.iter().filter_map(|c| match c.state {
            State::Connecting { deadline } => Some(deadline),
            _ => None,
        });
        let query = self
            .ias_client
            .active
            .as_ref()
            .map(|(_, deadline)| *deadline);
        connects.chain(query).min()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<ConnectionId> = self
            .connections
            .iter()
            .filter(|c| matches!(c.state, State::Connecting { deadline } if deadline <= now))
            .map(|c| c.id)
            .collect();
        for id in expired {
            if self.ias_client.connection == Some(id) {
                self.ias_client.connection = None;
                self.fail_queries(IasError::Timeout);
            }
            // Tell the peer too, so a confirm still on its way leaves nothing half open.
            self.end_connection(id, DisconnectReason::NonResponsiveClient, true);
        }
        if matches!(&self.ias_client.active, Some((_, deadline)) if *deadline <= now) {
            self.fail_queries(IasError::Timeout);
            if let Some(id) = self.ias_client.connection.take() {
                self.end_connection(id, DisconnectReason::NonResponsiveClient, true);
            }
        }
    }

    /// Takes one PDU IrLAP delivered. A malformed PDU is dropped and reported; the
    /// connections stay as they were.
    pub fn handle_pdu(&mut self, now: Instant, pdu: &[u8]) -> Result<(), LmpError> {
        let decoded = LmPdu::decode(pdu).map_err(LmpError::Malformed)?;
        if !self.is_link_up() {
            return Err(LmpError::LinkDown);
        }
        let local = decoded.destination();
        let remote = decoded.source();
        let found = self
            .connections
            .iter()
            .position(|c| c.local == local && c.remote == remote);
        match decoded {
            LmPdu::Connect { user_data, .. } => {
                if !remote.is_user() {
                    // Only user LSAPs connect (the IAS server and connectionless never do).
                    self.reply_unattached(LmPdu::Disconnect {
                        destination: remote,
                        source: local,
                        reason: DisconnectReason::IllegalSourceAddress,
                        user_data: &[],
                    });
                    return Ok(());
                }
                if let Some(index) = found {
                    // The peer starts over on a pair it thinks is free: ours is stale.
                    let id = self.connections[index].id;
                    self.end_connection(id, DisconnectReason::ConnectionHalfOpen, false);
                }
                self.handle_connect(local, remote, user_data);
            }
            LmPdu::ConnectConfirm { user_data, .. } => match found {
                Some(index) => {
                    let connection = &mut self.connections[index];
                    if let State::Connecting { .. } = connection.state {
                        connection.state = State::Open;
                        let id = connection.id;
                        if matches!(connection.role, Role::User) {
                            self.events.push_back(LmpEvent::Connected {
                                conn: id,
                                user_data: user_data.to_vec(),
                            });
                        } else {
                            self.run_ias_client(now);
                        }
                    }
                }
                None => self.reply_unattached(LmPdu::Disconnect {
                    destination: remote,
                    source: local,
                    reason: DisconnectReason::ConnectionHalfOpen,
                    user_data: &[],
                }),
            },
            LmPdu::Disconnect { reason, .. } => {
                if let Some(index) = found {
                    let id = self.connections[index].id;
                    self.end_connection(id, reason, false);
                }
            }
            LmPdu::Data { data, .. } => match found {
                Some(index) if self.connections[index].state == State::Open => {
                    self.handle_data(now, index, data);
                }
                // Data before the connection is open: the peer is ahead of itself; dropped.
                Some(_) => self.dropped_pdus += 1,
                None if local == Lsap::CONNECTIONLESS => self.dropped_pdus += 1,
                None => self.reply_unattached(LmPdu::Disconnect {
                    destination: remote,
                    source: local,
                    reason: DisconnectReason::DataOnDisconnectedLsap,
                    user_data: &[],
                }),
            },
            LmPdu::AccessMode { .. } => {
                // Exclusive mode would stop the other connections: we only multiplex.
                self.reply_unattached(LmPdu::AccessModeConfirm {
                    destination: remote,
                    source: local,
                    status: access_status::UNSUPPORTED,
                    mode: access_mode::MULTIPLEXED,
                });
            }
            // We never ask for an access mode; a confirm is stale.
            LmPdu::AccessModeConfirm { .. } => self.dropped_pdus += 1,
        }
        Ok(())
    }

    fn handle_connect(&mut self, local: Lsap, remote: Lsap, user_data: &[u8]) {
        let refuse = |lmp: &mut Lmp, reason| {
            lmp.reply_unattached(LmPdu::Disconnect {
                destination: remote,
                source: local,
                reason,
                user_data: &[],
            })
        };
        let server = local == Lsap::IAS;
        if !server && !self.listeners.contains(&local) {
            return refuse(self, DisconnectReason::NoAvailableClient);
        }
        if self.connections.len() >= self.config.max_connections {
            return refuse(self, DisconnectReason::NoAvailableClient);
        }
        let ias_servers = self
            .connections
            .iter()
            .filter(|c| matches!(c.role, Role::IasServer(_)))
            .count();
        if server && ias_servers >= self.config.max_ias_server_connections {
            return refuse(self, DisconnectReason::NoAvailableClient);
        }
        if !server && self.events_full() {
            return refuse(self, DisconnectReason::NonResponsiveClient);
        }
        let id = self.new_connection_id();
        if server {
            self.connections.push(Connection {
                id,
                local,
                remote,
                state: State::Open,
                role: Role::IasServer(ServerSession::new()),
            });
            let confirm = LmPdu::ConnectConfirm {
                destination: remote,
                source: local,
                user_data: &[],
            };
            self.queue(Some(id), confirm.encode());
        } else {
            self.connections.push(Connection {
                id,
                local,
                remote,
                state: State::Incoming,
                role: Role::User,
            });
            self.events.push_back(LmpEvent::ConnectIndication {
                conn: id,
                local,
                remote,
                user_data: user_data.to_vec(),
            });
        }
    }

    fn handle_data(&mut self, now: Instant, index: usize, data: &[u8]) {
        let id = self.connections[index].id;
        match self.connections[index].role {
            Role::User => {
                if self.events_full() {
                    self.end_connection(id, DisconnectReason::NonResponsiveClient, true);
                    return;
                }
                self.events.push_back(LmpEvent::Data {
                    conn: id,
                    data: data.to_vec(),
                });
            }
            Role::IasServer(_) => self.serve_ias(index, data),
            Role::IasClient(_) => self.handle_ias_answer(now, index, data),
        }
    }

    /// Whether the user is so far behind that the peer may not add to what waits for it.
    /// Other events are bounded by the connections and queries that make them.
    fn events_full(&self) -> bool {
        self.events.len() >= self.config.max_queued_events
    }

    fn serve_ias(&mut self, index: usize, data: &[u8]) {
        let max_frame = self.max_data_size().unwrap_or(0);
        let connection = &mut self.connections[index];
        let (id, local, remote) = (connection.id, connection.local, connection.remote);
        let Role::IasServer(session) = &mut connection.role else {
            return;
        };
        // One query at a time: a request while our answer still waits here is a peer that
        // did not wait for it.
        let answer_queued = self.outgoing.iter().any(|o| o.connection == Some(id));
        let frames = if answer_queued {
            None
        } else {
            session.handle_frame(&self.config.ias, data, max_frame).ok()
        };
        match frames {
            Some(frames) => {
                for frame in frames {
                    let pdu = LmPdu::Data {
                        destination: remote,
                        source: local,
                        data: &frame,
                    };
                    self.queue(Some(id), pdu.encode());
                }
            }
            None => self.end_connection(id, DisconnectReason::Unspecified, true),
        }
    }

    fn handle_ias_answer(&mut self, now: Instant, index: usize, data: &[u8]) {
        let connection = &mut self.connections[index];
        let (id, local, remote) = (connection.id, connection.local, connection.remote);
        let Role::IasClient(session) = &mut connection.role else {
            return;
        };
        match session.handle_frame(data) {
            Ok(step) => {
                if let Some(frame) = step.send {
                    let pdu = LmPdu::Data {
                        destination: remote,
                        source: local,
                        data: &frame,
                    };
                    self.queue(Some(id), pdu.encode());
                }
                if let Some(answer) = step.answer {
                    if let Some((query, _)) = self.ias_client.active.take() {
                        self.events.push_back(LmpEvent::IasAnswer {
                            query: query.id,
                            result: answer.into_result(),
                        });
                    }
                    self.run_ias_client(now);
                }
            }
            Err(error) => {
                if let Some((query, _)) = self.ias_client.active.take() {
                    self.events.push_back(LmpEvent::IasAnswer {
                        query: query.id,
                        result: Err(IasError::Malformed(error)),
                    });
                }
                // The conversation lost its footing: the rest go on a fresh connection.
                self.ias_client.connection = None;
                self.end_connection(id, DisconnectReason::Unspecified, true);
                self.restart_ias_client(now);
            }
        }
    }

    /// Sends the next IAS query if the connection is open and none is out; closes the
    /// connection when nothing is left.
    fn run_ias_client(&mut self, now: Instant) {
        if self.ias_client.active.is_some() {
            return;
        }
        let Some(id) = self.ias_client.connection else {
            return;
        };
        let max_frame = self.max_data_size().unwrap_or(0);
        let Some(connection) = self.connections.iter_mut().find(|c| c.id == id) else {
            return;
        };
        if connection.state != State::Open {
            return;
        }
        let (local, remote) = (connection.local, connection.remote);
        let Role::IasClient(session) = &mut connection.role else {
            return;
        };
        match self.ias_client.queue.pop_front() {
            Some(query) => {
                let frame = session.start(&query.request, max_frame);
                self.ias_client.active = Some((query, now + self.config.ias_timeout));
                let pdu = LmPdu::Data {
                    destination: remote,
                    source: local,
                    data: &frame,
                };
                self.queue(Some(id), pdu.encode());
            }
            None => {
                self.ias_client.connection = None;
                self.end_connection(id, DisconnectReason::UserRequest, true);
            }
        }
    }

    /// Opens a new IAS connection for queries still waiting.
    fn restart_ias_client(&mut self, now: Instant) {
        if self.ias_client.queue.is_empty() {
            return;
        }
        match self.open_connection(now, Lsap::IAS, &[], Role::IasClient(ClientSession::new())) {
            Ok(id) => self.ias_client.connection = Some(id),
            Err(_) => self.fail_queries(IasError::Disconnected(DisconnectReason::Unspecified)),
        }
    }

    fn fail_queries(&mut self, error: IasError) {
        let active = self.ias_client.active.take().map(|(query, _)| query);
        for query in active.into_iter().chain(self.ias_client.queue.drain(..)) {
            self.events.push_back(LmpEvent::IasAnswer {
                query: query.id,
                result: Err(error.clone()),
            });
        }
    }

    /// Removes a connection, purging its queued PDUs; tells the user (for user connections),
    /// the IAS queries riding on it and, if `tell_peer`, the peer.
    fn end_connection(&mut self, id: ConnectionId, reason: DisconnectReason, tell_peer: bool) {
        let Some(index) = self.connections.iter().position(|c| c.id == id) else {
            return;
        };
        let connection = self.connections.remove(index);
        self.outgoing.retain(|o| o.connection != Some(id));
        if matches!(connection.role, Role::User) {
            self.events
                .push_back(LmpEvent::Disconnected { conn: id, reason });
        }
        if self.ias_client.connection == Some(id) {
            self.ias_client.connection = None;
            self.fail_queries(IasError::Disconnected(reason));
        }
        if tell_peer {
            self.send_disconnect(&connection, reason);
        }
    }

    fn send_disconnect(&mut self, connection: &Connection, reason: DisconnectReason) {
        let pdu = LmPdu::Disconnect {
            destination: connection.remote,
            source: connection.local,
            reason,
            user_data: &[],
        };
        self.queue(None, pdu.encode());
    }

    fn queue(&mut self, connection: Option<ConnectionId>, pdu: Vec<u8>) {
        self.outgoing.push_back(Outgoing { connection, pdu });
    }

    /// A reply the peer provoked outside any connection: dropped when the queue is full.
    fn reply_unattached(&mut self, pdu: LmPdu<'_>) {
        if self.outgoing.len() >= self.config.max_queued_pdus + UNATTACHED_REPLY_ROOM {
            self.dropped_pdus += 1;
            return;
        }
        self.queue(None, pdu.encode());
    }

    fn new_connection_id(&mut self) -> ConnectionId {
        let id = ConnectionId(self.next_connection);
        self.next_connection = self.next_connection.wrapping_add(1);
        id
    }

    fn connection(&self, id: ConnectionId) -> Option<&Connection> {
        self.connections.iter().find(|c| c.id == id)
    }

    fn connection_mut(&mut self, id: ConnectionId) -> Option<&mut Connection> {
        self.connections.iter_mut().find(|c| c.id == id)
    }
}
