//! Which open session a SyncML message belongs to, sans-IO: the table of open sessions by
//! our random key and by the client's own header, the restart on MsgID 1, the idle cut. The
//! caller owns the sessions' work (the store, the engine) and hands in the time and the
//! random values; the table only decides.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use handsync_proto::syncml::Message;

/// A session's handle, random so that one client cannot guess another's HTTP session URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionKey(pub u64);

impl SessionKey {
    /// What a missing or malformed session parameter maps to: it names no session.
    pub const NONE: SessionKey = SessionKey(0);

    pub fn to_hex(self) -> String {
        format!("{:016x}", self.0)
    }

    pub fn from_hex(text: &str) -> Option<SessionKey> {
        if text.len() != 16 {
            return None;
        }
        u64::from_str_radix(text, 16).ok().map(SessionKey)
    }
}

/// How a message finds its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The session a transport opened or an HTTP RespURI named.
    Key(SessionKey),
    /// No handle: by the message's header (SessionID and Source), for HTTP clients that
    /// ignore RespURI, among the sessions opened the same way from the same client address
    /// (a header is easily forged: it never reaches a session of another transport or
    /// address). A message with MsgID 1 starts a new session.
    Header(IpAddr),
}

/// A client's own SessionID and its device URI, and the address it came from: what
/// identifies a session without our key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HeaderKey {
    pub client: IpAddr,
    pub session_id: String,
    pub device: String,
}

/// How a message that no session of this table took may still name an open session, held by
/// another process serving the same database: what that process recorded of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteLookup {
    /// Our key, from the RespURI the client follows.
    Key(SessionKey),
    /// The client's own header, for clients that ignore RespURI.
    Header(HeaderKey),
}

impl RemoteLookup {
    /// What to look for, for a message arriving by `route` that found no session here; `None`
    /// when it can only be answered here: it starts a session (MsgID 1 always opens one where
    /// it lands), names no session, or has no header.
    pub fn of(route: Route, message: &Message) -> Option<RemoteLookup> {
        let addressing = Addressing::of(message, route);
        if addressing.starts_session {
            return None;
        }
        match route {
            Route::Key(key) if key != SessionKey::NONE && message.header.is_some() => {
                Some(RemoteLookup::Key(key))
            }
            Route::Key(_) => None,
            Route::Header(_) => addressing.header_key.map(RemoteLookup::Header),
        }
    }
}

/// What a message says about the session it belongs to.
#[derive(Debug, Clone)]
struct Addressing {
    /// MsgID 1: the client starts a session.
    starts_session: bool,
    /// Only for messages routed by header: sessions keyed by their connection (OBEX) or by
    /// our key are never found by a header.
    header_key: Option<HeaderKey>,
}

impl Addressing {
    fn of(message: &Message, route: Route) -> Addressing {
        let header = message.header.as_ref();
        let client = match route {
            Route::Header(client) => Some(client),
            Route::Key(_) => None,
        };
        Addressing {
            starts_session: header.is_some_and(|h| h.msg_id == 1),
            header_key: header.zip(client).map(|(h, client)| HeaderKey {
                client,
                session_id: h.session_id.to_string(),
                device: h.source.loc_uri.to_string(),
            }),
        }
    }
}

/// Why a message found no session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteError {
    /// The message names no open session (expired, finished, or never opened) and does not
    /// start a new one.
    UnknownSession,
    /// It starts one while the limit of open sessions (in all, or of its device) is
    /// reached: the client should try again later.
    Busy,
}

/// How many sessions may be open at once: far more than a household ever has, few enough
/// that a flood of session starts cannot make us hold more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub total: usize,
    pub per_device: usize,
    /// Sessions from one network address (HTTP, OBEX over TCP): a flood of session starts
    /// from one host takes this many places, and the other hosts keep the rest.
    pub per_address: usize,
}

