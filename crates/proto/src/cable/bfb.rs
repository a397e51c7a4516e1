//! Siemens BFB framing (sans-IO): how S45/ME45/S55-era Siemens phones carry OBEX (and AT
//! commands) on the cable once `AT^SBFB=1` put them in BFB mode.
//!
//! Two layers, both described in docs/serial.md:
//!
//! - **frames**: `type, len, check, payload[len]` with `len <= 32` and `check = type ^ len`.
//!   Types: 0x01 interface, 0x02 connect (hello 0x14 → answer 0x14 0xAA), 0x05 key, 0x06 AT,
//!   0x14 EEPROM, 0x16 data.
//! - **data chunks**, carried by data frames (0x16) cut into 32-byte pieces: `cmd, !cmd, seq,
//!   len (big-endian u16), data[len], fcs (little-endian u16)` where `cmd` is 0x02 for the first
//!   chunk of a link, 0x03 for the next ones, and `fcs` is the IrDA frame check sequence
//!   (CRC-16, reflected polynomial 0x8408, initial 0xFFFF, complemented) over `seq, len, data`.
//!   A lone `0x01 0xFE` is an acknowledgement and carries nothing. One OBEX packet is one chunk.
//!
//! Decoding is bounded (a frame is at most 35 bytes; a chunk at most the configured maximum)
//! and resynchronises on garbage: a bad header drops one byte and is reported, never panics.

use std::collections::VecDeque;

/// BFB frame types.
pub mod frame_type {
    pub const INTERFACE: u8 = 0x01;
    pub const CONNECT: u8 = 0x02;
    pub const KEY: u8 = 0x05;
    pub const AT: u8 = 0x06;
    pub const EEPROM: u8 = 0x14;
    pub const DATA: u8 = 0x16;
}

/// The hello the PC sends in a connect frame after `AT^SBFB=1`, and the phone's answer.
pub const CONNECT_HELLO: u8 = 0x14;
pub const CONNECT_HELLO_ACK: u8 = 0xAA;

/// The largest payload of one frame.
pub const MAX_FRAME_PAYLOAD: usize = 32;
const FRAME_HEADER: usize = 3;

/// Data chunk commands.
pub const DATA_ACK: u8 = 0x01;
pub const DATA_FIRST: u8 = 0x02;
pub const DATA_NEXT: u8 = 0x03;
const CHUNK_HEADER: usize = 5;
const CHUNK_TRAILER: usize = 2;

/// What is wrong with BFB input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BfbError {
    /// A frame header whose check byte is not `type ^ len` (the byte was dropped).
    BadFrameHeader { kind: u8, len: u8, check: u8 },
    /// A frame announcing more than 32 bytes (the byte was dropped).
    FrameTooLong { kind: u8, len: u8 },
    /// A data chunk whose command byte is not followed by its complement.
    BadChunkHeader { command: u8, complement: u8 },
    /// A data chunk of another command than first, next or acknowledgement.
    UnknownChunk { command: u8 },
    /// A data chunk longer than we take.
    ChunkTooLong { len: usize, max: usize },
    /// A data chunk whose frame check sequence does not match.
    BadChecksum { expected: u16, found: u16, seq: u8 },
}

impl std::fmt::Display for BfbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BfbError::BadFrameHeader { kind, len, check } => write!(
                f,
                "BFB frame header {kind:#04x} {len:#04x} {check:#04x}: the check byte should be {:#04x}",
                kind ^ len
            ),
            BfbError::FrameTooLong { kind, len } => write!(
                f,
                "BFB frame {kind:#04x} announces {len} bytes (at most {MAX_FRAME_PAYLOAD})"
            ),
            BfbError::BadChunkHeader { command, complement } => write!(
                f,
                "BFB data chunk command {command:#04x} followed by {complement:#04x}, not its complement"
            ),
            BfbError::UnknownChunk { command } => {
                write!(f, "BFB data chunk of unknown command {command:#04x}")
            }
            BfbError::ChunkTooLong { len, max } => {
                write!(f, "BFB data chunk of {len} bytes (at most {max})")
            }
            BfbError::BadChecksum {
                expected,
                found,
                seq,
            } => write!(
                f,
                "BFB data chunk {seq}: check sequence {found:#06x}, computed {expected:#06x}"
            ),
        }
    }
}

