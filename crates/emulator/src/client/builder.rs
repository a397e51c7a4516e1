//! Building one message within the server's MaxMsgSize: commands are added one at a time,
//! numbered by a [`CmdIdAllocator`] and measured by a [`SizeBudget`], so the limit holds
//! exactly whatever the encoding (WBXML string lengths, XML escaping) without encoding the
//! whole message after each command.

use super::{EmulatedPhone, Sent, MINIMAL_STATUSES};
use crate::EmulatorError;
use handsync_proto::ds::{CmdIdAllocator, MessageEncoder, SizeBudget};
use handsync_proto::syncml::{Command, Message, Status, Sync};

impl MessageEncoder for EmulatedPhone {
    type Error = EmulatorError;

    fn encoded_len(&self, message: &Message) -> Result<usize, EmulatorError> {
        Ok(self.encode(message)?.len())
    }
}

/// A message being filled.
pub(super) struct Builder {
    pub(super) message: Message,
    ids: CmdIdAllocator,
    budget: SizeBudget,
    /// The commands added that expect a status: (CmdID, what they were).
    pub(super) registered: Vec<(String, Sent)>,
}

impl Builder {
    /// A builder for `message` (a header, no commands yet) within `limit` bytes.
    pub(super) fn new(
        phone: &EmulatedPhone,
        message: Message,
        limit: usize,
    ) -> Result<Builder, EmulatorError> {
        Ok(Builder {
            budget: SizeBudget::new(phone, &message, limit)?,
            message,
            ids: CmdIdAllocator::new(),
            registered: Vec::new(),
        })
    }

    pub(super) fn limit(&self) -> usize {
        self.budget.limit()
    }

    fn register(&mut self, id: u32, sent: Option<Sent>) {
        if let Some(sent) = sent {
            self.registered.push((id.to_string(), sent));
        }
    }

    /// Adds a command whatever its size.
    pub(super) fn push_forced(
        &mut self,
        phone: &EmulatedPhone,
        mut command: Command,
        sent: Option<Sent>,
    ) -> Result<(), EmulatorError> {
        let id = self.ids.number(&mut command);
        self.message.body.commands.push(command);
        self.budget.resync(phone, &self.message)?;
        self.register(id, sent);
        Ok(())
    }

    /// Adds a command if the message stays within the limit.
    pub(super) fn try_push(
        &mut self,
        phone: &EmulatedPhone,
        mut command: Command,
        sent: Option<Sent>,
    ) -> Result<bool, EmulatorError> {
        let id = self.ids.number(&mut command);
        let command = self.budget.measure(phone, command)?;
        self.message.body.commands.push(command);
        if !self.budget.fits(phone, &self.message)? {
            self.message.body.commands.pop();
            self.ids.rewind_to(id);
            return Ok(false);
        }
        self.register(id, sent);
        Ok(true)
    }

    /// As `try_push`, but the first command after the statuses goes in whatever its size
    /// (a message must carry something).
    pub(super) fn try_push_or_first(
        &mut self,
        phone: &EmulatedPhone,
        command: Command,
        sent: Option<Sent>,
    ) -> Result<bool, EmulatorError> {
        if self.try_push(phone, command.clone(), sent.clone())? {
            Ok(true)
        } else if self.is_minimal(None) {
            self.push_forced(phone, command, sent)?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Takes the last command out again if it is a Status (to make room), giving its CmdID
    /// back.
    pub(super) fn pop_status(
        &mut self,
        phone: &EmulatedPhone,
    ) -> Result<Option<Status>, EmulatorError> {
        if !matches!(self.message.body.commands.last(), Some(Command::Status(_))) {
            return Ok(None);
        }
        let Some(Command::Status(status)) = self.message.body.commands.pop() else {
            unreachable!("checked");
        };
        self.ids.rewind_to(self.ids.peek() - 1);
        self.budget.resync(phone, &self.message)?;
        Ok(Some(status))
    }

    fn sync_at(&mut self, index: usize) -> &mut Sync {
        match &mut self.message.body.commands[index] {
            Command::Sync(sync) => sync,
            _ => unreachable!("the index of a Sync this builder added"),
        }
    }

    /// Whether `command` would fit at the end of the message.
    pub(super) fn fits(
        &mut self,
        phone: &EmulatedPhone,
        mut command: Command,
    ) -> Result<bool, EmulatorError> {
        self.ids.clone().number(&mut command);
        let command = self.budget.measure(phone, command)?;
        self.message.body.commands.push(command);
        let fits = self.budget.would_fit(phone, &self.message);
        self.message.body.commands.pop();
        fits
    }

    /// Whether `command` would fit in the Sync at `index`.
    pub(super) fn fits_in_sync(
        &mut self,
        phone: &EmulatedPhone,
        index: usize,
        mut command: Command,
    ) -> Result<bool, EmulatorError> {
        self.ids.clone().number(&mut command);
        let command = self.budget.measure_in_sync(phone, command)?;
        self.sync_at(index).commands.push(command);
        let fits = self.budget.would_fit(phone, &self.message);
        self.sync_at(index).commands.pop();
        fits
    }

    /// Adds a command to the Sync at `index` if the message stays within the limit.
    pub(super) fn try_push_in_sync(
        &mut self,
        phone: &EmulatedPhone,
        index: usize,
        mut command: Command,
        sent: Sent,
    ) -> Result<bool, EmulatorError> {
        let id = self.ids.number(&mut command);
        let command = self.budget.measure_in_sync(phone, command)?;
        self.sync_at(index).commands.push(command);
        if !self.budget.fits(phone, &self.message)? {
            self.sync_at(index).commands.pop();
            self.ids.rewind_to(id);
            return Ok(false);
        }
        self.register(id, Some(sent));
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
