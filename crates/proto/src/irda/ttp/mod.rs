//! TinyTP (IrDA Tiny TP 1.1) over one IrLMP connection, sans-IO: credit based flow control,
//! and segmentation and reassembly of SDUs (OBEX packets) into PDUs of the link's size.
//!
//! Each side lends the other credits: one credit lets the peer send one data PDU. We lend
//! [`TtpConfig::initial_credit`] at connect time and lend a credit again once the data of a
//! PDU has left us: a segment when it joins the reassembly buffer, the last segment of an SDU
//! when the upper layer takes that SDU with [`Ttp::poll_sdu`]. So at most `initial_credit`
//! SDUs wait for the upper layer, plus one being reassembled, each at most
//! [`TtpConfig::max_sdu_size`]: the memory a peer can make us hold is bounded.
//!
//! Credits ride on data PDUs (the delta credit of the header); when we have no data PDU to
//! carry them and the peer runs low, [`Ttp::poll_pdu`] gives a dataless credit PDU. We never
//! send a data PDU without credit, and a peer that does is a protocol error.
//!
//! The PDUs given and taken are LM user data (the connect parameters ride on the LM-connect,
//! data PDUs on LM data); [`crate::irda::lmp::Lmp`] carries them.

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::fmt;

/// Connect PDU: parameters follow the credit byte.
const PARAMETERS_BIT: u8 = 0x80;
/// Data PDU: more segments of this SDU follow.
const MORE_BIT: u8 = 0x80;
const CREDIT_MASK: u8 = 0x7F;
/// The one parameter TinyTP defines.
const PI_MAX_SDU_SIZE: u8 = 0x01;
/// The TinyTP header of a data PDU.
pub const HEADER_LEN: usize = 1;
/// The most credit one PDU can carry.
pub const MAX_CREDIT: u8 = 0x7F;

/// One TinyTP connection's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TtpConfig {
    /// Credit lent at connect time: how many data PDUs the peer may send before we lend more,
    /// and how many SDUs may wait for the upper layer (1..=127).
    pub initial_credit: u8,
    /// The largest SDU we reassemble; 0 announces no segmentation (each PDU is an SDU, as a
    /// byte stream like OBEX's needs).
    pub max_sdu_size: u32,
    /// User bytes one data PDU carries: the IrLAP data size less the IrLMP (2) and TinyTP (1)
    /// headers.
    pub max_segment_size: usize,
    /// SDUs waiting to be sent; [`Ttp::send_sdu`] is refused beyond it.
    pub max_queued_sdus: usize,
}

impl TtpConfig {
    /// Defaults for the rest: 8 credits, no segmentation, 16 SDUs queued.
    pub fn new(max_segment_size: usize) -> TtpConfig {
        TtpConfig {
            initial_credit: 8,
            max_sdu_size: 0,
            max_segment_size,
            max_queued_sdus: 16,
        }
    }

    /// User bytes per data PDU for an IrLAP data size (IrLMP and TinyTP headers taken off).
    pub fn segment_size_for_link(link_data_size: usize) -> usize {
        link_data_size.saturating_sub(crate::irda::lmp::DATA_HEADER_LEN + HEADER_LEN)
    }
}

/// Why TinyTP refused an SDU of its user or a PDU of the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TtpError {
    /// Connect parameters or a PDU ending early, at this byte offset.
    Truncated {
        offset: usize,
        what: &'static str,
    },
    /// A parameter whose length does not fit its kind, at this byte offset.
    InvalidParameter {
        offset: usize,
        pi: u8,
        len: u8,
    },
    /// The peer's connect parameters came twice.
    AlreadyConnected,
    /// No connect parameters from the peer yet.
    NotConnected,
    /// The peer sent a data PDU with no credit left.
    NoCredit,
    /// A PDU with the M bit but no data.
    MoreWithoutData,
    /// A segment (M bit) although we announced no segmentation.
    SegmentationNotNegotiated,
    /// An SDU growing past our MaxSduSize.
    ReassemblyOverflow {
        limit: u32,
    },
    /// An SDU longer than the peer takes (or than one PDU, when the peer does not reassemble).
    SduTooLarge {
        len: usize,
        max: usize,
    },
    EmptySdu,
    /// The send queue is full: poll PDUs out first.
    QueueFull,
}

impl fmt::Display for TtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TtpError::Truncated { offset, what } => {
                write!(f, "TinyTP at offset {offset}: input ends before its {what}")
            }
            TtpError::InvalidParameter { offset, pi, len } => write!(
                f,
                "TinyTP at offset {offset}: parameter 0x{pi:02x} of invalid length {len}"
            ),
            TtpError::AlreadyConnected => write!(f, "TinyTP connect parameters came twice"),
            TtpError::NotConnected => write!(f, "TinyTP not connected yet"),
            TtpError::NoCredit => write!(f, "TinyTP peer sent data without credit"),
            TtpError::MoreWithoutData => write!(f, "TinyTP PDU with the M bit but no data"),
            TtpError::SegmentationNotNegotiated => {
                write!(f, "TinyTP segment although no segmentation was agreed")
            }
            TtpError::ReassemblyOverflow { limit } => {
                write!(f, "TinyTP SDU exceeds our maximum of {limit} bytes")
            }
            TtpError::SduTooLarge { len, max } => {
                write!(
                    f,
                    "TinyTP SDU of {len} bytes exceeds the {max} the peer takes"
                )
            }
            TtpError::EmptySdu => write!(f, "TinyTP cannot send an empty SDU"),
            TtpError::QueueFull => write!(f, "TinyTP send queue full"),
        }
    }
}

