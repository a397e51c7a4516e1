//! Serial IrDA dongles as their hardware behaves, for testing the PC's drivers without
//! one: each sees its DTR/RTS lines change and the host's bytes arrive, with the time, and
//! ends up at an infrared speed, or in the wrong state when a pulse was too short, a byte
//! came at the wrong UART speed or in the wrong mode. It echoes what the chip echoes.
//!
//! Written from the chips' documented behaviour (datasheets and the comments of the old
//! Linux drivers), not from handsync's own step lists, so that it can catch them out.
//!
//! Sans-IO: the caller passes the time of every line change and write.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use handsync_proto::irda::dongle::DongleKind;

/// Bits a UART sends per byte (start, 8 data, stop).
const BITS_PER_BYTE: u64 = 10;

/// How long each family needs its supply up before it obeys commands, and how long
/// without supply it forgets its state (its capacitor empties).
fn power_timing(kind: DongleKind) -> (Duration, Duration) {
    match kind {
        // The IR320ST-2 runs from a regulator behind a large capacitor.
        DongleKind::Toim3232 => (Duration::from_millis(5), Duration::from_millis(20)),
        // The MCP2120 has its own supply (its reset timer is modelled apart); the ESI-9680
        // is passive: its speed is the line levels.
        DongleKind::Sir | DongleKind::Plain | DongleKind::Esi | DongleKind::Mcp2120 => {
            (Duration::ZERO, Duration::from_millis(1))
        }
        _ => (Duration::from_millis(20), Duration::from_millis(5)),
    }
}

/// The per-family state.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Chip {
    /// A SIR port: it runs at whatever speed the host's UART last sent at.
    Sir {
        speed: u32,
    },
    Plain,
    /// Position in the RTS-pulse cycle.
    Actisys {
        step: usize,
        plus: bool,
    },
    /// Speed, and the last byte taken in command mode.
    Tekram {
        speed: u32,
        latched: Option<u8>,
    },
    Esi,
    Girbil {
        speed: u32,
        pending_speed: Option<u32>,
        control: u8,
        ask_mode: bool,
    },
    Ma600 {
        speed: u32,
        latched: Option<u8>,
    },
    Mcp2120 {
        speed: u32,
        latched: Option<u32>,
        /// When RESET (RTS) was released; the chip's reset timer runs after it.
        released: Option<Instant>,
    },
    LiteLink {
        step: usize,
    },
    Toim3232 {
        speed: u32,
        latched: Option<u8>,
    },
}

const ACTISYS_CYCLE: [u32; 5] = [9600, 19200, 57600, 115_200, 38400];
const LITELINK_CYCLE: [u32; 5] = [115_200, 57600, 38400, 19200, 9600];
/// The shortest line pulse the ACTiSYS and LiteLink inputs take for one.
const ACTISYS_MIN_PULSE: Duration = Duration::from_micros(5);
const LITELINK_MIN_PULSE: Duration = Duration::from_micros(15);
/// RTS low this long (the IR-210B and TOIM3232's baud-select input) before a control byte.
const COMMAND_SETUP: Duration = Duration::from_micros(7);
/// The MA600 wants a millisecond in command mode before its control byte.
const MA600_COMMAND_SETUP: Duration = Duration::from_micros(500);
const TEKRAM_RESET_PULSE: Duration = Duration::from_micros(500);
const MA600_RESET_PULSE: Duration = Duration::from_millis(5);
const GIRBIL_RESET_PULSE: Duration = Duration::from_millis(5);
const MCP2120_RESET_TIMER: Duration = Duration::from_millis(30);

/// An emulated serial dongle.
#[derive(Debug)]
pub struct EmulatedDongle {
    kind: DongleKind,
    chip: Chip,
    dtr: bool,
    rts: bool,
    dtr_since: Instant,
    rts_since: Instant,
    /// Since when the supply has been up, or down.
    powered_since: Option<Instant>,
    unpowered_since: Option<Instant>,
    echo: VecDeque<u8>,
    faults: Vec<String>,
}

