//! Several `handsync serve` processes on one database. Each process with HTTP is a node: it
//! registers itself (a random id, the address its peers reach its HTTP listener at), moves
//! its heartbeat every few seconds, records the route of each HTTP session it opens, and
//! removes itself on a clean shutdown. A session lives in the process that opened it; another
//! process that receives one of its messages relays the request there
//! ([`crate::transport::http::relay`]). A node whose heartbeat stopped for
//! [`MISSED_HEARTBEATS`] periods, or whose listener refuses a relay, is gone: its sessions are
//! recorded as cut (anchors unmoved, so the phones' next syncs converge).
//!
//! The hub's thread does all of it, with the store it owns: no second connection, and the
//! heartbeat is timed with the hub's other timers.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::engine::routing::{HeaderKey, RemoteLookup, SessionKey};
use crate::store::{NewSessionRoute, SessionId, SessionRoute, Store, StoreError, Timestamp, Tx};
use crate::transport::http::relay::{KnownNode, NodeDirectory};
use crate::transport::sessions::RemoteSession;

/// How often a node says it lives, unless the configuration says otherwise.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(5);

/// Heartbeats a node may miss before the others take it for gone.
pub const MISSED_HEARTBEATS: u32 = 3;

/// What the configuration and flags say about this process among others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    /// Where peers reach this process's HTTP listener; default: the first HTTP address bound
    /// (an unspecified one, 0.0.0.0 or ::, as loopback: only processes on this host reach it).
    pub node_address: Option<NodeAddress>,
    pub heartbeat: Duration,
}

impl Default for ClusterSettings {
    fn default() -> ClusterSettings {
        ClusterSettings {
            node_address: None,
            heartbeat: DEFAULT_HEARTBEAT,
        }
    }
}

/// `HOST:PORT` (an IP address or a host name, and a port) peers reach a node at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAddress(String);

