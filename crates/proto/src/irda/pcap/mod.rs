//! IrLAP frames as a pcap capture, LINKTYPE_LINUX_IRDA (144), the format the Linux IrDA
//! stack's `irdadump`/tcpdump wrote and Wireshark's IrDA dissector reads: a record is a
//! 16-byte pseudo-header shaped like Linux's cooked-capture header, then the frame's
//! address, control and information fields (no BOFs, no FCS).
//!
//! Sans-IO: this builds bytes; the caller writes them. [`tshark_problems`] reads tshark's
//! verbose text so a test (or an integrator's whole-session test) can use tshark as the
//! oracle of what went on the air.

use std::time::Duration;

/// The link type number tcpdump.org assigns to Linux IrDA captures.
pub const LINKTYPE_LINUX_IRDA: u32 = 144;

/// Longest record we claim to keep: SIR frames are at most 2048 bytes of information plus
/// two header bytes, so nothing is ever cut.
pub const SNAPLEN: u32 = 65_535;

/// The pseudo-header's length before each frame.
pub const PSEUDO_HEADER_LEN: usize = 16;

/// `sll_hatype`: the ARP hardware type of an IrLAP device (ARPHRD_IRDA).
const ARPHRD_IRDA: u16 = 783;
/// `sll_protocol`: ETH_P_IRDA; Wireshark refuses records with anything else here.
const ETH_P_IRDA: u16 = 0x0017;

/// Which way a frame went, seen from the station writing the capture.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Direction {
    /// Received from the air (`PACKET_HOST`, 0).
    Incoming,
    /// Sent by this station (`PACKET_OUTGOING`, 4).
    Outgoing,
}

impl Direction {
    fn packet_type(self) -> u16 {
        match self {
            Direction::Incoming => 0,
            Direction::Outgoing => 4,
        }
    }
}

/// The 24-byte pcap global header: classic microsecond format, little-endian.
pub fn file_header() -> Vec<u8> {
    let mut header = Vec::with_capacity(24);
    header.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    header.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
    header.extend_from_slice(&4u16.to_le_bytes());
    header.extend_from_slice(&0i32.to_le_bytes()); // times are UTC
    header.extend_from_slice(&0u32.to_le_bytes()); // timestamp accuracy, unused
    header.extend_from_slice(&SNAPLEN.to_le_bytes());
    header.extend_from_slice(&LINKTYPE_LINUX_IRDA.to_le_bytes());
    header
}

/// One record: pcap record header, the IrDA pseudo-header, then `frame` (address, control,
/// information). `since_epoch` is the frame's time since the Unix epoch (a test may pass
/// any steadily growing time). Frames longer than [`SNAPLEN`] minus the pseudo-header are
/// cut to fit, with the original length kept in the record header, as pcap does.
pub fn record(since_epoch: Duration, direction: Direction, frame: &[u8]) -> Vec<u8> {
    let original_len = PSEUDO_HEADER_LEN + frame.len();
    let kept_len = original_len.min(SNAPLEN as usize);
    let mut out = Vec::with_capacity(16 + kept_len);
    // pcap's seconds field is 32 bits: it wraps in 2106.
    out.extend_from_slice(&(since_epoch.as_secs() as u32).to_le_bytes());
    out.extend_from_slice(&since_epoch.subsec_micros().to_le_bytes());
    out.extend_from_slice(&(kept_len as u32).to_le_bytes());
    out.extend_from_slice(&(original_len.min(u32::MAX as usize) as u32).to_le_bytes());
    // Linux cooked-header layout: packet type, hardware type, address length, 8 address
    // bytes (all unused for IrDA), protocol; all big-endian.
    out.extend_from_slice(&direction.packet_type().to_be_bytes());
    out.extend_from_slice(&ARPHRD_IRDA.to_be_bytes());
    out.extend_from_slice(&[0u8; 10]);
    out.extend_from_slice(&ETH_P_IRDA.to_be_bytes());
    out.extend_from_slice(&frame[..kept_len - PSEUDO_HEADER_LEN]);
    out
}

/// A whole capture in memory, for tests and for a session that keeps its frames.
#[derive(Clone, Debug)]
pub struct Capture {
    bytes: Vec<u8>,
    frames: usize,
}

impl Default for Capture {
    fn default() -> Self {
        Capture::new()
    }
}

impl Capture {
    pub fn new() -> Capture {
        Capture {
            bytes: file_header(),
            frames: 0,
        }
    }

    pub fn push(&mut self, since_epoch: Duration, direction: Direction, frame: &[u8]) {
        self.bytes
            .extend_from_slice(&record(since_epoch, direction, frame));
        self.frames += 1;
    }

    pub fn frames(&self) -> usize {
        self.frames
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// What is wrong in a capture by tshark's account, from the text of `tshark -r FILE -V`:
/// malformed or short frames, dissector exceptions, and expert items of warning or error
/// severity, each as "frame N: <tshark's line>". Empty means tshark found nothing to say.
pub fn tshark_problems(verbose_output: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut frame = 0u64;
    for line in verbose_output.lines() {
        if let Some(number) = line
            .strip_prefix("Frame ")
            .and_then(|rest| rest.split(':').next())
            .and_then(|number| number.trim().parse().ok())
        {
            frame = number;
            continue;
        }
        let text = line.trim();
        let lower = text.to_ascii_lowercase();
        let bad = lower.contains("malformed packet")
            || lower.contains("exception occurred")
            || lower.contains("[packet size limited")
            || lower.contains("dissector bug")
            || is_serious_expert_line(&lower);
        if bad {
            problems.push(format!("frame {frame}: {text}"));
        }
    }
    problems
}

/// tshark -V prints expert items as "[Expert Info (Warning/Malformed): ...]" and their
/// severity as "[Severity level: Warning]".
fn is_serious_expert_line(lower: &str) -> bool {
    let severity = |word: &str| {
        lower.contains(&format!("expert info ({word}/"))
            || lower.contains(&format!("severity level: {word}"))
    };
    severity("warning") || severity("error")
}

/// The protocol layers tshark dissected in each frame, from `tshark -r FILE -V`: the
/// titles of the tree's top-level entries after the frame summary, e.g. `["IrDA Link Access
/// Protocol", "IrDA Link Management Protocol", "Information Access Protocol"]`. (The
/// `frame.protocols` field lists only "irlap": the IrDA dissector calls its upper layers
/// directly.)
pub fn tshark_frame_layers(verbose_output: &str) -> Vec<Vec<String>> {
    let mut frames: Vec<Vec<String>> = Vec::new();
    for line in verbose_output.lines() {
        if line.starts_with("Frame ") && line.contains(" bytes on wire") {
            frames.push(Vec::new());
            continue;
        }
        let top_level = !line.is_empty() && !line.starts_with(char::is_whitespace);
        // Hex dump lines ("0000  01 80 ...") are top-level too; they are not layers.
        let hex_dump = line.len() > 4 && line[..4].chars().all(|c| c.is_ascii_hexdigit());
        if let Some(layers) = frames.last_mut() {
            if top_level && !hex_dump {
                layers.push(line.trim_end().to_string());
            }
        }
    }
    frames
}

#[cfg(test)]
mod tests;
