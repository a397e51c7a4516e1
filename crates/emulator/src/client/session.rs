//! The session's course: package 1 (Maps owed, DevInf, an Alert per datastore), the step
//! after each server message, package 3's changes, and how a session ends (completed, or cut
//! with everything the phone did so far kept).

use std::collections::{BTreeMap, VecDeque};

use super::auth::credentials;
use super::outgoing::map_command;
use super::{
    DatastoreReport, DatastoreSession, EmulatedPhone, Outbound, Outgoing, Phase, Sent, Session,
    SessionReport, Step, SyncMode, SyncRequest,
};
use crate::profile::AnchorStyle;
use crate::store::Change;
use crate::transcript::{Direction, Transcript};
use crate::{EmulatorError, UnixMillis};
use handsync_proto::markup::Version;
use handsync_proto::pim::datetime::DateTime;
use handsync_proto::syncml::{
    self, Alert, AlertCode, Anchor, Command, CompactString, Data, GetPut, Item, MetInf, Results,
    Source, Status, StatusCode, SyncHdr, Target,
};

impl EmulatedPhone {
    /// Starts a session (package 1): Maps owed, our DevInf, an Alert per datastore.
    pub fn start_sync(
        &mut self,
        request: &SyncRequest,
        now: UnixMillis,
    ) -> Result<Outgoing, EmulatorError> {
        if self.session.is_some() {
            return Err(EmulatorError::WrongState("a session is already running"));
        }
        if request.datastores.is_empty() {
            return Err(EmulatorError::WrongState("a sync of no datastore"));
        }
        self.session_counter += 1;
        self.store.anchor_counter += 1;
        let next_anchor = match self.profile.anchor_style {
            AnchorStyle::Counter => self.store.anchor_counter.to_string(),
            AnchorStyle::Timestamp => DateTime::from_timestamp((now.0 / 1000) as i64, true).basic(),
        };
        let mut datastores = Vec::new();
        for (kind, mode) in &request.datastores {
            let spec = self
                .profile
                .datastore(*kind)
                .ok_or(EmulatorError::WrongState(
                    "the profile has no such datastore",
                ))?;
            if datastores
                .iter()
                .any(|d: &DatastoreSession| d.kind == spec.kind)
            {
                continue;
            }
            let last = &self.store.datastore(spec.kind).last_anchor;
            let mode = if *mode == SyncMode::TwoWay && last.is_none() {
                SyncMode::Slow
            } else {
                *mode
            };
            datastores.push(DatastoreSession {
                kind: spec.kind,
                local_uri: spec.local_uri.clone(),
                server_uri: spec.server_uri.clone(),
                requested: mode,
                mode,
                next_anchor: next_anchor.clone(),
                alert_status: None,
                failure: None,
                left_out: Vec::new(),
                acknowledged: Vec::new(),
                sent: 0,
                sent_statuses: Vec::new(),
                added: 0,
                replaced: 0,
                deleted: 0,
                incoming: None,
                new_maps: Vec::new(),
            });
        }
        let mut init = Vec::new();
        if !self.config.forget_maps_after_cut {
            for (index, ds) in datastores.iter().enumerate() {
                let pending = &self.store.datastore(ds.kind).pending_maps;
                if !pending.is_empty() {
                    init.push(Outbound::Command(
                        map_command(ds, pending),
                        Sent::Map {
                            ds: index,
                            entries: pending.clone(),
                            pending: true,
                        },
                    ));
                }
            }
        }
        if self.profile.sends_devinf {
            init.push(Outbound::Command(self.devinf_put(), Sent::Put));
        }
        for (index, ds) in datastores.iter().enumerate() {
            let last = self.store.datastore(ds.kind).last_anchor.clone();
            init.push(Outbound::Command(
                alert_command(
                    ds,
                    if request.server_alerted {
                        ds.mode.server_alerted_code()
                    } else {
                        ds.mode.alert_code()
                    },
                    last,
                    &ds.next_anchor,
                ),
                Sent::Alert(index),
            ));
        }
        let id = request
            .session_id
            .clone()
            .unwrap_or_else(|| self.session_counter.to_string());
        let transcript = self
            .recording
            .then(|| Transcript::new(&self.profile.name, &self.profile.description, &id, now));
        self.session = Some(Session {
            id,
            phase: Phase::Init,
            msg_id: 0,
            datastores,
            init: init.clone(),
            statuses: VecDeque::new(),
            outbox: init.into(),
            sent: BTreeMap::new(),
            server_max_msg_size: None,
            server_max_obj_size: None,
            auth_attempts: 1,
            authenticated: false,
            messages_sent: 0,
            messages_received: 0,
            response_uri: None,
            transcript,
        });
        let outgoing = self.pack(true, false, now);
        if outgoing.is_err() {
            self.end_session(false);
        }
        outgoing
    }

