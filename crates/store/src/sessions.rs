//! Sync sessions: when, with whom, how they ended, what they changed, how to resume them.

use crate::db::{params, DbResult, OptionalRow, Row};
use handsync_engine::storage::{
    ChangeKind, Datastore, DeviceId, NewSession, Revision, SessionId, SessionResult, Timestamp,
};

use super::error::{Context, Result, StoreError};
use super::owner::ProcessTag;
use super::types::{id_column, optional_id, optional_id_column, text_column, Direction};
use super::Tx;

/// Changes in one datastore and one direction during a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCounts {
    pub datastore: Datastore,
    pub direction: Direction,
    pub added: u64,
    pub replaced: u64,
    pub deleted: u64,
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: SessionId,
    pub device: DeviceId,
    pub syncml_session_id: Option<String>,
    pub transport: String,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub result: SessionResult,
    pub error: Option<String>,
    /// The change counter when the session began: restoring to it undoes the session.
    pub revision_at_start: Revision,
    pub revision_at_end: Option<Revision>,
    pub has_resume_state: bool,
    pub counts: Vec<SessionCounts>,
}

const SESSION_COLUMNS: &str = "id, device_id, syncml_session_id, transport, started_at, ended_at, \
     result, error, revision_at_start, revision_at_end, resume_state IS NOT NULL";

fn session_from_row(row: &Row<'_>) -> DbResult<SessionRecord> {
    Ok(SessionRecord {
        id: id_column(row, 0)?,
        device: id_column(row, 1)?,
        syncml_session_id: row.get(2)?,
        transport: row.get(3)?,
        started_at: id_column(row, 4)?,
        ended_at: optional_id_column(row, 5)?,
        result: text_column(row, 6)?,
        error: row.get(7)?,
        revision_at_start: id_column(row, 8)?,
        revision_at_end: optional_id_column(row, 9)?,
        has_resume_state: row.get(10)?,
        counts: Vec::new(),
    })
}

fn counts_from_row(row: &Row<'_>) -> DbResult<SessionCounts> {
    let count = |i| row.get::<i64>(i).map(|n| n.max(0) as u64);
    Ok(SessionCounts {
        datastore: text_column(row, 0)?,
        direction: row.get(1)?,
        added: count(2)?,
        replaced: count(3)?,
        deleted: count(4)?,
    })
}

