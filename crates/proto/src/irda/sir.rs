//! SIR framing (IrDA Physical Layer, asynchronous up to 115.2 kbit/s): beginning of frame
//! flags, the frame with its FCS byte-stuffed behind a control escape, end of frame flag.

use super::fcs;

/// Beginning of frame.
pub const BOF: u8 = 0xC0;
/// End of frame.
pub const EOF: u8 = 0xC1;
/// Control escape: the next byte was XORed with [`ESCAPE_XOR`].
pub const CE: u8 = 0x7D;
/// What an escaped byte was XORed with.
pub const ESCAPE_XOR: u8 = 0x20;

/// The shortest frame: address, control and the two FCS bytes.
pub const MIN_FRAME_WITH_FCS: usize = 4;

fn needs_escape(byte: u8) -> bool {
    matches!(byte, BOF | EOF | CE)
}

fn push_escaped(byte: u8, out: &mut Vec<u8>) {
    if needs_escape(byte) {
        out.push(CE);
        out.push(byte ^ ESCAPE_XOR);
    } else {
        out.push(byte);
    }
}

/// Wraps one IrLAP frame (address, control, information) for the air: `1 + extra_bofs`
/// BOFs, the frame and its FCS escaped, EOF. Appends to `out`.
pub fn encode_frame(frame: &[u8], extra_bofs: u16, out: &mut Vec<u8>) {
    out.reserve(encoded_len(frame, extra_bofs));
    out.extend(std::iter::repeat_n(BOF, 1 + usize::from(extra_bofs)));
    for &byte in frame.iter().chain(fcs::bytes(frame).iter()) {
        push_escaped(byte, out);
    }
    out.push(EOF);
}

/// How many bytes [`encode_frame`] writes for `frame`: what the frame costs on the air.
pub fn encoded_len(frame: &[u8], extra_bofs: u16) -> usize {
    let escaped = |bytes: &[u8]| bytes.len() + bytes.iter().filter(|&&b| needs_escape(b)).count();
    1 + usize::from(extra_bofs) + escaped(frame) + escaped(&fcs::bytes(frame)) + 1
}

/// Why a frame on the air was lost. Each one still means a station was transmitting.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SirError {
    /// The frame check sequence did not match (`len` bytes between BOF and EOF, unescaped).
    BadFcs { len: usize },
    /// The sender aborted the frame (control escape followed by EOF).
    Aborted,
    /// A BOF arrived inside a frame before its EOF: the rest of that frame was lost.
    Interrupted { len: usize },
    /// More than the decoder's limit (frame plus FCS) before EOF; bytes up to the next BOF
    /// are skipped.
    TooLong { limit: usize },
    /// Fewer bytes between BOF and EOF than address, control and FCS.
    TooShort { len: usize },
}

impl std::fmt::Display for SirError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SirError::BadFcs { len } => write!(f, "bad FCS on a {len}-byte frame"),
            SirError::Aborted => write!(f, "frame aborted by the sender"),
            SirError::Interrupted { len } => write!(f, "frame cut off by a BOF after {len} bytes"),
            SirError::TooLong { limit } => write!(f, "frame longer than {limit} bytes"),
            SirError::TooShort { len } => write!(f, "{len}-byte frame is shorter than 4 bytes"),
        }
    }
}

impl std::error::Error for SirError {}

/// What the decoder found in the byte stream.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum SirItem {
    /// An intact frame: address, control and information (FCS checked and removed).
    Frame(Vec<u8>),
    /// A damaged frame: count it, and treat it as media activity.
    Damaged(SirError),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum DecodeState {
    /// Outside a frame: everything up to the next BOF is line noise.
    Hunting,
    /// After a BOF.
    InFrame,
    /// After a control escape inside a frame.
    Escaped,
    /// Past the size limit: skipping to the next BOF.
    Discarding,
}

/// Splits a SIR byte stream into frames, whatever the chunking of the input.
#[derive(Debug)]
pub struct SirDecoder {
    buffer: Vec<u8>,
    /// Most bytes kept between BOF and EOF (frame plus FCS).
    limit: usize,
    state: DecodeState,
}

impl SirDecoder {
    /// A decoder for frames of up to `max_frame` bytes of address, control and information
    /// (IrLAP: the negotiated data size plus 2; 2048 + 2 covers every SIR link).
    pub fn new(max_frame: usize) -> SirDecoder {
        SirDecoder {
            buffer: Vec::new(),
            limit: max_frame + 2,
            state: DecodeState::Hunting,
        }
    }