    /// The transport is gone: the session ends where it is. Items applied stay, changes stay
    /// pending, anchors do not move; Maps owed are kept for the next session.
    pub fn abort(&mut self) {
        self.end_session(false);
    }

    /// Takes one server message and says what to send next. An error ends the session as
    /// [`EmulatedPhone::abort`] does.
    pub fn receive(&mut self, bytes: &[u8], now: UnixMillis) -> Result<Step, EmulatorError> {
        if self.session.is_none() {
            return Err(EmulatorError::WrongState(
                "a server message while no session runs",
            ));
        }
        let result = self.receive_inner(bytes, now);
        if result.is_err() {
            self.end_session(false);
        }
        result
    }

    fn receive_inner(&mut self, bytes: &[u8], now: UnixMillis) -> Result<Step, EmulatorError> {
        let decoded = syncml::decode(bytes);
        let session = self.session();
        session.messages_received += 1;
        if let Some(transcript) = session.transcript.as_mut() {
            transcript.record(Direction::Received, now, bytes, decoded.as_ref().ok());
        }
        let message = decoded.map_err(|e| EmulatorError::Decode(e.to_string()))?;
        let header = message
            .header
            .as_ref()
            .ok_or_else(|| EmulatorError::Protocol("the message has no SyncHdr".into()))?;
        self.check_header(header, message.version)?;
        let session = self.session();
        if let Some(meta) = header.meta.as_deref() {
            if let Some(size) = meta.max_msg_size {
                session.server_max_msg_size = Some(size);
            }
            if let Some(size) = meta.max_obj_size {
                session.server_max_obj_size = Some(size);
            }
        }
        if let Some(uri) = &header.resp_uri {
            session.response_uri = Some(uri.to_string());
        }
        if !header.no_resp {
            // TargetRef and SourceRef name the server header's Target (us) and Source.
            session
                .statuses
                .push_back(Status::for_header("", header, StatusCode::Ok));
        }

        // The server's status on our header decides whether the rest counts.
        if let Some(retry) = self.read_header_status(&message, now)? {
            return Ok(Step::Send(retry));
        }
        let mut needs_answer = false;
        for command in &message.body.commands {
            if !matches!(command, Command::Status(_)) {
                needs_answer = true;
            }
            self.handle_command(command, header.msg_id)?;
        }
        self.next_step(message.body.final_, needs_answer, now)
    }

    fn check_header(&self, header: &SyncHdr, version: Version) -> Result<(), EmulatorError> {
        let session = self.session.as_ref().expect("checked by the callers");
        let expected = format!("SyncML/{}", self.profile.version.as_str());
        if !header.ver_proto.eq_ignore_ascii_case(&expected) || version != self.profile.version {
            return Err(EmulatorError::Protocol(format!(
                "the server speaks {} (VerDTD {}), the phone {expected}",
                header.ver_proto,
                version.as_str()
            )));
        }
        if header.session_id != session.id.as_str() {
            return Err(EmulatorError::Protocol(format!(
                "SessionID {:?}, expected {:?}",
                header.session_id.as_str(),
                session.id
            )));
        }
        if header.target.loc_uri != self.profile.device_id.as_str() {
            return Err(EmulatorError::Protocol(format!(
                "the message is for {:?}, this phone is {:?}",
                header.target.loc_uri.as_str(),
                self.profile.device_id
            )));
        }
        Ok(())
    }

