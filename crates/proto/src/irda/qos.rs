//! IrLAP negotiation parameters (IrLAP 1.1 section 6.6): what a station accepts, carried
//! in SNRM and UA as PI/PL/PV triples, and what two stations settle on.
//!
//! Type 0 parameters (baud rate, link disconnect threshold) must be the same both ways:
//! each side takes the fastest/longest value common to both lists. Type 1 parameters are
//! per station: each states what *it* can take, and the other side obeys that when
//! sending to it (data size, window, additional BOFs, minimum turnaround) or holding the
//! line (maximum turnaround). A bit field lists every acceptable value; like the old
//! Linux stack, the value used is that of the highest bit set.

use std::time::Duration;

/// Bits per second of each bit of the baud rate parameter (two bytes, little-endian).
pub const BAUD_RATES: [u32; 10] = [
    2400, 9600, 19200, 38400, 57600, 115_200, 576_000, 1_152_000, 4_000_000, 16_000_000,
];
/// Milliseconds of each bit of the maximum turnaround time.
pub const MAX_TURNAROUNDS_MS: [u16; 4] = [500, 250, 100, 50];
/// Bytes of each bit of the data size.
pub const DATA_SIZES: [u16; 6] = [64, 128, 256, 512, 1024, 2048];
/// Additional BOFs of each bit, counted at 115.2 kbit/s (scaled to the link speed).
pub const EXTRA_BOFS: [u8; 8] = [48, 24, 12, 5, 3, 2, 1, 0];
/// Microseconds of each bit of the minimum turnaround time.
pub const MIN_TURNAROUNDS_US: [u32; 8] = [10_000, 5_000, 1_000, 500, 100, 50, 10, 0];
/// Seconds of each bit of the link disconnect threshold.
pub const DISCONNECT_THRESHOLDS_S: [u8; 8] = [3, 8, 12, 16, 20, 25, 30, 40];

/// Parameter identifiers.
pub mod pi {
    pub const BAUD_RATE: u8 = 0x01;
    pub const MAX_TURNAROUND: u8 = 0x82;
    pub const DATA_SIZE: u8 = 0x83;
    pub const WINDOW_SIZE: u8 = 0x84;
    pub const EXTRA_BOFS: u8 = 0x85;
    pub const MIN_TURNAROUND: u8 = 0x86;
    pub const DISCONNECT_THRESHOLD: u8 = 0x08;
}

/// Bits of the baud rate parameter.
pub mod baud {
    pub const B2400: u16 = 0x0001;
    pub const B9600: u16 = 0x0002;
    pub const B19200: u16 = 0x0004;
    pub const B38400: u16 = 0x0008;
    pub const B57600: u16 = 0x0010;
    pub const B115200: u16 = 0x0020;
    /// Every SIR speed.
    pub const SIR: u16 = 0x003F;
}

/// Bit of the 3-second disconnect threshold, which every station must accept.
pub const THRESHOLD_3S: u8 = 0x01;

/// What one station accepts. Encoded in SNRM and UA.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Capabilities {
    /// Type 0: every speed this station can use ([`baud`] bits).
    pub baud_rates: u16,
    /// Type 0: every disconnect threshold acceptable ([`DISCONNECT_THRESHOLDS_S`] bits).
    pub disconnect_thresholds: u8,
    /// How long the other station may transmit before passing the P/F bit back (ms).
    pub max_turnaround_ms: u16,
    /// Most information bytes per frame this station receives.
    pub data_size: u16,
    /// Most unacknowledged frames this station receives (1..=7).
    pub window: u8,
    /// Additional BOFs this station needs before each frame, at 115.2 kbit/s.
    pub extra_bofs: u8,
    /// How long this station needs after its own transmission before it can receive (µs).
    pub min_turnaround_us: u32,
}