impl std::error::Error for BfbError {}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: u8,
    pub payload: Vec<u8>,
}

/// `payload` as frames of `kind`, cut into pieces of at most 32 bytes. An empty payload
/// gives one empty frame.
pub fn encode_frames(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + FRAME_HEADER * (payload.len() / 32 + 1));
    let mut pieces = payload.chunks(MAX_FRAME_PAYLOAD).peekable();
    if pieces.peek().is_none() {
        out.extend_from_slice(&[kind, 0, kind]);
        return out;
    }
    for piece in pieces {
        let len = piece.len() as u8;
        out.extend_from_slice(&[kind, len, kind ^ len]);
        out.extend_from_slice(piece);
    }
    out
}

/// Splits a byte stream into frames.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buffer: VecDeque<u8>,
}

impl FrameDecoder {
    pub fn new() -> FrameDecoder {
        FrameDecoder::default()
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend(bytes);
    }

    /// Bytes waiting for the rest of their frame (never more than one frame's worth once
    /// [`FrameDecoder::next_frame`] has been called until it returns `None`).
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// The next complete frame, an error for a bad header (its first byte dropped, so that
    /// the caller may go on), or `None` until more input arrives.
    pub fn next_frame(&mut self) -> Option<Result<Frame, BfbError>> {
        if self.buffer.len() < FRAME_HEADER {
            return None;
        }
        let (kind, len, check) = (self.buffer[0], self.buffer[1], self.buffer[2]);
        if kind ^ len != check {
            self.buffer.pop_front();
            return Some(Err(BfbError::BadFrameHeader { kind, len, check }));
        }
        if len as usize > MAX_FRAME_PAYLOAD {
            self.buffer.pop_front();
            return Some(Err(BfbError::FrameTooLong { kind, len }));
        }
        if self.buffer.len() < FRAME_HEADER + len as usize {
            return None;
        }
        self.buffer.drain(..FRAME_HEADER);
        let payload = self.buffer.drain(..len as usize).collect();
        Some(Ok(Frame { kind, payload }))
    }
}

/// The IrDA frame check sequence (CRC-16/X.25: reflected 0x8408, initial 0xFFFF, complemented).
pub fn irda_fcs(bytes: &[u8]) -> u16 {
    let mut fcs: u16 = 0xFFFF;
    for &byte in bytes {
        fcs ^= byte as u16;
        for _ in 0..8 {
            fcs = if fcs & 1 != 0 {
                (fcs >> 1) ^ 0x8408
            } else {
                fcs >> 1
            };
        }
    }
    !fcs
}

/// One data chunk: `data` with its header and check sequence (before cutting into frames).
pub fn encode_chunk(command: u8, seq: u8, data: &[u8]) -> Vec<u8> {
    debug_assert!(data.len() <= u16::MAX as usize);
    let len = data.len().min(u16::MAX as usize) as u16;
    let mut chunk = Vec::with_capacity(data.len() + CHUNK_HEADER + CHUNK_TRAILER);
    chunk.extend_from_slice(&[command, !command, seq]);
    chunk.extend_from_slice(&len.to_be_bytes());
    chunk.extend_from_slice(&data[..len as usize]);
    let fcs = irda_fcs(&chunk[2..]);
    chunk.extend_from_slice(&fcs.to_le_bytes());
    chunk
}

/// Reassembles data chunks from the payloads of data frames.
#[derive(Debug)]
pub struct ChunkDecoder {
    buffer: Vec<u8>,
    max_data: usize,
}

impl ChunkDecoder {
    /// `max_data`: the largest chunk data taken (an OBEX packet: at most 65535).
    pub fn new(max_data: usize) -> ChunkDecoder {
        ChunkDecoder {
            buffer: Vec::new(),
            max_data: max_data.min(u16::MAX as usize),
        }
    }

    pub fn push(&mut self, payload: &[u8]) {
        self.buffer.extend_from_slice(payload);
    }

