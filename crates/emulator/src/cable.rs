//! A phone's end of a data cable (sans-IO): the modem that answers AT commands the way each
//! maker's phones did, switches to OBEX (or Siemens BFB framing) on its maker's command and
//! back. The OBEX machine behind it is the caller's: OBEX bytes come out of
//! [`CableModem::poll_obex_input`] and go in through [`CableModem::send_obex`].
//!
//! Modelled on the published AT dialogues (docs/serial.md): Nokia takes `AT+CPROT=0`, Sony
//! Ericsson `AT*EOBEX` (both answer CONNECT), newer Siemens `AT^SQWE=3` (from mode 0 only),
//! older Siemens `AT^SBFB=1` and then BFB frames, Motorola `AT+MODE=22`. Phones in plain OBEX
//! mode go back to AT mode when an OBEX DISCONNECT has been answered; BFB phones when they get
//! `AT^SBFB=0` in a BFB AT frame. Anything else is refused with ERROR.

use handsync_proto::cable::bfb::{self, BfbCodec};

/// Which phone the modem plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CableProfile {
    /// Nokia 6230 on a DKU-2/CA-42: `AT+CPROT=0`.
    Nokia,
    /// Sony Ericsson K750i on a DCU-60: `AT*EOBEX`.
    SonyEricsson,
    /// Siemens S65: `AT^SQWE=3`.
    SiemensSqwe,
    /// Siemens S45: `AT^SBFB=1`, OBEX in BFB frames.
    SiemensBfb,
    /// Motorola E398: `AT+MODE=22`.
    Motorola,
    /// A modem that answers ERROR to every command.
    Refusing,
}

impl CableProfile {
    /// The `AT+CGMI` information line.
    pub fn manufacturer_line(self) -> &'static str {
        match self {
            CableProfile::Nokia => "Nokia",
            CableProfile::SonyEricsson => "Sony Ericsson",
            CableProfile::SiemensSqwe | CableProfile::SiemensBfb => "SIEMENS",
            // Motorola prefixes its answers and quotes them.
            CableProfile::Motorola => "+CGMI: \"Motorola CE, Copyright 2000\"",
            CableProfile::Refusing => "",
        }
    }

    /// The `AT+CGMM` information line.
    pub fn model_line(self) -> &'static str {
        match self {
            CableProfile::Nokia => "Nokia 6230",
            CableProfile::SonyEricsson => "K750i",
            CableProfile::SiemensSqwe => "S65",
            CableProfile::SiemensBfb => "S45",
            CableProfile::Motorola => "+CGMM: \"GSM900\",\"GSM1800\",\"GSM1900\",\"MODEL=E398\"",
            CableProfile::Refusing => "",
        }
    }
}

/// What the modem is doing with the bytes it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CableMode {
    At,
    Obex,
    Bfb,
}

/// Splits one direction of plain OBEX into packets, to see DISCONNECT and its answer pass.
#[derive(Debug, Default)]
struct PacketWatch {
    pending: Vec<u8>,
}

impl PacketWatch {
    /// The first byte of each packet completed by `bytes`.
    fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut firsts = Vec::new();
        self.pending.extend_from_slice(bytes);
        loop {
            if self.pending.len() < 3 {
                break;
            }
            let len = u16::from_be_bytes([self.pending[1], self.pending[2]]) as usize;
            if len < 3 {
                self.pending.clear(); // not OBEX: nothing to track
                break;
            }
            if self.pending.len() < len {
                break;
            }
            firsts.push(self.pending[0]);
            self.pending.drain(..len);
        }
        firsts
    }
}

const OBEX_DISCONNECT: u8 = 0x81;
const OBEX_SUCCESS: u8 = 0xA0;
const MAX_LINE: usize = 256;

