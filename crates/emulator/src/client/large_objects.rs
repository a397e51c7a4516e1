//! Items as they travel, whole or in chunks: the server's large objects put together, ours
//! cut to the room a message has.

use super::builder::Builder;
use super::{EmulatedPhone, Outbound, Sent};
use crate::store::{Change, PhoneItem};
use crate::EmulatorError;
use handsync_proto::markup::Version;
use handsync_proto::syncml::{
    Command, Data, Delete, Encoding, Item, ItemCommand, MetInf, Source, StatusCode,
};

/// A chunk of a large object smaller than this waits for an emptier message.
const MIN_CHUNK: usize = 256;

/// Item data as it travels: text, or bytes that are not UTF-8 (WBXML OPAQUE).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Payload {
    pub(super) content_type: String,
    pub(super) data: PayloadData,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum PayloadData {
    Text(String),
    Binary(Vec<u8>),
}

impl PayloadData {
    pub(super) fn len(&self) -> usize {
        match self {
            PayloadData::Text(t) => t.len(),
            PayloadData::Binary(b) => b.len(),
        }
    }

    /// The part from `start`, at most `max` bytes, ending on a character boundary.
    fn slice(&self, start: usize, max: usize) -> Data {
        match self {
            PayloadData::Text(text) => {
                let mut end = (start + max).min(text.len());
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                Data::Text(text[start..end].to_string())
            }
            PayloadData::Binary(bytes) => {
                Data::Binary(bytes[start..(start + max).min(bytes.len())].to_vec())
            }
        }
    }
}

/// A large object the server is sending us, chunk by chunk.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct IncomingObject {
    replace_luid: Option<String>,
    guid: Option<String>,
    pub(super) content_type: String,
    declared_size: Option<u64>,
    data: Vec<u8>,
}

impl EmulatedPhone {
    pub(super) fn apply_item(
        &mut self,
        index: usize,
        command: &Command,
        item: &Item,
        command_meta: Option<&MetInf>,
    ) -> StatusCode {
        let max_items = {
            let kind = self.session.as_ref().expect("running").datastores[index].kind;
            self.profile.datastore(kind).and_then(|d| d.max_items)
        };
        let session = self.session.as_mut().expect("running");
        let ds = &mut session.datastores[index];
        let kind = ds.kind;
        let target = item.target.as_ref().map(|t| t.loc_uri.to_string());
        let source = item.source.as_ref().map(|s| s.loc_uri.to_string());
        if let Command::Delete(_) = command {
            let Some(luid) = target else {
                return StatusCode::IncompleteCommand;
            };
            ds.incoming = None;
            return if self.store.apply_delete(kind, &luid) {
                ds.deleted += 1;
                StatusCode::Ok
            } else {
                StatusCode::ItemNotDeleted
            };
        }
        let content_type = item
            .meta
            .as_deref()
            .and_then(|m| m.type_.as_deref())
            .or_else(|| command_meta.and_then(|m| m.type_.as_deref()))
            .map(str::to_string)
            .or_else(|| self.profile.datastore(kind).map(|d| d.content_type.clone()))
            .unwrap_or_else(|| "text/plain".into());
        let declared_size = item
            .meta
            .as_deref()
            .and_then(|m| m.size)
            .or_else(|| command_meta.and_then(|m| m.size));
        let chunk: Vec<u8> = match &item.data {
            Some(Data::Text(text)) => text.as_bytes().to_vec(),
            Some(Data::Binary(bytes)) => bytes.clone(),
            Some(_) => return StatusCode::UnsupportedMediaType,
            None => return StatusCode::IncompleteCommand,
        };
        let is_replace = matches!(command, Command::Replace(_));
        // A chunk continuing the large object we are receiving, or a new object.
        let continues = ds
            .incoming
            .as_ref()
            .is_some_and(|o| o.guid == source && (!is_replace || o.replace_luid == target));
        let mut object = if continues {
            ds.incoming.take().expect("checked")
        } else {
            ds.incoming = None;
            IncomingObject {
                replace_luid: if is_replace { target.clone() } else { None },
                guid: source.clone(),
                content_type,
                declared_size,
                data: Vec::new(),
            }
        };
        object.data.extend_from_slice(&chunk);
        if item.more_data {
            if object.declared_size.is_none() {
                return StatusCode::SizeRequired;
            }
            ds.incoming = Some(object);
            return StatusCode::ChunkedItemAccepted;
        }
        if object
            .declared_size
            .is_some_and(|size| size != object.data.len() as u64)
        {
            return StatusCode::SizeMismatch;
        }
        let new_item = PhoneItem::new(object.content_type, object.data);
        if let Some(luid) = object.replace_luid.as_deref() {
            if self.store.apply_replace(kind, luid, new_item.clone()) {
                // The server's version is what the phone holds now: nothing left to send.
                self.store.mark_synced(kind, luid);
                ds.replaced += 1;
                return StatusCode::Ok;
            }
        }
        if max_items.is_some_and(|max| self.store.datastore(kind).len() as u64 >= max) {
            return StatusCode::DeviceFull;
        }
        let luid = self.store.apply_add(kind, new_item);
        ds.added += 1;
        if let Some(guid) = object.guid {
            ds.new_maps.push((guid, luid));
        }
        StatusCode::ItemAdded
    }

