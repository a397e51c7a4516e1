//! The server's commands (Alert, Get, Put, Results, Sync and its changes), the statuses of
//! our commands, and the statuses we owe for theirs.

use super::{EmulatedPhone, Outbound, Sent, SyncMode};
use crate::EmulatorError;
use handsync_proto::syncml::{
    Alert, AlertCode, Anchor, Command, Data, Item, MetInf, Status, StatusCode, Sync,
};

impl EmulatedPhone {
    pub(super) fn handle_command(
        &mut self,
        command: &Command,
        msg_ref: u32,
    ) -> Result<(), EmulatorError> {
        let status_for = |code: StatusCode| {
            Status::for_command(
                "",
                msg_ref,
                command.cmd_id().unwrap_or(""),
                command.name(),
                code,
            )
        };
        match command {
            Command::Status(status) => self.handle_status(status),
            Command::Alert(alert) => {
                let code = alert.data.unwrap_or(AlertCode::Other(0));
                let status = self.handle_alert(alert, code);
                if !alert.no_resp {
                    let mut answer = status_for(status);
                    if let Some(item) = alert.items.first() {
                        refs_from_item(&mut answer, item);
                        // The status of a sync Alert echoes the server's Next anchor.
                        if let Some(anchor) = item.meta.as_deref().and_then(|m| m.anchor.as_ref()) {
                            answer.items.push(Item {
                                data: Some(Data::MetInf(Box::new(MetInf {
                                    anchor: Some(Anchor {
                                        last: None,
                                        next: anchor.next.clone(),
                                        ..Anchor::default()
                                    }),
                                    ..MetInf::default()
                                }))),
                                ..Item::default()
                            });
                        }
                    }
                    self.session().statuses.push_back(answer);
                }
                Ok(())
            }
            Command::Get(get) => {
                let wants_devinf = get.items.iter().any(|i| {
                    i.target
                        .as_ref()
                        .is_some_and(|t| t.loc_uri.to_ascii_lowercase().contains("devinf"))
                });
                let code = if wants_devinf {
                    StatusCode::Ok
                } else {
                    StatusCode::NotFound
                };
                if !get.no_resp {
                    let mut answer = status_for(code);
                    if let Some(item) = get.items.first() {
                        refs_from_item(&mut answer, item);
                    }
                    self.session().statuses.push_back(answer);
                }
                if wants_devinf {
                    let results = self.devinf_results(msg_ref, get.cmd_id.clone());
                    self.session()
                        .outbox
                        .push_front(Outbound::Command(results, Sent::Results));
                }
                Ok(())
            }
            Command::Put(put) => {
                if !put.no_resp {
                    self.session()
                        .statuses
                        .push_back(status_for(StatusCode::Ok));
                }
                Ok(())
            }
            Command::Results(_) => {
                self.session()
                    .statuses
                    .push_back(status_for(StatusCode::Ok));
                Ok(())
            }
            Command::Sync(sync) => self.handle_sync(sync, msg_ref),
            Command::Add(_) | Command::Replace(_) | Command::Delete(_) => {
                // Data commands belong in a Sync.
                self.session()
                    .statuses
                    .push_back(status_for(StatusCode::CommandNotAllowed));
                Ok(())
            }
            other => {
                if !other.no_resp() {
                    self.session()
                        .statuses
                        .push_back(status_for(StatusCode::OptionalFeatureNotSupported));
                }
                Ok(())
            }
        }
    }

    fn handle_alert(&mut self, alert: &Alert, code: AlertCode) -> StatusCode {
        let session = self.session();
        match code {
            AlertCode::NextMessage => return StatusCode::Ok,
            AlertCode::NoEndOfData => {
                for ds in &mut session.datastores {
                    ds.incoming = None;
                }
                return StatusCode::Ok;
            }
            _ => {}
        }
        let Some(mode) = SyncMode::from_alert(code) else {
            return StatusCode::OptionalFeatureNotSupported;
        };
        let Some(item) = alert.items.first() else {
            return StatusCode::IncompleteCommand;
        };
        let names = [
            item.target.as_ref().map(|t| t.loc_uri.as_str()),
            item.source.as_ref().map(|s| s.loc_uri.as_str()),
        ];
        let found = session.datastores.iter_mut().find(|ds| {
            names
                .iter()
                .flatten()
                .any(|name| same_uri(name, &ds.local_uri) || same_uri(name, &ds.server_uri))
        });
        match found {
            Some(ds) => {
                if ds.failure.is_none() {
                    ds.mode = mode;
                }
                StatusCode::Ok
            }
            None => StatusCode::NotFound,
        }
    }

