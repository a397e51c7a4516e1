//! Our changes: what we queue for the phone, how they fill our Sync commands (large objects
//! in chunks), and the Statuses and Maps that come back for them.

use crate::content;
use crate::model::{self, some_meta};
use crate::storage::SyncStore;
use crate::storage::{
    ChangeKind, Datastore, Guid, Revision, StorageErrorKind, Timestamp, UnseenChange,
};
use base64::Engine as _;
use handsync_proto::markup::Version;
use handsync_proto::pim::phone::PhoneFormat;
use handsync_proto::pim::sif::SifKind;
use handsync_proto::syncml::{
    Command, Data, Delete, ItemCommand, Map, Message, MetInf, Source, Status, StatusCode, Sync,
    SyncBody, Target,
};

use super::reply::{last_sync, Outbox};
use super::{Result, Session};
use handsync_proto::ds::SizeBudget;

/// One of our changes waiting to be sent.
#[derive(Debug, Clone)]
pub(super) enum Outgoing {
    /// Opens our Sync for a datastore (sent even when no change follows).
    Open(Datastore),
    Change(PendingChange),
}

#[derive(Debug, Clone)]
pub(super) struct PendingChange {
    datastore: Datastore,
    kind: ChangeKind,
    guid: Guid,
    revision: Revision,
    luid: Option<String>,
    content_type: String,
    /// Meta Format: `b64` when `data` is the item in base64 (SIF for clients that send
    /// theirs so).
    format: Option<&'static str>,
    /// Shared, not copied, by the session copies kept for rollback (a slow sync may queue
    /// thousands of items, and the session is copied before every message).
    data: std::sync::Arc<[u8]>,
    /// Bytes already sent in chunks (large objects).
    sent_bytes: usize,
}

impl Outgoing {
    /// The datastore of a change (`None` for the opening of a Sync).
    pub(super) fn change_datastore(&self) -> Option<Datastore> {
        match self {
            Outgoing::Open(_) => None,
            Outgoing::Change(change) => Some(change.datastore),
        }
    }
}

impl PendingChange {
    /// The least a message gives it: its data still to send and a command around it.
    pub(super) fn least_bytes(&self) -> usize {
        self.data.len() - self.sent_bytes + LEAST_COMMAND_BYTES
    }
}

/// Where our changes for one datastore are listed from, page by page (see
/// [`Session::read_changes`]): what the session keeps of them until it reads them.
#[derive(Debug, Clone)]
pub(super) struct ChangeSource {
    pub(super) datastore: Datastore,
    /// Our Sync for the phone's datastore opens before its changes (not for the Tasks half
    /// of a calendar holding to-dos, whose changes go in the calendar's Sync).
    opens_sync: bool,
    /// The last change listed; the next page starts after it.
    after: Option<UnseenChange>,
    /// How many changes it was counted to give and has not given yet (NumberOfChanges).
    pub(super) remaining: u64,
}

impl ChangeSource {
    fn take_one(&mut self) {
        self.remaining = self.remaining.saturating_sub(1);
    }
}

/// How many changes a page lists: a few messages' worth of small items.
const CHANGES_PER_PAGE: usize = 64;

/// The fewest bytes a change's command adds to a message beside its data (a Delete's
/// elements take more): what keeps [`Session::read_changes`] from reading too few.
const LEAST_COMMAND_BYTES: usize = 8;

/// How our items are written for one of the phone's datastores.
struct OutgoingFormat {
    /// The longest GUID the phone's datastore takes (DevInf MaxGUIDSize).
    max_guid_size: Option<u32>,
    phone: PhoneFormat,
    /// The content type to send, when the phone prefers one.
    preferred: Option<String>,
    /// SIF goes in base64.
    sif_in_b64: bool,
    /// The phone sent items in base64 this session: ours go so too.
    phone_sent_b64: bool,
}

/// A change we sent, waiting for its Status.
#[derive(Debug, Clone)]
pub(super) struct Sent {
    datastore: Datastore,
    kind: ChangeKind,
    guid: Guid,
    revision: Revision,
}

