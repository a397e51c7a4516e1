//! Our messages: statuses first, then queued commands and changes while they fit in the
//! server's MaxMsgSize; Maps split over messages when they do not fit one.

use super::builder::Builder;
use super::large_objects::{payload_data, Payload};
use super::{
    encode_message, DatastoreSession, EmulatedPhone, Outbound, Outgoing, Phase, Sent, SyncMode,
    MINIMAL_STATUSES,
};
use crate::store::Change;
use crate::transcript::Direction;
use crate::{EmulatorError, UnixMillis};
use handsync_proto::markup::Version;
use handsync_proto::syncml::{
    Alert, AlertCode, Command, Item, Map, MapItem, Message, Source, Sync, SyncBody, Target,
};

/// The server's MaxMsgSize until it tells us (the engine's default).
const UNKNOWN_SERVER_MAX_MSG_SIZE: u64 = 64 * 1024;

impl EmulatedPhone {
    /// Package 3: the changes (or every item) of each datastore that sends.
    pub(super) fn prepare_changes(&mut self) {
        let session = self.session.as_mut().expect("running");
        let version_1_1 = self.profile.version != Version::V1_0;
        let mut outbox = Vec::new();
        for (index, ds) in session.datastores.iter_mut().enumerate() {
            if ds.failure.is_some() {
                continue;
            }
            if ds.mode == SyncMode::RefreshFromServer {
                // The phone empties the datastore; the server sends everything.
                self.store.apply_clear(ds.kind);
            }
            let store = self.store.datastore(ds.kind);
            let mut changes: Vec<(String, Change)> = Vec::new();
            if ds.mode.sends_everything() {
                changes.extend(
                    store
                        .items()
                        .keys()
                        .map(|luid| (luid.clone(), Change::Replaced)),
                );
            } else if ds.mode.client_sends() {
                changes.extend(store.changes().iter().map(|(l, c)| (l.clone(), *c)));
            }
            let number_of_changes = (version_1_1 && self.profile.supports_number_of_changes)
                .then_some(changes.len() as u32);
            outbox.push(Outbound::SyncStart {
                ds: index,
                number_of_changes,
            });
            for (luid, change) in changes {
                let payload = match change {
                    Change::Deleted => None,
                    _ => store.get(&luid).map(|item| Payload {
                        content_type: item.content_type.clone(),
                        data: payload_data(item, self.profile.encoding),
                    }),
                };
                outbox.push(Outbound::Change {
                    ds: index,
                    luid,
                    change,
                    payload,
                    offset: 0,
                });
            }
        }
        session.outbox.extend(outbox);
    }

    /// Builds the next message: statuses first, then queued commands while they fit. With
    /// `ask_more`, the message asks for the rest of the server's package (Alert 222) and is
    /// never final; otherwise it is final when `may_end` and nothing is left.
    pub(super) fn pack(
        &mut self,
        may_end: bool,
        ask_more: bool,
        now: UnixMillis,
    ) -> Result<Outgoing, EmulatorError> {
        let (msg_id, with_cred, limit) = {
            let session = self.session();
            session.msg_id += 1;
            let server_limit = session
                .server_max_msg_size
                .unwrap_or(UNKNOWN_SERVER_MAX_MSG_SIZE);
            (
                session.msg_id,
                session.phase == Phase::Init && !session.authenticated,
                server_limit,
            )
        };
        // Past package 1 the phone also keeps its own messages within its own buffer.
        let limit = if self.session().phase == Phase::Init {
            limit
        } else {
            limit.min(self.profile.max_msg_size)
        } as usize;
        let header = self.header(msg_id, with_cred);
        let message = Message {
            version: self.profile.version,
            header: Some(header),
            body: SyncBody::default(),
            extensions: Default::default(),
        };
        let mut builder = Builder::new(self, message, limit)?;
        // Statuses: all that fit; the first goes in whatever its size.
        loop {
            let Some(status) = self.session().statuses.pop_front() else {
                break;
            };
            let forced = builder.message.body.commands.is_empty();
            if forced {
                builder.push_forced(self, Command::Status(status), None)?;
            } else if !builder.try_push(self, Command::Status(status.clone()), None)? {
                self.session().statuses.push_front(status);
                break;
            }
        }
        if ask_more {
            let alert = Command::Alert(Alert {
                data: Some(AlertCode::NextMessage),
                items: vec![Item {
                    target: Some(Target::new(self.server_uri())),
                    source: Some(Source::new(self.profile.device_id.clone())),
                    ..Item::default()
                }],
                ..Alert::default()
            });
            // After the statuses, making room by leaving the last ones for the next message.
            while !builder.try_push(self, alert.clone(), Some(Sent::NextMessage))? {
                let status = if builder.message.body.commands.len() <= 1 {
                    None
                } else {
                    builder.pop_status(self)?
                };
                let Some(status) = status else {
                    builder.push_forced(self, alert, Some(Sent::NextMessage))?;
                    break;
                };
                self.session().statuses.push_front(status);
            }
        }
        let statuses_left = !self.session().statuses.is_empty();
        let statuses_sent = builder
            .message
            .body
            .commands
            .iter()
            .filter(|c| matches!(c, Command::Status(_)))
            .count();
        if statuses_left && statuses_sent < MINIMAL_STATUSES {
            // Each server message owes it more statuses than a message can carry: the
            // session could never end.
            return Err(EmulatorError::Protocol(format!(
                "a MaxMsgSize of {limit} bytes leaves no room for the statuses a message must \
                 carry"
            )));
        }
        if !ask_more && !statuses_left {
            self.pack_commands(&mut builder)?;
        }
        let session = self.session.as_mut().expect("running");
        let done = session.outbox.is_empty() && session.statuses.is_empty();
        let is_final = !ask_more && may_end && done;
        builder.message.body.final_ = is_final;
        for (cmd_id, sent) in builder.registered.drain(..) {
            session.sent.insert((msg_id, cmd_id), sent);
        }
        if is_final {
            session.phase = match session.phase {
                Phase::Init => Phase::Init,
                Phase::Changes => Phase::ServerChanges,
                Phase::ServerChanges => Phase::ServerChanges,
                Phase::Maps | Phase::MapStatus => Phase::MapStatus,
            };
        }
        let message = builder.message;
        let bytes = encode_message(&self.profile, &message)?;
        let session = self.session.as_mut().expect("running");
        session.messages_sent += 1;
        if let Some(transcript) = session.transcript.as_mut() {
            transcript.record(Direction::Sent, now, &bytes, Some(&message));
        }
        Ok(Outgoing {
            bytes,
            encoding: self.profile.encoding,
            message,
            is_final,
        })
    }

