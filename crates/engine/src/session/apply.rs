//! Applying one item the phone sent: large objects assembled from chunks, two-way and
//! slow-sync matching, conflicts settled by the policy, deletes.

use crate::config::ConflictPolicy;
use crate::content::{self, Incoming};
use crate::model::{self, meta, text};
use crate::storage::SyncStore;
use crate::storage::{
    AppliedOutcome, Cause, Datastore, DeviceChange, DeviceItem, ItemRecord, Reason, Revision,
    Timestamp,
};
use handsync_proto::pim::sif::SifKind;
use handsync_proto::syncml::{Alert, AlertCode, Command, Delete, Item, ItemCommand, StatusCode};

use super::alerts::SyncMode;
use super::incoming::{item_luid, ItemOrigin, ItemOutcome};
use super::{Result, Session};

/// The LUID an item came under, and what the phone held under it then.
struct Named<'a> {
    luid: &'a str,
    held: Option<DeviceItem>,
}

/// A large object being received in chunks.
#[derive(Debug, Clone)]
pub(super) struct Partial {
    datastore: Datastore,
    /// The command that carried its first chunk (`Add`, `Replace`).
    command: &'static str,
    pub(super) luid: String,
    content_type: String,
    /// The declared size (Meta Size of the first chunk).
    size: u64,
    /// The first chunk's Meta Format (`b64`: the assembled data is base64).
    format: Option<String>,
    data: ChunkBuffer,
}

impl Partial {
    pub(super) fn datastore(&self) -> Datastore {
        self.datastore
    }

    /// The size its first chunk declared.
    pub(super) fn declared_size(&self) -> u64 {
        self.size
    }
}

/// The bytes of a large object received so far (up to MaxObjSize, 4 MiB by default). The
/// session state is copied before each message and each Atomic so that a failure rolls it
/// back; those copies share this buffer instead of copying it: each remembers its length, an
/// append first cuts off whatever a rolled-back message had added, and nothing that came
/// before is ever copied until the object is complete.
#[derive(Debug, Clone)]
pub(super) struct ChunkBuffer {
    bytes: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    len: usize,
}