impl Tx<'_> {
    pub fn begin_session(&self, new: &NewSession<'_>) -> Result<SessionId> {
        self.device(new.device)?;
        let revision = self.current_revision()?;
        let owner = ProcessTag::current().map(ProcessTag::to_column);
        let id = self
            .query_row_cached(
                "INSERT INTO sessions (device_id, syncml_session_id, transport, started_at, \
                 revision_at_start, owner) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                params![
                    new.device.0,
                    new.syncml_session_id,
                    new.transport,
                    new.started_at.0,
                    revision.0,
                    owner
                ],
                |row| id_column(row, 0),
            )
            .context(|| format!("starting a session for device {}", new.device))?;
        tracing::info!(session = %id, device = %new.device, transport = new.transport, "session started");
        Ok(id)
    }

    /// Ends a session. Datastores whose sync this session began and did not complete get the
    /// session's result; their anchors stay where they were.
    pub fn end_session(
        &self,
        session: SessionId,
        result: SessionResult,
        error: Option<&str>,
        now: Timestamp,
    ) -> Result<()> {
        if result == SessionResult::Running {
            return Err(StoreError::InvalidInput(format!(
                "session {session} cannot end as running"
            )));
        }
        self.running_session(session)?;
        let revision = self.current_revision()?;
        self.execute_cached(
            "UPDATE sessions SET ended_at = ?2, result = ?3, error = ?4, revision_at_end = ?5 \
                 WHERE id = ?1",
            params![session.0, now.0, result.as_str(), error, revision.0],
        )
        .context(|| format!("ending session {session}"))?;
        // A datastore whose sync the engine never completed did not complete, even if the
        // session as a whole did: its anchors did not move, and its result must not say so.
        let datastore_result = match result {
            SessionResult::Completed => SessionResult::Failed,
            other => other,
        };
        let unfinished = self
            .execute_cached(
                // Through the session's device: its few datastores, not every device's.
                "UPDATE device_datastores SET last_result = ?2 \
                 WHERE device_id = (SELECT device_id FROM sessions WHERE id = ?1) \
                 AND last_session_id = ?1 AND last_result = 'running'",
                params![session.0, datastore_result.as_str()],
            )
            .context(|| format!("recording the result of session {session} per datastore"))?;
        if unfinished > 0 && result == SessionResult::Completed {
            tracing::warn!(%session, unfinished, "session completed with datastore syncs left unfinished");
        }
        tracing::info!(%session, %result, "session ended");
        Ok(())
    }

    /// Removes the devices that never exchanged anything (no running session, no session
    /// with a change counted, no history, tombstone, mapping, rejected item or setting), all
    /// but the `keep` seen most recently, with their sessions and datastore records: first
    /// messages from ever-new devices cannot fill the store, and a household's phone that
    /// dropped its first session still finds it recorded. Returns how many went.
    pub fn prune_empty_devices(&self, keep: usize) -> Result<usize> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let empty: Vec<i64> = self.collect(
            "SELECT d.id FROM devices d \
             WHERE d.account_id = ?3 AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.device_id = d.id \
                    AND (s.result = 'running' \
                         OR EXISTS (SELECT 1 FROM session_counts c WHERE c.session_id = s.id))) \
               AND NOT EXISTS (SELECT 1 FROM item_versions v WHERE v.device_id = d.id) \
               AND NOT EXISTS (SELECT 1 FROM items i WHERE i.deleted_by_device = d.id) \
               AND NOT EXISTS (SELECT 1 FROM rejected_items r WHERE r.device_id = d.id) \
               AND NOT EXISTS (SELECT 1 FROM device_settings x WHERE x.device_id = d.id) \
               AND NOT EXISTS (SELECT 1 FROM device_items di JOIN device_datastores dd \
                    ON di.device_datastore_id = dd.id WHERE dd.device_id = d.id) \
             ORDER BY (SELECT MAX(s.started_at) FROM sessions s WHERE s.device_id = d.id) DESC, \
                      d.id DESC \
             LIMIT ?2 OFFSET ?1",
            [keep, i64::MAX, self.tenant()],
            |row| row.get(0),
            || "finding devices that never exchanged anything".into(),
        )?;
        if !empty.is_empty() {
            self.forget_device_datastore_ids();
        }
        for device in &empty {
            for sql in [
                "DELETE FROM device_datastores WHERE device_id = ?1",
                "DELETE FROM sessions WHERE device_id = ?1",
                "DELETE FROM devices WHERE id = ?1",
            ] {
                self.execute_cached(sql, [device]).context(|| {
                    format!("removing device {device}, which never exchanged anything")
                })?;
            }
        }
        if !empty.is_empty() {
            tracing::info!(
                removed = empty.len(),
                keep,
                "removed devices that never exchanged anything"
            );
        }
        Ok(empty.len())
    }

    /// Ends as cut every running session whose process ended (killed, crashed, the machine
    /// restarted) or was never recorded (sessions from before schema version 4), so they do
    /// not stay "running" for ever. Sessions of live processes, this one included, are left
    /// alone: the daemon and `handsync sync` may serve sessions on the same file at once.
    /// Returns the sessions cut. Where /proc cannot name this process nothing is cut.
    pub fn cut_orphaned_sessions(&self, now: Timestamp) -> Result<Vec<SessionId>> {
        // No node's heartbeat is that recent: every owner is judged by /proc here.
        self.cut_orphaned_sessions_sparing_nodes(Timestamp(i64::MAX), now)
    }

    /// Suspends a session, keeping what the engine needs to resume it.
    pub fn suspend_session(
        &self,
        session: SessionId,
        resume_state: &[u8],
        now: Timestamp,
    ) -> Result<()> {
        self.end_session(session, SessionResult::Suspended, None, now)?;
        self.execute_cached(
            "UPDATE sessions SET resume_state = ?2 WHERE id = ?1",
            params![session.0, resume_state],
        )
        .map(|_| ())
        .context(|| format!("storing the resume state of session {session}"))
    }

    /// The device's latest session if it is suspended, with its resume state.
    pub fn suspended_session(&self, device: DeviceId) -> Result<Option<(SessionId, Vec<u8>)>> {
        self.query_row_cached(
            "SELECT id, result, resume_state FROM sessions WHERE device_id = ?1 \
                 ORDER BY id DESC LIMIT 1",
            [device.0],
            |row| {
                Ok((
                    id_column::<SessionId>(row, 0)?,
                    text_column::<SessionResult>(row, 1)?,
                    row.get::<Option<Vec<u8>>>(2)?,
                ))
            },
        )
        .optional()
        .context(|| format!("finding a suspended session of device {device}"))
        .map(|latest| match latest {
            Some((id, SessionResult::Suspended, Some(state))) => Some((id, state)),
            _ => None,
        })
    }

    /// Hands out the resume state and clears it, so a suspended session is resumed once.
    pub fn take_resume_state(&self, session: SessionId) -> Result<Option<Vec<u8>>> {
        let state: Option<Vec<u8>> = self
            .query_row_cached(
                "SELECT resume_state FROM sessions WHERE id = ?1",
                [session.0],
                |row| row.get(0),
            )
            .optional()
            .context(|| format!("reading the resume state of session {session}"))?
            .ok_or(StoreError::SessionNotFound(session))?;
        self.execute_cached(
            "UPDATE sessions SET resume_state = NULL WHERE id = ?1",
            [session.0],
        )
        .context(|| format!("clearing the resume state of session {session}"))?;
        Ok(state)
    }

    pub fn session(&self, session: SessionId) -> Result<SessionRecord> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1 \
             AND device_id IN (SELECT id FROM devices WHERE account_id = ?2)"
        );
        let mut record = self
            .query_row_cached(&sql, [session.0, self.tenant()], session_from_row)
            .optional()
            .context(|| format!("reading session {session}"))?
            .ok_or(StoreError::SessionNotFound(session))?;
        record.counts = self.session_counts(session)?;
        Ok(record)
    }

    /// Sessions, newest first, optionally of one device, at most `limit`.
    pub fn sessions(&self, device: Option<DeviceId>, limit: usize) -> Result<Vec<SessionRecord>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions \
             WHERE (CAST(?1 AS BIGINT) IS NULL OR device_id = ?1) \
             AND device_id IN (SELECT id FROM devices WHERE account_id = ?3) \
             ORDER BY id DESC LIMIT ?2"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut records = self.collect(
            &sql,
            params![optional_id(device), limit, self.tenant()],
            session_from_row,
            || "listing sessions".into(),
        )?;
        for record in &mut records {
            record.counts = self.session_counts(record.id)?;
        }
        Ok(records)
    }

    fn session_counts(&self, session: SessionId) -> Result<Vec<SessionCounts>> {
        self.collect(
            "SELECT datastore, direction, added, replaced, deleted FROM session_counts \
             WHERE session_id = ?1 ORDER BY datastore, direction",
            [session.0],
            counts_from_row,
            || format!("reading the counts of session {session}"),
        )
    }

    /// How a session stands (`None`: no such session), whatever account it is of.
    pub(crate) fn session_result(&self, session: SessionId) -> Result<Option<SessionResult>> {
        self.query_row_cached(
            "SELECT result FROM sessions WHERE id = ?1",
            [session.0],
            |row| text_column(row, 0),
        )
        .optional()
        .context(|| format!("reading session {session}"))
    }

    fn running_session(&self, session: SessionId) -> Result<()> {
        match self.session_result(session)? {
            None => Err(StoreError::SessionNotFound(session)),
            Some(SessionResult::Running) => Ok(()),
            Some(_) => Err(StoreError::SessionEnded(session)),
        }
    }

    /// Counts one change of a session (the store counts what it applies and what is delivered).
    pub(crate) fn count_change(
        &self,
        session: SessionId,
        datastore: Datastore,
        direction: Direction,
        kind: ChangeKind,
    ) -> Result<()> {
        let column = match kind {
            ChangeKind::Add => "added",
            ChangeKind::Replace => "replaced",
            ChangeKind::Delete => "deleted",
        };
        self.execute_cached(
            &format!(
                "INSERT INTO session_counts (session_id, datastore, direction, {column}) \
                     VALUES (?1, ?2, ?3, 1) ON CONFLICT (session_id, datastore, direction) \
                     DO UPDATE SET {column} = session_counts.{column} + 1"
            ),
            params![session.0, datastore.as_str(), direction],
        )
        .map(|_| ())
        .context(|| format!("counting a change of session {session}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    const NOW: Timestamp = Timestamp(1_000);

    /// A device whose contacts sync began in a new session; the session's owner column is
    /// then set to `owner` (`None`: as a session from before the column existed).
    fn running_session(tx: &Tx<'_>, uri: &str, owner: Option<String>) -> (DeviceId, SessionId) {
        let device = tx.upsert_device(uri, NOW).unwrap();
        tx.set_up_device_datastore(device, Datastore::Contacts, "Contacts")
            .unwrap();
        let session = tx
            .begin_session(&NewSession {
                device,
                transport: "http",
                syncml_session_id: Some("1"),
                started_at: NOW,
            })
            .unwrap();
        tx.begin_datastore_sync(device, Datastore::Contacts, session, "c1", "s1", NOW)
            .unwrap();
        tx.execute_cached(
            "UPDATE sessions SET owner = ?2 WHERE id = ?1",
            params![session.0, owner],
        )
        .unwrap();
        (device, session)
    }

    fn contacts_result(tx: &Tx<'_>, device: DeviceId) -> Option<SessionResult> {
        tx.device_datastore(device, Datastore::Contacts)
            .unwrap()
            .unwrap()
            .last_result
    }

    #[test]
    fn sessions_of_ended_or_unrecorded_processes_are_cut_and_live_ones_kept() {
        let current = ProcessTag::current().expect("Linux has /proc");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = child.id();
        child.wait().unwrap();
        let dead = ProcessTag {
            boot_id: current.boot_id.clone(),
            pid: dead_pid,
            start_time: current.start_time,
        };
        let before_reboot = ProcessTag {
            boot_id: "00000000-0000-0000-0000-000000000000".into(),
            ..current.clone()
        };

        let mut store = Store::open_in_memory().unwrap();
        let tx = store.begin().unwrap();
        let (ours_device, ours) = running_session(&tx, "IMEI:1", Some(current.to_column()));
        let (dead_device, of_dead) = running_session(&tx, "IMEI:2", Some(dead.to_column()));
        let (old_device, unrecorded) = running_session(&tx, "IMEI:3", None);
        let (_, of_last_boot) = running_session(&tx, "IMEI:4", Some(before_reboot.to_column()));

        let cut = tx.cut_orphaned_sessions(Timestamp(2_000)).unwrap();
        assert_eq!(cut, vec![of_dead, unrecorded, of_last_boot]);

        let kept = tx.session(ours).unwrap();
        assert_eq!(kept.result, SessionResult::Running);
        assert_eq!(
            contacts_result(&tx, ours_device),
            Some(SessionResult::Running)
        );

        let record = tx.session(of_dead).unwrap();
        assert_eq!(record.result, SessionResult::Cut);
        assert_eq!(record.ended_at, Some(Timestamp(2_000)));
        assert_eq!(
            record.error.as_deref(),
            Some(format!("the process serving it ended (pid {dead_pid})").as_str())
        );
        assert_eq!(contacts_result(&tx, dead_device), Some(SessionResult::Cut));
        assert_eq!(
            tx.device_datastore(dead_device, Datastore::Contacts)
                .unwrap()
                .unwrap()
                .client_last_anchor,
            None,
            "a cut sync moves no anchor"
        );

        let record = tx.session(unrecorded).unwrap();
        assert_eq!(record.result, SessionResult::Cut);
        assert!(record.error.unwrap().contains("not recorded"));
        assert_eq!(contacts_result(&tx, old_device), Some(SessionResult::Cut));
        assert!(tx
            .session(of_last_boot)
            .unwrap()
            .error
            .unwrap()
            .contains("before the system restarted"));

        // Ended sessions are not looked at again.
        assert!(tx
            .cut_orphaned_sessions(Timestamp(3_000))
            .unwrap()
            .is_empty());
        assert_eq!(
            tx.session(of_dead).unwrap().ended_at,
            Some(Timestamp(2_000))
        );
    }

    #[test]
    fn a_new_session_names_this_process_as_its_owner() {
        let mut store = Store::open_in_memory().unwrap();
        let tx = store.begin().unwrap();
        let device = tx.upsert_device("IMEI:1", NOW).unwrap();
        let session = tx
            .begin_session(&NewSession {
                device,
                transport: "http",
                syncml_session_id: None,
                started_at: NOW,
            })
            .unwrap();
        let owner: Option<String> = tx
            .query_row_cached(
                "SELECT owner FROM sessions WHERE id = ?1",
                [session.0],
                |row| row.get(0),
            )
            .unwrap();
        let owner = ProcessTag::from_column(&owner.unwrap()).unwrap();
        assert_eq!(Some(&owner), ProcessTag::current());
        assert_eq!(owner.pid, std::process::id());
        assert!(tx.cut_orphaned_sessions(NOW).unwrap().is_empty());
    }
}