impl EmulatedDongle {
    /// A dongle plugged in at `now` with both lines low (unpowered, unless it needs no
    /// lines).
    pub fn new(kind: DongleKind, now: Instant) -> EmulatedDongle {
        let mut dongle = EmulatedDongle {
            kind,
            chip: Chip::Plain,
            dtr: false,
            rts: false,
            dtr_since: now,
            rts_since: now,
            powered_since: None,
            unpowered_since: Some(now),
            echo: VecDeque::new(),
            faults: Vec::new(),
        };
        dongle.power_on_state(now);
        if dongle.supplied(false, false) {
            dongle.powered_since = Some(now);
            dongle.unpowered_since = None;
        }
        dongle
    }

    pub fn kind(&self) -> DongleKind {
        self.kind
    }

    /// The state the chip wakes up in.
    fn power_on_state(&mut self, now: Instant) {
        self.chip = match self.kind {
            DongleKind::Sir => Chip::Sir { speed: 9600 },
            DongleKind::Plain => Chip::Plain,
            DongleKind::Actisys220L | DongleKind::Actisys220LPlus => Chip::Actisys {
                step: 0,
                plus: self.kind == DongleKind::Actisys220LPlus,
            },
            DongleKind::Tekram210B => Chip::Tekram {
                speed: 9600,
                latched: None,
            },
            DongleKind::Esi => Chip::Esi,
            DongleKind::Girbil => Chip::Girbil {
                speed: 9600,
                pending_speed: None,
                control: 0,
                ask_mode: false,
            },
            DongleKind::Ma600 => Chip::Ma600 {
                speed: 9600,
                latched: None,
            },
            DongleKind::Mcp2120 => Chip::Mcp2120 {
                speed: 9600,
                latched: None,
                released: Some(now),
            },
            DongleKind::LiteLink => Chip::LiteLink { step: 0 },
            DongleKind::Toim3232 => Chip::Toim3232 {
                speed: 9600,
                latched: None,
            },
        };
    }

    fn supplied(&self, dtr: bool, rts: bool) -> bool {
        match self.kind {
            // DTR and RTS drive the MCP2120's MODE and RESET pins, not its supply.
            DongleKind::Sir | DongleKind::Plain | DongleKind::Mcp2120 => true,
            // RTS only trickle-charges the IR320ST-2: DTR powers it.
            DongleKind::Toim3232 => dtr,
            _ => dtr || rts,
        }
    }

    /// Whether the supply has been up long enough for the chip to obey.
    fn awake(&self, now: Instant) -> bool {
        let (settle, _) = power_timing(self.kind);
        self.powered_since
            .is_some_and(|since| now.saturating_duration_since(since) >= settle)
    }

    fn fault(&mut self, what: String) {
        self.faults.push(what);
    }

    /// What went wrong so far, in the dongle's terms (ignored pulses and bytes).
    pub fn faults(&self) -> &[String] {
        &self.faults
    }