impl Session {
    pub(super) fn handle_status<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        status: &Status,
    ) -> Result<()> {
        let key = (status.msg_ref, status.cmd_ref.to_string());
        let Some(sent) = self.state.outbox.awaiting.remove(&key) else {
            if status.data.is_error() {
                tracing::warn!(cmd = %status.cmd, code = %status.data, "the phone refused a command");
            }
            return Ok(());
        };
        let delivered = status.data.is_success()
            || (sent.kind == ChangeKind::Delete && status.data == StatusCode::ItemNotDeleted);
        if delivered {
            store.record_delivered(
                self.state.device.expect("started"),
                sent.datastore,
                self.state.store_session,
                sent.kind,
                sent.guid,
                sent.revision,
            )?;
        } else {
            tracing::warn!(guid = %sent.guid, kind = %sent.kind, code = %status.data, "the phone refused our change; it is sent again next time");
            if sent.kind == ChangeKind::Add {
                // It does not hold it after all.
                store.forget_device_item(
                    self.state.device.expect("started"),
                    sent.datastore,
                    sent.guid,
                )?;
            }
        }
        Ok(())
    }

    /// The Adds our answer carries are recorded as sent (in the transaction that commits
    /// with the answer): if the link breaks before their Status, the phone may hold them.
    pub(super) fn record_adds_sent<S: SyncStore + ?Sized>(
        &self,
        store: &S,
        before: &Outbox,
    ) -> Result<()> {
        let Some(device) = self.state.device else {
            return Ok(());
        };
        for (key, sent) in &self.state.outbox.awaiting {
            if sent.kind == ChangeKind::Add && !before.awaiting.contains_key(key) {
                store.record_add_sent(device, sent.datastore, sent.guid)?;
            }
        }
        Ok(())
    }

    pub(super) fn handle_map<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        map: &Map,
        now: Timestamp,
    ) -> Result<StatusCode> {
        let target = map.target.loc_uri.to_string();
        let source = map.source.loc_uri.to_string();
        let Some(datastore) = self
            .config
            .datastore_for(&target)
            .or_else(|| self.config.datastore_for(&source))
        else {
            tracing::warn!(target, source, "Map for an unknown datastore");
            return Ok(StatusCode::NotFound);
        };
        let device = self.state.device.expect("started");
        if !self.state.active.iter().any(|a| a.datastore == datastore) {
            store.set_up_device_datastore(device, datastore, &source)?;
        }
        let mut code = StatusCode::Ok;
        for map_item in &map.map_items {
            let luid = map_item.source.loc_uri.to_string();
            let guid = match map_item.target.loc_uri.parse::<Guid>() {
                Ok(guid) => guid,
                Err(_) => {
                    tracing::warn!(guid = %map_item.target.loc_uri, "Map names no GUID of ours");
                    code = StatusCode::NotFound;
                    continue;
                }
            };
            // A to-do we sent to a calendar that holds to-dos is mapped in Tasks.
            let item_datastore = self.map_datastore(store, datastore, guid)?;
            if item_datastore != datastore
                && !self
                    .state
                    .active
                    .iter()
                    .any(|a| a.datastore == item_datastore)
            {
                store.set_up_device_datastore(device, item_datastore, &source)?;
            }
            match store.map_device_item(device, item_datastore, guid, &luid, None, now) {
                Ok(()) => {}
                Err(e) if e.kind() != StorageErrorKind::Failed => {
                    tracing::warn!(error = %e, "Map item refused");
                    code = StatusCode::NotFound;
                }
                Err(e) => return Err(e.into()),
            }
        }
        tracing::debug!(%datastore, items = map.map_items.len(), "Map applied");
        Ok(code)
    }

    /// Once the phone's package 3 ended: where our changes for every datastore we send to
    /// will be listed from, and how many there are. [`Self::read_changes`] lists and reads
    /// them a page at a time as our messages need them, so a sync sending 50,000 items holds
    /// a message's worth at a time.
    pub(super) fn queue_changes<S: SyncStore + ?Sized>(&mut self, store: &S) -> Result<()> {
        let device = self.state.device.expect("started");
        for index in 0..self.state.active.len() {
            let active = &self.state.active[index];
            if !active.mode.server_sends() {
                continue;
            }
            let datastore = active.datastore;
            let source = ChangeSource {
                datastore,
                // The Tasks half of a calendar holding to-dos goes in the calendar's Sync.
                opens_sync: !active.tasks_of_calendar,
                after: None,
                remaining: store.count_unseen_changes(device, datastore)?,
            };
            self.progress_of(datastore).to_phone_queued += source.remaining;
            self.state.outbox.sources.push(source);
        }
        Ok(())
    }

    /// Reads listed changes into the queue, in the phone's format, until it holds more than
    /// one message of the phone's can carry (each change costs at least its data), or all.
    pub(super) fn read_changes<S: SyncStore + ?Sized>(&mut self, store: &S) -> Result<()> {
        let Some(device) = self.state.device else {
            return Ok(());
        };
        let limit = self.limit();
        let mut least = self.state.outbox.least_bytes_of_changes();
        let mut formats: Vec<(Datastore, OutgoingFormat)> = Vec::new();
        while least <= limit {
            let Some(source) = self.state.outbox.sources.first().cloned() else {
                break;
            };
            if source.opens_sync {
                self.state
                    .outbox
                    .push_change_back(Outgoing::Open(source.datastore));
                self.state.outbox.sources[0].opens_sync = false;
                least += LEAST_COMMAND_BYTES;
                continue;
            }
            let page = store.unseen_changes_after(
                device,
                source.datastore,
                source.after,
                CHANGES_PER_PAGE,
            )?;
            let last_page = page.len() < CHANGES_PER_PAGE;
            let mut stopped = false;
            for unseen in page {
                if least > limit {
                    stopped = true;
                    break;
                }
                self.state.outbox.sources[0].after = Some(unseen);
                // Replaces and Deletes the phone cannot be told of yet were never counted.
                let counted = unseen.kind == ChangeKind::Add || unseen.mapped;
                let change = if counted {
                    self.read_change(store, source.datastore, unseen, &mut formats)?
                } else {
                    tracing::debug!(guid = %unseen.guid, "change waits for a Map");
                    None
                };
                match change {
                    Some(change) => {
                        least += change.least_bytes();
                        self.state.outbox.sources[0].take_one();
                        self.state.outbox.push_change_back(Outgoing::Change(change));
                    }
                    None if counted => {
                        self.state.outbox.sources[0].take_one();
                        self.not_to_send(source.datastore, 1);
                    }
                    None => {}
                }
            }
            if last_page && !stopped {
                let done = self.state.outbox.sources.remove(0);
                // Counted changes no longer there (sent by then, or gone).
                self.not_to_send(done.datastore, done.remaining);
            }
        }
        Ok(())
    }

    /// Changes counted as queued that will not go after all.
    fn not_to_send(&mut self, datastore: Datastore, count: u64) {
        let progress = self.progress_of(datastore);
        progress.to_phone_queued = progress.to_phone_queued.saturating_sub(count);
    }

    /// One listed change as it stands now, in the phone's format; `None` when there is
    /// nothing to send for it any more, or it cannot go.
    fn read_change<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        datastore: Datastore,
        unseen: UnseenChange,
        formats: &mut Vec<(Datastore, OutgoingFormat)>,
    ) -> Result<Option<PendingChange>> {
        let device = self.state.device.expect("started");
        let guid_text = unseen.guid.to_string();
        let format = match formats.iter().position(|(d, _)| *d == datastore) {
            Some(index) => &formats[index].1,
            None => {
                let format = self.outgoing_format(datastore);
                formats.push((datastore, format));
                &formats.last().expect("just pushed").1
            }
        };
        if format
            .max_guid_size
            .is_some_and(|max| guid_text.len() > max as usize)
        {
            tracing::warn!(
                guid = guid_text,
                max_guid_size = ?format.max_guid_size,
                "GUID longer than the phone takes; not sent"
            );
            return Ok(None);
        }
        let Some(change) = store.change_for_device(device, datastore, unseen.guid)? else {
            tracing::debug!(guid = guid_text, "nothing to send for it any more");
            return Ok(None);
        };
        if change.kind != ChangeKind::Add && change.luid.is_none() {
            tracing::debug!(guid = guid_text, "change waits for a Map");
            return Ok(None);
        }
        let (content_type, mut data) = if change.kind == ChangeKind::Delete {
            (String::new(), Vec::new())
        } else {
            content::to_phone(&format.phone, &change.item, format.preferred.as_deref())
        };
        let mut meta_format = None;
        let is_sif = SifKind::from_content_type(&content_type).is_some();
        if change.kind != ChangeKind::Delete
            && ((is_sif && format.sif_in_b64) || (!is_sif && format.phone_sent_b64))
        {
            data = base64::engine::general_purpose::STANDARD
                .encode(&data)
                .into_bytes();
            meta_format = Some("b64");
        }
        if let Some(max) = self.state.peer.max_obj_size {
            if data.len() as u64 > max {
                tracing::warn!(
                    guid = guid_text,
                    size = data.len(),
                    max,
                    "item larger than the phone's MaxObjSize; not sent"
                );
                return Ok(None);
            }
        }
        Ok(Some(PendingChange {
            datastore,
            kind: change.kind,
            guid: change.item.guid,
            revision: change.item.revision,
            luid: change.luid,
            content_type,
            format: meta_format,
            data: data.into(),
            sent_bytes: 0,
        }))
    }

    /// How our items go to one of the phone's datastores.
    fn outgoing_format(&mut self, datastore: Datastore) -> OutgoingFormat {
        let index = self
            .state
            .active
            .iter()
            .position(|a| a.datastore == datastore)
            .expect("changes are listed for active datastores only");
        let active = &self.state.active[index];
        let (max_guid_size, rx_pref) = self.phone_datastore_facts(&active.phone_uri);
        // A client that sent SIF gets SIF, base64 when it sent base64; a client whose
        // DevInf prefers SIF gets it in base64, as Funambol clients expect.
        let (preferred, sif_in_b64) = match &active.sif_used {
            Some((content_type, b64)) => (Some(content_type.clone()), *b64),
            None => (rx_pref, true),
        };
        // A phone that sent base64 gets base64 (the halves of a calendar holding to-dos
        // count as one datastore).
        let phone_sent_b64 = self
            .state
            .active
            .iter()
            .any(|a| a.phone_uri == active.phone_uri && a.items_in_b64);
        OutgoingFormat {
            max_guid_size,
            phone: self.phone(index),
            preferred,
            sif_in_b64,
            phone_sent_b64,
        }
    }

    /// Adds queued changes inside per-datastore Sync commands while they fit.
    /// `base`: how many commands the message held before anything queued (see `reply`).
    pub(super) fn fill_changes(
        &mut self,
        message: &mut Message,
        base: usize,
        next_id: &mut u32,
        msg_id: u32,
        budget: &mut SizeBudget,
    ) -> Result<()> {
        let limit = budget.limit();
        // The phone datastore of the Sync at the end of the body, if the body ends with one
        // (the Calendar and Tasks of a calendar holding to-dos share one).
        let mut open: Option<String> = None;
        while let Some(outgoing) = self.state.outbox.pop_change() {
            let datastore = match &outgoing {
                Outgoing::Open(d) => *d,
                Outgoing::Change(c) => c.datastore,
            };
            let mut opened_here = false;
            let phone_uri = self.phone_uri_of(datastore);
            if open.as_deref() != Some(phone_uri.as_str()) || matches!(outgoing, Outgoing::Open(_))
            {
                let sync = self.sync_for(datastore, *next_id);
                let sync = budget.measure(self, Command::Sync(sync.into()))?;
                message.body.commands.push(sync);
                opened_here = true;
                if !budget.fits(self, message)? && self.defer_alert_statuses(message, base) {
                    budget.resync(self, message)?;
                }
                // Alone in the message, the Sync goes even over the limit: held back, it
                // would meet the same room in every message (a stall).
                if !budget.fits(self, message)? {
                    if message.body.commands.len() > base + 1 {
                        message.body.commands.pop();
                        self.state.outbox.push_change_front(outgoing);
                        return Ok(());
                    }
                    budget.resync(self, message)?;
                }
                *next_id += 1;
                open = Some(phone_uri);
            }
            let Outgoing::Change(change) = outgoing else {
                continue;
            };
            let mut command = change_command(&change);
            model::set_cmd_id(&mut command, *next_id);
            let command = budget.measure_in_sync(self, command)?;
            last_sync(message).commands.push(command);
            let mut fits = budget.fits(self, message)?;
            if !fits
                && last_sync(message).commands.len() == 1
                && self.defer_alert_statuses(message, base)
            {
                budget.resync(self, message)?;
                fits = budget.fits(self, message)?;
            }
            if fits {
                let progress = self.progress_of(change.datastore);
                progress.to_phone += 1;
                progress.to_phone_bytes += (change.data.len() - change.sent_bytes) as u64;
                self.state.outbox.awaiting.insert(
                    (msg_id, next_id.to_string()),
                    Sent {
                        datastore: change.datastore,
                        kind: change.kind,
                        guid: change.guid,
                        revision: change.revision,
                    },
                );
                *next_id += 1;
                continue;
            }
            last_sync(message).commands.pop();
            budget.resync(self, message)?;
            // Alone: no later message would hold the change either, since this one holds
            // only what every message holds (see `fits_in_a_lean_message`).
            let alone = last_sync(message).commands.is_empty()
                && !self.fits_in_a_lean_message(message, base, &change, *next_id, limit)?;
            if alone {
                if self.phone_takes_large_objects() && change.kind != ChangeKind::Delete {
                    if let Some(length) = self.largest_chunk(message, &change, *next_id, limit)? {
                        let mut change = change;
                        let mut command = chunk_command(&change, length);
                        model::set_cmd_id(&mut command, *next_id);
                        last_sync(message).commands.push(command);
                        budget.resync(self, message)?;
                        *next_id += 1;
                        change.sent_bytes += length;
                        self.progress_of(change.datastore).to_phone_bytes += length as u64;
                        self.state
                            .outbox
                            .push_change_front(Outgoing::Change(change));
                        return Ok(());
                    }
                }
                // Not even a small chunk fits beside what the message holds: the next message
                // has more room (below). Otherwise it is too large for any message of this
                // phone, which cannot take it in chunks: it stays on the PC, reported.
                let room_later = self.phone_takes_large_objects()
                    && change.kind != ChangeKind::Delete
                    && message.body.commands.len() > base + 1;
                if !room_later {
                    tracing::warn!(guid = %change.guid, size = change.data.len(), limit, "item too large for the phone's MaxMsgSize; not sent");
                    continue;
                }
            }
            if opened_here && last_sync(message).commands.is_empty() {
                message.body.commands.pop();
                *next_id -= 1;
            }
            self.state
                .outbox
                .push_change_front(Outgoing::Change(change));
            return Ok(());
        }
        Ok(())
    }

    /// Whether the change fits in a message that holds only what every message of ours
    /// holds: the message's base (header status) and the change's Sync (statuses answering
    /// the phone's Alerts can wait, see `defer_alert_statuses`). When it does not, waiting
    /// for a later message would stall: the change is chunked or left out.
    fn fits_in_a_lean_message(
        &self,
        message: &Message,
        base: usize,
        change: &PendingChange,
        cmd_id: u32,
        limit: usize,
    ) -> Result<bool> {
        let Some((Command::Sync(sync), before)) = message.body.commands.split_last() else {
            unreachable!("a Sync was opened")
        };
        let mut lean = Message {
            version: message.version,
            header: message.header.clone(),
            body: SyncBody {
                final_: message.body.final_,
                ..SyncBody::default()
            },
            extensions: Default::default(),
        };
        lean.body.commands.extend(before[..base].iter().cloned());
        let mut sync = sync.clone();
        let mut command = change_command(change);
        model::set_cmd_id(&mut command, cmd_id);
        sync.commands.push(command);
        lean.body.commands.push(Command::Sync(sync));
        Ok(self.encode(&lean)?.len() <= limit)
    }

    /// The most bytes of the change's remaining data that fit, as a chunk, at the end of the
    /// message; `None` when not even a small chunk does.
    fn largest_chunk(
        &self,
        message: &mut Message,
        change: &PendingChange,
        cmd_id: u32,
        limit: usize,
    ) -> Result<Option<usize>> {
        let remaining = change.data.len() - change.sent_bytes;
        let text = std::str::from_utf8(&change.data).ok();
        let boundary = |length: usize| {
            let mut end = change.sent_bytes + length;
            if let Some(text) = text {
                while end > change.sent_bytes && !text.is_char_boundary(end) {
                    end -= 1;
                }
            }
            end - change.sent_bytes
        };
        let mut fits = |length: usize| -> Result<bool> {
            let mut command = chunk_command(change, length);
            model::set_cmd_id(&mut command, cmd_id);
            last_sync(message).commands.push(command);
            let size = self.encode(message)?.len();
            last_sync(message).commands.pop();
            Ok(size <= limit)
        };
        let (mut low, mut high) = (0usize, remaining);
        while low < high {
            let middle = boundary(low + (high - low).div_ceil(2));
            if middle <= low {
                break;
            }
            if fits(middle)? {
                low = middle;
            } else {
                high = middle - 1;
            }
        }
        Ok((low >= 64.min(remaining)).then_some(low))
    }

    fn sync_for(&self, datastore: Datastore, cmd_id: u32) -> Sync {
        let active = self
            .state
            .active
            .iter()
            .find(|a| a.datastore == datastore)
            .expect("queued for an active datastore");
        // A calendar holding to-dos takes our Calendar and Tasks changes in one Sync.
        let sharing: Vec<Datastore> = self
            .state
            .active
            .iter()
            .filter(|a| a.phone_uri == active.phone_uri)
            .map(|a| a.datastore)
            .collect();
        let number_of_changes = (self.state.peer.version != Version::V1_0)
            .then(|| u32::try_from(self.state.outbox.changes_queued(&sharing)).unwrap_or(u32::MAX));
        Sync {
            cmd_id: Some(cmd_id.to_string().into()),
            target: Some(Target::new(active.phone_uri.clone())),
            source: Some(Source::new(active.server_uri.clone())),
            number_of_changes,
            ..Sync::default()
        }
    }
}

