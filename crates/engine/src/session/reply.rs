//! Building our messages: the header, the encoding, and fitting queued statuses, commands
//! and changes into the phone's MaxMsgSize without re-encoding the whole message each time.

use std::collections::VecDeque;

use crate::model::{self, some_meta};
use handsync_proto::ds::{MessageEncoder, SizeBudget};
use handsync_proto::markup::Version;
use handsync_proto::syncml::{
    to_wbxml, to_xml, xml::XmlOptions, Alert, AlertCode, Command, Encoding, Message, MetInf,
    Source, Status, StatusCode, Sync, SyncBody, SyncHdr, Target,
};
use handsync_proto::wbxml::WriterOptions;

use super::outgoing::{ChangeSource, Outgoing, Sent};
use super::{EngineError, Phase, Reply, Result, Session};
use crate::storage::Datastore;

/// What our next messages carry.
#[derive(Debug, Clone)]
pub(super) struct Outbox {
    next_msg_id: u32,
    pub(super) statuses: VecDeque<Status>,
    pub(super) commands: VecDeque<Command>,
    /// Our changes read and ready to go (through the methods below, which keep `queued`).
    changes: imbl::Vector<Outgoing>,
    /// Where the changes that follow them are listed from, one per datastore we send to, in
    /// the order they go (see `Session::read_changes`).
    pub(super) sources: Vec<ChangeSource>,
    /// How many changes of each datastore `changes` holds: with the sources' counts, a
    /// Sync's NumberOfChanges, without counting the queue for every Sync we open.
    queued: Vec<(Datastore, usize)>,
    /// Changes sent, waiting for their Status, by (MsgID, CmdID).
    pub(super) awaiting: imbl::HashMap<(u32, String), Sent>,
    /// The package we are sending is complete once the queues drain.
    pub(super) package_complete: bool,
    /// Our last message ended a package.
    pub(super) last_reply_final: bool,
}

impl Outbox {
    /// Nothing queued; our first message has MsgID 1.
    pub(super) fn new() -> Outbox {
        Outbox {
            next_msg_id: 1,
            statuses: VecDeque::new(),
            commands: VecDeque::new(),
            changes: imbl::Vector::new(),
            sources: Vec::new(),
            queued: Vec::new(),
            awaiting: imbl::HashMap::new(),
            package_complete: false,
            last_reply_final: true,
        }
    }
}

impl Outbox {
    /// Changes (or Syncs to open) are queued, read or still to list.
    pub(super) fn has_changes(&self) -> bool {
        !self.changes.is_empty() || !self.sources.is_empty()
    }

    pub(super) fn push_change_back(&mut self, outgoing: Outgoing) {
        self.count(outgoing.change_datastore(), true);
        self.changes.push_back(outgoing);
    }

    /// Puts back a change taken with [`Outbox::pop_change`] (it did not fit, or goes on in
    /// chunks).
    pub(super) fn push_change_front(&mut self, outgoing: Outgoing) {
        self.count(outgoing.change_datastore(), true);
        self.changes.push_front(outgoing);
    }

    pub(super) fn pop_change(&mut self) -> Option<Outgoing> {
        let outgoing = self.changes.pop_front()?;
        self.count(outgoing.change_datastore(), false);
        Some(outgoing)
    }

    pub(super) fn clear_changes(&mut self) {
        self.changes.clear();
        self.sources.clear();
        self.queued.clear();
    }

    /// The least bytes the changes read take in our messages (see `PendingChange`).
    pub(super) fn least_bytes_of_changes(&self) -> usize {
        self.changes
            .iter()
            .map(|outgoing| match outgoing {
                Outgoing::Open(_) => 0,
                Outgoing::Change(change) => change.least_bytes(),
            })
            .sum()
    }