    /// The host sets DTR and RTS at `now`.
    pub fn set_lines(&mut self, now: Instant, dtr: bool, rts: bool) {
        let (was_dtr, was_rts) = (self.dtr, self.rts);
        let dtr_held = now.saturating_duration_since(self.dtr_since);
        let rts_held = now.saturating_duration_since(self.rts_since);
        if dtr != was_dtr {
            self.dtr = dtr;
            self.dtr_since = now;
        }
        if rts != was_rts {
            self.rts = rts;
            self.rts_since = now;
        }
        self.track_power(now, was_dtr, was_rts);
        if !self.supplied(dtr, rts) || !self.awake(now) {
            return;
        }
        let dtr_rose = dtr && !was_dtr;
        let rts_rose = rts && !was_rts;
        let rts_fell = !rts && was_rts;
        match &mut self.chip {
            Chip::Sir { .. } | Chip::Plain | Chip::Esi => {}
            Chip::Actisys { step, plus } => {
                let cycle_len = if *plus { 5 } else { 4 };
                if dtr_rose && rts {
                    if dtr_held >= ACTISYS_MIN_PULSE {
                        *step = 0;
                    } else {
                        self.faults
                            .push(format!("DTR pulse of {dtr_held:?} too short to reset"));
                    }
                } else if rts_rose && dtr {
                    if rts_held >= ACTISYS_MIN_PULSE {
                        *step = (*step + 1) % cycle_len;
                    } else {
                        self.faults
                            .push(format!("RTS pulse of {rts_held:?} too short to count"));
                    }
                }
            }
            Chip::LiteLink { step } => {
                if rts_rose && dtr {
                    if rts_held >= LITELINK_MIN_PULSE {
                        *step = 0;
                    } else {
                        self.faults
                            .push(format!("RTS pulse of {rts_held:?} too short to reset"));
                    }
                } else if dtr_rose && rts {
                    if dtr_held >= LITELINK_MIN_PULSE {
                        *step = (*step + 1) % LITELINK_CYCLE.len();
                    } else {
                        self.faults
                            .push(format!("DTR pulse of {dtr_held:?} too short to count"));
                    }
                }
            }
            Chip::Tekram { speed, latched } => {
                if dtr_rose && rts && dtr_held >= TEKRAM_RESET_PULSE {
                    *speed = 9600;
                    *latched = None;
                } else if rts_rose && dtr {
                    // Leaving command mode applies the control byte.
                    if let Some(byte) = latched.take() {
                        match tekram_speed(byte) {
                            Some(new) => *speed = new,
                            None => self
                                .faults
                                .push(format!("control byte {byte:#04x} unknown")),
                        }
                    }
                }
            }
            Chip::Toim3232 { speed, latched } => {
                if rts_rose {
                    if let Some(byte) = latched.take() {
                        match toim3232_speed(byte) {
                            Some(new) => *speed = new,
                            None => self
                                .faults
                                .push(format!("control byte {byte:#04x} unknown")),
                        }
                    }
                }
            }
            Chip::Ma600 { speed, latched } => {
                if dtr_rose && rts && dtr_held >= MA600_RESET_PULSE {
                    *speed = 9600;
                    *latched = None;
                } else if rts_rose && dtr {
                    if let Some(byte) = latched.take() {
                        match ma600_speed(byte) {
                            Some(new) => *speed = new,
                            None => self
                                .faults
                                .push(format!("control byte {byte:#04x} unknown")),
                        }
                    }
                }
            }
            Chip::Girbil {
                speed,
                pending_speed,
                control,
                ask_mode,
            } => {
                // RTS low with DTR high long enough resets, whatever DTR does as RTS rises.
                if rts_rose && was_dtr && rts_held >= GIRBIL_RESET_PULSE {
                    *speed = 9600;
                    *pending_speed = None;
                    *control = 0;
                    *ask_mode = false;
                }
            }
            Chip::Mcp2120 {
                speed,
                latched,
                released,
            } => {
                if rts_rose {
                    // RESET asserted: back to the software-selected default.
                    *speed = 9600;
                    *latched = None;
                    *released = None;
                } else if rts_fell {
                    *released = Some(now);
                }
            }
        }
    }

    fn track_power(&mut self, now: Instant, was_dtr: bool, was_rts: bool) {
        let before = self.supplied(was_dtr, was_rts);
        let after = self.supplied(self.dtr, self.rts);
        if before && !after {
            self.powered_since = None;
            self.unpowered_since = Some(now);
        } else if !before && after {
            let (_, discharge) = power_timing(self.kind);
            let down_for = self
                .unpowered_since
                .map_or(Duration::MAX, |since| now.saturating_duration_since(since));
            if down_for >= discharge {
                self.power_on_state(now);
            }
            self.powered_since = Some(now);
            self.unpowered_since = None;
        }
    }

    /// The host writes `bytes` at `uart_speed` b/s, the first start bit at `now`. Returns
    /// when the last stop bit is through.
    pub fn host_bytes(&mut self, now: Instant, bytes: &[u8], uart_speed: u32) -> Instant {
        let byte_time =
            Duration::from_nanos(BITS_PER_BYTE * 1_000_000_000 / u64::from(uart_speed.max(1)));
        let mut at = now;
        for &byte in bytes {
            let start = at;
            at += byte_time;
            self.host_byte(start, byte, uart_speed);
        }
        at
    }