/// The phone end of the cable.
#[derive(Debug)]
pub struct CableModem {
    profile: CableProfile,
    mode: CableMode,
    echo: bool,
    line: Vec<u8>,
    to_wire: Vec<u8>,
    obex_in: Vec<u8>,
    commands: Vec<String>,
    sqwe_mode: u8,
    switches: usize,
    incoming: PacketWatch,
    outgoing: PacketWatch,
    /// A DISCONNECT passed: from the PC (true) or from the phone (false); its answer ends OBEX.
    disconnect_from_pc: Option<bool>,
    bfb: BfbCodec,
    bfb_at_line: Vec<u8>,
    bfb_errors: usize,
}

impl CableModem {
    /// A phone in AT mode, echo on.
    pub fn new(profile: CableProfile) -> CableModem {
        CableModem {
            profile,
            mode: CableMode::At,
            echo: true,
            line: Vec::new(),
            to_wire: Vec::new(),
            obex_in: Vec::new(),
            commands: Vec::new(),
            sqwe_mode: 0,
            switches: 0,
            incoming: PacketWatch::default(),
            outgoing: PacketWatch::default(),
            disconnect_from_pc: None,
            bfb: BfbCodec::new(u16::MAX as usize),
            bfb_at_line: Vec::new(),
            bfb_errors: 0,
        }
    }

    /// A phone left in OBEX mode (by an earlier program, or a session that was cut).
    pub fn in_obex_mode(profile: CableProfile) -> CableModem {
        let mut modem = CableModem::new(profile);
        modem.mode = CableMode::Obex;
        modem
    }

    /// Siemens `^SQWE` mode at start (0 is AT/RCCP; other software may leave 1 or 2).
    pub fn with_sqwe_mode(mut self, mode: u8) -> CableModem {
        self.sqwe_mode = mode;
        self
    }

    pub fn mode(&self) -> CableMode {
        self.mode
    }

    pub fn profile(&self) -> CableProfile {
        self.profile
    }

    /// The AT commands received, as sent (without "\r"), in order; BFB AT frames included.
    pub fn commands(&self) -> &[String] {
        &self.commands
    }

    /// How many times the modem went into OBEX or BFB mode.
    pub fn switches(&self) -> usize {
        self.switches
    }

    /// BFB input that was not valid framing.
    pub fn bfb_errors(&self) -> usize {
        self.bfb_errors
    }