    /// One change into the Sync at `sync_index`: whole, as a chunk of a large object, or not
    /// now (back in the queue). Returns whether the message has room for more.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn pack_change(
        &mut self,
        builder: &mut Builder,
        sync_index: usize,
        ds: usize,
        luid: String,
        change: Change,
        payload: Option<Payload>,
        offset: usize,
    ) -> Result<bool, EmulatorError> {
        let requeue = |phone: &mut EmulatedPhone, payload: Option<Payload>, offset: usize| {
            phone.session().outbox.push_front(Outbound::Change {
                ds,
                luid: luid.clone(),
                change,
                payload,
                offset,
            });
        };
        let sent_whole = Sent::Change {
            ds,
            luid: luid.clone(),
            change,
            last_chunk: true,
        };
        let Some(payload) = payload else {
            // A Delete, or an item gone from the store meanwhile.
            let command = if change == Change::Deleted {
                Command::Delete(Delete {
                    items: vec![Item {
                        source: Some(Source::new(luid.clone())),
                        ..Item::default()
                    }],
                    ..Delete::default()
                })
            } else {
                return Ok(true);
            };
            if builder.try_push_in_sync(self, sync_index, command, sent_whole)? {
                self.session().datastores[ds].sent += 1;
                return Ok(true);
            }
            requeue(self, None, offset);
            return Ok(false);
        };
        let total = payload.data.len();
        let large_ok = self.profile.supports_large_objects && self.profile.version != Version::V1_0;
        if offset == 0 {
            let whole = change_command(
                change,
                &luid,
                &payload,
                payload.data.slice(0, total),
                None,
                false,
            );
            if builder.try_push_in_sync(self, sync_index, whole, sent_whole.clone())? {
                self.session().datastores[ds].sent += 1;
                return Ok(true);
            }
            let too_big_for_server = self
                .session()
                .server_max_obj_size
                .is_some_and(|max| total as u64 > max);
            if !large_ok || too_big_for_server {
                if builder.is_minimal(Some(sync_index)) {
                    // Even alone it does not fit, and it cannot be cut: it stays on the phone.
                    self.session().datastores[ds].left_out.push(format!(
                        "item {luid} ({total} bytes) is too large to send to this server"
                    ));
                    return Ok(true);
                }
                requeue(self, Some(payload), offset);
                return Ok(false);
            }
        }
        // A chunk: as much as fits, the first with the whole size, all but the last MoreData.
        let remaining = total - offset;
        let fits = |builder: &mut Builder,
                    phone: &mut EmulatedPhone,
                    length: usize|
         -> Result<bool, EmulatorError> {
            let last = length >= remaining;
            let command = change_command(
                change,
                &luid,
                &payload,
                payload.data.slice(offset, length),
                (offset == 0).then_some(total as u64),
                !last,
            );
            builder.fits_in_sync(phone, sync_index, command)
        };
        let (mut low, mut high) = (0usize, remaining);
        while low < high {
            let middle = (low + high).div_ceil(2);
            if fits(builder, self, middle)? {
                low = middle;
            } else {
                high = middle - 1;
            }
        }
        let chunk_len = match &payload.data {
            PayloadData::Text(text) => {
                let mut end = offset + low;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                end - offset
            }
            PayloadData::Binary(_) => low,
        };
        if chunk_len < MIN_CHUNK.min(remaining) && !builder.is_minimal(Some(sync_index)) {
            // Too little room here: the chunk goes first in the next message.
            requeue(self, Some(payload), offset);
            return Ok(false);
        }
        if chunk_len == 0 {
            return Err(EmulatorError::Protocol(format!(
                "a MaxMsgSize of {} bytes leaves no room for item data",
                builder.limit()
            )));
        }
        let last = chunk_len >= remaining;
        let command = change_command(
            change,
            &luid,
            &payload,
            payload.data.slice(offset, chunk_len),
            (offset == 0).then_some(total as u64),
            !last,
        );
        let sent = Sent::Change {
            ds,
            luid: luid.clone(),
            change,
            last_chunk: last,
        };
        if !builder.try_push_in_sync(self, sync_index, command, sent)? {
            requeue(self, Some(payload), offset);
            return Ok(false);
        }
        if last {
            self.session().datastores[ds].sent += 1;
            Ok(true)
        } else {
            // A chunk ends its message.
            requeue(self, Some(payload), offset + chunk_len);
            Ok(false)
        }
    }
}

/// The item's bytes as they travel: UTF-8 as text; other bytes as OPAQUE in WBXML, or, as
/// XML cannot carry them, decoded into text from the 8-bit charsets these phones use
/// (windows-1252, a superset of ISO-8859-1).
pub(super) fn payload_data(item: &PhoneItem, encoding: Encoding) -> PayloadData {
    match std::str::from_utf8(&item.data) {
        Ok(text) => PayloadData::Text(text.to_string()),
        Err(_) if encoding == Encoding::Wbxml => PayloadData::Binary(item.data.clone()),
        Err(_) => PayloadData::Text(encoding_rs::WINDOWS_1252.decode(&item.data).0.into_owned()),
    }
}

fn change_command(
    change: Change,
    luid: &str,
    payload: &Payload,
    data: Data,
    size: Option<u64>,
    more_data: bool,
) -> Command {
    let item = Item {
        source: Some(Source::new(luid.to_string())),
        meta: size.map(|size| {
            Box::new(MetInf {
                size: Some(size),
                ..MetInf::default()
            })
        }),
        data: Some(data),
        more_data,
        ..Item::default()
    };
    let command = ItemCommand {
        meta: Some(Box::new(MetInf::with_type(payload.content_type.clone()))),
        items: vec![item],
        ..ItemCommand::default()
    };
    match change {
        Change::Added => Command::Add(command),
        _ => Command::Replace(command),
    }
}