impl Default for Capabilities {
    /// A PC with a SIR dongle: every SIR speed, 500 ms, 2048 bytes, window 7, no extra
    /// BOFs, 1 ms minimum turnaround, any disconnect threshold up to 40 s.
    fn default() -> Capabilities {
        Capabilities {
            baud_rates: baud::SIR,
            disconnect_thresholds: 0xFF,
            max_turnaround_ms: 500,
            data_size: 2048,
            window: 7,
            extra_bofs: 0,
            min_turnaround_us: 1_000,
        }
    }
}

/// What a station that sends no parameter is taken to accept (the mandatory minimum).
impl Capabilities {
    pub fn mandatory() -> Capabilities {
        Capabilities {
            baud_rates: baud::B9600,
            disconnect_thresholds: THRESHOLD_3S,
            max_turnaround_ms: 500,
            data_size: 64,
            window: 1,
            extra_bofs: 0,
            min_turnaround_us: 10_000,
        }
    }
}

/// Why negotiation parameters could not be read. Offsets count from the address byte.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum QosError {
    /// The parameter list ends inside the parameter starting at `offset`.
    Truncated { pi: Option<u8>, offset: usize },
    /// A known parameter with a value length it cannot have.
    BadLength { pi: u8, offset: usize, len: u8 },
}

impl std::fmt::Display for QosError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QosError::Truncated {
                pi: Some(pi),
                offset,
            } => {
                write!(f, "parameter 0x{pi:02x} at byte {offset} is cut short")
            }
            QosError::Truncated { pi: None, offset } => {
                write!(f, "parameter at byte {offset} is cut short")
            }
            QosError::BadLength { pi, offset, len } => {
                write!(f, "parameter 0x{pi:02x} at byte {offset} has length {len}")
            }
        }
    }
}

impl std::error::Error for QosError {}

/// Index of the highest bit set (0 for no bit, as a buggy peer's empty field is read).
fn highest_bit(bits: u16) -> usize {
    15usize.saturating_sub(bits.leading_zeros() as usize)
}

/// Bits 0..=index set.
fn bits_through(index: usize) -> u8 {
    ((1u16 << (index + 1)) - 1) as u8
}

impl Capabilities {
    /// Appends the PI/PL/PV list.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let baud = self.baud_rates;
        if baud > 0xFF {
            out.extend_from_slice(&[pi::BAUD_RATE, 2]);
            out.extend_from_slice(&baud.to_le_bytes());
        } else {
            out.extend_from_slice(&[pi::BAUD_RATE, 1, baud as u8]);
        }
        let max_turnaround = MAX_TURNAROUNDS_MS
            .iter()
            .position(|&ms| ms <= self.max_turnaround_ms)
            .unwrap_or(MAX_TURNAROUNDS_MS.len() - 1);
        // The largest size not above ours, and every size below it.
        let data_size = DATA_SIZES
            .iter()
            .rposition(|&size| size <= self.data_size)
            .unwrap_or(0);
        let window = usize::from(self.window.clamp(1, 7)) - 1;
        // The fewest BOFs not below ours, and every larger count.
        let extra_bofs = EXTRA_BOFS
            .iter()
            .rposition(|&n| n >= self.extra_bofs)
            .unwrap_or(0);
        let min_turnaround = MIN_TURNAROUNDS_US
            .iter()
            .rposition(|&us| us >= self.min_turnaround_us)
            .unwrap_or(0);
        out.extend_from_slice(&[
            pi::MAX_TURNAROUND,
            1,
            1 << max_turnaround,
            pi::DATA_SIZE,
            1,
            bits_through(data_size),
            pi::WINDOW_SIZE,
            1,
            bits_through(window),
            pi::EXTRA_BOFS,
            1,
            bits_through(extra_bofs),
            pi::MIN_TURNAROUND,
            1,
            bits_through(min_turnaround),
            pi::DISCONNECT_THRESHOLD,
            1,
            self.disconnect_thresholds,
        ]);
    }

    /// Reads a PI/PL/PV list; `offset` is where `bytes` starts in the frame. Parameters
    /// not sent keep their [`Capabilities::mandatory`] values; unknown ones are skipped.
    pub fn decode(bytes: &[u8], offset: usize) -> Result<Capabilities, QosError> {
        let mut caps = Capabilities::mandatory();
        let mut at = 0;
        while at < bytes.len() {
            let param = bytes[at];
            let Some(&len) = bytes.get(at + 1) else {
                return Err(QosError::Truncated {
                    pi: Some(param),
                    offset: offset + at,
                });
            };
            let value =
                bytes
                    .get(at + 2..at + 2 + usize::from(len))
                    .ok_or(QosError::Truncated {
                        pi: Some(param),
                        offset: offset + at,
                    })?;
            let bad_length = QosError::BadLength {
                pi: param,
                offset: offset + at,
                len,
            };
            let byte = || match value {
                [byte] => Ok(*byte),
                _ => Err(bad_length.clone()),
            };
            match param {
                pi::BAUD_RATE => {
                    caps.baud_rates = match value {
                        [low] => u16::from(*low),
                        [low, high, ..] => u16::from_le_bytes([*low, *high]),
                        [] => return Err(bad_length),
                    }
                }
                pi::MAX_TURNAROUND => {
                    caps.max_turnaround_ms =
                        MAX_TURNAROUNDS_MS[highest_bit(u16::from(byte()? & 0x0F))]
                }
                pi::DATA_SIZE => {
                    caps.data_size = DATA_SIZES[highest_bit(u16::from(byte()? & 0x3F))]
                }
                pi::WINDOW_SIZE => caps.window = highest_bit(u16::from(byte()? & 0x7F)) as u8 + 1,
                pi::EXTRA_BOFS => caps.extra_bofs = EXTRA_BOFS[highest_bit(u16::from(byte()?))],
                pi::MIN_TURNAROUND => {
                    caps.min_turnaround_us = MIN_TURNAROUNDS_US[highest_bit(u16::from(byte()?))]
                }
                pi::DISCONNECT_THRESHOLD => caps.disconnect_thresholds = byte()?,
                _ => {}
            }
            at += 2 + usize::from(len);
        }
        Ok(caps)
    }
}