    /// Decides what follows a server message.
    fn next_step(
        &mut self,
        final_: bool,
        needs_answer: bool,
        now: UnixMillis,
    ) -> Result<Step, EmulatorError> {
        let phase = self.session().phase;
        match phase {
            Phase::Init | Phase::ServerChanges | Phase::MapStatus if !final_ => {
                // The server's package goes on: statuses and "next message, please".
                Ok(Step::Send(self.pack(false, true, now)?))
            }
            Phase::Init => {
                self.prepare_changes();
                self.session().phase = Phase::Changes;
                Ok(Step::Send(self.pack(true, false, now)?))
            }
            Phase::Changes | Phase::Maps => Ok(Step::Send(self.pack(true, false, now)?)),
            Phase::ServerChanges => {
                let session = self.session();
                for (index, ds) in session.datastores.iter().enumerate() {
                    if !ds.new_maps.is_empty() {
                        session.outbox.push_back(Outbound::Command(
                            map_command(ds, &ds.new_maps),
                            Sent::Map {
                                ds: index,
                                entries: ds.new_maps.clone(),
                                pending: false,
                            },
                        ));
                    }
                }
                session.phase = Phase::Maps;
                if needs_answer || !session.outbox.is_empty() {
                    Ok(Step::Send(self.pack(true, false, now)?))
                } else {
                    Ok(Step::Finished(self.complete()))
                }
            }
            Phase::MapStatus => {
                if needs_answer {
                    // Something after package 6 that wants an answer: answer and wait.
                    self.session().phase = Phase::Maps;
                    return Ok(Step::Send(self.pack(true, false, now)?));
                }
                Ok(Step::Finished(self.complete()))
            }
        }
    }

    /// The session completed: anchors move, acknowledged changes are forgotten.
    fn complete(&mut self) -> SessionReport {
        let session = self.session.as_ref().expect("running");
        for ds in &session.datastores {
            if ds.failure.is_some() {
                continue;
            }
            let kind = ds.kind;
            for luid in &ds.acknowledged {
                self.store.mark_synced(kind, luid);
            }
            if ds.mode.sends_everything() {
                // The server now has everything: deletions before the slow sync are moot.
                let deleted: Vec<String> = self
                    .store
                    .datastore(kind)
                    .changes()
                    .iter()
                    .filter(|(_, c)| **c == Change::Deleted)
                    .map(|(l, _)| l.clone())
                    .collect();
                for luid in deleted {
                    self.store.mark_synced(kind, &luid);
                }
            }
            self.store.datastore_mut(kind).last_anchor = Some(ds.next_anchor.clone());
        }
        self.end_session(true)
    }