impl Default for SessionLimits {
    fn default() -> SessionLimits {
        SessionLimits {
            total: 64,
            per_device: 4,
            per_address: 16,
        }
    }
}

/// Where a message goes, and what routing it ended.
#[derive(Debug)]
pub struct Routed<T> {
    pub key: SessionKey,
    /// The session was opened for this message.
    pub opened: bool,
    /// Sessions the client left by starting over: to be recorded as cut.
    pub replaced: Vec<(SessionKey, T)>,
}

struct Entry<T> {
    session: T,
    last_activity: Instant,
    /// The device URI of its first message (for the per-device limit).
    device: Option<String>,
    /// The network address it came from (for the per-address limit).
    address: Option<IpAddr>,
    header_key: Option<HeaderKey>,
    /// A message of it was answered: a MsgID 1 on it now means the client starts over.
    answered: bool,
    /// Its sync completed; it lingers only for late messages (Maps one round late), so it
    /// does not count against the limits and makes room when a new session needs it.
    completed: bool,
}

/// The open sessions, each a `T` (the engine's session in the daemon).
pub struct SessionTable<T> {
    idle_timeout: Duration,
    limits: SessionLimits,
    sessions: HashMap<SessionKey, Entry<T>>,
    by_header: HashMap<HeaderKey, SessionKey>,
}

impl<T> SessionTable<T> {
    /// A session with no message for `idle_timeout` is cut by [`SessionTable::expire`].
    pub fn new(idle_timeout: Duration) -> SessionTable<T> {
        SessionTable {
            idle_timeout,
            limits: SessionLimits::default(),
            sessions: HashMap::new(),
            by_header: HashMap::new(),
        }
    }

    /// The same table with other limits on open sessions.
    pub fn with_limits(mut self, limits: SessionLimits) -> SessionTable<T> {
        self.limits = limits;
        self
    }

    /// Finds the session of `message` arriving by `route` from network address `address`
    /// (none for Bluetooth and cables) at `now`, or opens one when the message starts a
    /// session: its key from `random` (called until it gives an unused, non-zero value), the
    /// session itself from `open`.
    #[allow(clippy::too_many_arguments)]
    pub fn route(
        &mut self,
        route: Route,
        address: Option<IpAddr>,
        message: &Message,
        now: Instant,
        mut random: impl FnMut() -> u64,
        open: impl FnOnce(SessionKey) -> T,
    ) -> Result<Routed<T>, RouteError> {
        let addressing = Addressing::of(message, route);
        let existing = match route {
            Route::Key(key) => Some(key).filter(|key| self.sessions.contains_key(key)),
            Route::Header(_) => addressing
                .header_key
                .as_ref()
                .and_then(|k| self.by_header.get(k).copied()),
        };
        // A MsgID 1 on a session that already answered messages is the client starting over
        // (a phone retrying after a failure): the old session is cut, a new one starts.
        let existing =
            existing.filter(|key| !(addressing.starts_session && self.sessions[key].answered));
        if let Some(key) = existing {
            self.touch(key, now);
            return Ok(Routed {
                key,
                opened: false,
                replaced: Vec::new(),
            });
        }
        if !addressing.starts_session {
            return Err(RouteError::UnknownSession);
        }
        let mut replaced = Vec::new();
        let by_header = addressing
            .header_key
            .as_ref()
            .and_then(|k| self.by_header.get(k).copied());
        let by_key = match route {
            Route::Key(key) => Some(key),
            Route::Header(_) => None,
        };
        let olds: Vec<SessionKey> = by_header
            .into_iter()
            .chain(by_key)
            .filter(|key| self.sessions.contains_key(key))
            .collect();
        // The limits count what stays open once the sessions this one replaces are gone.
        let device = message
            .header
            .as_ref()
            .map(|h| h.source.loc_uri.to_string());
        let (mut open_now, mut of_device, mut of_address) = (0, 0, 0);
        for (_, entry) in self
            .sessions
            .iter()
            .filter(|(key, entry)| !olds.contains(key) && !entry.completed)
        {
            open_now += 1;
            of_device += usize::from(entry.device.is_some() && entry.device == device);
            of_address += usize::from(entry.address.is_some() && entry.address == address);
        }
        if open_now >= self.limits.total
            || of_device >= self.limits.per_device
            || of_address >= self.limits.per_address
        {
            return Err(RouteError::Busy);
        }
        for old in olds {
            if let Some(session) = self.remove(old) {
                replaced.push((old, session));
            }
        }
        // Completed sessions lingering for late messages make room, oldest first.
        while self.sessions.len() >= self.limits.total {
            let Some(oldest) = self
                .sessions
                .iter()
                .filter(|(_, e)| e.completed)
                .min_by_key(|(_, e)| e.last_activity)
                .map(|(k, _)| *k)
            else {
                break;
            };
            if let Some(session) = self.remove(oldest) {
                replaced.push((oldest, session));
            }
        }
        let key = loop {
            let key = SessionKey(random());
            if key != SessionKey::NONE && !self.sessions.contains_key(&key) {
                break key;
            }
        };
        if let Some(header_key) = &addressing.header_key {
            self.by_header.insert(header_key.clone(), key);
        }
        self.sessions.insert(
            key,
            Entry {
                session: open(key),
                last_activity: now,
                device,
                address,
                header_key: addressing.header_key,
                answered: false,
                completed: false,
            },
        );
        Ok(Routed {
            key,
            opened: true,
            replaced,
        })
    }