impl std::error::Error for TtpError {}

/// One TinyTP connection.
#[derive(Debug)]
pub struct Ttp {
    config: TtpConfig,
    /// The peer's MaxSduSize (0: it does not reassemble), once its parameters came.
    peer_max_sdu_size: Option<u32>,
    /// Data PDUs the peer lets us send.
    send_credit: u32,
    /// SDUs to send; the first may be partly sent.
    send_queue: VecDeque<Vec<u8>>,
    /// Bytes of the first queued SDU already sent.
    sent_of_first: usize,
    /// Data PDUs the peer may still send us.
    peer_credit: u32,
    /// Credit freed here, not yet lent to the peer.
    credit_to_grant: u32,
    reassembly: Vec<u8>,
    received: VecDeque<Vec<u8>>,
}

impl Ttp {
    pub fn new(mut config: TtpConfig) -> Ttp {
        config.initial_credit = config.initial_credit.clamp(1, MAX_CREDIT);
        config.max_segment_size = config.max_segment_size.max(1);
        Ttp {
            peer_credit: config.initial_credit.into(),
            config,
            peer_max_sdu_size: None,
            send_credit: 0,
            send_queue: VecDeque::new(),
            sent_of_first: 0,
            credit_to_grant: 0,
            reassembly: Vec::new(),
            received: VecDeque::new(),
        }
    }

    /// The user data of our LM-connect (or connect confirm): the initial credit and, when we
    /// reassemble, the MaxSduSize parameter.
    pub fn connect_parameters(&self) -> Vec<u8> {
        let credit = self.config.initial_credit;
        let max_sdu = self.config.max_sdu_size;
        if max_sdu == 0 {
            return vec![credit];
        }
        let value: Vec<u8> = if max_sdu <= 0xFFFF {
            (max_sdu as u16).to_be_bytes().to_vec()
        } else {
            max_sdu.to_be_bytes().to_vec()
        };
        let mut out = vec![
            PARAMETERS_BIT | credit,
            2 + value.len() as u8,
            PI_MAX_SDU_SIZE,
            value.len() as u8,
        ];
        out.extend_from_slice(&value);
        out
    }