    /// The host set its UART to `speed`: a SIR port follows it, a dongle does not notice.
    pub fn host_uart_speed(&mut self, speed: u32) {
        if let Chip::Sir { speed: ours } = &mut self.chip {
            *ours = speed;
        }
    }

    fn host_byte(&mut self, start: Instant, byte: u8, uart_speed: u32) {
        if !self.supplied(self.dtr, self.rts) || !self.awake(start) {
            return; // a dead or waking chip hears nothing
        }
        let listening = self.uart_speed();
        if listening != Some(uart_speed) {
            if self.in_command_mode(start) {
                self.fault(format!(
                    "byte {byte:#04x} sent at {uart_speed} b/s while the chip listens at {listening:?}"
                ));
            }
            return;
        }
        let command_mode = self.in_command_mode(start);
        let rts_low_for = start.saturating_duration_since(self.rts_since);
        match &mut self.chip {
            Chip::Sir { .. }
            | Chip::Plain
            | Chip::Esi
            | Chip::Actisys { .. }
            | Chip::LiteLink { .. } => {}
            Chip::Tekram { latched, .. } | Chip::Toim3232 { latched, .. } => {
                if command_mode {
                    if rts_low_for >= COMMAND_SETUP {
                        *latched = Some(byte);
                    } else {
                        self.faults.push(format!(
                            "byte {byte:#04x} only {rts_low_for:?} into command mode"
                        ));
                    }
                }
            }
            Chip::Ma600 { latched, .. } => {
                if command_mode {
                    if rts_low_for >= MA600_COMMAND_SETUP {
                        *latched = Some(byte);
                        self.echo.push_back(byte);
                    } else {
                        self.faults.push(format!(
                            "byte {byte:#04x} only {rts_low_for:?} into command mode"
                        ));
                    }
                }
            }
            Chip::Girbil {
                speed,
                pending_speed,
                control,
                ask_mode,
            } => {
                if command_mode {
                    if *control & GIRBIL_ECHO != 0 {
                        self.echo.push_back(byte);
                    }
                    let value = byte & 0x0f;
                    match byte >> 4 {
                        0 => *control = value,
                        2 => {} // LED current
                        3 => match GIRBIL_SPEEDS.get(usize::from(value)) {
                            Some(&new) => *pending_speed = Some(new),
                            None => self.faults.push(format!("baud code {value} unknown")),
                        },
                        4 => *ask_mode = value == 1,
                        5 if value == 1 => match pending_speed.take() {
                            Some(new) => *speed = new,
                            None => self.faults.push("load without a baud rate".to_string()),
                        },
                        _ => self
                            .faults
                            .push(format!("register write {byte:#04x} unknown")),
                    }
                }
            }
            Chip::Mcp2120 { speed, latched, .. } => {
                if command_mode {
                    self.echo.push_back(byte);
                    match byte {
                        0x11 => match latched.take() {
                            Some(new) => *speed = new,
                            None => self.faults.push("0x11 without a baud code".to_string()),
                        },
                        code => match mcp2120_speed(code) {
                            Some(new) => *latched = Some(new),
                            None => self.faults.push(format!("command {code:#04x} unknown")),
                        },
                    }
                }
            }
        }
    }

    fn in_command_mode(&self, now: Instant) -> bool {
        match &self.chip {
            Chip::Tekram { .. } | Chip::Ma600 { .. } => self.dtr && !self.rts,
            Chip::Toim3232 { .. } => !self.rts,
            Chip::Girbil { .. } => !self.dtr && self.rts,
            Chip::Mcp2120 { released, .. } => {
                self.dtr
                    && !self.rts
                    && released
                        .is_some_and(|at| now.saturating_duration_since(at) >= MCP2120_RESET_TIMER)
            }
            _ => false,
        }
    }