impl ChunkBuffer {
    fn new(first: &[u8]) -> ChunkBuffer {
        ChunkBuffer {
            bytes: std::sync::Arc::new(std::sync::Mutex::new(first.to_vec())),
            len: first.len(),
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn append(&mut self, chunk: &[u8]) {
        let mut bytes = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        bytes.truncate(self.len);
        bytes.extend_from_slice(chunk);
        self.len = bytes.len();
    }

    fn to_vec(&self) -> Vec<u8> {
        let bytes = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        bytes[..self.len.min(bytes.len())].to_vec()
    }
}

impl Session {
    /// A large object that will not be completed: what arrived of it is kept.
    pub(super) fn abandon_partial(&mut self, partial: Partial, why: &str) {
        let origin = ItemOrigin {
            datastore: Some(partial.datastore),
            device_datastore: self.phone_uri_of(partial.datastore),
            command: partial.command,
            luid: Some(partial.luid.clone()),
        };
        self.refuse(
            &origin,
            &partial.content_type,
            &partial.data.to_vec(),
            // The phone got our Alert 223 for it, not a status.
            StatusCode::from_code(AlertCode::NoEndOfData.code()),
            format!(
                "large object not completed ({why}): {} of {} bytes arrived",
                partial.data.len(),
                partial.size
            ),
        );
    }

    /// Applies one Add or Replace item; returns its status. An item refused is kept in the
    /// store with its bytes ([`Self::refuse`]).
    pub(super) fn apply_item<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        index: usize,
        command: &ItemCommand,
        item: &Item,
        is_add: bool,
        now: Timestamp,
    ) -> Result<StatusCode> {
        let command_name = if is_add { "Add" } else { "Replace" };
        let datastore = self.state.active[index].datastore;
        let origin = ItemOrigin {
            datastore: Some(datastore),
            device_datastore: self.state.active[index].phone_uri.clone(),
            command: command_name,
            luid: item_luid(item),
        };
        let mut content_type = meta(&item.meta)
            .and_then(|m| text(&m.type_))
            .or_else(|| meta(&command.meta).and_then(|m| text(&m.type_)))
            .unwrap_or(content::default_content_type(datastore))
            .to_string();
        let mut format = meta(&item.meta)
            .and_then(|m| text(&m.format))
            .or_else(|| meta(&command.meta).and_then(|m| text(&m.format)))
            .map(str::to_ascii_lowercase);
        let chunk = item.data.as_ref().and_then(|d| d.as_bytes());
        let Some(luid) = origin.luid.clone() else {
            return Ok(self.refuse(
                &origin,
                &content_type,
                chunk.unwrap_or_default(),
                StatusCode::BadRequest,
                "the item names no LUID (no Source or Target)".into(),
            ));
        };
        let assembled;
        let bytes: &[u8] = match self.state.partial.take() {
            Some(mut partial) if partial.datastore == datastore && partial.luid == luid => {
                let Some(chunk) = chunk else {
                    // What had arrived of the object is kept.
                    let reason = format!(
                        "a chunk without data; {} of {} bytes had arrived",
                        partial.data.len(),
                        partial.size
                    );
                    let origin = ItemOrigin {
                        command: partial.command,
                        ..origin
                    };
                    return Ok(self.refuse(
                        &origin,
                        &partial.content_type,
                        &partial.data.to_vec(),
                        StatusCode::IncompleteCommand,
                        reason,
                    ));
                };
                partial.data.append(chunk);
                if partial.data.len() as u64 > partial.size
                    || (!item.more_data && partial.data.len() as u64 != partial.size)
                {
                    let reason = format!(
                        "large object of {} bytes declared, {} received",
                        partial.size,
                        partial.data.len()
                    );
                    let origin = ItemOrigin {
                        command: partial.command,
                        ..origin
                    };
                    return Ok(self.refuse(
                        &origin,
                        &partial.content_type,
                        &partial.data.to_vec(),
                        StatusCode::SizeMismatch,
                        reason,
                    ));
                }
                if item.more_data {
                    self.state.partial = Some(partial);
                    return Ok(StatusCode::ChunkedItemAccepted);
                }
                content_type = partial.content_type;
                format = partial.format;
                assembled = partial.data.to_vec();
                &assembled
            }
            other => {
                if let Some(abandoned) = other {
                    // A new item while chunks of another were expected: that one is dropped
                    // and the phone told so.
                    self.queue_no_end_of_data(&abandoned.luid);
                    self.abandon_partial(abandoned, "another item came before its last chunk");
                }
                let Some(chunk) = chunk else {
                    return Ok(self.refuse(
                        &origin,
                        &content_type,
                        &[],
                        StatusCode::IncompleteCommand,
                        "the item carries no data".into(),
                    ));
                };
                if item.more_data {
                    let size = meta(&item.meta)
                        .and_then(|m| m.size)
                        .or_else(|| meta(&command.meta).and_then(|m| m.size));
                    let refused = match size {
                        None => Some((
                            StatusCode::SizeRequired,
                            "the first chunk of a large object declares no size".to_string(),
                        )),
                        Some(size) if size > self.config.max_obj_size => Some((
                            StatusCode::RequestEntityTooLarge,
                            format!(
                                "a large object of {size} bytes, over our MaxObjSize of {}",
                                self.config.max_obj_size
                            ),
                        )),
                        Some(size) if size > self.large_object_allowance => Some((
                            StatusCode::RequestEntityTooLarge,
                            format!(
                                "a large object of {size} bytes while the large objects of \
                                 open sessions leave room for {} bytes more",
                                self.large_object_allowance
                            ),
                        )),
                        Some(size) if chunk.len() as u64 > size => Some((
                            StatusCode::SizeMismatch,
                            format!(
                                "a first chunk of {} bytes for a large object of {size}",
                                chunk.len()
                            ),
                        )),
                        Some(_) => None,
                    };
                    if let Some((code, reason)) = refused {
                        return Ok(self.refuse(&origin, &content_type, chunk, code, reason));
                    }
                    self.state.partial = Some(Partial {
                        datastore,
                        command: command_name,
                        luid: luid.clone(),
                        content_type,
                        size: size.unwrap_or_default(),
                        format: format.clone(),
                        data: ChunkBuffer::new(chunk),
                    });
                    return Ok(StatusCode::ChunkedItemAccepted);
                }
                chunk
            }
        };
        let decoded;
        let bytes: &[u8] = if format.as_deref() == Some("b64") {
            match decode_base64(bytes) {
                Some(data) => {
                    decoded = data;
                    &decoded
                }
                None => {
                    return Ok(self.refuse(
                        &origin,
                        &content_type,
                        bytes,
                        StatusCode::UnsupportedMediaType,
                        "Meta Format says b64 and the data is not base64".into(),
                    ));
                }
            }
        } else {
            bytes
        };
        let in_b64 = format.as_deref() == Some("b64");
        if SifKind::from_content_type(&content_type).is_some() {
            self.state.active[index].sif_used = Some((content_type.clone(), in_b64));
        }
        if in_b64 {
            self.state.active[index].items_in_b64 = true;
        }
        let phone = self.phone(index);
        let incoming = match content::from_phone(&phone, datastore, &content_type, bytes) {
            Ok(incoming) => incoming,
            Err(reason) => {
                return Ok(self.refuse(
                    &origin,
                    &content_type,
                    bytes,
                    StatusCode::UnsupportedMediaType,
                    reason,
                ));
            }
        };
        let code = if self.state.active[index].mode.sends_everything() {
            // What a slow sync sends, the phone still holds (see `settle_full_syncs`).
            let device = self.state.device.expect("started");
            store.record_luid_sent(device, datastore, &luid)?;
            self.apply_slow(store, datastore, &luid, &incoming, now)?
        } else {
            self.apply_fast(store, datastore, &luid, &incoming, is_add, now)?
        };
        Ok(code)
    }

    pub(super) fn queue_no_end_of_data(&mut self, luid: &str) {
        self.state.outbox.commands.push_back(Command::Alert(Alert {
            data: Some(AlertCode::NoEndOfData),
            items: vec![model::item(None, Some(luid))],
            ..Alert::default()
        }));
    }

    fn cause(&self, reason: Reason) -> Cause {
        Cause::device(
            reason,
            self.state.device.expect("started"),
            self.state.store_session,
        )
    }

    /// A change in a two-way or one-way sync: applied, unless the PC changed the item too and
    /// the conflict policy says otherwise.
    fn apply_fast<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        datastore: Datastore,
        luid: &str,
        incoming: &Incoming,
        is_add: bool,
        now: Timestamp,
    ) -> Result<StatusCode> {
        let device = self.state.device.expect("started");
        let named = Named {
            luid,
            held: store.device_item_by_luid(device, datastore, luid)?,
        };
        self.apply_named(store, datastore, named, incoming, is_add, now)
    }