    /// Takes the peer's LM-connect (or confirm) user data; returns the TinyTP user data after
    /// the parameters. Unknown parameters are skipped.
    pub fn handle_connect_parameters<'a>(&mut self, data: &'a [u8]) -> Result<&'a [u8], TtpError> {
        if self.peer_max_sdu_size.is_some() {
            return Err(TtpError::AlreadyConnected);
        }
        let (&first, rest) = data.split_first().ok_or(TtpError::Truncated {
            offset: 0,
            what: "initial credit",
        })?;
        let mut max_sdu_size = 0;
        let user_data = if first & PARAMETERS_BIT != 0 {
            let (&parameters_len, rest) = rest.split_first().ok_or(TtpError::Truncated {
                offset: 1,
                what: "parameters length",
            })?;
            let parameters = rest
                .get(..parameters_len.into())
                .ok_or(TtpError::Truncated {
                    offset: 2,
                    what: "parameters",
                })?;
            let mut offset = 0;
            while offset < parameters.len() {
                let pi = parameters[offset];
                let len = *parameters.get(offset + 1).ok_or(TtpError::Truncated {
                    offset: 2 + offset + 1,
                    what: "parameter length",
                })?;
                let value = parameters
                    .get(offset + 2..offset + 2 + usize::from(len))
                    .ok_or(TtpError::Truncated {
                        offset: 2 + offset + 2,
                        what: "parameter value",
                    })?;
                if pi == PI_MAX_SDU_SIZE {
                    if !(1..=4).contains(&len) {
                        return Err(TtpError::InvalidParameter {
                            offset: 2 + offset,
                            pi,
                            len,
                        });
                    }
                    max_sdu_size = value.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b));
                }
                offset += 2 + usize::from(len);
            }
            &rest[parameters.len()..]
        } else {
            rest
        };
        self.peer_max_sdu_size = Some(max_sdu_size);
        self.send_credit = u32::from(first & CREDIT_MASK);
        Ok(user_data)
    }

    pub fn is_connected(&self) -> bool {
        self.peer_max_sdu_size.is_some()
    }

    /// The largest SDU [`Ttp::send_sdu`] takes: the peer's MaxSduSize, or one PDU when the
    /// peer does not reassemble.
    pub fn max_send_sdu_size(&self) -> Option<usize> {
        self.peer_max_sdu_size.map(|max| match max {
            0 => self.config.max_segment_size,
            max => usize::try_from(max).unwrap_or(usize::MAX),
        })
    }

    /// User bytes one data PDU carries.
    pub fn max_segment_size(&self) -> usize {
        self.config.max_segment_size
    }

    /// Whether [`Ttp::send_sdu`] would take an SDU now.
    pub fn can_send_sdu(&self) -> bool {
        self.is_connected() && self.send_queue.len() < self.config.max_queued_sdus
    }

    /// Whether SDU bytes still wait to be sent (a graceful disconnect waits for none).
    pub fn has_pending_output(&self) -> bool {
        !self.send_queue.is_empty()
    }

    /// Data PDUs the peer lets us send now.
    pub fn send_credit(&self) -> u32 {
        self.send_credit
    }

    /// Queues an SDU (e.g. an OBEX packet) for sending.
    pub fn send_sdu(&mut self, sdu: Vec<u8>) -> Result<(), TtpError> {
        let max = self.max_send_sdu_size().ok_or(TtpError::NotConnected)?;
        if sdu.is_empty() {
            return Err(TtpError::EmptySdu);
        }
        if sdu.len() > max {
            return Err(TtpError::SduTooLarge {
                len: sdu.len(),
                max,
            });
        }
        if self.send_queue.len() >= self.config.max_queued_sdus {
            return Err(TtpError::QueueFull);
        }
        self.send_queue.push_back(sdu);
        Ok(())
    }

    /// Takes one PDU of the peer (LM data of this connection).
    pub fn handle_pdu(&mut self, pdu: &[u8]) -> Result<(), TtpError> {
        if !self.is_connected() {
            return Err(TtpError::NotConnected);
        }
        let (&header, data) = pdu.split_first().ok_or(TtpError::Truncated {
            offset: 0,
            what: "TinyTP header",
        })?;
        let more = header & MORE_BIT != 0;
        self.send_credit = self
            .send_credit
            .saturating_add(u32::from(header & CREDIT_MASK));
        if data.is_empty() {
            // A dataless PDU only lends credit and costs none.
            return if more {
                Err(TtpError::MoreWithoutData)
            } else {
                Ok(())
            };
        }
        if self.peer_credit == 0 {
            return Err(TtpError::NoCredit);
        }
        self.peer_credit -= 1;
        let limit = self.config.max_sdu_size;
        if limit == 0 {
            if more {
                // The PDU is refused: its credit comes back.
                self.credit_to_grant += 1;
                return Err(TtpError::SegmentationNotNegotiated);
            }
            self.received.push_back(data.to_vec());
            return Ok(());
        }
        if self.reassembly.len() + data.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
            self.reassembly = Vec::new();
            self.credit_to_grant += 1;
            return Err(TtpError::ReassemblyOverflow { limit });
        }
        self.reassembly.extend_from_slice(data);
        if more {
            // The segment's bytes now sit in the bounded reassembly buffer: its credit is free.
            self.credit_to_grant += 1;
        } else {
            self.received
                .push_back(std::mem::take(&mut self.reassembly));
        }
        Ok(())
    }

    /// The next SDU for the upper layer; taking it frees the credit it held.
    pub fn poll_sdu(&mut self) -> Option<Vec<u8>> {
        let sdu = self.received.pop_front()?;
        self.credit_to_grant += 1;
        Some(sdu)
    }

    /// The next PDU for IrLMP to send on this connection: a data PDU while we have credit,
    /// or a dataless one lending credit when the peer runs low and no data PDU can carry it.
    pub fn poll_pdu(&mut self) -> Option<Vec<u8>> {
        if !self.is_connected() {
            return None;
        }
        if self.send_credit > 0 && !self.send_queue.is_empty() {
            return Some(self.next_data_pdu());
        }
        let low_water = u32::from(self.config.initial_credit) / 2;
        if self.credit_to_grant > 0 && self.peer_credit <= low_water {
            return Some(vec![self.take_credit_to_grant()]);
        }
        None
    }

    fn next_data_pdu(&mut self) -> Vec<u8> {
        let first = &self.send_queue[0];
        let remaining = &first[self.sent_of_first..];
        let take = remaining.len().min(self.config.max_segment_size);
        let more = take < remaining.len();
        let mut pdu = Vec::with_capacity(HEADER_LEN + take);
        pdu.push(0);
        pdu.extend_from_slice(&remaining[..take]);
        pdu[0] = (if more { MORE_BIT } else { 0 }) | self.take_credit_to_grant();
        self.send_credit -= 1;
        if more {
            self.sent_of_first += take;
        } else {
            self.send_queue.pop_front();
            self.sent_of_first = 0;
        }
        pdu
    }

    /// Lends the peer what we can in one header (at most 127).
    fn take_credit_to_grant(&mut self) -> u8 {
        let delta = self.credit_to_grant.min(u32::from(MAX_CREDIT));
        self.credit_to_grant -= delta;
        self.peer_credit += delta;
        delta as u8
    }
}