    /// Changes queued for any of these datastores, read or still to list.
    pub(super) fn changes_queued(&self, datastores: &[Datastore]) -> u64 {
        let read: usize = self
            .queued
            .iter()
            .filter(|(datastore, _)| datastores.contains(datastore))
            .map(|(_, count)| count)
            .sum();
        let listed: u64 = self
            .sources
            .iter()
            .filter(|source| datastores.contains(&source.datastore))
            .map(|source| source.remaining)
            .sum();
        read as u64 + listed
    }

    fn count(&mut self, datastore: Option<Datastore>, added: bool) {
        let Some(datastore) = datastore else {
            return;
        };
        let index = match self.queued.iter().position(|(d, _)| *d == datastore) {
            Some(index) => index,
            None => {
                self.queued.push((datastore, 0));
                self.queued.len() - 1
            }
        };
        let count = &mut self.queued[index].1;
        *count = if added {
            *count + 1
        } else {
            count.saturating_sub(1)
        };
    }
}

/// Above this MaxMsgSize (bytes) a phone's messages are never tiny: no need to measure.
const SMALL_MESSAGES: usize = 8192;

impl Session {
    fn our_header(&self, msg_id: u32) -> SyncHdr {
        // Our MaxMsgSize and MaxObjSize hold for the whole session and the phone learns them
        // from our first message; repeating them costs about 150 bytes of XML, which only a
        // phone with tiny messages feels, so only such a phone goes without the repeat.
        let meta_in_header = msg_id == 1 || !self.state.peer.tiny_messages;
        let mut meta = MetInf {
            max_msg_size: Some(self.config.max_msg_size),
            ..MetInf::default()
        };
        if self.state.peer.version != Version::V1_0 {
            meta.max_obj_size = Some(self.config.max_obj_size);
        }
        SyncHdr {
            ver_proto: self.state.peer.ver_proto.clone().into(),
            session_id: self.state.peer.syncml_session_id.clone().into(),
            msg_id,
            target: Target::new(self.state.peer.client_uri.clone()),
            source: Source::new(self.state.peer.server_uri.clone()),
            resp_uri: self.params.resp_uri.clone().map(Into::into),
            no_resp: false,
            cred: None,
            meta: if meta_in_header {
                some_meta(meta)
            } else {
                None
            },
            extensions: Default::default(),
        }
    }

    pub(super) fn encode(&self, message: &Message) -> Result<Vec<u8>> {
        match self.state.peer.encoding {
            Encoding::Xml => to_xml(message, XmlOptions::default())
                .map(String::into_bytes)
                .map_err(EngineError::Encode),
            Encoding::Wbxml => {
                to_wbxml(message, &WriterOptions::default()).map_err(EngineError::Encode)
            }
        }
    }

    /// `Some(smallest)` when the phone's MaxMsgSize is below the smallest message that lets a
    /// session progress: our header (with its Meta, as in our first message), its status and
    /// two statuses. A phone that asks for each of our messages with an Alert 222 adds a
    /// status to every message, so a message must carry two to get ahead. A MaxMsgSize under
    /// twice that makes the phone's messages tiny: our later headers leave out their Meta.
    pub(super) fn phone_messages_too_small(
        &mut self,
        header_status: &Status,
    ) -> Result<Option<usize>> {
        let limit = self.limit();
        self.state.peer.tiny_messages = false;
        if limit >= SMALL_MESSAGES {
            return Ok(None);
        }
        let mut message = Message {
            version: self.state.peer.version,
            header: Some(self.our_header(1)),
            body: SyncBody {
                final_: true,
                ..SyncBody::default()
            },
            extensions: Default::default(),
        };
        for cmd_id in 1..=3 {
            let mut command = Command::Status(header_status.clone());
            model::set_cmd_id(&mut command, cmd_id);
            message.body.commands.push(command);
        }
        let smallest = self.encode(&message)?.len();
        self.state.peer.tiny_messages = limit < 2 * smallest;
        Ok((smallest > limit).then_some(smallest))
    }