    fn touch(&mut self, key: SessionKey, now: Instant) {
        if let Some(entry) = self.sessions.get_mut(&key) {
            entry.last_activity = now;
        }
    }

    /// Every open session.
    pub fn iter(&self) -> impl Iterator<Item = (SessionKey, &T)> {
        self.sessions
            .iter()
            .map(|(key, entry)| (*key, &entry.session))
    }

    /// The session a message carrying this client header goes to, if one is open.
    pub fn by_header(&self, header: &HeaderKey) -> Option<SessionKey> {
        self.by_header.get(header).copied()
    }

    /// The client header a session was opened by (HTTP clients), which later messages that
    /// ignore RespURI carry.
    pub fn header_key(&self, key: SessionKey) -> Option<&HeaderKey> {
        self.sessions.get(&key)?.header_key.as_ref()
    }

    pub fn get_mut(&mut self, key: SessionKey) -> Option<&mut T> {
        self.sessions.get_mut(&key).map(|entry| &mut entry.session)
    }

    /// A message of the session was answered.
    pub fn mark_answered(&mut self, key: SessionKey) {
        if let Some(entry) = self.sessions.get_mut(&key) {
            entry.answered = true;
        }
    }

    /// The session's sync completed: it stays routable for late messages until it idles
    /// out, without counting against the limits.
    pub fn mark_completed(&mut self, key: SessionKey) {
        if let Some(entry) = self.sessions.get_mut(&key) {
            entry.completed = true;
        }
    }

    /// Drops a session (finished, failed or cut) from both indexes.
    pub fn remove(&mut self, key: SessionKey) -> Option<T> {
        let entry = self.sessions.remove(&key)?;
        if let Some(header_key) = &entry.header_key {
            if self.by_header.get(header_key) == Some(&key) {
                self.by_header.remove(header_key);
            }
        }
        Some(entry.session)
    }