    fn end_session(&mut self, completed: bool) -> SessionReport {
        let Some(mut session) = self.session.take() else {
            return SessionReport::default();
        };
        if !completed {
            // An Add that went out may have reached the server: the item is no longer one
            // the server never saw, so deleting it later must be reported.
            let sent_adds = session.sent.values().filter_map(|sent| match sent {
                Sent::Change { ds, luid, .. } => Some((*ds, luid)),
                _ => None,
            });
            let acknowledged = session
                .datastores
                .iter()
                .enumerate()
                .flat_map(|(ds, d)| d.acknowledged.iter().map(move |luid| (ds, luid)));
            for (ds, luid) in sent_adds.chain(acknowledged) {
                let kind = session.datastores[ds].kind;
                self.store.mark_sent(kind, luid);
            }
        }
        for ds in &session.datastores {
            if !ds.new_maps.is_empty() && !self.config.forget_maps_after_cut {
                let store = self.store.datastore_mut(ds.kind);
                for map in &ds.new_maps {
                    if !store.pending_maps.contains(map) {
                        store.pending_maps.push(map.clone());
                    }
                }
            }
        }
        if let Some(mut transcript) = session.transcript.take() {
            transcript.completed = completed;
            self.transcripts.push(transcript);
        }
        let all_ok = completed && session.datastores.iter().all(|d| d.failure.is_none());
        SessionReport {
            session_id: session.id,
            messages_sent: session.messages_sent,
            messages_received: session.messages_received,
            completed: all_ok,
            datastores: session
                .datastores
                .into_iter()
                .map(|ds| DatastoreReport {
                    kind: ds.kind,
                    requested: ds.requested,
                    mode: ds.mode,
                    alert_status: ds.alert_status,
                    sent: ds.sent,
                    sent_statuses: ds.sent_statuses,
                    added: ds.added,
                    replaced: ds.replaced,
                    deleted: ds.deleted,
                    failure: ds.failure,
                    left_out: ds.left_out,
                })
                .collect(),
        }
    }

    fn devinf_item(&self) -> Item {
        Item {
            source: Some(Source::new(self.profile.devinf_uri())),
            data: Some(Data::DevInf(Box::new(self.profile.devinf()))),
            ..Item::default()
        }
    }

    fn devinf_put(&self) -> Command {
        Command::Put(GetPut {
            meta: Some(Box::new(MetInf::with_type(
                self.profile.encoding.devinf_content_type(),
            ))),
            items: vec![self.devinf_item()],
            ..GetPut::default()
        })
    }

    pub(super) fn devinf_results(&self, msg_ref: u32, cmd_ref: Option<CompactString>) -> Command {
        Command::Results(Box::new(Results {
            msg_ref: Some(msg_ref),
            cmd_ref,
            meta: Some(Box::new(MetInf::with_type(
                self.profile.encoding.devinf_content_type(),
            ))),
            items: vec![self.devinf_item()],
            ..Results::default()
        }))
    }

    pub(super) fn header(&self, msg_id: u32, with_cred: bool) -> SyncHdr {
        let session = self.session.as_ref().expect("running");
        let mut source = Source::new(self.profile.device_id.clone());
        let cred = if with_cred {
            self.config.credentials.as_ref().map(|c| {
                source.loc_name = Some(c.user.clone().into());
                Box::new(credentials(c, &self.nonce))
            })
        } else {
            None
        };
        let at_least_1_1 = self.profile.version != Version::V1_0;
        SyncHdr {
            ver_proto: format!("SyncML/{}", self.profile.version.as_str()).into(),
            session_id: session.id.clone().into(),
            msg_id,
            target: Target::new(self.server_uri()),
            source,
            resp_uri: None,
            no_resp: false,
            cred,
            meta: Some(Box::new(MetInf {
                max_msg_size: Some(self.profile.max_msg_size),
                max_obj_size: (at_least_1_1 && self.profile.supports_large_objects)
                    .then_some(self.profile.max_obj_size),
                ..MetInf::default()
            })),
            extensions: Default::default(),
        }
    }
}

fn alert_command(
    ds: &DatastoreSession,
    code: AlertCode,
    last: Option<String>,
    next: &str,
) -> Command {
    Command::Alert(Alert {
        data: Some(code),
        items: vec![Item {
            target: Some(Target::new(ds.server_uri.clone())),
            source: Some(Source::new(ds.local_uri.clone())),
            meta: Some(Box::new(MetInf {
                anchor: Some(Anchor {
                    last: last.map(Into::into),
                    next: next.into(),
                    ..Anchor::default()
                }),
                ..MetInf::default()
            })),
            ..Item::default()
        }],
        ..Alert::default()
    })
}
