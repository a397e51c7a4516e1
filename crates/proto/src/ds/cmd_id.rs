//! `CmdID`s: every command of a message gets a number unique in that message, from 1 on.

use crate::syncml::{Command, CompactString};

/// Hands out the `CmdID`s of one message being built. A command given back (it did not fit)
/// returns its numbers with [`CmdIdAllocator::rewind_to`]; a copy numbers a command on trial
/// without using anything up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CmdIdAllocator {
    next: u32,
}

impl Default for CmdIdAllocator {
    fn default() -> CmdIdAllocator {
        CmdIdAllocator::new()
    }
}

impl CmdIdAllocator {
    /// A new message: the first command gets 1.
    pub fn new() -> CmdIdAllocator {
        CmdIdAllocator { next: 1 }
    }

    /// The number the next command gets.
    pub fn peek(&self) -> u32 {
        self.next
    }

    /// Takes the next number.
    pub fn allocate(&mut self) -> u32 {
        let id = self.next;
        self.next += 1;
        id
    }

    /// Numbers `command` and, depth first, the commands inside it (a Sync's changes, an
    /// Atomic's or Sequence's members); returns the command's own number.
    pub fn number(&mut self, command: &mut Command) -> u32 {
        let id = self.allocate();
        set_cmd_id(command, id);
        match command {
            Command::Sync(sync) => sync.commands.iter_mut().for_each(|c| {
                self.number(c);
            }),
            Command::Atomic(group) | Command::Sequence(group) => {
                group.commands.iter_mut().for_each(|c| {
                    self.number(c);
                })
            }
            _ => {}
        }
        id
    }

    /// The commands numbered from `id` on were taken out of the message: `id` is next again.
    pub fn rewind_to(&mut self, id: u32) {
        debug_assert!(id <= self.next, "rewinding forward");
        self.next = id;
    }
}

/// Sets the `CmdID` of one command (not of the commands inside it).
pub fn set_cmd_id(command: &mut Command, id: u32) {
    let id: Option<CompactString> = Some(id.to_string().into());
    match command {
        Command::Add(c) | Command::Copy(c) | Command::Move(c) | Command::Replace(c) => {
            c.cmd_id = id
        }
        Command::Alert(c) => c.cmd_id = id,
        Command::Atomic(c) | Command::Sequence(c) => c.cmd_id = id,
        Command::Delete(c) => c.cmd_id = id,
        Command::Exec(c) => c.cmd_id = id,
        Command::Get(c) | Command::Put(c) => c.cmd_id = id,
        Command::Map(c) => c.cmd_id = id,
        Command::Results(c) => c.cmd_id = id,
        Command::Search(c) => c.cmd_id = id,
        Command::Status(c) => c.cmd_id = id,
        Command::Sync(c) => c.cmd_id = id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syncml::{Alert, Delete, ItemCommand, Sync};

    #[test]
    fn a_sync_and_its_changes_are_numbered_depth_first() {
        let mut ids = CmdIdAllocator::new();
        let mut alert = Command::Alert(Alert::default());
        assert_eq!(ids.number(&mut alert), 1);
        let mut sync = Command::Sync(Box::new(Sync {
            commands: vec![
                Command::Add(ItemCommand::default()),
                Command::Delete(Delete::default()),
            ],
            ..Sync::default()
        }));
        assert_eq!(ids.number(&mut sync), 2);
        let Command::Sync(sync) = &sync else {
            unreachable!()
        };
        let inner: Vec<_> = sync.commands.iter().map(|c| c.cmd_id()).collect();
        assert_eq!(inner, [Some("3"), Some("4")]);
        assert_eq!(ids.peek(), 5);
        assert_eq!(alert.cmd_id(), Some("1"));
    }

    #[test]
    fn a_command_taken_out_gives_its_numbers_back() {
        let mut ids = CmdIdAllocator::new();
        ids.allocate();
        let mark = ids.peek();
        ids.number(&mut Command::Delete(Delete::default()));
        ids.rewind_to(mark);
        assert_eq!(ids.allocate(), 2);
        // A copy tries a number without using it up.
        let mut trial = ids;
        trial.allocate();
        assert_eq!(ids.peek(), 3);
    }
}