    /// Whether `command` fits in a message of ours beside the header's status (our first
    /// message's header, with its Meta): a command that does not cannot go within the
    /// phone's MaxMsgSize at all.
    pub(super) fn fits_beside_a_status(&self, command: &Command) -> bool {
        let header = self.our_header(1);
        // The phone's header names the same two URIs ours does.
        let status = Status::for_header("1", &header, StatusCode::Ok);
        let mut command = command.clone();
        model::set_cmd_id(&mut command, 2);
        let message = Message {
            version: self.state.peer.version,
            header: Some(header),
            body: SyncBody {
                final_: true,
                commands: vec![Command::Status(status), command],
                ..SyncBody::default()
            },
            extensions: Default::default(),
        };
        self.encode(&message)
            .map(|bytes| bytes.len() <= self.limit())
            .unwrap_or(false)
    }

    /// The size limit of our messages.
    pub(super) fn limit(&self) -> usize {
        let limit = self
            .state
            .peer
            .max_msg_size
            .unwrap_or(self.config.default_client_max_msg_size);
        usize::try_from(limit).unwrap_or(usize::MAX)
    }

    /// Builds our next message: the header status, then as many queued statuses, commands
    /// and changes as fit in the phone's MaxMsgSize.
    pub(super) fn reply(
        &mut self,
        header_status: Option<Status>,
        phone_waits_for_us: bool,
    ) -> Result<Reply> {
        let msg_id = self.state.outbox.next_msg_id;
        self.state.outbox.next_msg_id += 1;
        let limit = self.limit();
        let mut message = Message {
            version: self.state.peer.version,
            header: Some(self.our_header(msg_id)),
            // Measured with room for <Final/>, whether or not this message ends up final.
            body: SyncBody {
                final_: true,
                ..SyncBody::default()
            },
            extensions: Default::default(),
        };
        let mut next_id = 1u32;
        if let Some(status) = header_status {
            let mut command = Command::Status(status);
            model::set_cmd_id(&mut command, next_id);
            next_id += 1;
            message.body.commands.push(command);
        }
        let mut full = false;
        // What a message holds before anything queued: a command that does not fit even
        // then goes alone (over the limit, logged), since holding it back would stall.
        let base = message.body.commands.len();
        let mut budget = SizeBudget::new(self, &message, limit)?;
        while let Some(status) = self.state.outbox.statuses.pop_front() {
            let mut command = Command::Status(status);
            model::set_cmd_id(&mut command, next_id);
            let command = budget.measure(self, command)?;
            message.body.commands.push(command);
            if !budget.fits(self, &message)? {
                if message.body.commands.len() > base + 1 {
                    let Some(Command::Status(status)) = message.body.commands.pop() else {
                        unreachable!()
                    };
                    self.state.outbox.statuses.push_front(status);
                    full = true;
                    break;
                }
                budget.resync(self, &message)?;
            }
            next_id += 1;
        }
        // Package 2 (our Alerts, Results, Get) answers the phone's whole package 1: while
        // that goes on over several messages, ours carry statuses only.
        let package_1_goes_on = self.state.phase == Phase::Init;
        while !full && !package_1_goes_on {
            let Some(mut command) = self.state.outbox.commands.pop_front() else {
                break;
            };
            model::set_cmd_id(&mut command, next_id);
            let command = budget.measure(self, command)?;
            message.body.commands.push(command);
            if !budget.fits(self, &message)? && self.defer_alert_statuses(&mut message, base) {
                budget.resync(self, &message)?;
            }
            if !budget.fits(self, &message)? {
                if message.body.commands.len() > base + 1 {
                    let command = message.body.commands.pop().expect("just pushed");
                    self.state.outbox.commands.push_front(command);
                    full = true;
                    break;
                }
                budget.resync(self, &message)?;
            }
            next_id += 1;
        }
        if !full {
            self.fill_changes(&mut message, base, &mut next_id, msg_id, &mut budget)?;
        }
        let drained = self.state.outbox.statuses.is_empty()
            && self.state.outbox.commands.is_empty()
            && !self.state.outbox.has_changes();
        let is_final = drained && self.state.outbox.package_complete;
        if !is_final && !phone_waits_for_us && self.phase_expects_more_from_client() {
            // The phone's package goes on and we have nothing but statuses: ask for more.
            let only_statuses = message
                .body
                .commands
                .iter()
                .all(|c| matches!(c, Command::Status(_)));
            if only_statuses {
                let mut alert = Command::Alert(Alert {
                    data: Some(AlertCode::NextMessage),
                    items: vec![model::item(
                        Some(&self.state.peer.client_uri),
                        Some(&self.state.peer.server_uri),
                    )],
                    ..Alert::default()
                });
                model::set_cmd_id(&mut alert, next_id);
                message.body.commands.push(alert);
                self.make_room_for_last(&mut message, base, limit)?;
            }
        }
        message.body.final_ = is_final;
        if is_final {
            self.state.outbox.package_complete = false;
        }
        // Statuses may have gone back to the queue to make room for an Alert 222.
        let drained = drained && self.state.outbox.statuses.is_empty();
        self.state.outbox.last_reply_final = is_final || drained;
        let bytes = self.encode(&message)?;
        if bytes.len() > limit {
            tracing::warn!(
                size = bytes.len(),
                limit,
                "our message exceeds the phone's MaxMsgSize"
            );
        }
        tracing::debug!(
            msg_id,
            size = bytes.len(),
            commands = message.body.commands.len(),
            is_final,
            "reply"
        );
        Ok(Reply {
            message,
            bytes,
            encoding: self.state.peer.encoding,
            is_final,
            session_finished: self.state.phase == Phase::Finished,
        })
    }