    /// Queued commands and changes into the message, while they fit.
    fn pack_commands(&mut self, builder: &mut Builder) -> Result<(), EmulatorError> {
        // The Sync the changes go into, in this message: (datastore, index in the body).
        let mut open_sync: Option<(usize, usize)> = None;
        loop {
            let Some(next) = self.session().outbox.pop_front() else {
                return Ok(());
            };
            match next {
                Outbound::Command(
                    Command::Map(map),
                    Sent::Map {
                        ds,
                        entries,
                        pending,
                    },
                ) => {
                    if !self.pack_map(builder, *map, ds, entries, pending)? {
                        return Ok(());
                    }
                }
                Outbound::Command(command, sent) => {
                    if !builder.try_push_or_first(self, command.clone(), Some(sent.clone()))? {
                        self.session()
                            .outbox
                            .push_front(Outbound::Command(command, sent));
                        return Ok(());
                    }
                }
                Outbound::SyncStart {
                    ds,
                    number_of_changes,
                } => {
                    let sync = self.sync_command(ds, number_of_changes);
                    if !builder.try_push_or_first(self, sync, Some(Sent::Sync(ds)))? {
                        self.session().outbox.push_front(Outbound::SyncStart {
                            ds,
                            number_of_changes,
                        });
                        return Ok(());
                    }
                    open_sync = Some((ds, builder.message.body.commands.len() - 1));
                }
                Outbound::Change {
                    ds,
                    luid,
                    change,
                    payload,
                    offset,
                } => {
                    let sync_index = match open_sync {
                        Some((open, index)) if open == ds => index,
                        _ => {
                            // The datastore's Sync continues in this message.
                            let sync = self.sync_command(ds, None);
                            if !builder.try_push_or_first(self, sync, Some(Sent::Sync(ds)))? {
                                self.session().outbox.push_front(Outbound::Change {
                                    ds,
                                    luid,
                                    change,
                                    payload,
                                    offset,
                                });
                                return Ok(());
                            }
                            let index = builder.message.body.commands.len() - 1;
                            open_sync = Some((ds, index));
                            index
                        }
                    };
                    let keep_going =
                        self.pack_change(builder, sync_index, ds, luid, change, payload, offset)?;
                    if !keep_going {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// A Map, split over messages when its items do not all fit: as many as fit go now, the
    /// rest in a Map of their own in the next message. Returns whether there is room for more.
    fn pack_map(
        &mut self,
        builder: &mut Builder,
        map: Map,
        ds: usize,
        entries: Vec<(String, String)>,
        pending: bool,
    ) -> Result<bool, EmulatorError> {
        let part = |count: usize| {
            let mut part = map.clone();
            part.map_items.truncate(count);
            let sent = Sent::Map {
                ds,
                entries: entries[..count.min(entries.len())].to_vec(),
                pending,
            };
            (Command::Map(Box::new(part)), sent)
        };
        let total = map.map_items.len();
        let (whole, sent) = part(total);
        if builder.try_push(self, whole, Some(sent))? {
            return Ok(true);
        }
        // The most items that fit, at least one when the message holds nothing else.
        let (mut low, mut high) = (0usize, total);
        while low < high {
            let middle = (low + high).div_ceil(2);
            if builder.fits(self, part(middle).0)? {
                low = middle;
            } else {
                high = middle - 1;
            }
        }
        if low == 0 && builder.is_minimal(None) {
            low = 1;
        }
        if low > 0 {
            let (command, sent) = part(low);
            builder.push_forced(self, command, Some(sent))?;
        }
        let mut rest = map;
        rest.map_items.drain(..low);
        if rest.map_items.is_empty() {
            return Ok(false);
        }
        let rest_entries = entries[low.min(entries.len())..].to_vec();
        self.session().outbox.push_front(Outbound::Command(
            Command::Map(Box::new(rest)),
            Sent::Map {
                ds,
                entries: rest_entries,
                pending,
            },
        ));
        Ok(false)
    }

    fn sync_command(&mut self, ds: usize, number_of_changes: Option<u32>) -> Command {
        let datastore = &self.session().datastores[ds];
        Command::Sync(Box::new(Sync {
            target: Some(Target::new(datastore.server_uri.clone())),
            source: Some(Source::new(datastore.local_uri.clone())),
            number_of_changes,
            ..Sync::default()
        }))
    }
}

pub(super) fn map_command(ds: &DatastoreSession, entries: &[(String, String)]) -> Command {
    Command::Map(Box::new(Map {
        target: Target::new(ds.server_uri.clone()),
        source: Source::new(ds.local_uri.clone()),
        map_items: entries
            .iter()
            .map(|(guid, luid)| MapItem {
                target: Target::new(guid.clone()),
                source: Source::new(luid.clone()),
                ..MapItem::default()
            })
            .collect(),
        ..Map::default()
    }))
}
