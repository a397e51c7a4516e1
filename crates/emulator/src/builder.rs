//! Building one message within a size limit: commands are added one at a time and the message
//! is measured in its real encoding after each, so the limit holds exactly whatever the
//! encoding (WBXML string lengths, XML escaping). Quadratic within a message, which is fine
//! for phone-sized messages (a few KB).

use super::client::{Phone, Sent, MINIMAL_STATUSES};
use super::error::EmulatorError;
use handsync_proto::syncml::{Command, CompactString, Message, Sync};

/// A message being filled, measured in its real encoding after each command.
pub(super) struct Builder {
    pub(super) message: Message,
    pub(super) next_id: u32,
    pub(super) limit: usize,
    pub(super) registered: Vec<(String, Sent)>,
}

impl Builder {
    pub(super) fn number(command: &mut Command, next_id: &mut u32) {
        let id: Option<CompactString> = Some(next_id.to_string().into());
        *next_id += 1;
        match command {
            Command::Add(c) | Command::Replace(c) | Command::Copy(c) | Command::Move(c) => {
                c.cmd_id = id
            }
            Command::Delete(c) => c.cmd_id = id,
            Command::Alert(c) => c.cmd_id = id,
            Command::Get(c) | Command::Put(c) => c.cmd_id = id,
            Command::Map(c) => c.cmd_id = id,
            Command::Results(c) => c.cmd_id = id,
            Command::Status(c) => c.cmd_id = id,
            Command::Sync(c) => {
                c.cmd_id = id;
                for inner in &mut c.commands {
                    Builder::number(inner, next_id);
                }
            }
            Command::Atomic(c) | Command::Sequence(c) => {
                c.cmd_id = id;
                for inner in &mut c.commands {
                    Builder::number(inner, next_id);
                }
            }
            Command::Exec(c) => c.cmd_id = id,
            Command::Search(c) => c.cmd_id = id,
        }
    }

    pub(super) fn measure(&self, phone: &Phone) -> Result<usize, EmulatorError> {
        Ok(phone.encode(&self.message)?.len())
    }

    /// Adds a command whatever its size.
    pub(super) fn push_forced(&mut self, mut command: Command, sent: Option<Sent>) {
        let id_before = self.next_id;
        Builder::number(&mut command, &mut self.next_id);
        self.message.body.commands.push(command);
        if let Some(sent) = sent {
            self.registered.push((id_before.to_string(), sent));
        }
    }

    /// Adds a command if the message stays within the limit.
    pub(super) fn try_push(
        &mut self,
        phone: &Phone,
        mut command: Command,
        sent: Option<Sent>,
    ) -> Result<bool, EmulatorError> {
        let id_before = self.next_id;
        Builder::number(&mut command, &mut self.next_id);
        self.message.body.commands.push(command);
        let size = self.measure(phone)?;
        if size > self.limit {
            self.message.body.commands.pop();
            self.next_id = id_before;
            return Ok(false);
        }
        if let Some(sent) = sent {
            self.registered.push((id_before.to_string(), sent));
        }
        Ok(true)
    }

    /// As `try_push`, but the first command after the statuses goes in whatever its size
    /// (a message must carry something).
    pub(super) fn try_push_or_first(
        &mut self,
        phone: &Phone,
        command: Command,
        sent: Option<Sent>,
    ) -> Result<bool, EmulatorError> {
        if self.try_push(phone, command.clone(), sent.clone())? {
            Ok(true)
        } else if self.is_minimal(None) {
            self.push_forced(command, sent);
            Ok(true)
        } else {
            Ok(false)
        }
    }

    pub(super) fn sync_at(&mut self, index: usize) -> &mut Sync {
        match &mut self.message.body.commands[index] {
            Command::Sync(sync) => sync,
            _ => unreachable!("the index of a Sync this builder added"),
        }
    }

    /// Whether `command` would fit at the end of the message.
    pub(super) fn fits(
        &mut self,
        phone: &Phone,
        mut command: Command,
    ) -> Result<bool, EmulatorError> {
        let mut next_id = self.next_id;
        Builder::number(&mut command, &mut next_id);
        self.message.body.commands.push(command);
        let size = self.measure(phone)?;
        self.message.body.commands.pop();
        Ok(size <= self.limit)
    }

    /// Whether `command` would fit in the Sync at `index`.
    pub(super) fn fits_in_sync(
        &mut self,
        phone: &Phone,
        index: usize,
        mut command: Command,
    ) -> Result<bool, EmulatorError> {
        let mut next_id = self.next_id;
        Builder::number(&mut command, &mut next_id);
        self.sync_at(index).commands.push(command);
        let size = self.measure(phone)?;
        self.sync_at(index).commands.pop();
        Ok(size <= self.limit)
    }

    pub(super) fn try_push_in_sync(
        &mut self,
        phone: &Phone,
        index: usize,
        mut command: Command,
        sent: Sent,
    ) -> Result<bool, EmulatorError> {
        let id_before = self.next_id;
        Builder::number(&mut command, &mut self.next_id);
        self.sync_at(index).commands.push(command);
        let size = self.measure(phone)?;
        if size > self.limit {
            self.sync_at(index).commands.pop();
            self.next_id = id_before;
            return Ok(false);
        }
        self.registered.push((id_before.to_string(), sent));
        Ok(true)
    }

    /// Whether the message holds no more than any message must: a few statuses and, at
    /// `open_sync`, an empty Sync. A command that does not fit such a message fits none, so
    /// it goes anyway (or, for an item that cannot be cut, stays on the phone).
    pub(super) fn is_minimal(&mut self, open_sync: Option<usize>) -> bool {
        if let Some(index) = open_sync {
            if !self.sync_at(index).commands.is_empty() {
                return false;
            }
        }
        let mut statuses = 0;
        for (index, command) in self.message.body.commands.iter().enumerate() {
            match command {
                Command::Status(_) => statuses += 1,
                _ if Some(index) == open_sync => {}
                _ => return false,
            }
        }
        statuses <= MINIMAL_STATUSES
    }
}
