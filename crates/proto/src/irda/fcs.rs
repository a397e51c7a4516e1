//! The SIR frame check sequence: the 16-bit CRC of HDLC and X.25 (CCITT polynomial 0x1021,
//! processed least significant bit first, preset to 0xFFFF, complemented at the end), sent
//! low byte first after the address, control and information fields.

/// The register's preset before the first byte.
pub const INIT: u16 = 0xFFFF;

/// What the register holds after running over a frame *and* its own FCS when nothing was
/// damaged (the complement makes this constant instead of zero).
pub const GOOD_RESIDUE: u16 = 0xF0B8;

/// 0x1021 with its bits reversed, because bytes are processed least significant bit first.
const POLYNOMIAL_REFLECTED: u16 = 0x8408;

const TABLE: [u16; 256] = build_table();

const fn build_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut register = byte as u16;
        let mut bit = 0;
        while bit < 8 {
            register = if register & 1 != 0 {
                (register >> 1) ^ POLYNOMIAL_REFLECTED
            } else {
                register >> 1
            };
            bit += 1;
        }
        table[byte] = register;
        byte += 1;
    }
    table
}

/// Runs the CRC register over `bytes` (no final complement): chain calls to feed a frame
/// in pieces.
pub fn update(register: u16, bytes: &[u8]) -> u16 {
    bytes.iter().fold(register, |register, &byte| {
        (register >> 8) ^ TABLE[usize::from((register as u8) ^ byte)]
    })
}

/// The FCS of a whole frame (address, control, information), as sent.
pub fn compute(frame: &[u8]) -> u16 {
    !update(INIT, frame)
}

/// The two FCS bytes in air order (low byte first).
pub fn bytes(frame: &[u8]) -> [u8; 2] {
    compute(frame).to_le_bytes()
}

/// Whether `frame_with_fcs` (the frame followed by its two FCS bytes) arrived intact.
pub fn is_good(frame_with_fcs: &[u8]) -> bool {
    frame_with_fcs.len() >= 2 && update(INIT, frame_with_fcs) == GOOD_RESIDUE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_check_value_of_crc16_x25() {
        // The catalogue check value of CRC-16/X-25 (which IrDA SIR uses) over "123456789".
        assert_eq!(compute(b"123456789"), 0x906E);
        assert_eq!(compute(b""), 0x0000);
    }

    #[test]
    fn frame_followed_by_its_fcs_leaves_the_good_residue() {
        let frame = [0xFF, 0x3F, 0x01, 0x12, 0x34, 0x56, 0x78];
        let mut with_fcs = frame.to_vec();
        with_fcs.extend_from_slice(&bytes(&frame));
        assert!(is_good(&with_fcs));
        assert_eq!(update(INIT, &with_fcs), GOOD_RESIDUE);
        with_fcs[3] ^= 0x01;
        assert!(!is_good(&with_fcs));
        assert!(!is_good(&[0x12]));
    }

    #[test]
    fn chained_updates_equal_one_pass() {
        let data = b"the quick brown fox";
        let (head, tail) = data.split_at(7);
        assert_eq!(!update(update(INIT, head), tail), compute(data));
    }
}