    /// When the next session goes idle too long, if any is open.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.sessions
            .values()
            .map(|entry| entry.last_activity + self.idle_timeout)
            .min()
    }

    /// Removes and returns the sessions idle for the idle timeout or longer at `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<(SessionKey, T)> {
        let expired: Vec<SessionKey> = self
            .sessions
            .iter()
            .filter(|(_, entry)| {
                now.saturating_duration_since(entry.last_activity) >= self.idle_timeout
            })
            .map(|(key, _)| *key)
            .collect();
        self.take(expired)
    }

    /// Removes and returns every open session.
    pub fn drain(&mut self) -> Vec<(SessionKey, T)> {
        let all: Vec<SessionKey> = self.sessions.keys().copied().collect();
        self.take(all)
    }

    fn take(&mut self, keys: Vec<SessionKey>) -> Vec<(SessionKey, T)> {
        keys.into_iter()
            .filter_map(|key| self.remove(key).map(|session| (key, session)))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use handsync_proto::syncml::{decode_document, Document};

    const IDLE: Duration = Duration::from_secs(60);
    const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn message(msg_id: u32, session_id: &str, device: &str) -> Message {
        let xml = format!(
            "<SyncML><SyncHdr><VerDTD>1.1</VerDTD><VerProto>SyncML/1.1</VerProto>\
             <SessionID>{session_id}</SessionID><MsgID>{msg_id}</MsgID>\
             <Target><LocURI>PC Suite</LocURI></Target>\
             <Source><LocURI>{device}</LocURI></Source></SyncHdr>\
             <SyncBody><Final/></SyncBody></SyncML>"
        );
        match decode_document(xml.as_bytes()).expect("a SyncML message").0 {
            Document::Message(message) => message,
            Document::DevInf(_) => panic!("not a message"),
        }
    }

    /// Random values from a counter, so that keys are predictable.
    fn counter(start: u64) -> impl FnMut() -> u64 {
        let mut next = start;
        move || {
            next += 1;
            next - 1
        }
    }

    fn open(
        table: &mut SessionTable<&'static str>,
        route: Route,
        m: &Message,
        now: Instant,
        name: &'static str,
        random: u64,
    ) -> Routed<&'static str> {
        table
            .route(route, None, m, now, counter(random), |_| name)
            .expect("routed")
    }

    /// One network address opens at most `per_address` sessions; other addresses, and
    /// transports without one, still get theirs.
    #[test]
    fn one_address_cannot_take_every_place() {
        let limits = SessionLimits {
            total: 10,
            per_device: 4,
            per_address: 2,
        };
        let mut table = SessionTable::new(IDLE).with_limits(limits);
        let now = Instant::now();
        let flooder = Some(IpAddr::from([192, 0, 2, 66]));
        let phone = Some(IpAddr::from([192, 0, 2, 7]));
        let mut start = |address: Option<IpAddr>, device: &str, random: u64| {
            table.route(
                Route::Key(SessionKey::NONE),
                address,
                &message(1, "1", device),
                now,
                counter(random),
                |_| "s",
            )
        };
        assert!(start(flooder, "IMEI:1", 10).is_ok());
        assert!(start(flooder, "IMEI:2", 20).is_ok());
        assert_eq!(
            start(flooder, "IMEI:3", 30).unwrap_err(),
            RouteError::Busy,
            "a third device from the same address"
        );
        assert!(start(phone, "IMEI:4", 40).is_ok());
        assert!(start(None, "IMEI:5", 50).is_ok());
        assert!(start(None, "IMEI:6", 60).is_ok());
        assert!(start(None, "IMEI:7", 70).is_ok());
    }

    /// Past the limits a new session is refused as busy (nothing opened, nothing cut); a
    /// restart that replaces a session of its own is not held against it.
    #[test]
    fn sessions_beyond_the_limits_are_busy() {
        let limits = SessionLimits {
            total: 3,
            per_device: 2,
            per_address: 16,
        };
        let mut table = SessionTable::new(IDLE).with_limits(limits);
        let now = Instant::now();
        let a1 = open(
            &mut table,
            Route::Header(CLIENT),
            &message(1, "1", "IMEI:A"),
            now,
            "a1",
            10,
        );
        open(
            &mut table,
            Route::Header(CLIENT),
            &message(1, "2", "IMEI:A"),
            now,
            "a2",
            20,
        );
        let third_of_a = table.route(
            Route::Header(CLIENT),
            None,
            &message(1, "3", "IMEI:A"),
            now,
            counter(30),
            |_| "a3",
        );
        assert_eq!(third_of_a.unwrap_err(), RouteError::Busy);
        open(
            &mut table,
            Route::Header(CLIENT),
            &message(1, "1", "IMEI:B"),
            now,
            "b1",
            40,
        );
        let fourth = table.route(
            Route::Header(CLIENT),
            None,
            &message(1, "1", "IMEI:C"),
            now,
            counter(50),
            |_| "c1",
        );
        assert_eq!(fourth.unwrap_err(), RouteError::Busy);
        assert_eq!(table.len(), 3);
        // A's first session starts over: it replaces itself, within the limits.
        table.mark_answered(a1.key);
        let restart = open(
            &mut table,
            Route::Header(CLIENT),
            &message(1, "1", "IMEI:A"),
            now,
            "a1 again",
            60,
        );
        assert_eq!(restart.replaced.len(), 1);
        // One ends: room for another.
        table.remove(restart.key);
        open(
            &mut table,
            Route::Header(CLIENT),
            &message(1, "1", "IMEI:C"),
            now,
            "c1",
            70,
        );
    }

    /// A header is easily forged: it reaches only sessions opened by header from the same
    /// address, never one keyed by its connection (OBEX, Bluetooth) or another client's.
    #[test]
    fn a_header_never_reaches_another_transports_or_addresses_session() {
        let mut table = SessionTable::new(IDLE);
        let now = Instant::now();
        let obex = open(
            &mut table,
            Route::Key(SessionKey::NONE),
            &message(1, "9", "IMEI:9"),
            now,
            "obex",
            10,
        );
        table.mark_answered(obex.key);
        let later = message(2, "9", "IMEI:9");
        assert!(table
            .route(
                Route::Header(CLIENT),
                None,
                &later,
                now,
                counter(20),
                |_| "x"
            )
            .is_err());
        // A MsgID 1 by header opens a session of its own; the OBEX one is not replaced.
        let http = open(
            &mut table,
            Route::Header(CLIENT),
            &message(1, "9", "IMEI:9"),
            now,
            "http",
            30,
        );
        assert!(http.replaced.is_empty());
        assert_eq!(table.len(), 2);
        // The same header from another address finds nothing.
        let elsewhere = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7));
        assert!(table
            .route(
                Route::Header(elsewhere),
                None,
                &later,
                now,
                counter(40),
                |_| "x"
            )
            .is_err());
        let found = open(&mut table, Route::Header(CLIENT), &later, now, "y", 50);
        assert_eq!(found.key, http.key);
        // An OBEX restart replaces its own connection's session only.
        let restart = open(
            &mut table,
            Route::Key(obex.key),
            &message(1, "9", "IMEI:9"),
            now,
            "obex2",
            60,
        );
        assert_eq!(
            restart.replaced.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            [obex.key]
        );
        assert_eq!(table.get_mut(http.key), Some(&mut "http"));
    }

    /// What another process is asked about a message no session here took: by key or by
    /// header, never for a message that starts a session or names none.
    #[test]
    fn a_message_for_no_session_here_is_looked_up_by_its_key_or_header() {
        let later = message(2, "7", "IMEI:1");
        assert_eq!(
            RemoteLookup::of(Route::Key(SessionKey(42)), &later),
            Some(RemoteLookup::Key(SessionKey(42)))
        );
        assert_eq!(
            RemoteLookup::of(Route::Header(CLIENT), &later),
            Some(RemoteLookup::Header(HeaderKey {
                client: CLIENT,
                session_id: "7".into(),
                device: "IMEI:1".into(),
            }))
        );
        assert_eq!(RemoteLookup::of(Route::Key(SessionKey::NONE), &later), None);
        let first = message(1, "7", "IMEI:1");
        assert_eq!(RemoteLookup::of(Route::Key(SessionKey(42)), &first), None);
        assert_eq!(RemoteLookup::of(Route::Header(CLIENT), &first), None);
        let mut headless = later.clone();
        headless.header = None;
        assert_eq!(
            RemoteLookup::of(Route::Key(SessionKey(42)), &headless),
            None
        );
        assert_eq!(RemoteLookup::of(Route::Header(CLIENT), &headless), None);
    }

    #[test]
    fn a_session_opened_by_header_keeps_it_for_the_record() {
        let mut table = SessionTable::new(IDLE);
        let now = Instant::now();
        let by_header = open(
            &mut table,
            Route::Header(CLIENT),
            &message(1, "7", "IMEI:1"),
            now,
            "a",
            10,
        );
        let header = table.header_key(by_header.key).expect("opened by header");
        assert_eq!(table.by_header(header), Some(by_header.key));
        assert_eq!(
            (header.session_id.as_str(), header.device.as_str()),
            ("7", "IMEI:1")
        );
        let by_key = open(
            &mut table,
            Route::Key(SessionKey::NONE),
            &message(1, "8", "IMEI:2"),
            now,
            "b",
            20,
        );
        assert_eq!(table.header_key(by_key.key), None);
    }

    #[test]
    fn a_first_message_opens_a_session_with_a_random_nonzero_key() {
        let mut table = SessionTable::new(IDLE);
        let now = Instant::now();
        let routed = open(
            &mut table,
            Route::Key(SessionKey::NONE),
            &message(1, "7", "IMEI:1"),
            now,
            "a",
            0,
        );
        // 0 names no session: the next random value is taken.
        assert_eq!(routed.key, SessionKey(1));
        assert!(routed.opened);
        assert!(routed.replaced.is_empty());
        assert_eq!(table.get_mut(SessionKey(1)), Some(&mut "a"));
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn a_key_in_use_is_not_given_again() {
        let mut table = SessionTable::new(IDLE);
        let now = Instant::now();
        open(
            &mut table,
            Route::Header(CLIENT),
            &message(1, "1", "IMEI:1"),
            now,
            "a",
            5,
        );
        let second = open(
            &mut table,
            Route::Header(CLIENT),
            &message(1, "1", "IMEI:2"),
            now,
            "b",
            5,
        );
        assert_eq!(second.key, SessionKey(6));
    }

    #[test]
    fn later_messages_find_their_session_by_key_or_by_header() {
        let mut table = SessionTable::new(IDLE);
        let now = Instant::now();
        let key = open(
            &mut table,
            Route::Header(CLIENT),
            &message(1, "7", "IMEI:1"),
            now,
            "a",
            9,
        )
        .key;
        table.mark_answered(key);
        let by_key = open(
            &mut table,
            Route::Key(key),
            &message(2, "7", "IMEI:1"),
            now,
            "x",
            0,
        );
        assert_eq!((by_key.key, by_key.opened), (key, false));
        let by_header = open(
            &mut table,
            Route::Header(CLIENT),
            &message(3, "7", "IMEI:1"),
            now,
            "x",
            0,
        );
        assert_eq!((by_header.key, by_header.opened), (key, false));
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn a_message_for_no_session_that_does_not_start_one_is_unknown() {
        let mut table: SessionTable<&str> = SessionTable::new(IDLE);
        let now = Instant::now();
        let later = message(2, "7", "IMEI:1");
        let error = table.route(Route::Header(CLIENT), None, &later, now, counter(1), |_| {
            "a"
        });
        assert_eq!(error.unwrap_err(), RouteError::UnknownSession);
        let error = table.route(
            Route::Key(SessionKey(42)),
            None,
            &later,
            now,
            counter(1),
            |_| "a",
        );
        assert_eq!(error.unwrap_err(), RouteError::UnknownSession);
        assert!(table.is_empty());
    }

    #[test]
    fn msg_id_1_on_an_answered_session_starts_over_and_hands_back_the_old_one() {
        let mut table = SessionTable::new(IDLE);
        let now = Instant::now();
        let first = open(
            &mut table,
            Route::Header(CLIENT),
            &message(1, "7", "IMEI:1"),
            now,
            "old",
            10,
        )
        .key;
        table.mark_answered(first);
        let again = open(
            &mut table,
            Route::Key(first),
            &message(1, "8", "IMEI:1"),
            now,
            "new",
            20,
        );
        assert!(again.opened);
        assert_ne!(again.key, first);
        assert_eq!(again.replaced, vec![(first, "old")]);
        assert_eq!(table.len(), 1);
        // The new session is not answered yet: a MsgID 1 again stays in it.
        let retry = open(
            &mut table,
            Route::Key(again.key),
            &message(1, "8", "IMEI:1"),
            now,
            "x",
            30,
        );
        assert_eq!((retry.key, retry.opened), (again.key, false));
    }

    #[test]
    fn msg_id_1_again_before_an_answer_stays_in_the_same_session() {
        let mut table = SessionTable::new(IDLE);
        let now = Instant::now();
        let first = open(
            &mut table,
            Route::Header(CLIENT),
            &message(1, "7", "IMEI:1"),
            now,
            "a",
            10,
        )
        .key;
        let retry = open(
            &mut table,
            Route::Header(CLIENT),
            &message(1, "7", "IMEI:1"),
            now,
            "b",
            20,
        );
        assert_eq!((retry.key, retry.opened), (first, false));
    }

    #[test]
    fn a_restart_by_header_replaces_the_session_of_that_header() {
        let mut table = SessionTable::new(IDLE);
        let now = Instant::now();
        let first = open(
            &mut table,
            Route::Header(CLIENT),
            &message(1, "7", "IMEI:1"),
            now,
            "old",
            10,
        )
        .key;
        table.mark_answered(first);
        let again = open(
            &mut table,
            Route::Header(CLIENT),
            &message(1, "7", "IMEI:1"),
            now,
            "new",
            20,
        );
        assert_eq!(again.replaced, vec![(first, "old")]);
        let next = open(
            &mut table,
            Route::Header(CLIENT),
            &message(2, "7", "IMEI:1"),
            now,
            "x",
            0,
        );
        assert_eq!(next.key, again.key);
    }

    #[test]
    fn removing_a_session_forgets_its_header() {
        let mut table = SessionTable::new(IDLE);
        let now = Instant::now();
        let key = open(
            &mut table,
            Route::Header(CLIENT),
            &message(1, "7", "IMEI:1"),
            now,
            "a",
            10,
        )
        .key;
        assert_eq!(table.remove(key), Some("a"));
        let later = table.route(
            Route::Header(CLIENT),
            None,
            &message(2, "7", "IMEI:1"),
            now,
            counter(1),
            |_| "b",
        );
        assert!(later.is_err());
    }

    #[test]
    fn idle_sessions_expire_after_the_timeout_from_their_last_message() {
        let mut table = SessionTable::new(IDLE);
        let start = Instant::now();
        let a = open(
            &mut table,
            Route::Header(CLIENT),
            &message(1, "1", "IMEI:1"),
            start,
            "a",
            10,
        )
        .key;
        let b = open(
            &mut table,
            Route::Header(CLIENT),
            &message(1, "2", "IMEI:2"),
            start,
            "b",
            20,
        )
        .key;
        let later = start + Duration::from_secs(30);
        open(
            &mut table,
            Route::Key(b),
            &message(2, "2", "IMEI:2"),
            later,
            "x",
            0,
        );
        assert_eq!(table.next_expiry(), Some(start + IDLE));
        assert!(table
            .expire(start + IDLE - Duration::from_secs(1))
            .is_empty());
        assert_eq!(table.expire(start + IDLE), vec![(a, "a")]);
        assert_eq!(table.next_expiry(), Some(later + IDLE));
        assert_eq!(table.drain(), vec![(b, "b")]);
        assert_eq!(table.next_expiry(), None);
    }
}
