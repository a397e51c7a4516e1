//! Fitting commands into the other side's MaxMsgSize.
//!
//! Encoding the whole message after each command added makes building a message quadratic in
//! its size. [`SizeBudget`] instead measures each command alone, in a probe message (the
//! header and nothing else, or an empty Sync for changes), and adds a few bytes for a WBXML
//! code page switch the context may need. The running total is an upper bound of the
//! message's size: while it stays under the limit the command certainly fits; past it, one
//! exact encode decides. So a message is filled exactly as if it were encoded after every
//! command, at the cost of encoding mostly small probes.

use crate::syncml::{Command, Message, Sync, SyncBody};

/// Encodes messages the way they will be sent (encoding, WBXML options), to measure them.
pub trait MessageEncoder {
    type Error;

    /// The size of `message` as it would go on the wire.
    fn encoded_len(&self, message: &Message) -> Result<usize, Self::Error>;
}

/// A WBXML SWITCH_PAGE back to SyncML's code page (2 bytes) and a little more, per command.
const CONTEXT_SLACK: usize = 4;

/// The encoded size of one message being built, tracked as commands are added.
///
/// Use: [`measure`](SizeBudget::measure) (or [`measure_in_sync`](SizeBudget::measure_in_sync))
/// a numbered command, put it into the message, then [`fits`](SizeBudget::fits): `false`
/// means take it out again (the budget is as before). After any other change to the message
/// (a command taken out, one added whatever its size), [`resync`](SizeBudget::resync).
#[derive(Debug, Clone)]
pub struct SizeBudget {
    limit: usize,
    /// An upper bound of the message's encoded size (exact after `resync`).
    size: usize,
    /// The cost of the command measured last.
    pending: usize,
    probe: Message,
    probe_len: usize,
    /// The probe with one empty Sync, and its size, for changes inside a Sync.
    sync_probe: Option<(Message, usize)>,
}

impl SizeBudget {
    /// A budget of `limit` bytes for `message` (its header and what it holds already).
    pub fn new<E: MessageEncoder + ?Sized>(
        encoder: &E,
        message: &Message,
        limit: usize,
    ) -> Result<SizeBudget, E::Error> {
        let probe = Message {
            version: message.version,
            header: message.header.clone(),
            body: SyncBody::default(),
            extensions: Default::default(),
        };
        let probe_len = encoder.encoded_len(&probe)?;
        Ok(SizeBudget {
            limit,
            size: encoder.encoded_len(message)?,
            pending: 0,
            probe,
            probe_len,
            sync_probe: None,
        })
    }

    /// The limit in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Measures a command for the body; hands it back.
    pub fn measure<E: MessageEncoder + ?Sized>(
        &mut self,
        encoder: &E,
        command: Command,
    ) -> Result<Command, E::Error> {
        self.probe.body.commands.push(command);
        let len = encoder.encoded_len(&self.probe);
        let command = self.probe.body.commands.pop().expect("just pushed");
        self.pending = len?.saturating_sub(self.probe_len) + CONTEXT_SLACK;
        Ok(command)
    }

    /// Measures a command for a Sync of the body; hands it back.
    pub fn measure_in_sync<E: MessageEncoder + ?Sized>(
        &mut self,
        encoder: &E,
        command: Command,
    ) -> Result<Command, E::Error> {
        if self.sync_probe.is_none() {
            let mut probe = self.probe.clone();
            probe.body.commands.push(Command::Sync(Box::default()));
            let len = encoder.encoded_len(&probe)?;
            self.sync_probe = Some((probe, len));
        }
        let (probe, base) = self.sync_probe.as_mut().expect("just made");
        let sync = probe_sync(probe);
        sync.commands.push(command);
        let len = encoder.encoded_len(probe);
        let command = probe_sync(probe).commands.pop().expect("just pushed");
        self.pending = len?.saturating_sub(*base) + CONTEXT_SLACK;
        Ok(command)
    }