/// Bytes one station may send in one turn (IrLAP 1.1 table 7, "maximum line capacity"),
/// at `speed` holding the line at most `max_turnaround`.
pub fn line_capacity(speed: u32, max_turnaround: Duration) -> usize {
    const TABLE: [[usize; 4]; 10] = [
        [100, 0, 0, 0],
        [400, 0, 0, 0],
        [800, 0, 0, 0],
        [1600, 0, 0, 0],
        [2360, 0, 0, 0],
        [4800, 2400, 960, 480],
        [28800, 11520, 5760, 2880],
        [57600, 28800, 11520, 5760],
        [200_000, 100_000, 40_000, 20_000],
        [800_000, 400_000, 160_000, 80_000],
    ];
    let row = BAUD_RATES.iter().rposition(|&b| b <= speed).unwrap_or(0);
    let ms = max_turnaround.as_millis();
    let column = MAX_TURNAROUNDS_MS
        .iter()
        .position(|&t| u128::from(t) <= ms)
        .unwrap_or(MAX_TURNAROUNDS_MS.len() - 1);
    // Below 115.2 kbit/s only 500 ms is defined.
    let column = if row < 5 { 0 } else { column };
    TABLE[row][column]
}

/// What a connection settled on, seen from one station.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Negotiated {
    /// Both directions' speed (type 0).
    pub speed: u32,
    /// No frame for this long ends the link (type 0).
    pub disconnect_threshold: Duration,
    /// Most information bytes per frame we send (the peer's limit, cut to what fits in
    /// one turn at this speed).
    pub data_size: usize,
    /// Most unacknowledged frames we send (the peer's limit).
    pub window: u8,
    /// Additional BOFs before each frame we send, at `speed`.
    pub extra_bofs: u16,
    /// Silence we keep between the peer's last frame and our first (the peer's need).
    pub min_turnaround: Duration,
    /// Longest we may transmit before passing the P/F bit (the peer's limit).
    pub max_turnaround: Duration,
    /// Longest the peer may transmit before passing it back (our limit).
    pub peer_max_turnaround: Duration,
    /// Most information bytes per frame we accept.
    pub receive_data_size: usize,
}