    fn handle_status(&mut self, status: &Status) -> Result<(), EmulatorError> {
        let session = self.session.as_mut().expect("running");
        let key = (status.msg_ref, status.cmd_ref.to_string());
        let Some(sent) = session.sent.get(&key).cloned() else {
            // The header's status (read first) or one for a command we do not track.
            return Ok(());
        };
        let code = status.data;
        match sent {
            Sent::Alert(index) => {
                let ds = &mut session.datastores[index];
                ds.alert_status = Some(code);
                if code == StatusCode::RefreshRequired {
                    ds.mode = SyncMode::Slow;
                } else if !code.is_success() {
                    ds.failure = Some(format!("the server refused the Alert: {code}"));
                }
            }
            Sent::Sync(index) => {
                if code.is_error() {
                    session.datastores[index].failure =
                        Some(format!("the server refused the Sync: {code}"));
                }
            }
            Sent::Change {
                ds,
                luid,
                last_chunk,
                ..
            } => {
                let datastore = &mut session.datastores[ds];
                if code == StatusCode::ChunkedItemAccepted && !last_chunk {
                    return Ok(());
                }
                datastore.sent_statuses.push(code);
                // 419: the server kept its own version (and sends it); the change is settled.
                let settled = code.is_success()
                    || code == StatusCode::ItemNotDeleted
                    || code == StatusCode::ConflictResolvedWithServerData;
                if settled {
                    datastore.acknowledged.push(luid);
                }
            }
            Sent::Map {
                ds,
                entries,
                pending,
            } => {
                if code.is_success() {
                    let kind = session.datastores[ds].kind;
                    if pending {
                        let store = self.store.datastore_mut(kind);
                        store.pending_maps.retain(|m| !entries.contains(m));
                    } else {
                        session.datastores[ds]
                            .new_maps
                            .retain(|m| !entries.contains(m));
                    }
                }
            }
            Sent::Put | Sent::Results | Sent::NextMessage => {}
        }
        Ok(())
    }

    fn handle_sync(&mut self, sync: &Sync, msg_ref: u32) -> Result<(), EmulatorError> {
        let target = sync
            .target
            .as_ref()
            .map(|t| t.loc_uri.as_str())
            .unwrap_or("");
        let source = sync
            .source
            .as_ref()
            .map(|s| s.loc_uri.as_str())
            .unwrap_or("");
        let session = self.session();
        let index = session.datastores.iter().position(|ds| {
            [target, source]
                .iter()
                .any(|name| same_uri(name, &ds.local_uri) || same_uri(name, &ds.server_uri))
        });
        let status_code = match index {
            Some(i) if session.datastores[i].failure.is_none() => StatusCode::Ok,
            _ => StatusCode::NotFound,
        };
        if !sync.no_resp {
            let mut status = Status::for_command(
                "",
                msg_ref,
                sync.cmd_id.as_deref().unwrap_or(""),
                "Sync",
                status_code,
            );
            status.target_refs.push(target.into());
            status.source_refs.push(source.into());
            session.statuses.push_back(status);
        }
        for command in &sync.commands {
            let applies_to = index.filter(|_| status_code == StatusCode::Ok);
            match applies_to {
                Some(i) => self.apply_server_change(i, command, msg_ref)?,
                None => {
                    if !command.no_resp() {
                        self.session().statuses.push_back(Status::for_command(
                            "",
                            msg_ref,
                            command.cmd_id().unwrap_or(""),
                            command.name(),
                            StatusCode::NotFound,
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Applies one Add/Replace/Delete of the server to the datastore `index`; one status per
    /// item.
    fn apply_server_change(
        &mut self,
        index: usize,
        command: &Command,
        msg_ref: u32,
    ) -> Result<(), EmulatorError> {
        let (items, command_meta) = match command {
            Command::Add(c) | Command::Replace(c) => (&c.items, c.meta.as_deref()),
            Command::Delete(d) => (&d.items, d.meta.as_deref()),
            other => {
                if !other.no_resp() {
                    let code = match other {
                        Command::Atomic(_)
                        | Command::Sequence(_)
                        | Command::Copy(_)
                        | Command::Move(_) => StatusCode::OptionalFeatureNotSupported,
                        _ => StatusCode::CommandNotAllowed,
                    };
                    self.session().statuses.push_back(Status::for_command(
                        "",
                        msg_ref,
                        other.cmd_id().unwrap_or(""),
                        other.name(),
                        code,
                    ));
                }
                return Ok(());
            }
        };
        if items.is_empty() {
            self.session().statuses.push_back(Status::for_command(
                "",
                msg_ref,
                command.cmd_id().unwrap_or(""),
                command.name(),
                StatusCode::IncompleteCommand,
            ));
            return Ok(());
        }
        for item in items {
            let code = self.apply_item(index, command, item, command_meta);
            if !command.no_resp() {
                let mut status = Status::for_command(
                    "",
                    msg_ref,
                    command.cmd_id().unwrap_or(""),
                    command.name(),
                    code,
                );
                refs_from_item(&mut status, item);
                self.session().statuses.push_back(status);
            }
        }
        Ok(())
    }
}

fn same_uri(a: &str, b: &str) -> bool {
    let clean = |s: &str| s.trim().trim_start_matches("./").to_ascii_lowercase();
    !a.trim().is_empty() && clean(a) == clean(b)
}

/// A status names the item it answers: its Target as TargetRef, its Source as SourceRef.
fn refs_from_item(status: &mut Status, item: &Item) {
    if let Some(target) = &item.target {
        status.target_refs.push(target.loc_uri.clone());
    }
    if let Some(source) = &item.source {
        status.source_refs.push(source.loc_uri.clone());
    }
}
