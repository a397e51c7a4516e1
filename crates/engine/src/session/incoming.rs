//! The phone's Sync: its commands dispatched to the datastore they name, Atomic, one status
//! per distinct item outcome, and the items we refuse kept with their bytes.

use crate::content;
use crate::model::{meta, text};
use crate::storage::SyncStore;
use crate::storage::{Datastore, NewRejectedItem, Timestamp};
use handsync_proto::syncml::{Command, Container, Item, StatusCode, Sync};

use super::{Result, Session};

/// Where an item the phone sent came from: what the store keeps beside its bytes when it is
/// refused.
#[derive(Debug, Clone)]
pub(super) struct ItemOrigin {
    /// Our datastore; `None` when the phone's name for it matched none of ours.
    pub(super) datastore: Option<Datastore>,
    /// The phone's name for its datastore.
    pub(super) device_datastore: String,
    /// The command that carried it (`Add`, `Replace`).
    pub(super) command: &'static str,
    pub(super) luid: Option<String>,
}

/// An item the phone sent that we refused, to be kept in the store with its bytes.
#[derive(Debug, Clone)]
pub(super) struct Rejection {
    origin: ItemOrigin,
    content_type: String,
    raw: Vec<u8>,
    status: u16,
    reason: String,
}

/// What became of one item of an Add, Replace or Delete, and the references naming it.
pub(super) struct ItemOutcome {
    code: StatusCode,
    source_ref: Option<String>,
    target_ref: Option<String>,
}

impl ItemOutcome {
    pub(super) fn of(item: &Item, code: StatusCode) -> ItemOutcome {
        ItemOutcome {
            code,
            source_ref: item.source.as_ref().map(|s| s.loc_uri.to_string()),
            target_ref: item.target.as_ref().map(|t| t.loc_uri.to_string()),
        }
    }
}

/// The LUID an item of the phone names: its Source, else its Target.
pub(super) fn item_luid(item: &Item) -> Option<String> {
    item.source
        .as_ref()
        .map(|s| s.loc_uri.to_string())
        .or_else(|| item.target.as_ref().map(|t| t.loc_uri.to_string()))
        .filter(|l| !l.is_empty())
}

impl Session {
    /// The statuses of a command with several items: one per distinct outcome, in the order
    /// the outcomes first appear, each naming the items it covers by their Source and Target
    /// (SyncML allows several SourceRef/TargetRef in one Status). A command without items
    /// gets 400.
    fn push_item_statuses(&mut self, command: &Command, outcomes: &[ItemOutcome], no_resp: bool) {
        if no_resp || command.no_resp() {
            return;
        }
        if outcomes.is_empty() {
            self.push_status(command, StatusCode::BadRequest, no_resp);
            return;
        }
        let mut codes: Vec<StatusCode> = Vec::new();
        for outcome in outcomes {
            if !codes.contains(&outcome.code) {
                codes.push(outcome.code);
            }
        }
        for code in codes {
            let mut status = self.status_for(command, code);
            for outcome in outcomes.iter().filter(|o| o.code == code) {
                status
                    .source_refs
                    .extend(outcome.source_ref.clone().map(Into::into));
                status
                    .target_refs
                    .extend(outcome.target_ref.clone().map(Into::into));
            }
            self.state.outbox.statuses.push_back(status);
        }
    }

    /// Notes an item the phone sent that we refuse; it is kept in the store (with its bytes)
    /// once the message is handled. Returns `code`, the status the phone gets for it.
    pub(super) fn refuse(
        &mut self,
        origin: &ItemOrigin,
        content_type: &str,
        raw: &[u8],
        code: StatusCode,
        reason: String,
    ) -> StatusCode {
        tracing::warn!(
            datastore = origin.device_datastore,
            command = origin.command,
            luid = origin.luid,
            content_type,
            status = code.code(),
            reason,
            "item refused; kept with its bytes"
        );
        self.state.rejected.push(Rejection {
            origin: origin.clone(),
            content_type: content_type.to_string(),
            raw: raw.to_vec(),
            status: code.code(),
            reason,
        });
        code
    }