impl Negotiated {
    /// Applies the rules to our capabilities and the peer's.
    pub fn new(ours: &Capabilities, theirs: &Capabilities) -> Negotiated {
        let common_baud = ours.baud_rates & theirs.baud_rates & 0x03FF;
        let speed = if common_baud == 0 {
            super::CONTACT_SPEED
        } else {
            BAUD_RATES[highest_bit(common_baud)]
        };
        let common_threshold = ours.disconnect_thresholds & theirs.disconnect_thresholds;
        let threshold = DISCONNECT_THRESHOLDS_S[highest_bit(u16::from(common_threshold))];
        // Below 115.2 kbit/s only a 500-ms turnaround is allowed.
        let turnaround = |ms: u16| {
            Duration::from_millis(if speed < 115_200 {
                500
            } else {
                u64::from(ms.clamp(50, 500))
            })
        };
        let max_turnaround = turnaround(theirs.max_turnaround_ms);
        let capacity = line_capacity(speed, max_turnaround);
        // A frame that cannot fit in one turn could never be sent: shrink it.
        let data_size = DATA_SIZES
            .iter()
            .rev()
            .map(|&size| usize::from(size))
            .find(|&size| size <= usize::from(theirs.data_size) && size + 6 <= capacity)
            .unwrap_or(64);
        Negotiated {
            speed,
            disconnect_threshold: Duration::from_secs(u64::from(threshold)),
            data_size,
            window: theirs.window.clamp(1, 7),
            extra_bofs: (u64::from(theirs.extra_bofs) * u64::from(speed) / 115_200) as u16,
            min_turnaround: Duration::from_micros(u64::from(theirs.min_turnaround_us.min(10_000))),
            max_turnaround,
            peer_max_turnaround: turnaround(ours.max_turnaround_ms),
            receive_data_size: usize::from(ours.data_size.clamp(64, 2048)),
        }
    }

    /// Most information bytes per frame the peer accepts.
    pub fn peer_data_size(&self) -> usize {
        self.data_size
    }