    /// Statuses answering the phone's Alerts come back in every message (each Alert 222 the
    /// phone sends to ask for our next message gets one). When only they stand between the
    /// message's base and the command just added, which does not fit, they wait for the next
    /// message: otherwise every message would carry them and nothing else (a stall).
    /// Returns whether any were deferred.
    pub(super) fn defer_alert_statuses(&mut self, message: &mut Message, base: usize) -> bool {
        let end = message.body.commands.len() - 1;
        let only_alert_statuses = message.body.commands[base..end]
            .iter()
            .all(|c| matches!(c, Command::Status(s) if s.cmd == "Alert"));
        if end == base || !only_alert_statuses {
            return false;
        }
        let deferred: Vec<Command> = message.body.commands.drain(base..end).collect();
        for command in deferred.into_iter().rev() {
            if let Command::Status(status) = command {
                self.state.outbox.statuses.push_front(status);
            }
        }
        true
    }

    /// The message's last command (an Alert 222 added after the statuses were fitted) must
    /// go: statuses before it go back to the queue, last first, until the message fits or
    /// holds one status (which goes over the limit rather than never: a stall otherwise).
    /// They leave in our next message, which the phone asks for.
    fn make_room_for_last(
        &mut self,
        message: &mut Message,
        base: usize,
        limit: usize,
    ) -> Result<()> {
        while message.body.commands.len() > base + 2 && self.encode(message)?.len() > limit {
            let last = message.body.commands.pop().expect("more than base");
            let Some(Command::Status(status)) = message.body.commands.pop() else {
                unreachable!("only statuses come before an Alert 222")
            };
            self.state.outbox.statuses.push_front(status);
            let mut last = last;
            model::set_cmd_id(&mut last, message.body.commands.len() as u32 + 1);
            message.body.commands.push(last);
        }
        Ok(())
    }

    fn phase_expects_more_from_client(&self) -> bool {
        self.state.phase != Phase::Finished
    }
}

/// Our messages are measured by encoding them in the session's encoding: the shared
/// [`SizeBudget`] tracks an upper bound of a message's size as commands are added.
impl MessageEncoder for Session {
    type Error = EngineError;

    fn encoded_len(&self, message: &Message) -> Result<usize> {
        Ok(self.encode(message)?.len())
    }
}

pub(super) fn last_sync(message: &mut Message) -> &mut Sync {
    match message.body.commands.last_mut() {
        Some(Command::Sync(sync)) => sync,
        _ => unreachable!("a Sync was opened"),
    }
}