    /// Refuses every item with data of an Add or Replace not applied at all (the whole
    /// command got `code`).
    pub(super) fn refuse_command_items(
        &mut self,
        command: &Command,
        datastore: Option<Datastore>,
        device_datastore: &str,
        code: StatusCode,
        reason: &str,
    ) {
        let (Command::Add(c) | Command::Replace(c)) = command else {
            return;
        };
        let command_type = meta(&c.meta).and_then(|m| text(&m.type_));
        for item in &c.items {
            let Some(bytes) = item.data.as_ref().and_then(|d| d.as_bytes()) else {
                continue;
            };
            let content_type = meta(&item.meta)
                .and_then(|m| text(&m.type_))
                .or(command_type)
                .or(datastore.map(content::default_content_type))
                .unwrap_or("application/octet-stream")
                .to_string();
            let origin = ItemOrigin {
                datastore,
                device_datastore: device_datastore.to_string(),
                command: command.name(),
                luid: item_luid(item),
            };
            self.refuse(&origin, &content_type, bytes, code, reason.to_string());
        }
    }

    pub(super) fn phone_uri_of(&self, datastore: Datastore) -> String {
        self.state
            .active
            .iter()
            .find(|a| a.datastore == datastore)
            .map(|a| a.phone_uri.clone())
            .unwrap_or_default()
    }