    /// Feeds received bytes; returns the frames (and damaged frames) they completed.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SirItem> {
        let mut items = Vec::new();
        for &byte in bytes {
            if let Some(item) = self.push_byte(byte) {
                items.push(item);
            }
        }
        items
    }

    fn push_byte(&mut self, byte: u8) -> Option<SirItem> {
        match (self.state, byte) {
            (_, BOF) => {
                // Several BOFs may lead a frame; a BOF after data cuts the frame short.
                let cut = match self.state {
                    DecodeState::InFrame | DecodeState::Escaped if !self.buffer.is_empty() => {
                        Some(SirItem::Damaged(SirError::Interrupted {
                            len: self.buffer.len(),
                        }))
                    }
                    _ => None,
                };
                self.buffer.clear();
                self.state = DecodeState::InFrame;
                cut
            }
            (DecodeState::Hunting | DecodeState::Discarding, _) => None,
            (DecodeState::InFrame, EOF) => {
                self.state = DecodeState::Hunting;
                Some(self.finish())
            }
            (DecodeState::InFrame, CE) => {
                self.state = DecodeState::Escaped;
                None
            }
            (DecodeState::Escaped, EOF) => {
                self.state = DecodeState::Hunting;
                self.buffer.clear();
                Some(SirItem::Damaged(SirError::Aborted))
            }
            (DecodeState::InFrame | DecodeState::Escaped, _) => {
                let byte = if self.state == DecodeState::Escaped {
                    byte ^ ESCAPE_XOR
                } else {
                    byte
                };
                self.state = DecodeState::InFrame;
                if self.buffer.len() == self.limit {
                    self.buffer.clear();
                    self.state = DecodeState::Discarding;
                    return Some(SirItem::Damaged(SirError::TooLong { limit: self.limit }));
                }
                self.buffer.push(byte);
                None
            }
        }
    }

    fn finish(&mut self) -> SirItem {
        let mut frame = std::mem::take(&mut self.buffer);
        let len = frame.len();
        if len < MIN_FRAME_WITH_FCS {
            return SirItem::Damaged(SirError::TooShort { len });
        }
        if !fcs::is_good(&frame) {
            return SirItem::Damaged(SirError::BadFcs { len });
        }
        frame.truncate(len - 2);
        SirItem::Frame(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(frame: &[u8], extra_bofs: u16) -> Vec<u8> {
        let mut out = Vec::new();
        encode_frame(frame, extra_bofs, &mut out);
        out
    }

    #[test]
    fn round_trip_with_every_byte_value_one_byte_at_a_time() {
        let frame: Vec<u8> = (0..=255u8).collect();
        let wire = encoded(&frame, 3);
        assert_eq!(&wire[..4], &[BOF; 4]);
        assert_eq!(wire.len(), encoded_len(&frame, 3));
        let mut decoder = SirDecoder::new(2048);
        let mut items = Vec::new();
        for byte in &wire {
            items.extend(decoder.push(std::slice::from_ref(byte)));
        }
        assert_eq!(items, vec![SirItem::Frame(frame)]);
    }

    #[test]
    fn flag_bytes_in_the_frame_are_escaped() {
        let frame = [0x03, 0x93, BOF, EOF, CE, 0x20];
        let wire = encoded(&frame, 0);
        let body = &wire[1..wire.len() - 1];
        assert!(!body.contains(&BOF) && !body.contains(&EOF));
        assert_eq!(
            &body[..9],
            &[0x03, 0x93, CE, 0xE0, CE, 0xE1, CE, 0x5D, 0x20]
        );
        assert_eq!(
            SirDecoder::new(64).push(&wire),
            vec![SirItem::Frame(frame.to_vec())]
        );
    }

    #[test]
    fn noise_between_frames_and_several_frames_in_one_chunk() {
        let mut wire = vec![0x55, 0xAA, EOF];
        encode_frame(&[0xFF, 0x3F, 1, 2], 0, &mut wire);
        wire.extend_from_slice(&[0x00, 0x11]);
        encode_frame(&[0xFE, 0xBF], 2, &mut wire);
        assert_eq!(
            SirDecoder::new(64).push(&wire),
            vec![
                SirItem::Frame(vec![0xFF, 0x3F, 1, 2]),
                SirItem::Frame(vec![0xFE, 0xBF])
            ]
        );
    }

    #[test]
    fn damaged_frames_are_reported_and_the_next_one_decodes() {
        let good = encoded(&[0x01, 0x11, 0x42], 0);
        let mut corrupted = good.clone();
        corrupted[3] ^= 0x04;
        let mut wire = corrupted;
        // Abort: control escape then EOF.
        wire.extend_from_slice(&[BOF, 0x01, 0x11, CE, EOF]);
        // Too short: BOF, two bytes, EOF.
        wire.extend_from_slice(&[BOF, 0x01, 0x11, EOF]);
        // Interrupted: a new BOF before EOF.
        wire.extend_from_slice(&[BOF, 0x01, 0x11, 0x22]);
        wire.extend_from_slice(&good);
        assert_eq!(
            SirDecoder::new(64).push(&wire),
            vec![
                SirItem::Damaged(SirError::BadFcs { len: 5 }),
                SirItem::Damaged(SirError::Aborted),
                SirItem::Damaged(SirError::TooShort { len: 2 }),
                SirItem::Damaged(SirError::Interrupted { len: 3 }),
                SirItem::Frame(vec![0x01, 0x11, 0x42]),
            ]
        );
    }

    #[test]
    fn too_long_frame_is_cut_off_and_skipped_to_the_next_bof() {
        let mut decoder = SirDecoder::new(4);
        let mut wire = encoded(&[0x01, 0x11, 1, 2, 3, 4, 5], 0);
        wire.extend(encoded(&[0x01, 0x11, 1, 2], 0));
        assert_eq!(
            decoder.push(&wire),
            vec![
                SirItem::Damaged(SirError::TooLong { limit: 6 }),
                SirItem::Frame(vec![0x01, 0x11, 1, 2]),
            ]
        );
    }
}