    /// Bytes from the PC.
    pub fn handle_input(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            match self.mode {
                CableMode::At => {
                    let byte = rest[0];
                    rest = &rest[1..];
                    self.at_byte(byte);
                }
                CableMode::Obex => {
                    self.obex_in.extend_from_slice(rest);
                    let firsts = self.incoming.feed(rest);
                    rest = &[];
                    for first in firsts {
                        self.passed(first, true);
                    }
                }
                CableMode::Bfb => {
                    self.bfb_input(rest);
                    rest = &[];
                }
            }
        }
    }

    /// Bytes for the phone's OBEX machine.
    pub fn poll_obex_input(&mut self) -> Option<Vec<u8>> {
        if self.obex_in.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.obex_in))
        }
    }

    /// A packet from the phone's OBEX machine, out on the cable (framed in BFB mode). Packets
    /// sent in AT mode are lost, as on a real cable.
    pub fn send_obex(&mut self, packet: &[u8]) {
        match self.mode {
            CableMode::At => {}
            CableMode::Obex => {
                self.to_wire.extend_from_slice(packet);
                for first in self.outgoing.feed(packet) {
                    self.passed(first, false);
                }
            }
            CableMode::Bfb => {
                let framed = self.bfb.encode_packet(packet);
                self.to_wire.extend_from_slice(&framed);
            }
        }
    }

    /// Bytes for the PC.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.to_wire.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.to_wire))
        }
    }

    /// A packet passed; `from_pc` tells its direction.
    fn passed(&mut self, first: u8, from_pc: bool) {
        if first == OBEX_DISCONNECT {
            self.disconnect_from_pc = Some(from_pc);
        } else if self.disconnect_from_pc == Some(!from_pc) {
            self.disconnect_from_pc = None;
            if first == OBEX_SUCCESS {
                self.back_to_at();
            }
        }
    }

    fn back_to_at(&mut self) {
        self.mode = CableMode::At;
        self.echo = false;
        self.line.clear();
        self.incoming = PacketWatch::default();
        self.outgoing = PacketWatch::default();
        self.disconnect_from_pc = None;
    }

    fn at_byte(&mut self, byte: u8) {
        if self.echo {
            self.to_wire.push(byte);
        }
        match byte {
            b'\r' => {
                let line = std::mem::take(&mut self.line);
                let line = String::from_utf8_lossy(line.trim_ascii()).into_owned();
                // Modems ignore lines that do not start with AT (the OBEX probe, noise).
                if let Some(command) = line
                    .get(..2)
                    .filter(|at| at.eq_ignore_ascii_case("AT"))
                    .map(|_| line[2..].to_string())
                {
                    self.commands.push(line.clone());
                    let answer = self.answer(&command);
                    self.to_wire.extend_from_slice(&answer);
                }
            }
            b'\n' => {}
            _ => {
                if self.line.len() < MAX_LINE {
                    self.line.push(byte);
                } else {
                    self.line.clear();
                }
            }
        }
    }

    fn answer(&mut self, command: &str) -> Vec<u8> {
        let command = command.to_ascii_uppercase();
        const OK: &[u8] = b"\r\nOK\r\n";
        const ERROR: &[u8] = b"\r\nERROR\r\n";
        const CONNECT: &[u8] = b"\r\nCONNECT\r\n";
        let info = |line: &str| format!("\r\n{line}\r\n\r\nOK\r\n").into_bytes();
        if self.profile == CableProfile::Refusing {
            return ERROR.to_vec();
        }
        match (self.profile, command.as_str()) {
            (_, "") => OK.to_vec(),
            (_, "Z") => {
                self.echo = true;
                OK.to_vec()
            }
            (_, "E0") => {
                self.echo = false;
                OK.to_vec()
            }
            (_, "E1") => {
                self.echo = true;
                OK.to_vec()
            }
            (profile, "+CGMI" | "+GMI") => info(profile.manufacturer_line()),
            (profile, "+CGMM" | "+GMM") => info(profile.model_line()),
            (CableProfile::Nokia, "+CPROT=0") | (CableProfile::SonyEricsson, "*EOBEX") => {
                self.enter(CableMode::Obex);
                CONNECT.to_vec()
            }
            (CableProfile::SiemensSqwe, "^SQWE?") => info(&format!("^SQWE: {}", self.sqwe_mode)),
            (CableProfile::SiemensSqwe, "^SQWE=0") => {
                self.sqwe_mode = 0;
                OK.to_vec()
            }
            // Siemens go to OBEX (3) only from RCCP (0).
            (CableProfile::SiemensSqwe, "^SQWE=3") if self.sqwe_mode == 0 => {
                self.sqwe_mode = 3;
                self.enter(CableMode::Obex);
                OK.to_vec()
            }
            (CableProfile::SiemensBfb, "^SBFB=1") => {
                self.enter(CableMode::Bfb);
                OK.to_vec()
            }
            (CableProfile::Motorola, "+MODE=22") => {
                self.enter(CableMode::Obex);
                OK.to_vec()
            }
            _ => ERROR.to_vec(),
        }
    }

    fn enter(&mut self, mode: CableMode) {
        self.mode = mode;
        self.switches += 1;
        self.incoming = PacketWatch::default();
        self.outgoing = PacketWatch::default();
        self.disconnect_from_pc = None;
        self.bfb = BfbCodec::new(u16::MAX as usize);
        self.bfb_at_line.clear();
    }

    fn bfb_input(&mut self, bytes: &[u8]) {
        // The codec unframes data; the other frames (hello, AT) are answered here.
        let mut input = bytes;
        loop {
            match self.bfb.decode(input) {
                Ok(packet) => {
                    self.obex_in.extend_from_slice(&packet);
                    break;
                }
                Err(_) => {
                    self.bfb_errors += 1;
                    input = &[];
                }
            }
        }
        let frames = std::mem::take(&mut self.bfb.other_frames);
        for frame in frames {
            match frame.kind {
                bfb::frame_type::CONNECT if frame.payload == [bfb::CONNECT_HELLO] => {
                    let ack = bfb::encode_frames(
                        bfb::frame_type::CONNECT,
                        &[bfb::CONNECT_HELLO, bfb::CONNECT_HELLO_ACK],
                    );
                    self.to_wire.extend_from_slice(&ack);
                }
                bfb::frame_type::AT => {
                    for byte in frame.payload {
                        if byte != b'\r' {
                            if self.bfb_at_line.len() < MAX_LINE {
                                self.bfb_at_line.push(byte);
                            }
                            continue;
                        }
                        let line = String::from_utf8_lossy(&self.bfb_at_line)
                            .trim()
                            .to_string();
                        self.bfb_at_line.clear();
                        self.commands.push(line.clone());
                        let leave = line.eq_ignore_ascii_case("AT^SBFB=0");
                        let answer: &[u8] = if leave {
                            b"\r\nOK\r\n"
                        } else {
                            b"\r\nERROR\r\n"
                        };
                        let framed = bfb::encode_frames(bfb::frame_type::AT, answer);
                        self.to_wire.extend_from_slice(&framed);
                        if leave {
                            self.back_to_at();
                            return;
                        }
                    }
                }
                _ => self.bfb_errors += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(modem: &mut CableModem, text: &str) -> String {
        modem.handle_input(text.as_bytes());
        String::from_utf8_lossy(&modem.poll_transmit().unwrap_or_default()).to_string()
    }

    #[test]
    fn each_maker_switches_on_its_own_command_only() {
        let cases = [
            (
                CableProfile::Nokia,
                "AT+CPROT=0",
                "CONNECT",
                CableMode::Obex,
            ),
            (
                CableProfile::SonyEricsson,
                "AT*EOBEX",
                "CONNECT",
                CableMode::Obex,
            ),
            (
                CableProfile::SiemensSqwe,
                "AT^SQWE=3",
                "OK",
                CableMode::Obex,
            ),
            (CableProfile::SiemensBfb, "AT^SBFB=1", "OK", CableMode::Bfb),
            (CableProfile::Motorola, "AT+MODE=22", "OK", CableMode::Obex),
        ];
        for (profile, command, answer, mode) in cases {
            let mut modem = CableModem::new(profile);
            assert!(say(&mut modem, "ATE0\r").contains("OK"));
            let refused = if command == "AT+CPROT=0" {
                "AT*EOBEX\r"
            } else {
                "AT+CPROT=0\r"
            };
            assert!(say(&mut modem, refused).contains("ERROR"), "{profile:?}");
            assert_eq!(modem.mode(), CableMode::At);
            assert!(say(&mut modem, &format!("{command}\r")).contains(answer));
            assert_eq!(modem.mode(), mode, "{profile:?}");
        }
    }

    #[test]
    fn an_answered_disconnect_brings_the_phone_back_to_at_mode() {
        let mut modem = CableModem::new(CableProfile::Nokia);
        say(&mut modem, "AT+CPROT=0\r");
        modem.handle_input(&[0x81, 0x00, 0x03]);
        assert_eq!(modem.poll_obex_input().unwrap(), vec![0x81, 0x00, 0x03]);
        assert_eq!(modem.mode(), CableMode::Obex);
        modem.send_obex(&[0xA0, 0x00, 0x03]);
        assert_eq!(modem.mode(), CableMode::At);
        assert!(say(&mut modem, "AT\r").contains("OK"));
    }
}