    /// Writes the items refused in this message to the store.
    pub(super) fn keep_rejected<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        now: Timestamp,
    ) -> Result<()> {
        let rejected = std::mem::take(&mut self.state.rejected);
        let Some(device) = self.state.device else {
            return Ok(());
        };
        for rejection in &rejected {
            store.record_rejected_item(
                &NewRejectedItem {
                    device,
                    session: self.state.store_session,
                    datastore: rejection.origin.datastore,
                    device_datastore: &rejection.origin.device_datastore,
                    luid: rejection.origin.luid.as_deref(),
                    command: rejection.origin.command,
                    content_type: &rejection.content_type,
                    raw: &rejection.raw,
                    status: rejection.status,
                    reason: &rejection.reason,
                },
                now,
            )?;
        }
        Ok(())
    }

    pub(super) fn handle_sync<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        command: &Command,
        sync: &Sync,
        no_resp: bool,
        now: Timestamp,
    ) -> Result<()> {
        let target = sync
            .target
            .as_ref()
            .map(|t| t.loc_uri.to_string())
            .unwrap_or_default();
        let source = sync
            .source
            .as_ref()
            .map(|s| s.loc_uri.to_string())
            .unwrap_or_default();
        let index = self
            .state
            .active
            .iter()
            .position(|a| a.server_uri == target)
            .or_else(|| {
                let datastore = self
                    .config
                    .datastore_for(&target)
                    .or_else(|| self.config.datastore_for(&source))?;
                self.state
                    .active
                    .iter()
                    .position(|a| a.datastore == datastore)
            });
        let mut status = self.status_for(command, StatusCode::Ok);
        status.target_refs.push(target.clone().into());
        status.source_refs.push(source.clone().into());
        let Some(index) = index else {
            tracing::warn!(target, "Sync for a datastore not alerted in this session");
            status.data = StatusCode::NotFound;
            if !no_resp && !sync.no_resp {
                self.state.outbox.statuses.push_back(status);
            }
            for inner in &sync.commands {
                self.refuse_command_items(
                    inner,
                    self.config
                        .datastore_for(&target)
                        .or_else(|| self.config.datastore_for(&source)),
                    &source,
                    StatusCode::NotFound,
                    "a Sync for a datastore the phone did not alert in this session",
                );
                self.push_status(inner, StatusCode::NotFound, no_resp);
            }
            return Ok(());
        };
        if let Some(count) = sync.number_of_changes {
            let datastore = self.state.active[index].datastore;
            tracing::info!(%datastore, count, "phone announces its changes");
            // Each package's Sync announces what it holds; one session has one such package.
            self.progress_of(datastore).from_phone_announced = Some(u64::from(count));
        }
        if !no_resp && !sync.no_resp {
            self.state.outbox.statuses.push_back(status);
        }
        for inner in &sync.commands {
            self.handle_sync_command(store, index, inner, no_resp, now)?;
        }
        Ok(())
    }

    fn handle_sync_command<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        index: usize,
        command: &Command,
        no_resp: bool,
        now: Timestamp,
    ) -> Result<()> {
        let mode = self.state.active[index].mode;
        match command {
            Command::Add(c) | Command::Replace(c) => {
                if !mode.client_sends() {
                    let active = &self.state.active[index];
                    let (datastore, phone_uri) = (active.datastore, active.phone_uri.clone());
                    self.refuse_command_items(
                        command,
                        Some(datastore),
                        &phone_uri,
                        StatusCode::CommandNotAllowed,
                        "the sync mode takes no changes from the phone",
                    );
                    self.push_status(command, StatusCode::CommandNotAllowed, no_resp);
                    return Ok(());
                }
                let is_add = matches!(command, Command::Add(_));
                // Each item has its own outcome: one bad item does not cost the others.
                let mut outcomes = Vec::with_capacity(c.items.len());
                for item in &c.items {
                    self.count_from_phone(index, item);
                    let format = meta(&item.meta)
                        .and_then(|m| text(&m.format))
                        .or_else(|| meta(&c.meta).and_then(|m| text(&m.format)));
                    let luid = item_luid(item);
                    let index =
                        self.route_item(store, index, luid.as_deref(), Some(item), format)?;
                    let code = self.apply_item(store, index, c, item, is_add, now)?;
                    outcomes.push(ItemOutcome::of(item, code));
                }
                self.push_item_statuses(command, &outcomes, no_resp);
            }
            Command::Delete(d) => {
                if !mode.client_sends() {
                    self.push_status(command, StatusCode::CommandNotAllowed, no_resp);
                    return Ok(());
                }
                for item in &d.items {
                    self.count_from_phone(index, item);
                }
                let outcomes = self.apply_delete(store, index, d, now)?;
                self.push_item_statuses(command, &outcomes, no_resp);
            }
            Command::Sequence(c) => {
                self.push_status(command, StatusCode::Ok, no_resp);
                for inner in &c.commands {
                    self.handle_sync_command(store, index, inner, no_resp, now)?;
                }
            }
            Command::Atomic(c) => self.handle_atomic(store, index, command, c, no_resp, now)?,
            Command::Copy(_) | Command::Move(_) => {
                // Hierarchies and server-side copies are not something these phones do.
                self.push_status(command, StatusCode::OptionalFeatureNotSupported, no_resp);
            }
            Command::Status(status) => self.handle_status(store, status)?,
            other => {
                tracing::warn!(command = other.name(), "command not allowed inside Sync");
                self.push_status(other, StatusCode::CommandNotAllowed, no_resp);
            }
        }
        Ok(())
    }

    /// Counts an item of the phone for [`Session::progress`]: its bytes as they come, the
    /// item itself with its last chunk.
    fn count_from_phone(&mut self, index: usize, item: &Item) {
        let datastore = self.state.active[index].datastore;
        let bytes = item
            .data
            .as_ref()
            .and_then(|d| d.as_bytes())
            .map_or(0, <[u8]>::len);
        let progress = self.progress_of(datastore);
        progress.from_phone_bytes += bytes as u64;
        if !item.more_data {
            progress.from_phone += 1;
        }
    }

    fn handle_atomic<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        index: usize,
        command: &Command,
        container: &Container,
        no_resp: bool,
        now: Timestamp,
    ) -> Result<()> {
        // All or nothing: a savepoint in the message's transaction undoes the commands of a
        // failed Atomic (the LUIDs a slow sync saw in it too), and what the session learnt
        // from them is put back.
        let before = self.state.outbox.statuses.len();
        let partial_before = self.state.partial.clone();
        store.savepoint("engine_atomic")?;
        if !no_resp && !container.no_resp {
            self.state
                .outbox
                .statuses
                .push_back(self.status_for(command, StatusCode::Ok));
        }
        let first_inner = self.state.outbox.statuses.len();
        for inner in &container.commands {
            if matches!(inner, Command::Atomic(_)) {
                // Atomic does not nest (SyncML Representation Protocol).
                self.push_status(inner, StatusCode::BadRequest, no_resp);
                continue;
            }
            self.handle_sync_command(store, index, inner, no_resp, now)?;
        }
        let failed = self
            .state
            .outbox
            .statuses
            .iter()
            .skip(first_inner)
            .any(|s| s.data.is_error());
        if !failed {
            store.release_savepoint("engine_atomic")?;
            return Ok(());
        }
        store.rollback_to_savepoint("engine_atomic")?;
        tracing::info!("Atomic failed; its commands were rolled back");
        self.state.partial = partial_before;
        for status in self.state.outbox.statuses.iter_mut().skip(first_inner) {
            if status.data.is_success() {
                status.data = StatusCode::AtomicRollBackOk;
            }
        }
        if first_inner > before {
            self.state.outbox.statuses[before].data = StatusCode::AtomicFailed;
        }
        Ok(())
    }
}
