//! Sync alerts: which datastores sync and how (sync modes, anchors), suspend and resume,
//! and the anchors moving when the session completes.

use crate::model::{self, meta, some_meta, text};
use crate::storage::SyncStore;
use crate::storage::{
    AnchorBase, Datastore, DeviceDatastore, SessionId, SessionResult, StorageError, Timestamp,
};
pub use handsync_proto::ds::SyncMode;
use handsync_proto::syncml::{Alert, AlertCode, Command, MetInf, StatusCode};

use super::{Active, EngineError, Phase, Result, Session};

/// What a suspended session leaves for its resume (stored as TOML in the session row).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct ResumeState {
    datastores: Vec<ResumeDatastore>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct ResumeDatastore {
    datastore: String,
    /// The `SyncMode` name.
    mode: String,
    /// The phone's Next anchor of the suspended session: its resume Alert carries it again.
    client_next: String,
    /// What the phone had sent of a slow sync, as states written before the store kept it
    /// (`SyncStore::record_luid_sent`) had it; read to resume them, never written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    seen_luids: Vec<String>,
}

impl ResumeDatastore {
    fn mode(&self) -> Result<SyncMode> {
        Ok(match self.mode.as_str() {
            "TwoWay" => SyncMode::TwoWay,
            "Slow" => SyncMode::Slow,
            "OneWayFromClient" => SyncMode::OneWayFromClient,
            "RefreshFromClient" => SyncMode::RefreshFromClient,
            "OneWayFromServer" => SyncMode::OneWayFromServer,
            "RefreshFromServer" => SyncMode::RefreshFromServer,
            other => {
                return Err(EngineError::Store(StorageError::invalid(format!(
                    "unknown sync mode {other:?} in a resume state"
                ))))
            }
        })
    }
}

/// What the phone's sync Alert asks for one of its datastores.
struct SyncRequest<'a> {
    phone_uri: &'a str,
    requested: SyncMode,
    resuming: bool,
    client_next: &'a str,
    client_last: Option<&'a str>,
}

/// How one of our datastores will sync (see `plan_datastore_sync`).
struct SyncPlan {
    datastore: Datastore,
    mode: SyncMode,
    status: StatusCode,
    resumed: Option<ResumeDatastore>,
    base: Option<AnchorBase>,
    confirmed_until: Option<Timestamp>,
    absent_means_deleted: bool,
    /// Our Adds without a Map were outstanding when the sync was planned.
    unmapped_adds: bool,
    server_last: Option<String>,
    server_next: String,
}

/// Suspend and resume.
#[derive(Debug, Clone, Default)]
pub(super) struct Suspension {
    /// The phone asked to suspend (Alert 224) in the message being handled.
    pub(super) requested: bool,
    /// The device's suspended session when this one began.
    pub(super) suspended: Option<SessionId>,
    /// The suspended session's datastores, once a resume Alert asked for them.
    resume: Option<Vec<ResumeDatastore>>,
}