    /// Bytes we may put on the air in one turn.
    pub fn line_capacity(&self) -> usize {
        line_capacity(self.speed, self.max_turnaround)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(caps: &Capabilities) -> Capabilities {
        let mut bytes = Vec::new();
        caps.encode(&mut bytes);
        Capabilities::decode(&bytes, 0).unwrap()
    }

    #[test]
    fn default_capabilities_encode_as_the_spec_bit_fields() {
        let mut bytes = Vec::new();
        Capabilities::default().encode(&mut bytes);
        assert_eq!(
            bytes,
            [
                0x01, 1, 0x3F, // 2400..115200
                0x82, 1, 0x01, // 500 ms
                0x83, 1, 0x3F, // 64..2048
                0x84, 1, 0x7F, // windows 1..7
                0x85, 1, 0xFF, // any BOF count down to 0
                0x86, 1, 0x07, // 10, 5 and 1 ms
                0x08, 1, 0xFF, // 3..40 s
            ]
        );
        assert_eq!(
            round_trip(&Capabilities::default()),
            Capabilities::default()
        );
    }

    #[test]
    fn values_between_table_entries_round_to_the_safe_side() {
        let caps = Capabilities {
            baud_rates: baud::B9600 | baud::B57600,
            disconnect_thresholds: 0x03,
            max_turnaround_ms: 500,
            data_size: 1500,
            window: 3,
            extra_bofs: 4,
            min_turnaround_us: 700,
        };
        let back = round_trip(&caps);
        assert_eq!(back.data_size, 1024);
        assert_eq!(back.window, 3);
        assert_eq!(back.extra_bofs, 5);
        assert_eq!(back.min_turnaround_us, 1_000);
        assert_eq!(back.baud_rates, baud::B9600 | baud::B57600);
        assert_eq!(back.disconnect_thresholds, 0x03);
    }

    #[test]
    fn two_byte_baud_rate_unknown_parameters_and_missing_ones() {
        // 4 Mbit/s in the second byte, an unknown PI 0x42 skipped, nothing else sent.
        let caps = Capabilities::decode(&[0x01, 2, 0x3E, 0x01, 0x42, 1, 0x55], 11).unwrap();
        assert_eq!(caps.baud_rates, 0x013E);
        assert_eq!(caps.data_size, 64);
        assert_eq!(caps.window, 1);
        assert_eq!(caps.disconnect_thresholds, THRESHOLD_3S);
    }

    #[test]
    fn malformed_lists_are_errors_with_positions() {
        assert_eq!(
            Capabilities::decode(&[0x01, 1, 0x3F, 0x83], 11),
            Err(QosError::Truncated {
                pi: Some(0x83),
                offset: 14
            })
        );
        assert_eq!(
            Capabilities::decode(&[0x83, 3, 1, 2], 0),
            Err(QosError::Truncated {
                pi: Some(0x83),
                offset: 0
            })
        );
        assert_eq!(
            Capabilities::decode(&[0x84, 2, 1, 2], 5),
            Err(QosError::BadLength {
                pi: 0x84,
                offset: 5,
                len: 2
            })
        );
    }

    #[test]
    fn type_0_takes_the_best_common_value_and_type_1_the_peers() {
        let pc = Capabilities::default();
        let phone = Capabilities {
            baud_rates: baud::B9600 | baud::B19200 | baud::B57600 | baud::B115200 | 0x0100,
            disconnect_thresholds: 0x1F, // up to 20 s
            max_turnaround_ms: 500,
            data_size: 512,
            window: 4,
            extra_bofs: 12,
            min_turnaround_us: 5_000,
        };
        let at_pc = Negotiated::new(&pc, &phone);
        assert_eq!(at_pc.speed, 115_200);
        assert_eq!(at_pc.disconnect_threshold, Duration::from_secs(20));
        assert_eq!((at_pc.data_size, at_pc.window), (512, 4));
        assert_eq!(at_pc.extra_bofs, 12);
        assert_eq!(at_pc.min_turnaround, Duration::from_millis(5));
        assert_eq!(at_pc.receive_data_size, 2048);

        let at_phone = Negotiated::new(&phone, &pc);
        assert_eq!(
            (at_phone.speed, at_phone.disconnect_threshold),
            (115_200, Duration::from_secs(20))
        );
        assert_eq!((at_phone.data_size, at_phone.window), (2048, 7));
        assert_eq!(at_phone.extra_bofs, 0);
        assert_eq!(at_phone.min_turnaround, Duration::from_millis(1));
    }

    #[test]
    fn no_common_speed_falls_back_to_9600_and_sizes_shrink_to_one_turn() {
        let slow = Capabilities {
            baud_rates: baud::B2400,
            ..Capabilities::default()
        };
        let fast = Capabilities {
            baud_rates: baud::B115200,
            extra_bofs: 48,
            ..Capabilities::default()
        };
        let n = Negotiated::new(&slow, &fast);
        assert_eq!(n.speed, 9600);
        // 400 bytes per 500-ms turn at 9600: 2048-byte frames could never go out.
        assert_eq!(n.data_size, 256);
        // 48 BOFs at 115.2 kbit/s last as long as 4 at 9600.
        assert_eq!(n.extra_bofs, 4);
        assert_eq!(n.max_turnaround, Duration::from_millis(500));
    }

    #[test]
    fn short_turnarounds_apply_only_at_high_speed() {
        let quick = Capabilities {
            max_turnaround_ms: 100,
            ..Capabilities::default()
        };
        let n = Negotiated::new(&Capabilities::default(), &quick);
        assert_eq!(n.max_turnaround, Duration::from_millis(100));
        assert_eq!(line_capacity(115_200, n.max_turnaround), 960);
        assert_eq!(n.data_size, 512);
        let slow = Capabilities {
            baud_rates: baud::B9600,
            ..quick
        };
        assert_eq!(
            Negotiated::new(&Capabilities::default(), &slow).max_turnaround,
            Duration::from_millis(500)
        );
    }
}