    /// The speed the chip's UART side runs at, if it is powered: the host must match it
    /// for commands and data alike.
    pub fn uart_speed(&self) -> Option<u32> {
        if !self.supplied(self.dtr, self.rts) {
            return None;
        }
        Some(match &self.chip {
            Chip::Plain => 9600,
            Chip::Actisys { step, .. } => ACTISYS_CYCLE[*step],
            Chip::LiteLink { step } => LITELINK_CYCLE[*step],
            Chip::Esi => match (self.dtr, self.rts) {
                (true, false) => 19200,
                (true, true) => 115_200,
                _ => 9600,
            },
            Chip::Sir { speed }
            | Chip::Tekram { speed, .. }
            | Chip::Ma600 { speed, .. }
            | Chip::Toim3232 { speed, .. }
            | Chip::Girbil { speed, .. }
            | Chip::Mcp2120 { speed, .. } => *speed,
        })
    }

    /// The speed frames go out and come in at on the air, if the dongle is powered, awake
    /// and in data mode with its transceiver enabled.
    pub fn ir_speed(&self, now: Instant) -> Option<u32> {
        let speed = self.uart_speed()?;
        if !self.awake(now) {
            return None;
        }
        let data_mode = match &self.chip {
            Chip::Sir { .. } | Chip::Plain | Chip::Esi => true,
            Chip::Actisys { .. } | Chip::LiteLink { .. } => self.dtr && self.rts,
            Chip::Tekram { .. } | Chip::Ma600 { .. } => self.dtr && self.rts,
            Chip::Toim3232 { .. } => self.rts,
            Chip::Girbil {
                control, ask_mode, ..
            } => self.dtr && self.rts && !*ask_mode && *control & GIRBIL_TX_RX == GIRBIL_TX_RX,
            Chip::Mcp2120 { released, .. } => {
                !self.dtr
                    && !self.rts
                    && released
                        .is_some_and(|at| now.saturating_duration_since(at) >= MCP2120_RESET_TIMER)
            }
        };
        data_mode.then_some(speed)
    }

    /// Bytes the dongle sends back to the host (command echoes).
    pub fn poll_echo(&mut self) -> Option<Vec<u8>> {
        if self.echo.is_empty() {
            None
        } else {
            Some(self.echo.drain(..).collect())
        }
    }
}

const GIRBIL_TX_RX: u8 = 0x03;
const GIRBIL_ECHO: u8 = 0x08;
const GIRBIL_SPEEDS: [u32; 7] = [2400, 4800, 9600, 19200, 38400, 57600, 115_200];

/// IR-210B control byte: speed in the low nibble, pulse-width select in bit 4.
fn tekram_speed(byte: u8) -> Option<u32> {
    match byte & 0x0f {
        0 => Some(115_200),
        1 => Some(57600),
        2 => Some(38400),
        3 => Some(19200),
        4 => Some(9600),
        _ => None,
    }
    .filter(|_| byte & 0xe0 == 0)
}

/// TOIM3232 control byte: baud divisor code in the low nibble, pulse width in bit 4.
fn toim3232_speed(byte: u8) -> Option<u32> {
    match byte & 0x0f {
        0x0 => Some(115_200),
        0x1 => Some(57600),
        0x2 => Some(38400),
        0x3 => Some(19200),
        0x6 => Some(9600),
        0xa => Some(2400),
        _ => None,
    }
    .filter(|_| byte & 0xe0 == 0)
}

fn ma600_speed(byte: u8) -> Option<u32> {
    match byte {
        0x00 => Some(9600),
        0x01 => Some(19200),
        0x02 => Some(38400),
        0x03 => Some(57600),
        0x04 => Some(115_200),
        0x08 => Some(2400),
        _ => None,
    }
}

fn mcp2120_speed(byte: u8) -> Option<u32> {
    match byte {
        0x87 => Some(9600),
        0x8b => Some(19200),
        0x85 => Some(38400),
        0x83 => Some(57600),
        0x81 => Some(115_200),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