    /// [`Self::apply_fast`] for an item whose mapping was just looked up.
    fn apply_named<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        datastore: Datastore,
        named: Named<'_>,
        incoming: &Incoming,
        is_add: bool,
        now: Timestamp,
    ) -> Result<StatusCode> {
        let device = self.state.device.expect("started");
        let session = self.state.store_session;
        let Named { luid, mut held } = named;
        if let (true, Some(mapped)) = (is_add, &held) {
            if self.mapping_known_to_phone(datastore, mapped) {
                // The phone saw the sync that mapped this LUID complete, so its Add is not a
                // resend: it gave the LUID to a new item. The old one goes back to it.
                tracing::info!(%datastore, luid, guid = %mapped.guid, "the phone reused a LUID it had synced: a new item");
                store.forget_device_item(device, datastore, mapped.guid)?;
                held = None;
            }
        }
        if let Some(mapped) = &held {
            if mapped.item_revision > mapped.seen_revision {
                if let Some(holds) = self.version_phone_holds(store, datastore, mapped, incoming)? {
                    // The phone sent again a version of ours it holds (a resend after a cut,
                    // or a slow sync): only the PC changed the item, and its version (or
                    // deletion) goes to the phone. An Add whose Status never came (seen
                    // revision 0, its mapping made just now) is recorded at the version the
                    // phone turned out to hold: nothing goes when that is the newest, rather
                    // than every item of a cut first sync again.
                    tracing::debug!(%datastore, luid, guid = %mapped.guid, revision = %holds, "the phone's copy is one of ours: the PC's change stands");
                    if mapped.seen_revision == Revision(0) {
                        store.map_device_item(
                            device,
                            datastore,
                            mapped.guid,
                            luid,
                            Some(holds),
                            now,
                        )?;
                    }
                    return Ok(StatusCode::Ok);
                }
            }
        }
        // A new version of something the PC holds keeps what the phone cannot hold.
        let merged;
        let incoming = match &held {
            Some(held) => {
                let stored = store.item(held.guid)?;
                let phone = self.phone_for_datastore(datastore);
                let unchanged = held.item_revision <= held.seen_revision;
                merged = content::merge_into_stored(&phone, &stored, incoming.clone(), unchanged);
                &merged
            }
            None => incoming,
        };
        let content = incoming.as_content();
        if let Some(held) = held {
            if held.item_revision > held.seen_revision {
                let item = store.item(held.guid)?;
                let same = !item.is_deleted() && item.canonical == incoming.canonical;
                if !same {
                    let policy = settle(self.config.conflicts, &item, Some(incoming));
                    tracing::info!(%datastore, guid = %held.guid, ?policy, "conflict: changed on both sides");
                    match policy {
                        ConflictPolicy::PcWins => {
                            let cause = self.cause(Reason::ReplacedByPhone).with_note(format!(
                                "conflict: PC revision {} won",
                                held.item_revision
                            ));
                            store.record_conflict_loser(held.guid, content, &cause, now)?;
                            return Ok(StatusCode::ConflictResolvedWithServerData);
                        }
                        ConflictPolicy::KeepBoth if !item.is_deleted() => {
                            let cause = self
                                .cause(Reason::AddedByPhone)
                                .with_note(format!("conflict: kept beside item {}", held.guid));
                            let added = store.add_item(datastore, content, &cause, now)?;
                            store.map_device_item(
                                device,
                                datastore,
                                added.guid,
                                luid,
                                Some(added.revision),
                                now,
                            )?;
                            return Ok(StatusCode::ConflictResolvedWithDuplicate);
                        }
                        _ => {
                            store.apply_from_device(
                                device,
                                datastore,
                                session,
                                DeviceChange::Replace { luid, content },
                                now,
                            )?;
                            return Ok(StatusCode::ConflictResolvedWithClientWinning);
                        }
                    }
                }
            }
        }
        let change = if is_add {
            DeviceChange::Add { luid, content }
        } else {
            DeviceChange::Replace { luid, content }
        };
        let applied = store.apply_from_device(device, datastore, session, change, now)?;
        Ok(match applied.outcome {
            AppliedOutcome::Added => StatusCode::ItemAdded,
            _ => StatusCode::Ok,
        })
    }

    /// Whether the phone knows the PC has this mapping: it was made before the sync whose
    /// anchors the phone started from completed.
    fn mapping_known_to_phone(&self, datastore: Datastore, held: &DeviceItem) -> bool {
        let confirmed_until = self
            .state
            .active
            .iter()
            .find(|a| a.datastore == datastore)
            .and_then(|a| a.confirmed_until);
        match (held.mapped_at, confirmed_until) {
            (Some(mapped_at), Some(until)) => mapped_at <= until,
            // A mapping from before mapping times were kept, known to a phone with anchors.
            (None, Some(_)) => held.luid.is_some(),
            (_, None) => false,
        }
    }

    /// The version of ours the phone sent back without having changed it, if it is one: the
    /// one it was last known to hold, or one of ours after it (sent in a session whose
    /// Status never came). What the phone cannot hold aside. Seen revision 0 (an Add
    /// whose Status never came, a slow sync's PC-won conflict) says only that the phone holds
    /// some version: any of ours counts. Else a phone whose first sync was cut after our Adds
    /// would, in its next slow sync, send them back as its own edits and undo what other
    /// phones of the account changed meanwhile (the hosted load test found it). The newest
    /// matching version's revision is returned.
    fn version_phone_holds<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        datastore: Datastore,
        held: &DeviceItem,
        incoming: &Incoming,
    ) -> Result<Option<Revision>> {
        let phone = self.phone_for_datastore(datastore);
        let mut holds = None;
        for version in store.item_versions_from(held.guid, held.seen_revision)? {
            if version.is_deleted() {
                continue;
            }
            let as_held = content::merge_into_stored(&phone, &version, incoming.clone(), true);
            if as_held.canonical == version.canonical {
                holds = Some(version.revision);
            }
        }
        Ok(holds)
    }

    /// An item of a slow sync: the phone sends all it holds, so each item is matched to what
    /// it already is on the PC before anything is added. A mapping is the strongest evidence
    /// there is: the item mapped to the LUID is the phone's item, changed or not, unless what
    /// came is plainly another item the PC holds (the phone gave out its LUIDs anew). Without
    /// a mapping, the identity key finds it among all the PC holds, mapped or not (a phone
    /// reset gives its items new LUIDs).
    fn apply_slow<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        datastore: Datastore,
        luid: &str,
        incoming: &Incoming,
        now: Timestamp,
    ) -> Result<StatusCode> {
        let device = self.state.device.expect("started");
        if let Some(held) = store.device_item_by_luid(device, datastore, luid)? {
            let mapped = store.item(held.guid)?;
            match self.other_item_named(store, datastore, &held, &mapped, incoming)? {
                None => {
                    let named = Named {
                        luid,
                        held: Some(held),
                    };
                    return self.apply_named(store, datastore, named, incoming, false, now);
                }
                Some(other) => {
                    tracing::info!(%datastore, luid, was = %held.guid, now_is = %other.guid, "the phone gave the LUID to another item");
                    store.forget_device_item(device, datastore, held.guid)?;
                }
            }
        }
        let candidate = match &incoming.identity_key {
            Some(key) => match self.slow_match(store, datastore, key)? {
                Some(item) => Some(item),
                None if self.unmapped_adds(datastore) => {
                    self.pending_match(store, datastore, key, incoming)?
                }
                None => None,
            },
            None => None,
        };
        let Some(item) = candidate else {
            // Nothing is mapped to the LUID now (it was not, or was just forgotten).
            let named = Named { luid, held: None };
            return self.apply_named(store, datastore, named, incoming, true, now);
        };
        if let Some(held) = store.device_item(device, datastore, item.guid)? {
            // The phone held it under another LUID: it is the same item, renamed.
            tracing::info!(%datastore, luid, old_luid = ?held.luid, guid = %item.guid, "the phone holds the item under a new LUID");
            store.map_device_item(device, datastore, item.guid, luid, None, now)?;
            return self.apply_fast(store, datastore, luid, incoming, false, now);
        }
        // What the phone cannot hold is not a difference.
        let phone = self.phone_for_datastore(datastore);
        let incoming = &content::merge_into_stored(&phone, &item, incoming.clone(), false);
        if item.canonical == incoming.canonical {
            store.map_device_item(device, datastore, item.guid, luid, Some(item.revision), now)?;
            return Ok(StatusCode::Ok);
        }
        // Both sides have a version of the item and nothing tells which is older: a
        // conflict, settled by the policy.
        match settle(self.config.conflicts, &item, Some(incoming)) {
            // `settle` never gives NewerWins back.
            ConflictPolicy::PhoneWins | ConflictPolicy::NewerWins => {
                store.map_device_item(
                    device,
                    datastore,
                    item.guid,
                    luid,
                    Some(item.revision),
                    now,
                )?;
                store.apply_from_device(
                    device,
                    datastore,
                    self.state.store_session,
                    DeviceChange::Replace {
                        luid,
                        content: incoming.as_content(),
                    },
                    now,
                )?;
                Ok(StatusCode::Ok)
            }
            ConflictPolicy::PcWins => {
                // Seen revision 0: the PC's version goes to the phone.
                store.map_device_item(
                    device,
                    datastore,
                    item.guid,
                    luid,
                    Some(Revision(0)),
                    now,
                )?;
                let cause = self
                    .cause(Reason::ReplacedByPhone)
                    .with_note("slow sync: PC version won");
                store.record_conflict_loser(item.guid, incoming.as_content(), &cause, now)?;
                Ok(StatusCode::ConflictResolvedWithServerData)
            }
            ConflictPolicy::KeepBoth => {
                self.apply_fast(store, datastore, luid, incoming, true, now)?;
                Ok(StatusCode::ConflictResolvedWithDuplicate)
            }
        }
    }

    /// In a slow sync, the item the phone sent under a mapped LUID is another one the PC
    /// holds when it is not the mapped item (by content or identity key, now or as the phone
    /// last had it) and its identity key names another live item not yet matched.
    fn other_item_named<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        datastore: Datastore,
        held: &DeviceItem,
        mapped: &ItemRecord,
        incoming: &Incoming,
    ) -> Result<Option<ItemRecord>> {
        let Some(key) = &incoming.identity_key else {
            return Ok(None);
        };
        let is_mapped = |item: &ItemRecord| {
            !item.is_deleted()
                && (item.canonical == incoming.canonical
                    || item.identity_key.as_deref() == Some(key.as_str()))
        };
        if is_mapped(mapped) {
            return Ok(None);
        }
        if store
            .item_versions_from(held.guid, held.seen_revision)?
            .iter()
            .any(is_mapped)
        {
            return Ok(None);
        }
        Ok(self
            .slow_match(store, datastore, key)?
            .filter(|other| other.guid != mapped.guid))
    }

    /// Whether our Adds whose Map never came were outstanding when the datastore's sync
    /// began (none can be added while the phone sends its items).
    fn unmapped_adds(&self, datastore: Datastore) -> bool {
        self.state
            .active
            .iter()
            .any(|a| a.datastore == datastore && a.unmapped_adds)
    }

    /// The item sent to the phone, its Map never come, whose copy a slow-sync item is by the
    /// key the copy still has, though the PC has since given the item another (or deleted
    /// it): the one the item is a version of, else the first with the key (the phone's copy,
    /// edited there too: a conflict, settled as such).
    fn pending_match<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        datastore: Datastore,
        key: &str,
        incoming: &Incoming,
    ) -> Result<Option<ItemRecord>> {
        let device = self.state.device.expect("started");
        let mut first = None;
        for guid in store.pending_items_by_past_identity_key(device, datastore, key)? {
            let Some(held) = store.device_item(device, datastore, guid)? else {
                continue;
            };
            if self
                .version_phone_holds(store, datastore, &held, incoming)?
                .is_some()
            {
                return Ok(Some(store.item(guid)?));
            }
            first.get_or_insert(guid);
        }
        Ok(first.map(|guid| store.item(guid)).transpose()?)
    }

    /// The live item with this identity key a slow-sync item is: one the phone does not hold
    /// first, else one held under a LUID the phone has not sent in this session.
    fn slow_match<S: SyncStore + ?Sized>(
        &self,
        store: &S,
        datastore: Datastore,
        key: &str,
    ) -> Result<Option<ItemRecord>> {
        let device = self.state.device.expect("started");
        let syncing = self.state.active.iter().any(|a| a.datastore == datastore);
        let mut renamed = None;
        for item in store.items_by_identity_key(datastore, key)? {
            match store.device_item(device, datastore, item.guid)? {
                None => return Ok(Some(item)),
                Some(held) => {
                    let matched = match &held.luid {
                        Some(luid) if syncing => store.luid_sent(device, datastore, luid)?,
                        Some(_) => true,
                        // Sent, its Map never came: the phone holds it under some LUID.
                        None => false,
                    };
                    if !matched && renamed.is_none() {
                        renamed = Some(item);
                    }
                }
            }
        }
        Ok(renamed)
    }

    /// Applies the items of a Delete; returns each item's outcome.
    pub(super) fn apply_delete<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        index: usize,
        delete: &Delete,
        now: Timestamp,
    ) -> Result<Vec<ItemOutcome>> {
        let mut outcomes = Vec::with_capacity(delete.items.len());
        for item in &delete.items {
            let Some(luid) = item_luid(item) else {
                tracing::warn!("Delete item names no LUID");
                outcomes.push(ItemOutcome::of(item, StatusCode::BadRequest));
                continue;
            };
            let routed = self.route_item(store, index, Some(&luid), None, None)?;
            let datastore = self.state.active[routed].datastore;
            let code = self.delete_by_luid(store, datastore, &luid, now)?;
            outcomes.push(ItemOutcome::of(item, code));
        }
        Ok(outcomes)
    }

    /// The phone deleted what it held as `luid`; returns the status for it.
    fn delete_by_luid<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        datastore: Datastore,
        luid: &str,
        now: Timestamp,
    ) -> Result<StatusCode> {
        let device = self.state.device.expect("started");
        let held = store.device_item_by_luid(device, datastore, luid)?;
        let conflict = held
            .as_ref()
            .is_some_and(|h| !h.item_deleted && h.item_revision > h.seen_revision);
        if let (true, Some(held)) = (conflict, &held) {
            let stored = store.item(held.guid)?;
            if settle(self.config.conflicts, &stored, None) != ConflictPolicy::PhoneWins {
                // The PC's edit wins over the phone's delete: the phone gets it again.
                tracing::info!(guid = %held.guid, "conflict: phone deleted what the PC changed; PC version kept");
                store.forget_device_item(device, datastore, held.guid)?;
                return Ok(StatusCode::ConflictResolvedWithServerData);
            }
        }
        let applied = store.apply_from_device(
            device,
            datastore,
            self.state.store_session,
            DeviceChange::Delete { luid },
            now,
        )?;
        Ok(match applied.outcome {
            AppliedOutcome::NotFound => StatusCode::ItemNotDeleted,
            _ if conflict => StatusCode::ConflictResolvedWithClientWinning,
            _ => StatusCode::Ok,
        })
    }

    /// After a slow sync or refresh from the phone: what the phone did not send, it no longer
    /// holds; after a refresh from the phone, the PC keeps only what the phone sent.
    pub(super) fn settle_full_syncs<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        now: Timestamp,
    ) -> Result<()> {
        let device = self.state.device.expect("started");
        for active in self.state.active.clone() {
            if !active.mode.sends_everything() {
                continue;
            }
            // Our Adds never mapped that no item of the phone's matched: it does not hold
            // them, and they go to it again as new.
            for held in store.pending_maps(device, active.datastore)? {
                store.forget_device_item(device, active.datastore, held.guid)?;
            }
            // Only what the phone held and did not send is read: the cost follows what it
            // dropped, not what it holds.
            for item in store.held_items_not_sent(device, active.datastore)? {
                let Some(luid) = &item.luid else { continue };
                if active.absent_means_deleted {
                    // A slow sync we asked for of a phone whose anchors are ours: it kept its
                    // memory, so what it no longer holds, it deleted.
                    self.delete_by_luid(store, active.datastore, luid, now)?;
                } else {
                    store.forget_device_item(device, active.datastore, item.guid)?;
                }
            }
            if active.mode == SyncMode::RefreshFromClient {
                let cause = self
                    .cause(Reason::DeletedByPhone)
                    .with_note("refresh from the phone: not on the phone");
                for guid in store.live_items_not_held(device, active.datastore)? {
                    store.delete_item(guid, &cause, now)?;
                }
            }
        }
        Ok(())
    }
}

/// Data sent with `Meta Format b64`: base64, line breaks and spaces allowed (phones wrap it).
fn decode_base64(data: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let text: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// The policy that settles one conflict: `NewerWins` becomes the side changed last, by the
/// phone's own timestamp (vCard REV, iCalendar LAST-MODIFIED) against the PC's modification
/// time; without one the phone wins an edit, and the PC's edit wins over a phone's delete.
fn settle(policy: ConflictPolicy, pc: &ItemRecord, phone: Option<&Incoming>) -> ConflictPolicy {
    if policy != ConflictPolicy::NewerWins {
        return policy;
    }
    let Some(phone) = phone else {
        return ConflictPolicy::PcWins;
    };
    match content::modified_at(&phone.canonical) {
        Some(at) if at < pc.modified_at => ConflictPolicy::PcWins,
        _ => ConflictPolicy::PhoneWins,
    }
}