impl NodeAddress {
    /// The address peers reach a listener bound to `bound` at, when nothing else is said.
    pub fn of_listener(bound: std::net::SocketAddr) -> NodeAddress {
        let mut reachable = bound;
        if bound.ip().is_unspecified() {
            reachable.set_ip(match bound {
                std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        NodeAddress(reachable.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for NodeAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for NodeAddress {
    type Err = String;

    fn from_str(text: &str) -> Result<NodeAddress, String> {
        let text = text.trim();
        let bad = |why: &str| format!("`{text}` is not a node address: {why}");
        if text.parse::<std::net::SocketAddr>().is_ok() {
            return Ok(NodeAddress(text.to_string()));
        }
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| bad("write HOST:PORT (10.0.0.5:9180, node1.example:9180)"))?;
        match port.parse::<u16>() {
            Ok(port) if port > 0 => {}
            _ => return Err(bad("the port is a number from 1 to 65535")),
        }
        let name_like = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if !name_like {
            return Err(bad(
                "the host is an IP address ([::1] for IPv6) or a host name",
            ));
        }
        Ok(NodeAddress(text.to_string()))
    }
}

impl<'de> serde::Deserialize<'de> for NodeAddress {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<NodeAddress, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// This process as a node, as the hub registers it.
#[derive(Debug, Clone)]
pub struct Membership {
    pub id: String,
    pub address: NodeAddress,
    pub heartbeat: Duration,
    /// Where the hub publishes the live nodes for the HTTP listener.
    pub directory: NodeDirectory,
}

/// Where a message's session lives, as the routes say.
pub(super) enum Whereabouts {
    /// In this process (or nowhere anyone knows of).
    Here,
    /// Another live node holds it.
    Elsewhere(RemoteSession),
    /// Its node is gone; the session was recorded as cut.
    Gone,
}

/// The hub's side of being a node: the registration, the heartbeat, the routes of the open
/// HTTP sessions.
pub(super) struct ClusterNode {
    membership: Membership,
    next_heartbeat: Instant,
    /// Sessions whose route is recorded, and the store session recorded with it, if any yet.
    routed: HashMap<SessionKey, Option<SessionId>>,
}

impl ClusterNode {
    /// Registers the node. A failure is logged: the process serves on, unknown to the others
    /// until a heartbeat registers it.
    pub(super) fn join(store: &mut Store, membership: Membership) -> ClusterNode {
        let mut node = ClusterNode {
            membership,
            next_heartbeat: Instant::now(),
            routed: HashMap::new(),
        };
        node.heartbeat(store);
        node
    }

    pub(super) fn next_heartbeat(&self) -> Instant {
        self.next_heartbeat
    }

    /// Older heartbeats than this are a gone node's.
    fn stale_before(&self, now: Timestamp) -> Timestamp {
        let patience = self.membership.heartbeat * MISSED_HEARTBEATS;
        Timestamp(now.0 - i64::try_from(patience.as_millis()).unwrap_or(i64::MAX / 2))
    }

    /// Moves the heartbeat (registering the node again if another process took it for
    /// gone), removes nodes gone silent (their sessions recorded as cut) and publishes the
    /// live ones. Returns the sessions this process must drop: when another process took it
    /// for gone, it recorded them as cut already.
    pub(super) fn heartbeat(&mut self, store: &mut Store) -> Vec<SessionKey> {
        let period = self.membership.heartbeat;
        self.next_heartbeat = Instant::now() + period;
        let now = super::hub::unix_now();
        let stale_before = self.stale_before(now);
        let membership = &self.membership;
        let result = store.transaction(|tx| {
            let registered = tx.heartbeat_node(&membership.id, now)?;
            if !registered {
                tx.register_node(&membership.id, membership.address.as_str(), now)?;
            }
            let gone = tx.remove_stale_nodes(stale_before, now)?;
            let live = tx.nodes()?;
            Ok::<_, StoreError>((registered, gone, live))
        });
        let (registered, gone, live) = match result {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::warn!(%error, node = %membership.id, "the node's heartbeat could not be recorded; trying again");
                return Vec::new();
            }
        };
        for node in gone {
            tracing::warn!(
                node = %node.id,
                address = %node.address,
                sessions_cut = node.sessions_cut.len(),
                "a node stopped its heartbeat: taken for gone, its sessions recorded as cut"
            );
        }
        membership.directory.publish(
            live.into_iter()
                .map(|node| KnownNode {
                    id: node.id,
                    address: node.address,
                })
                .collect(),
        );
        if registered || self.routed.is_empty() {
            if !registered {
                tracing::info!(node = %membership.id, address = %membership.address, "node registered");
            }
            return Vec::new();
        }
        tracing::warn!(
            node = %membership.id,
            sessions = self.routed.len(),
            "another process took this one for gone (its heartbeat stalled) and recorded its \
             HTTP sessions as cut: they are dropped here"
        );
        self.routed.drain().map(|(key, _)| key).collect()
    }

    /// Records a session opened for an HTTP message, in that message's transaction.
    pub(super) fn record_opened(
        &mut self,
        tx: &Tx<'_>,
        key: SessionKey,
        header: Option<&HeaderKey>,
    ) -> Result<(), StoreError> {
        tx.record_session_route(&NewSessionRoute {
            key,
            node: &self.membership.id,
            header,
            opened_at: super::hub::unix_now(),
        })?;
        self.routed.insert(key, None);
        Ok(())
    }

    /// Records the store session of a routed session once known, in the message's
    /// transaction (so that a node finding this one gone can record it as cut).
    pub(super) fn record_store_session(
        &mut self,
        tx: &Tx<'_>,
        key: SessionKey,
        session: Option<SessionId>,
    ) -> Result<(), StoreError> {
        let (Some(recorded), Some(session)) = (self.routed.get_mut(&key), session) else {
            return Ok(());
        };
        if *recorded != Some(session) {
            tx.set_route_store_session(key, session)?;
            *recorded = Some(session);
        }
        Ok(())
    }

    /// Whether the session's route is recorded.
    pub(super) fn holds(&self, key: SessionKey) -> bool {
        self.routed.contains_key(&key)
    }

    /// Forgets a session that ended here, in the transaction recording its end.
    pub(super) fn forget_in(&mut self, tx: &Tx<'_>, key: SessionKey) -> Result<(), StoreError> {
        if self.routed.remove(&key).is_some() {
            tx.remove_session_route(key)?;
        }
        Ok(())
    }

    /// Where the session a message names lives. `here` is the session of this process the
    /// message would go to (by its header), if any: another node's route for the same header
    /// opened later means the client started a new session there, which wins. A route left by
    /// this node, or one of a node gone silent, is ended on the way (the latter recorded as
    /// cut).
    pub(super) fn whereabouts(
        &mut self,
        store: &mut Store,
        lookup: &RemoteLookup,
        here: Option<SessionKey>,
    ) -> Result<Whereabouts, StoreError> {
        let route = store.read(|tx| match lookup {
            RemoteLookup::Key(key) => tx.session_route(*key),
            RemoteLookup::Header(header) => tx.session_route_by_header(header),
        })?;
        let Some(SessionRoute {
            key, node, owner, ..
        }) = route
        else {
            return Ok(Whereabouts::Here);
        };
        let now = super::hub::unix_now();
        if node == self.membership.id {
            if Some(key) != here && !self.routed.contains_key(&key) {
                // Not in this process's table: a route whose removal failed.
                store.transaction(|tx| tx.remove_session_route(key))?;
            }
            return Ok(Whereabouts::Here);
        }
        match owner {
            Some((address, heartbeat)) if heartbeat >= self.stale_before(now) => {
                Ok(Whereabouts::Elsewhere(RemoteSession { key, node, address }))
            }
            _ => {
                let why =
                    format!("the process serving it is gone (node {node} stopped its heartbeat)");
                let cut = store.transaction(|tx| tx.cut_routed_session(key, &why, now))?;
                tracing::warn!(
                    %node,
                    session = %key.to_hex(),
                    store_session = ?cut,
                    "a message for a session whose node is gone: the session is recorded as cut"
                );
                Ok(Whereabouts::Gone)
            }
        }
    }

    /// The node holding `remote` refused a relay: it is gone, and the session is recorded
    /// as cut.
    pub(super) fn owner_gone(&mut self, store: &mut Store, remote: &RemoteSession) {
        let why = format!(
            "the process serving it is gone (node {} at {} refused the connection)",
            remote.node, remote.address
        );
        let now = super::hub::unix_now();
        match store.transaction(|tx| tx.cut_routed_session(remote.key, &why, now)) {
            Ok(cut) => tracing::info!(
                node = %remote.node,
                session = %remote.key.to_hex(),
                store_session = ?cut,
                "session of a gone node recorded as cut"
            ),
            Err(error) => tracing::error!(
                %error,
                session = %remote.key.to_hex(),
                "recording the session of a gone node as cut failed"
            ),
        }
    }

    /// Removes the node (clean shutdown; its sessions were recorded as cut already).
    pub(super) fn leave(self, store: &mut Store) {
        match store.transaction(|tx| tx.remove_node(&self.membership.id)) {
            Ok(()) => tracing::info!(node = %self.membership.id, "node removed"),
            Err(error) => {
                tracing::warn!(%error, node = %self.membership.id, "the node could not remove itself; the others will find it gone")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_addresses_are_host_and_port() {
        for good in [
            "10.0.0.5:9180",
            "[::1]:9180",
            "node-1.example:80",
            "localhost:9",
        ] {
            assert_eq!(good.parse::<NodeAddress>().unwrap().as_str(), good);
        }
        for (bad, why) in [
            ("10.0.0.5", "HOST:PORT"),
            ("node:0", "port"),
            ("node:99999", "port"),
            (":9180", "host"),
            ("no de:9180", "host"),
            ("-node:9180", "host"),
            ("::1:9180", "host"),
        ] {
            let error = bad.parse::<NodeAddress>().unwrap_err();
            assert!(
                error.starts_with(&format!("`{bad}` is not a node address")) && error.contains(why),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn an_unspecified_listener_is_reached_on_loopback() {
        let any: std::net::SocketAddr = "0.0.0.0:9180".parse().unwrap();
        assert_eq!(NodeAddress::of_listener(any).as_str(), "127.0.0.1:9180");
        let any6: std::net::SocketAddr = "[::]:9180".parse().unwrap();
        assert_eq!(NodeAddress::of_listener(any6).as_str(), "[::1]:9180");
        let one: std::net::SocketAddr = "192.0.2.5:80".parse().unwrap();
        assert_eq!(NodeAddress::of_listener(one).as_str(), "192.0.2.5:80");
    }
}