    /// Whether `message`, with the command measured last now in it, fits the limit; if it
    /// does, the command counts from now on.
    pub fn fits<E: MessageEncoder + ?Sized>(
        &mut self,
        encoder: &E,
        message: &Message,
    ) -> Result<bool, E::Error> {
        match self.size_with_pending(encoder, message)? {
            Some(size) => {
                self.size = size;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// As [`fits`](SizeBudget::fits), but the command is only tried: it does not count.
    pub fn would_fit<E: MessageEncoder + ?Sized>(
        &self,
        encoder: &E,
        message: &Message,
    ) -> Result<bool, E::Error> {
        Ok(self.size_with_pending(encoder, message)?.is_some())
    }

    /// After a command was taken out again or added whatever its size: the exact size.
    pub fn resync<E: MessageEncoder + ?Sized>(
        &mut self,
        encoder: &E,
        message: &Message,
    ) -> Result<(), E::Error> {
        self.size = encoder.encoded_len(message)?;
        Ok(())
    }

    /// The message's size bound with the pending command, `None` if it is over the limit.
    fn size_with_pending<E: MessageEncoder + ?Sized>(
        &self,
        encoder: &E,
        message: &Message,
    ) -> Result<Option<usize>, E::Error> {
        if self.size + self.pending <= self.limit {
            return Ok(Some(self.size + self.pending));
        }
        let exact = encoder.encoded_len(message)?;
        Ok((exact <= self.limit).then_some(exact))
    }
}

fn probe_sync(probe: &mut Message) -> &mut Sync {
    match probe.body.commands.last_mut() {
        Some(Command::Sync(sync)) => sync,
        _ => unreachable!("the Sync probe ends with its Sync"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ds::CmdIdAllocator;
    use crate::markup::Version;
    use crate::syncml::{
        to_wbxml, to_xml, xml::XmlOptions, Data, Encoding, Item, ItemCommand, Source, SyncHdr,
        Target,
    };

    struct Wire(Encoding);

    impl MessageEncoder for Wire {
        type Error = String;
        fn encoded_len(&self, message: &Message) -> Result<usize, String> {
            match self.0 {
                Encoding::Xml => to_xml(message, XmlOptions::default()).map(|x| x.len()),
                Encoding::Wbxml => to_wbxml(message, &Default::default()).map(|b| b.len()),
            }
            .map_err(|e| e.to_string())
        }
    }

    fn message() -> Message {
        Message {
            version: Version::V1_2,
            header: Some(SyncHdr {
                ver_proto: "SyncML/1.2".into(),
                session_id: "1".into(),
                msg_id: 1,
                target: Target::new("PC Suite"),
                source: Source::new("IMEI:0123"),
                resp_uri: None,
                no_resp: false,
                cred: None,
                meta: None,
                extensions: Default::default(),
            }),
            body: SyncBody::default(),
            extensions: Default::default(),
        }
    }

    fn add(luid: usize, text: String) -> Command {
        Command::Add(ItemCommand {
            items: vec![Item {
                source: Some(Source::new(luid.to_string())),
                data: Some(Data::Text(text)),
                ..Item::default()
            }],
            ..ItemCommand::default()
        })
    }

    /// Fills a message with the budget and, separately, by encoding it after every change:
    /// both take the same changes, and the message stays within the limit.
    #[test]
    fn the_budget_takes_what_exact_measuring_takes() {
        for encoding in [Encoding::Xml, Encoding::Wbxml] {
            let wire = Wire(encoding);
            for limit in [450, 700, 1500, 4000] {
                let mut budgeted = message();
                let mut exact = message();
                let mut ids = CmdIdAllocator::new();
                let mut sync = Command::Sync(Box::default());
                ids.number(&mut sync);
                budgeted.body.commands.push(sync.clone());
                exact.body.commands.push(sync);
                let mut budget = SizeBudget::new(&wire, &budgeted, limit).unwrap();
                for luid in 0..40 {
                    let mut command = add(luid, "x".repeat(luid * 7 % 90));
                    ids.number(&mut command);
                    let command = budget.measure_in_sync(&wire, command).unwrap();
                    sync_of(&mut budgeted).commands.push(command.clone());
                    let taken = budget.fits(&wire, &budgeted).unwrap();
                    if !taken {
                        sync_of(&mut budgeted).commands.pop();
                    }
                    sync_of(&mut exact).commands.push(command);
                    if wire.encoded_len(&exact).unwrap() > limit {
                        sync_of(&mut exact).commands.pop();
                        assert!(!taken, "{encoding:?} {limit}: the budget took too much");
                        break;
                    }
                    assert!(taken, "{encoding:?} {limit}: the budget refused a fit");
                }
                assert_eq!(budgeted, exact);
                assert!(wire.encoded_len(&budgeted).unwrap() <= limit);
            }
        }
    }

    #[test]
    fn a_tried_command_does_not_count() {
        let wire = Wire(Encoding::Xml);
        let mut message = message();
        let mut budget = SizeBudget::new(&wire, &message, 10_000).unwrap();
        let command = budget.measure(&wire, add(1, "y".repeat(100))).unwrap();
        message.body.commands.push(command);
        assert!(budget.would_fit(&wire, &message).unwrap());
        let before = budget.size;
        assert!(budget.fits(&wire, &message).unwrap());
        assert!(budget.size > before);
        assert_eq!(budget.limit(), 10_000);
    }

    fn sync_of(message: &mut Message) -> &mut Sync {
        probe_sync(message)
    }
}
