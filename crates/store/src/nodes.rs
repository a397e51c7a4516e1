//! Several `handsync serve` processes on one database: each registers itself as a node (an
//! id, the address its peers reach its HTTP listener at, a heartbeat), and records the open
//! HTTP sessions it holds, so that a process that receives a message for a session it does not
//! hold knows where to relay it, or that its owner is gone.
//!
//! Times are the callers' (the store never reads the clock); a node is stale when its
//! heartbeat is older than what the caller says. No foreign keys bind these rows to nodes or
//! sessions: a route may outlive its node (that is how a dead owner shows), and pruning a
//! device's sessions must never fail on a route.

use crate::db::{params, DbError, DbResult, OptionalRow, Row};
use handsync_engine::routing::{HeaderKey, SessionKey};
use handsync_engine::storage::{SessionId, SessionResult, Timestamp};

use super::error::{Context, Result};
use super::owner::{Liveness, ProcessTag};
use super::types::{id_column, optional_id_column};
use super::Tx;

/// A node as registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    pub id: String,
    /// `HOST:PORT` of its HTTP listener, as its peers reach it.
    pub address: String,
    pub started_at: Timestamp,
    pub heartbeat_at: Timestamp,
}

/// An open HTTP session as its owner records it when the session opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSessionRoute<'a> {
    pub key: SessionKey,
    pub node: &'a str,
    /// The client's address, SyncML SessionID and device URI, for clients that ignore RespURI.
    pub header: Option<&'a HeaderKey>,
    pub opened_at: Timestamp,
}

/// Where a session lives, as another process finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRoute {
    pub key: SessionKey,
    pub node: String,
    /// The node's address and last heartbeat; `None` when the node is no longer registered
    /// (it shut down, or was found gone).
    pub owner: Option<(String, Timestamp)>,
    /// The store's record of the session, once its first message was applied.
    pub store_session: Option<SessionId>,
}

/// A node found gone, and the sessions of it that were recorded as cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoneNode {
    pub id: String,
    pub address: String,
    pub sessions_cut: Vec<SessionId>,
}

fn node_from_row(row: &Row<'_>) -> DbResult<NodeRecord> {
    Ok(NodeRecord {
        id: row.get(0)?,
        address: row.get(1)?,
        started_at: id_column(row, 2)?,
        heartbeat_at: id_column(row, 3)?,
    })
}

/// Reads `session_key, node_id, address, heartbeat_at, store_session_id` (the node's columns
/// NULL when it is gone).
fn route_from_row(row: &Row<'_>) -> DbResult<SessionRoute> {
    let key: String = row.get(0)?;
    let key = SessionKey::from_hex(&key).ok_or_else(|| DbError::Column {
        index: 0,
        detail: format!("session key {key:?} is not 16 hex digits"),
    })?;
    let address: Option<String> = row.get(2)?;
    let heartbeat: Option<Timestamp> = optional_id_column(row, 3)?;
    Ok(SessionRoute {
        key,
        node: row.get(1)?,
        owner: address.zip(heartbeat),
        store_session: optional_id_column(row, 4)?,
    })
}

const ROUTE_COLUMNS: &str = "r.session_key, r.node_id, n.address, n.heartbeat_at, \
     r.store_session_id FROM cluster_sessions r LEFT JOIN cluster_nodes n ON n.id = r.node_id";