    /// The next chunk's data; on an error the buffered input is dropped (the chunk is lost,
    /// the next one starts on a fresh frame).
    pub fn next_chunk(&mut self) -> Option<Result<Vec<u8>, BfbError>> {
        loop {
            if self.buffer.len() < 2 {
                return None;
            }
            let (command, complement) = (self.buffer[0], self.buffer[1]);
            if command != !complement {
                self.buffer.clear();
                return Some(Err(BfbError::BadChunkHeader {
                    command,
                    complement,
                }));
            }
            match command {
                DATA_ACK => {
                    self.buffer.drain(..2);
                    continue;
                }
                DATA_FIRST | DATA_NEXT => {}
                _ => {
                    self.buffer.clear();
                    return Some(Err(BfbError::UnknownChunk { command }));
                }
            }
            if self.buffer.len() < CHUNK_HEADER {
                return None;
            }
            let len = u16::from_be_bytes([self.buffer[3], self.buffer[4]]) as usize;
            if len > self.max_data {
                self.buffer.clear();
                return Some(Err(BfbError::ChunkTooLong {
                    len,
                    max: self.max_data,
                }));
            }
            let total = CHUNK_HEADER + len + CHUNK_TRAILER;
            if self.buffer.len() < total {
                return None;
            }
            let seq = self.buffer[2];
            let expected = irda_fcs(&self.buffer[2..CHUNK_HEADER + len]);
            let found = u16::from_le_bytes([self.buffer[total - 2], self.buffer[total - 1]]);
            if expected != found {
                self.buffer.clear();
                return Some(Err(BfbError::BadChecksum {
                    expected,
                    found,
                    seq,
                }));
            }
            let data = self.buffer[CHUNK_HEADER..CHUNK_HEADER + len].to_vec();
            self.buffer.drain(..total);
            return Some(Ok(data));
        }
    }
}

/// Both directions of a BFB link carrying OBEX: packets in, frames out and back.
#[derive(Debug)]
pub struct BfbCodec {
    frames: FrameDecoder,
    chunks: ChunkDecoder,
    next_seq: u8,
    sent_first: bool,
    /// Frames of other types than data seen while carrying OBEX (AT answers, interface).
    pub other_frames: Vec<Frame>,
}

impl BfbCodec {
    pub fn new(max_packet: usize) -> BfbCodec {
        BfbCodec {
            frames: FrameDecoder::new(),
            chunks: ChunkDecoder::new(max_packet),
            next_seq: 0,
            sent_first: false,
            other_frames: Vec::new(),
        }
    }

    /// One OBEX packet as the frames to send.
    pub fn encode_packet(&mut self, packet: &[u8]) -> Vec<u8> {
        let command = if self.sent_first {
            DATA_NEXT
        } else {
            DATA_FIRST
        };
        self.sent_first = true;
        let chunk = encode_chunk(command, self.next_seq, packet);
        self.next_seq = self.next_seq.wrapping_add(1);
        encode_frames(frame_type::DATA, &chunk)
    }

    /// Feeds wire bytes; returns the packet bytes decoded so far, or the first error.
    pub fn decode(&mut self, bytes: &[u8]) -> Result<Vec<u8>, BfbError> {
        self.frames.push(bytes);
        let mut out = Vec::new();
        while let Some(frame) = self.frames.next_frame() {
            let frame = frame?;
            if frame.kind == frame_type::DATA {
                self.chunks.push(&frame.payload);
                while let Some(chunk) = self.chunks.next_chunk() {
                    out.extend_from_slice(&chunk?);
                }
            } else if self.other_frames.len() < 16 {
                self.other_frames.push(frame);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_sequence_is_crc16_x25() {
        // The CRC-16/X-25 check value of "123456789".
        assert_eq!(irda_fcs(b"123456789"), 0x906E);
    }

    #[test]
    fn a_packet_round_trips_through_frames_and_chunks() {
        let packet: Vec<u8> = (0..200u16).map(|n| n as u8).collect();
        let mut sender = BfbCodec::new(4096);
        let mut receiver = BfbCodec::new(4096);
        let wire = sender.encode_packet(&packet);
        // 207 bytes of chunk in frames of 32: 7 frames.
        assert_eq!(wire.len(), 207 + 7 * 3);
        assert_eq!(&wire[..3], &[0x16, 32, 0x16 ^ 32]);
        assert_eq!(&wire[3..6], &[DATA_FIRST, !DATA_FIRST, 0]);
        assert_eq!(receiver.decode(&wire).unwrap(), packet);
        let second = sender.encode_packet(b"next");
        assert_eq!(&second[3..6], &[DATA_NEXT, !DATA_NEXT, 1]);
        assert_eq!(receiver.decode(&second).unwrap(), b"next");
    }
}