/// A chunk of a large object: `length` bytes from where the last chunk ended, `MoreData`,
/// and on the first chunk the whole size.
fn chunk_command(change: &PendingChange, length: usize) -> Command {
    let mut command = change_command(change);
    if let Command::Add(c) | Command::Replace(c) = &mut command {
        let item = &mut c.items[0];
        let bytes = &change.data[change.sent_bytes..change.sent_bytes + length];
        item.data = Some(match std::str::from_utf8(bytes) {
            Ok(text) => Data::Text(text.to_string()),
            Err(_) => Data::Binary(bytes.to_vec()),
        });
        item.more_data = true;
        if change.sent_bytes == 0 {
            item.meta = some_meta(MetInf {
                size: Some(change.data.len() as u64),
                ..MetInf::default()
            });
        }
    }
    command
}

fn change_command(change: &PendingChange) -> Command {
    let guid = change.guid.to_string();
    match change.kind {
        ChangeKind::Delete => Command::Delete(Delete {
            items: vec![model::item(change.luid.as_deref(), Some(&guid))],
            ..Delete::default()
        }),
        ChangeKind::Add | ChangeKind::Replace => {
            let mut item = match change.kind {
                ChangeKind::Add => model::item(None, Some(&guid)),
                _ => model::item(change.luid.as_deref(), Some(&guid)),
            };
            let rest = &change.data[change.sent_bytes..];
            item.data = Some(match std::str::from_utf8(rest) {
                Ok(text) => Data::Text(text.to_string()),
                Err(_) => Data::Binary(rest.to_vec()),
            });
            let command = ItemCommand {
                meta: some_meta(MetInf {
                    format: change.format.map(Into::into),
                    ..MetInf::with_type(change.content_type.clone())
                }),
                items: vec![item],
                ..ItemCommand::default()
            };
            if change.kind == ChangeKind::Add {
                Command::Add(command)
            } else {
                Command::Replace(command)
            }
        }
    }
}