impl Tx<'_> {
    /// Registers a node run by this process (or brings back one that was removed), with
    /// its heartbeat at `now`.
    pub fn register_node(&self, id: &str, address: &str, now: Timestamp) -> Result<()> {
        let process = ProcessTag::current().map(ProcessTag::to_column);
        self.execute_cached(
            "INSERT INTO cluster_nodes (id, address, process, started_at, heartbeat_at) \
             VALUES (?1, ?2, ?3, ?4, ?4) \
             ON CONFLICT (id) DO UPDATE SET address = excluded.address, \
             process = excluded.process, heartbeat_at = excluded.heartbeat_at",
            params![id, address, process, now.0],
        )
        .map(drop)
        .context(|| format!("registering node {id}"))
    }

    /// Moves a node's heartbeat to `now`; `false` when the node was not registered (another
    /// process found it gone): the caller registers it again.
    pub fn heartbeat_node(&self, id: &str, now: Timestamp) -> Result<bool> {
        self.execute_cached(
            "UPDATE cluster_nodes SET heartbeat_at = ?2 WHERE id = ?1",
            params![id, now.0],
        )
        .map(|changed| changed > 0)
        .context(|| format!("moving the heartbeat of node {id}"))
    }

    /// Removes a node and the routes of its sessions (on a clean shutdown, the node has
    /// recorded its sessions' ends itself).
    pub fn remove_node(&self, id: &str) -> Result<()> {
        for sql in [
            "DELETE FROM cluster_sessions WHERE node_id = ?1",
            "DELETE FROM cluster_nodes WHERE id = ?1",
        ] {
            self.execute_cached(sql, [id])
                .context(|| format!("removing node {id}"))?;
        }
        Ok(())
    }

    /// Every registered node, stale or not, by id.
    pub fn nodes(&self) -> Result<Vec<NodeRecord>> {
        self.collect(
            "SELECT id, address, started_at, heartbeat_at FROM cluster_nodes ORDER BY id",
            crate::db::NO_PARAMS,
            node_from_row,
            || "listing the nodes".into(),
        )
    }

    /// Records an open session's route.
    pub fn record_session_route(&self, route: &NewSessionRoute<'_>) -> Result<()> {
        let header = route.header;
        self.execute_cached(
            "INSERT INTO cluster_sessions (session_key, node_id, client_address, \
             syncml_session_id, device_uri, opened_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                route.key.to_hex(),
                route.node,
                header.map(|h| h.client.to_string()),
                header.map(|h| h.session_id.as_str()),
                header.map(|h| h.device.as_str()),
                route.opened_at.0
            ],
        )
        .map(drop)
        .context(|| format!("recording the route of session {}", route.key.to_hex()))
    }

    /// Records which store session a routed session is (known after its first message).
    pub fn set_route_store_session(&self, key: SessionKey, session: SessionId) -> Result<()> {
        self.execute_cached(
            "UPDATE cluster_sessions SET store_session_id = ?2 WHERE session_key = ?1",
            params![key.to_hex(), session.0],
        )
        .map(drop)
        .context(|| format!("recording the store session of session {}", key.to_hex()))
    }

    /// Forgets a session's route (it ended).
    pub fn remove_session_route(&self, key: SessionKey) -> Result<()> {
        self.execute_cached(
            "DELETE FROM cluster_sessions WHERE session_key = ?1",
            [key.to_hex()],
        )
        .map(drop)
        .context(|| format!("forgetting the route of session {}", key.to_hex()))
    }

    /// Every recorded route, by key.
    pub fn session_routes(&self) -> Result<Vec<SessionRoute>> {
        self.collect(
            &format!("SELECT {ROUTE_COLUMNS} ORDER BY r.session_key"),
            crate::db::NO_PARAMS,
            route_from_row,
            || "listing the routes of open sessions".into(),
        )
    }

    /// The route of the session with our key `key`.
    pub fn session_route(&self, key: SessionKey) -> Result<Option<SessionRoute>> {
        self.query_row_cached(
            &format!("SELECT {ROUTE_COLUMNS} WHERE r.session_key = ?1"),
            [key.to_hex()],
            route_from_row,
        )
        .optional()
        .context(|| format!("finding the route of session {}", key.to_hex()))
    }

    /// The route of the most recently opened session with this client header.
    pub fn session_route_by_header(&self, header: &HeaderKey) -> Result<Option<SessionRoute>> {
        self.query_row_cached(
            &format!(
                "SELECT {ROUTE_COLUMNS} WHERE r.client_address = ?1 \
                 AND r.syncml_session_id = ?2 AND r.device_uri = ?3 \
                 ORDER BY r.opened_at DESC LIMIT 1"
            ),
            params![header.client.to_string(), header.session_id, header.device],
            route_from_row,
        )
        .optional()
        .context(|| {
            format!(
                "finding the session of {} (SessionID {})",
                header.device, header.session_id
            )
        })
    }

    /// Ends a routed session whose owner is gone: its store session, when still running, is
    /// recorded as cut with `why` (anchors unmoved: the next sync converges), and its route is
    /// forgotten. Returns the store session cut, if any.
    pub fn cut_routed_session(
        &self,
        key: SessionKey,
        why: &str,
        now: Timestamp,
    ) -> Result<Option<SessionId>> {
        let store_session: Option<Option<SessionId>> = self
            .query_row_cached(
                "SELECT store_session_id FROM cluster_sessions WHERE session_key = ?1",
                [key.to_hex()],
                |row| optional_id_column(row, 0),
            )
            .optional()
            .context(|| format!("reading the route of session {}", key.to_hex()))?;
        self.remove_session_route(key)?;
        let Some(session) = store_session.flatten() else {
            return Ok(None);
        };
        if !self.session_is_running(session)? {
            return Ok(None);
        }
        self.end_session(session, SessionResult::Cut, Some(why), now)?;
        Ok(Some(session))
    }

    /// Removes every node whose heartbeat is older than `stale_before`, recording the
    /// sessions it held as cut (see [`Tx::cut_routed_session`]).
    pub fn remove_stale_nodes(
        &self,
        stale_before: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<GoneNode>> {
        let stale = self.collect(
            "SELECT id, address, started_at, heartbeat_at FROM cluster_nodes \
             WHERE heartbeat_at < ?1 ORDER BY id",
            [stale_before.0],
            node_from_row,
            || "finding nodes whose heartbeat stopped".into(),
        )?;
        let mut gone = Vec::new();
        for node in stale {
            let keys: Vec<String> = self.collect(
                "SELECT session_key FROM cluster_sessions WHERE node_id = ?1",
                [&node.id],
                |row| row.get(0),
                || format!("listing the sessions of node {}", node.id),
            )?;
            let why = format!(
                "the process serving it is gone (node {} at {} stopped its heartbeat)",
                node.id, node.address
            );
            let mut sessions_cut = Vec::new();
            for key in keys.iter().filter_map(|k| SessionKey::from_hex(k)) {
                sessions_cut.extend(self.cut_routed_session(key, &why, now)?);
            }
            self.remove_node(&node.id)?;
            gone.push(GoneNode {
                id: node.id,
                address: node.address,
                sessions_cut,
            });
        }
        Ok(gone)
    }

    /// [`Tx::cut_orphaned_sessions`] for a database that serve processes on other hosts
    /// share: a running session whose owner is the process of a node on another host (another
    /// boot id, which [`Tx::cut_orphaned_sessions`] takes for a process from before a
    /// restart) with a heartbeat at or after `stale_before` is left alone. The others are
    /// judged as there, by /proc on this host: ended or unrecorded owners are cut.
    pub fn cut_orphaned_sessions_sparing_nodes(
        &self,
        stale_before: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<SessionId>> {
        let Some(current) = ProcessTag::current() else {
            return Ok(Vec::new());
        };
        let running = self.collect(
            "SELECT s.id, s.owner, EXISTS (SELECT 1 FROM cluster_nodes n \
                 WHERE n.process = s.owner AND n.heartbeat_at >= ?1) \
             FROM sessions s WHERE s.result = 'running' ORDER BY s.id",
            [stale_before.0],
            |row| {
                Ok((
                    id_column::<SessionId>(row, 0)?,
                    row.get::<Option<String>>(1)?,
                    row.get::<bool>(2)?,
                ))
            },
            || "listing running sessions".into(),
        )?;
        let mut cut = Vec::new();
        for (session, owner, of_live_node) in running {
            let why = match owner.as_deref().map(ProcessTag::from_column) {
                Some(Some(owner)) if of_live_node && owner.boot_id != current.boot_id => continue,
                Some(Some(owner)) => match owner.liveness(current) {
                    Liveness::Alive => continue,
                    Liveness::Ended(why) => why,
                },
                Some(None) => "the process serving it ended (its owner was unreadable)".into(),
                None => "the process serving it ended (it was not recorded)".into(),
            };
            self.end_session(session, SessionResult::Cut, Some(&why), now)?;
            tracing::info!(%session, owner = owner.as_deref().unwrap_or("none"), reason = %why, "session of an ended process cut");
            cut.push(session);
        }
        Ok(cut)
    }

    fn session_is_running(&self, session: SessionId) -> Result<bool> {
        Ok(self.session_result(session)? == Some(SessionResult::Running))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewSession, Store};

    fn header(device: &str) -> HeaderKey {
        HeaderKey {
            client: std::net::IpAddr::from([192, 0, 2, 7]),
            session_id: "12".into(),
            device: device.into(),
        }
    }

    /// A running store session of a new device.
    fn running_session(tx: &Tx<'_>, uri: &str) -> SessionId {
        let device = tx.upsert_device(uri, Timestamp(1)).unwrap();
        tx.begin_session(&NewSession {
            device,
            syncml_session_id: Some("12"),
            transport: "http",
            started_at: Timestamp(1),
        })
        .unwrap()
    }

    #[test]
    fn a_route_is_found_by_key_and_by_header_with_its_owner() {
        let mut store = Store::open_in_memory().unwrap();
        store
            .transaction(|tx| {
                tx.register_node("aa", "127.0.0.1:9180", Timestamp(10))?;
                let phone = header("IMEI:1");
                tx.record_session_route(&NewSessionRoute {
                    key: SessionKey(0xabc),
                    node: "aa",
                    header: Some(&phone),
                    opened_at: Timestamp(11),
                })?;
                let session = running_session(tx, "IMEI:1");
                tx.set_route_store_session(SessionKey(0xabc), session)?;
                let expected = SessionRoute {
                    key: SessionKey(0xabc),
                    node: "aa".into(),
                    owner: Some(("127.0.0.1:9180".into(), Timestamp(10))),
                    store_session: Some(session),
                };
                assert_eq!(tx.session_route(SessionKey(0xabc))?, Some(expected.clone()));
                assert_eq!(tx.session_routes()?, vec![expected.clone()]);
                assert_eq!(tx.session_route_by_header(&phone)?, Some(expected));
                assert_eq!(tx.session_route_by_header(&header("IMEI:2"))?, None);
                assert_eq!(tx.session_route(SessionKey(1))?, None);
                tx.remove_session_route(SessionKey(0xabc))?;
                assert_eq!(tx.session_route(SessionKey(0xabc))?, None);
                Ok::<_, crate::StoreError>(())
            })
            .unwrap();
    }

    #[test]
    fn heartbeats_move_and_a_removed_node_says_so() {
        let mut store = Store::open_in_memory().unwrap();
        store
            .transaction(|tx| {
                tx.register_node("aa", "127.0.0.1:1", Timestamp(10))?;
                assert!(tx.heartbeat_node("aa", Timestamp(20))?);
                let nodes = tx.nodes()?;
                assert_eq!(nodes.len(), 1);
                assert_eq!(
                    (nodes[0].started_at, nodes[0].heartbeat_at),
                    (Timestamp(10), Timestamp(20))
                );
                tx.remove_node("aa")?;
                assert!(!tx.heartbeat_node("aa", Timestamp(30))?);
                assert!(tx.nodes()?.is_empty());
                Ok::<_, crate::StoreError>(())
            })
            .unwrap();
    }

    /// A stale node goes, its running sessions are recorded as cut, a live node's stay.
    #[test]
    fn stale_nodes_are_removed_and_their_sessions_cut() {
        let mut store = Store::open_in_memory().unwrap();
        store
            .transaction(|tx| {
                tx.register_node("dead", "127.0.0.1:1", Timestamp(10))?;
                tx.register_node("live", "127.0.0.1:2", Timestamp(100))?;
                let mut sessions = Vec::new();
                for (n, node) in ["dead", "dead", "live"].into_iter().enumerate() {
                    let key = SessionKey(n as u64 + 1);
                    tx.record_session_route(&NewSessionRoute {
                        key,
                        node,
                        header: None,
                        opened_at: Timestamp(10),
                    })?;
                    let session = running_session(tx, &format!("IMEI:{n}"));
                    tx.set_route_store_session(key, session)?;
                    sessions.push(session);
                }
                // The second of the dead node's sessions had ended already.
                tx.end_session(sessions[1], SessionResult::Completed, None, Timestamp(12))?;
                let gone = tx.remove_stale_nodes(Timestamp(50), Timestamp(120))?;
                assert_eq!(
                    gone,
                    vec![GoneNode {
                        id: "dead".into(),
                        address: "127.0.0.1:1".into(),
                        sessions_cut: vec![sessions[0]],
                    }]
                );
                let cut = tx.session(sessions[0])?;
                assert_eq!(cut.result, SessionResult::Cut);
                assert!(cut.error.unwrap().contains("node dead"));
                assert_eq!(tx.session(sessions[1])?.result, SessionResult::Completed);
                assert_eq!(tx.session(sessions[2])?.result, SessionResult::Running);
                assert_eq!(tx.session_route(SessionKey(1))?, None);
                assert!(tx.session_route(SessionKey(3))?.is_some());
                assert_eq!(tx.nodes()?.len(), 1);
                Ok::<_, crate::StoreError>(())
            })
            .unwrap();
    }

    /// A session of a live node on another host is no orphan; once the node is stale, its
    /// other boot says its process ended. On this host /proc knows better than a heartbeat.
    #[test]
    fn sessions_of_live_nodes_on_other_hosts_are_spared() {
        let mut store = Store::open_in_memory().unwrap();
        let current = ProcessTag::current().expect("Linux has /proc");
        let elsewhere = ProcessTag {
            boot_id: "00000000-0000-0000-0000-000000000001".into(),
            ..current.clone()
        };
        store
            .transaction(|tx| {
                tx.register_node("here", "127.0.0.1:1", Timestamp(100))?;
                tx.register_node("there", "192.0.2.9:9180", Timestamp(100))?;
                // As the other host's process registered itself.
                tx.execute_cached(
                    "UPDATE cluster_nodes SET process = ?1 WHERE id = 'there'",
                    [elsewhere.to_column()],
                )
                .unwrap();
                let session = running_session(tx, "IMEI:5");
                tx.execute_cached(
                    "UPDATE sessions SET owner = ?2 WHERE id = ?1",
                    params![session.0, elsewhere.to_column()],
                )
                .unwrap();
                // A dead process of this host, though its node has not gone stale yet.
                let mut child = std::process::Command::new("true").spawn().unwrap();
                let dead = ProcessTag {
                    pid: child.id(),
                    ..current.clone()
                };
                child.wait().unwrap();
                tx.execute_cached(
                    "UPDATE cluster_nodes SET process = ?1 WHERE id = 'here'",
                    [dead.to_column()],
                )
                .unwrap();
                let of_dead = running_session(tx, "IMEI:6");
                tx.execute_cached(
                    "UPDATE sessions SET owner = ?2 WHERE id = ?1",
                    params![of_dead.0, dead.to_column()],
                )
                .unwrap();
                assert_eq!(
                    tx.cut_orphaned_sessions_sparing_nodes(Timestamp(90), Timestamp(110))?,
                    vec![of_dead]
                );
                assert_eq!(tx.session(session)?.result, SessionResult::Running);
                assert_eq!(
                    tx.cut_orphaned_sessions_sparing_nodes(Timestamp(101), Timestamp(120))?,
                    vec![session]
                );
                assert_eq!(tx.session(session)?.result, SessionResult::Cut);
                Ok::<_, crate::StoreError>(())
            })
            .unwrap();
    }

    /// A route left by a node that is no longer registered shows no owner; cutting it
    /// twice records the cut once.
    #[test]
    fn a_route_without_its_node_has_no_owner_and_is_cut_once() {
        let mut store = Store::open_in_memory().unwrap();
        store
            .transaction(|tx| {
                tx.record_session_route(&NewSessionRoute {
                    key: SessionKey(9),
                    node: "vanished",
                    header: None,
                    opened_at: Timestamp(10),
                })?;
                let session = running_session(tx, "IMEI:9");
                tx.set_route_store_session(SessionKey(9), session)?;
                let route = tx.session_route(SessionKey(9))?.unwrap();
                assert_eq!(route.owner, None);
                assert_eq!(
                    tx.cut_routed_session(SessionKey(9), "gone", Timestamp(20))?,
                    Some(session)
                );
                assert_eq!(
                    tx.cut_routed_session(SessionKey(9), "gone", Timestamp(21))?,
                    None
                );
                assert_eq!(tx.session(session)?.result, SessionResult::Cut);
                Ok::<_, crate::StoreError>(())
            })
            .unwrap();
    }
}