impl Session {
    /// Returns the status code and, for sync alerts, the phone's Next anchor to echo.
    pub(super) fn handle_alert<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        alert: &Alert,
        now: Timestamp,
    ) -> Result<(StatusCode, Option<String>)> {
        let Some(code) = alert.data else {
            return Ok((StatusCode::BadRequest, None));
        };
        let resuming = code == AlertCode::Resume;
        if code == AlertCode::Suspend {
            tracing::info!("the phone suspends the session");
            self.state.suspension.requested = true;
            return Ok((StatusCode::Ok, None));
        }
        // A resumed datastore continues in the mode of the suspended session (found below).
        let requested = if resuming {
            Some(SyncMode::TwoWay)
        } else {
            SyncMode::from_alert(code)
        };
        let Some(requested) = requested else {
            return Ok(match code {
                AlertCode::NoEndOfData => {
                    if let Some(partial) = self.state.partial.take() {
                        tracing::warn!(luid = partial.luid, "the phone gave up a large object");
                    }
                    (StatusCode::Ok, None)
                }
                AlertCode::NextMessage | AlertCode::Display => (StatusCode::Ok, None),
                _ => {
                    tracing::info!(%code, "alert not supported");
                    (StatusCode::OptionalFeatureNotSupported, None)
                }
            });
        };
        let Some(item) = alert.items.first() else {
            return Ok((StatusCode::BadRequest, None));
        };
        let target = item
            .target
            .as_ref()
            .map(|t| t.loc_uri.to_string())
            .unwrap_or_default();
        let source = item
            .source
            .as_ref()
            .map(|s| s.loc_uri.to_string())
            .unwrap_or_default();
        let Some(datastore) = self
            .config
            .datastore_for(&target)
            .or_else(|| self.config.datastore_for(&source))
        else {
            tracing::warn!(target, source, known = ?self.config.known_names(), "unknown datastore");
            return Ok((StatusCode::NotFound, None));
        };
        let anchor = meta(&item.meta).and_then(|m| m.anchor.as_ref());
        let client_next = anchor
            .map(|a| a.next.to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| now.0.to_string());
        let client_last = anchor.and_then(|a| text(&a.last)).map(str::to_string);
        let phone_uri = if source.is_empty() {
            target.clone()
        } else {
            source
        };
        let request = SyncRequest {
            phone_uri: &phone_uri,
            requested,
            resuming,
            client_next: &client_next,
            client_last: client_last.as_deref(),
        };
        let mut plans = vec![self.plan_datastore_sync(store, datastore, &request, now)?];
        if datastore == Datastore::Calendar && self.calendar_holds_tasks(&phone_uri) {
            tracing::info!(
                phone_uri,
                "the phone's calendar holds its to-dos: they sync with Tasks"
            );
            let tasks = self.plan_datastore_sync(store, Datastore::Tasks, &request, now)?;
            plans.push(tasks);
            // One phone datastore, one sync: when either store needs a slow sync, both get
            // it, and both move to the same anchors.
            if plans.iter().any(|p| p.mode == SyncMode::Slow) {
                for plan in &mut plans {
                    if !matches!(
                        plan.mode,
                        SyncMode::Slow | SyncMode::RefreshFromClient | SyncMode::RefreshFromServer
                    ) {
                        plan.mode = SyncMode::Slow;
                        plan.status = StatusCode::RefreshRequired;
                    }
                }
            }
            let (mode, server_next) = (plans[0].mode, plans[0].server_next.clone());
            plans[1].mode = mode;
            plans[1].server_next = server_next;
        }
        let status = if plans.iter().any(|p| p.status != StatusCode::Ok) {
            StatusCode::RefreshRequired
        } else {
            StatusCode::Ok
        };
        let (mode, server_last, server_next) = (
            plans[0].mode,
            plans[0].server_last.clone(),
            plans[0].server_next.clone(),
        );
        for (n, plan) in plans.into_iter().enumerate() {
            self.begin_planned_sync(store, plan, &request, &target, n > 0, now)?;
        }
        let mut our_item = model::item(Some(&phone_uri), Some(&target));
        our_item.meta = some_meta(MetInf {
            anchor: Some(model::anchor(server_last.as_deref(), &server_next)),
            ..MetInf::default()
        });
        self.state.outbox.commands.push_back(Command::Alert(Alert {
            data: Some(mode.alert_code()),
            items: vec![our_item],
            ..Alert::default()
        }));
        Ok((status, Some(client_next)))
    }

    /// How one of our datastores syncs with the phone's: the mode (a slow sync when the
    /// anchors or the mappings call for one), the anchors and what the phone is known to hold.
    fn plan_datastore_sync<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        datastore: Datastore,
        request: &SyncRequest<'_>,
        now: Timestamp,
    ) -> Result<SyncPlan> {
        let device = self.state.device.expect("started");
        let (requested, resuming) = (request.requested, request.resuming);
        let client_last = request.client_last;
        let state = store.set_up_device_datastore(device, datastore, request.phone_uri)?;

        let mut mode = requested;
        let mut status = StatusCode::Ok;
        let mut resumed: Option<ResumeDatastore> = None;
        if resuming {
            resumed = self.resumable(store, datastore, request.client_next)?;
            match &resumed {
                Some(saved) => {
                    mode = saved.mode()?;
                    tracing::info!(%datastore, ?mode, "resuming the suspended sync");
                }
                None => {
                    tracing::info!(%datastore, "nothing to resume: slow sync");
                    mode = SyncMode::Slow;
                    status = StatusCode::RefreshRequired;
                }
            }
        }
        // The anchors the phone starts from: those it got when the last sync completed, or,
        // when it never saw that end, those it had at that sync's start.
        let base = known_base(&state, client_last);
        if !resuming
            && base.is_none()
            && matches!(
                requested,
                SyncMode::TwoWay | SyncMode::OneWayFromClient | SyncMode::OneWayFromServer
            )
        {
            tracing::info!(%datastore, stored = ?state.client_last_anchor, previous = ?state.previous_client_anchor, sent = ?client_last, "the phone's Last anchor is none we gave it: slow sync");
            mode = SyncMode::Slow;
            status = StatusCode::RefreshRequired;
        }
        let mut absent_means_deleted = false;
        // Maps owed from a cut session came before this Alert.
        let unmapped = store.pending_maps(device, datastore)?.len();
        if !resuming && matches!(mode, SyncMode::TwoWay | SyncMode::OneWayFromServer) {
            // An Add still without a Map may be on the phone under a LUID nothing tells us
            // (it never got it, or it forgot the Map): only a slow sync finds out without
            // giving it a second copy.
            if unmapped > 0 {
                tracing::info!(%datastore, unmapped, "our Adds of a cut session have no Map: slow sync");
                mode = SyncMode::Slow;
                status = StatusCode::RefreshRequired;
                absent_means_deleted = true;
            }
        }
        // Our Last anchor is the one paired with the phone's.
        let server_last = match &base {
            Some(base) => base.server.clone(),
            None => state.server_last_anchor.clone(),
        };
        let mut server_next = now.0.to_string();
        if state.server_last_anchor.as_deref() == Some(server_next.as_str()) {
            server_next.push_str("-1");
        }
        let confirmed_until = base.as_ref().and_then(|b| b.completed_at);
        // Kept when this sync completes: a phone that misses the end comes back with them.
        let base = base.or_else(|| {
            client_last
                .filter(|l| !l.is_empty())
                .map(|client| AnchorBase {
                    client: client.to_string(),
                    server: server_last.clone(),
                    completed_at: None,
                })
        });
        Ok(SyncPlan {
            datastore,
            mode,
            status,
            resumed,
            base,
            confirmed_until,
            absent_means_deleted,
            unmapped_adds: unmapped > 0,
            server_last,
            server_next,
        })
    }

    /// Starts a planned datastore sync: anchors pending, mappings prepared for the mode, the
    /// datastore active in the session.
    fn begin_planned_sync<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        plan: SyncPlan,
        request: &SyncRequest<'_>,
        server_uri: &str,
        tasks_of_calendar: bool,
        now: Timestamp,
    ) -> Result<()> {
        let device = self.state.device.expect("started");
        let session = self.state.store_session.expect("started");
        let datastore = plan.datastore;
        store.begin_datastore_sync(
            device,
            datastore,
            session,
            request.client_next,
            &plan.server_next,
            now,
        )?;
        // A resumed sync goes on from where it stopped: what was exchanged stays as it is,
        // the LUIDs the phone had sent of a slow sync included.
        let preparation = match &plan.resumed {
            Some(saved) => {
                for luid in &saved.seen_luids {
                    store.record_luid_sent(device, datastore, luid)?;
                }
                None
            }
            None => {
                store.clear_luids_sent(device, datastore)?;
                Some(plan.mode)
            }
        };
        // Items sent but never mapped stay recorded through a slow sync: the phone may hold
        // them under LUIDs we do not know, as versions of ours it never changed, and they
        // are matched as such (see `apply_slow`); what it did not send is forgotten once its
        // items are all in (see `settle_full_syncs`).
        if preparation == Some(SyncMode::RefreshFromServer) {
            store.forget_device_items(device, datastore)?;
        }
        let unmapped_adds = plan.mode.sends_everything() && plan.unmapped_adds;
        tracing::info!(%datastore, requested = ?request.requested, mode = ?plan.mode, phone_uri = request.phone_uri, "datastore sync begins");

        self.state.active.retain(|a| a.datastore != datastore);
        // Listed from its Alert on, so that a datastore without changes is reported too.
        self.progress_of(datastore);
        self.state.active.push(Active {
            datastore,
            phone_uri: request.phone_uri.to_string(),
            server_uri: server_uri.to_string(),
            mode: plan.mode,
            base: plan.base,
            confirmed_until: plan.confirmed_until,
            absent_means_deleted: plan.absent_means_deleted,
            sif_used: None,
            items_in_b64: false,
            tasks_of_calendar,
            unmapped_adds,
        });
        Ok(())
    }

    /// The suspended sync of a datastore this Alert 225 resumes: the device's latest session
    /// was suspended with this datastore and the same phone Next anchor.
    fn resumable<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        datastore: Datastore,
        client_next: &str,
    ) -> Result<Option<ResumeDatastore>> {
        if self.state.suspension.resume.is_none() {
            let mut saved = Vec::new();
            if let Some(session) = self.state.suspension.suspended {
                if let Some(bytes) = store.take_resume_state(session)? {
                    match std::str::from_utf8(&bytes)
                        .ok()
                        .and_then(|text| toml::from_str::<ResumeState>(text).ok())
                    {
                        Some(state) => saved = state.datastores,
                        None => tracing::warn!("unreadable resume state"),
                    }
                }
            }
            self.state.suspension.resume = Some(saved);
        }
        let saved = self.state.suspension.resume.as_ref().expect("just loaded");
        Ok(saved
            .iter()
            .find(|d| d.datastore == datastore.as_str() && d.client_next == client_next)
            .cloned())
    }

    /// The phone asked to suspend: what a resume needs is stored, the session ends
    /// suspended, the anchors stay.
    pub(super) fn suspend<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        now: Timestamp,
    ) -> Result<()> {
        let device = self.state.device.expect("started");
        let mut datastores = Vec::new();
        for active in &self.state.active {
            let state =
                store.set_up_device_datastore(device, active.datastore, &active.phone_uri)?;
            // The LUIDs a slow sync has seen stay in the store for the resume.
            datastores.push(ResumeDatastore {
                datastore: active.datastore.as_str().to_string(),
                mode: format!("{:?}", active.mode),
                client_next: state.pending_client_anchor.unwrap_or_default(),
                seen_luids: Vec::new(),
            });
        }
        let text = toml::to_string(&ResumeState { datastores })
            .map_err(|e| EngineError::Store(StorageError::invalid(e.to_string())))?;
        if let (Some(session), false) = (self.state.store_session, self.state.session_ended) {
            store.suspend_session(session, text.as_bytes(), now)?;
            self.state.session_ended = true;
        }
        self.state.outbox.commands.clear();
        self.state.outbox.clear_changes();
        self.state.outbox.package_complete = true;
        self.state.phase = Phase::Finished;
        tracing::info!("session suspended");
        Ok(())
    }

    /// The session completed: anchors move for every datastore synced.
    pub(super) fn complete<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        now: Timestamp,
    ) -> Result<()> {
        let device = self.state.device.expect("started");
        let session = self.state.store_session.expect("started");
        for active in &self.state.active {
            store.complete_datastore_sync(
                device,
                active.datastore,
                session,
                active.base.as_ref(),
                now,
            )?;
            store.clear_luids_sent(device, active.datastore)?;
        }
        if !self.state.outbox.awaiting.is_empty() {
            tracing::warn!(
                unanswered = self.state.outbox.awaiting.len(),
                "changes without a status; they are sent again next time"
            );
        }
        tracing::info!(datastores = self.state.active.len(), "session completed");
        self.state.completed = true;
        self.end(store, SessionResult::Completed, None, now)
    }
}

/// The anchors a phone's Last names, if we gave them to it: those of the last completed sync,
/// or those it started that sync from (it never saw the end). A two-way sync from either is
/// exact: the store knows item by item what the phone holds, and the phone sends again what
/// it sent since its Last.
fn known_base(state: &DeviceDatastore, client_last: Option<&str>) -> Option<AnchorBase> {
    let last = client_last.filter(|l| !l.is_empty())?;
    if state.client_last_anchor.as_deref() == Some(last) {
        return Some(AnchorBase {
            client: last.to_string(),
            server: state.server_last_anchor.clone(),
            completed_at: state.last_completed_at,
        });
    }
    if state.previous_client_anchor.as_deref() == Some(last) {
        return Some(AnchorBase {
            client: last.to_string(),
            server: state.previous_server_anchor.clone(),
            completed_at: state.previous_completed_at,
        });
    }
    None
}
