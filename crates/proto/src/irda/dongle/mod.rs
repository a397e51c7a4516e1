//! Serial IrDA dongles: which speeds each family reaches and what a driver does to its
//! DTR/RTS lines and UART to reset it and change its speed, as the Linux 2.6 dongle drivers
//! (drivers/net/irda/*-sir.c) and the chips' datasheets describe.
//!
//! Sans-IO: a sequence is a list of [`Step`]s for the IO edge to carry out in order. The
//! Linux IrDA core reset a dongle before every speed change and ran the speed change at the
//! dongle's power-on UART speed; [`change_speed`] does the same, so its steps work from any
//! state the dongle was left in.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The dongle families handsync can drive.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum DongleKind {
    /// No dongle to command: a SIR port or transceiver whose infrared speed is the UART's
    /// (a laptop's built-in IrDA port, an encoder clocked by the UART), as Linux's
    /// irtty-sir drove one without a dongle driver.
    Sir,
    /// An adapter without speed control (a bare SIR transceiver on a UART): 9600 b/s only.
    Plain,
    /// ACTiSYS IR-220L: RTS pulses step through the speeds.
    Actisys220L,
    /// ACTiSYS IR-220L+: as the 220L, with 38400 b/s at the end of the cycle.
    Actisys220LPlus,
    /// Tekram IrMate IR-210B: a control byte written while RTS is low.
    Tekram210B,
    /// Extended Systems JetEye PC ESI-9680: the speed is the DTR/RTS levels.
    Esi,
    /// Greenwich GIrBIL: register writes in command mode, then a load command.
    Girbil,
    /// MosChip MA600: a control byte in command mode, echoed back.
    Ma600,
    /// Microchip MCP2120: baud code then 0x11 in command mode, both echoed back.
    Mcp2120,
    /// Parallax LiteLink: RTS resets to 115200, DTR pulses step down the speeds.
    LiteLink,
    /// Vishay TOIM3232 (IRWave IR320ST-2): a control byte while RTS is low, powered by DTR.
    Toim3232,
}

impl DongleKind {
    /// Every kind, in the order the CLI lists them.
    pub const ALL: [DongleKind; 11] = [
        DongleKind::Sir,
        DongleKind::Plain,
        DongleKind::Actisys220L,
        DongleKind::Actisys220LPlus,
        DongleKind::Tekram210B,
        DongleKind::Esi,
        DongleKind::Girbil,
        DongleKind::Ma600,
        DongleKind::Mcp2120,
        DongleKind::LiteLink,
        DongleKind::Toim3232,
    ];

    /// The name `--dongle` takes.
    pub fn cli_name(self) -> &'static str {
        match self {
            DongleKind::Sir => "sir",
            DongleKind::Plain => "plain",
            DongleKind::Actisys220L => "actisys",
            DongleKind::Actisys220LPlus => "actisys+",
            DongleKind::Tekram210B => "tekram",
            DongleKind::Esi => "esi",
            DongleKind::Girbil => "girbil",
            DongleKind::Ma600 => "ma600",
            DongleKind::Mcp2120 => "mcp2120",
            DongleKind::LiteLink => "litelink",
            DongleKind::Toim3232 => "toim3232",
        }
    }

    /// The product's name, for messages.
    pub fn product(self) -> &'static str {
        match self {
            DongleKind::Sir => "SIR port",
            DongleKind::Plain => "plain SIR adapter",
            DongleKind::Actisys220L => "ACTiSYS IR-220L",
            DongleKind::Actisys220LPlus => "ACTiSYS IR-220L+",
            DongleKind::Tekram210B => "Tekram IR-210B",
            DongleKind::Esi => "JetEye PC ESI-9680",
            DongleKind::Girbil => "Greenwich GIrBIL",
            DongleKind::Ma600 => "MosChip MA600",
            DongleKind::Mcp2120 => "Microchip MCP2120",
            DongleKind::LiteLink => "Parallax LiteLink",
            DongleKind::Toim3232 => "Vishay TOIM3232",
        }
    }

    /// The IrDA speeds the dongle reaches, slowest first.
    pub fn speeds(self) -> &'static [u32] {
        const FIVE: &[u32] = &[9600, 19200, 38400, 57600, 115_200];
        match self {
            DongleKind::Plain => &[9600],
            DongleKind::Actisys220L => &[9600, 19200, 57600, 115_200],
            DongleKind::Esi => &[9600, 19200, 115_200],
            DongleKind::Sir | DongleKind::Ma600 | DongleKind::Toim3232 => {
                &[2400, 9600, 19200, 38400, 57600, 115_200]
            }
            DongleKind::Actisys220LPlus
            | DongleKind::Tekram210B
            | DongleKind::Girbil
            | DongleKind::Mcp2120
            | DongleKind::LiteLink => FIVE,
        }
    }

    pub fn supports(self, speed: u32) -> bool {
        self.speeds().contains(&speed)
    }

    /// The speed the dongle runs at after its reset, on both the UART and the air.
    pub fn speed_after_reset(self) -> u32 {
        match self {
            DongleKind::LiteLink => 115_200,
            _ => 9600,
        }
    }

    /// Whether the driver has to set DTR and RTS (a pty, having no modem lines, can only
    /// carry [`DongleKind::Sir`] and [`DongleKind::Plain`]).
    pub fn needs_modem_lines(self) -> bool {
        !matches!(self, DongleKind::Sir | DongleKind::Plain)
    }
}

impl fmt::Display for DongleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.product())
    }
}

/// A `--dongle` name that is none of [`DongleKind::ALL`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct UnknownDongle(pub String);

impl fmt::Display for UnknownDongle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown dongle {:?}; known dongles: ", self.0)?;
        for (i, kind) in DongleKind::ALL.iter().enumerate() {
            let separator = if i == 0 { "" } else { ", " };
            write!(f, "{separator}{} ({})", kind.cli_name(), kind.product())?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownDongle {}

impl FromStr for DongleKind {
    type Err = UnknownDongle;

    fn from_str(name: &str) -> Result<DongleKind, UnknownDongle> {
        let wanted = name.trim().to_ascii_lowercase();
        DongleKind::ALL
            .into_iter()
            .find(|kind| kind.cli_name() == wanted)
            .ok_or_else(|| UnknownDongle(name.to_string()))
    }
}

/// One thing for the IO edge to do, in order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Step {
    /// Set both modem control lines (true: asserted, the RS-232 positive level).
    SetLines { dtr: bool, rts: bool },
    /// Reprogram the UART to this many bits per second (8N1).
    SetUartSpeed(u32),
    /// Write these bytes at the UART's current speed, and wait until they have left the
    /// UART (the dongle acts on a control byte only once its stop bit is through).
    Write(Vec<u8>),
    /// Hold everything as it is this long.
    Wait(Duration),
    /// Read these bytes back from the dongle (command-mode echo) within `timeout`; other
    /// bytes or silence mean the dongle did not take the command.
    ExpectEcho { bytes: Vec<u8>, timeout: Duration },
}

/// Why a dongle could not be brought to a speed.
#[derive(Debug)]
pub enum DongleError {
    /// The dongle cannot run at `speed`.
    UnsupportedSpeed { dongle: DongleKind, speed: u32 },
    /// The dongle did not echo its command while changing to `speed`.
    NoEcho {
        dongle: DongleKind,
        speed: u32,
        expected: Vec<u8>,
        received: Vec<u8>,
    },
    /// DTR and RTS could not be set (a pty, or an adapter without modem lines).
    ModemLines {
        dongle: DongleKind,
        source: std::io::Error,
    },
    /// The port failed.
    Io(std::io::Error),
}

impl fmt::Display for DongleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DongleError::UnsupportedSpeed { dongle, speed } => {
                write!(f, "the {dongle} cannot run at {speed} b/s; it runs at ")?;
                write_speeds(f, dongle.speeds())
            }
            DongleError::NoEcho {
                dongle,
                speed,
                expected,
                received,
            } => {
                write!(
                    f,
                    "the {dongle} did not answer its change to {speed} b/s: expected the echo {}, ",
                    hex(expected)
                )?;
                if received.is_empty() {
                    write!(
                        f,
                        "got nothing (is the dongle plugged in and of this kind?)"
                    )
                } else {
                    write!(f, "got {}", hex(received))
                }
            }
            DongleError::ModemLines { dongle, source } => write!(
                f,
                "the {dongle} is driven by DTR and RTS, which this port cannot set ({source}); \
                 a pseudo-terminal carries only `--dongle plain`"
            ),
            DongleError::Io(e) => write!(f, "the dongle's serial port: {e}"),
        }
    }
}

impl std::error::Error for DongleError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DongleError::ModemLines { source, .. } | DongleError::Io(source) => Some(source),
            _ => None,
        }
    }
}

impl From<std::io::Error> for DongleError {
    fn from(e: std::io::Error) -> Self {
        DongleError::Io(e)
    }
}

fn write_speeds(f: &mut fmt::Formatter<'_>, speeds: &[u32]) -> fmt::Result {
    for (i, speed) in speeds.iter().enumerate() {
        let separator = if i == 0 { "" } else { ", " };
        write!(f, "{separator}{speed}")?;
    }
    f.write_str(" b/s")
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn micros(us: u64) -> Step {
    Step::Wait(Duration::from_micros(us))
}

fn millis(ms: u64) -> Step {
    Step::Wait(Duration::from_millis(ms))
}

fn lines(dtr: bool, rts: bool) -> Step {
    Step::SetLines { dtr, rts }
}

/// How long a dongle powered from the modem lines needs after they come up before it
/// listens (its supply capacitor charging; Linux's IrDA thread waited 50 ms).
pub const POWER_SETTLE: Duration = Duration::from_millis(50);

/// How long to wait for a command echo.
pub const ECHO_TIMEOUT: Duration = Duration::from_millis(100);

/// The steps that set the UART to [`DongleKind::speed_after_reset`], power the dongle up
/// and put it in its known state.
pub fn reset(kind: DongleKind) -> Vec<Step> {
    // The UART goes to the power-on speed first: some resets write to the chip, which
    // listens at that speed once reset.
    let mut steps = vec![Step::SetUartSpeed(kind.speed_after_reset())];
    if kind.needs_modem_lines() && kind != DongleKind::Toim3232 {
        // Power up from both lines (the TOIM3232's reset is a power cycle of its own).
        steps.extend([lines(true, true), Step::Wait(POWER_SETTLE)]);
    }
    match kind {
        DongleKind::Sir | DongleKind::Plain => {}
        // A short DTR low pulse resets to 9600 b/s.
        DongleKind::Actisys220L | DongleKind::Actisys220LPlus => {
            steps.extend([lines(false, true), micros(10), lines(true, true)]);
        }
        // DTR low for a millisecond resets; the chip wants 50 us more before commands.
        DongleKind::Tekram210B => {
            steps.extend([lines(false, true), millis(1), lines(true, true), micros(75)]);
        }
        // No reset as such: DTR low and RTS high is 9600 b/s.
        DongleKind::Esi => steps.push(lines(false, true)),
        // RTS low for at least 5 ms resets; then command mode (DTR low) to write control
        // register 1 with transmitter and receiver enabled; then data mode.
        DongleKind::Girbil => steps.extend([
            lines(true, false),
            millis(20),
            lines(false, true),
            millis(20),
            Step::Write(vec![GIRBIL_CONTROL1 | GIRBIL_TX_ENABLE | GIRBIL_RX_ENABLE]),
            millis(20),
            lines(true, true),
        ]),
        // DTR low for 10 ms resets; 10 ms more to settle.
        DongleKind::Ma600 => {
            steps.extend([
                lines(false, true),
                millis(10),
                lines(true, true),
                millis(10),
            ]);
        }
        // RTS drives RESET: held, then released; the chip's reset timer runs up to 30 ms.
        DongleKind::Mcp2120 => steps.extend([
            lines(true, true),
            millis(50),
            lines(false, false),
            millis(50),
        ]),
        // An RTS low pulse resets to 115200 b/s.
        DongleKind::LiteLink => steps.extend([
            lines(true, false),
            micros(25),
            lines(true, true),
            micros(25),
        ]),
        // The IR320ST-2 leaves RESET unconnected: cut the power (DTR) until the supply
        // capacitor is empty, power up again in data mode (RTS high), let it settle.
        DongleKind::Toim3232 => steps.extend([
            lines(false, false),
            millis(50),
            lines(true, true),
            millis(10),
        ]),
    }
    steps
}

const GIRBIL_CONTROL1: u8 = 0x00;
const GIRBIL_TX_ENABLE: u8 = 0x01;
const GIRBIL_RX_ENABLE: u8 = 0x02;
/// Register 5, value 1: load the baud register written before.
const GIRBIL_LOAD: u8 = 0x51;
/// The MCP2120's "change baud rate" command.
const MCP2120_COMMIT: u8 = 0x11;

/// The ACTiSYS cycle, one RTS pulse per step from 9600 after reset.
const ACTISYS_CYCLE: [u32; 5] = [9600, 19200, 57600, 115_200, 38400];
/// The LiteLink cycle, one DTR pulse per step from 115200 after reset.
const LITELINK_CYCLE: [u32; 5] = [115_200, 57600, 38400, 19200, 9600];

/// The steps that bring the dongle to `to` b/s: [`reset`], the dongle's speed command at
/// its power-on UART speed, and the UART to `to`.
pub fn change_speed(kind: DongleKind, to: u32) -> Result<Vec<Step>, DongleError> {
    if !kind.supports(to) {
        return Err(DongleError::UnsupportedSpeed {
            dongle: kind,
            speed: to,
        });
    }
    let mut steps = reset(kind);
    match kind {
        // The UART's speed is the air's.
        DongleKind::Sir | DongleKind::Plain => {}
        DongleKind::Actisys220L | DongleKind::Actisys220LPlus => {
            let pulses = cycle_position(&ACTISYS_CYCLE, to);
            for _ in 0..pulses {
                steps.extend([
                    lines(true, false),
                    micros(10),
                    lines(true, true),
                    micros(10),
                ]);
            }
        }
        DongleKind::Tekram210B => {
            // RTS low for at least 7 us puts the chip in command mode; the control byte is
            // the speed code with the pulse-width bit (1.6 us pulses) below 115200.
            let code = match to {
                115_200 => 0x00,
                57600 => 0x11,
                38400 => 0x12,
                19200 => 0x13,
                _ => 0x14,
            };
            steps.extend([
                lines(true, false),
                micros(14),
                Step::Write(vec![code]),
                lines(true, true),
                micros(50),
            ]);
        }
        DongleKind::Esi => steps.push(match to {
            19200 => lines(true, false),
            115_200 => lines(true, true),
            _ => lines(false, true),
        }),
        DongleKind::Girbil => {
            // Register 3 is the baud rate.
            let code = match to {
                19200 => 0x33,
                38400 => 0x34,
                57600 => 0x35,
                115_200 => 0x36,
                _ => 0x32,
            };
            steps.extend([
                lines(false, true),
                micros(25),
                Step::Write(vec![code, GIRBIL_LOAD]),
                millis(100),
                lines(true, true),
                micros(25),
            ]);
        }
        DongleKind::Ma600 => {
            let code = match to {
                2400 => 0x08,
                19200 => 0x01,
                38400 => 0x02,
                57600 => 0x03,
                115_200 => 0x04,
                _ => 0x00,
            };
            steps.extend([
                lines(true, false),
                millis(1),
                Step::Write(vec![code]),
                Step::ExpectEcho {
                    bytes: vec![code],
                    timeout: ECHO_TIMEOUT,
                },
                lines(true, true),
                millis(10),
            ]);
        }
        DongleKind::Mcp2120 => {
            let code = match to {
                19200 => 0x8b,
                38400 => 0x85,
                57600 => 0x83,
                115_200 => 0x81,
                _ => 0x87,
            };
            steps.extend([
                lines(true, false),
                micros(500),
                Step::Write(vec![code, MCP2120_COMMIT]),
                Step::ExpectEcho {
                    bytes: vec![code, MCP2120_COMMIT],
                    timeout: ECHO_TIMEOUT,
                },
                lines(false, false),
            ]);
        }
        DongleKind::LiteLink => {
            let pulses = cycle_position(&LITELINK_CYCLE, to);
            for _ in 0..pulses {
                steps.extend([
                    lines(false, true),
                    micros(25),
                    lines(true, true),
                    micros(25),
                ]);
            }
        }
        DongleKind::Toim3232 => {
            let code = match to {
                115_200 => 0x00,
                57600 => 0x11,
                38400 => 0x12,
                19200 => 0x13,
                2400 => 0x1a,
                _ => 0x16,
            };
            steps.extend([
                lines(true, false),
                micros(14),
                Step::Write(vec![code]),
                micros(14),
                lines(true, true),
                micros(50),
            ]);
        }
    }
    steps.push(Step::SetUartSpeed(to));
    Ok(steps)
}

fn cycle_position(cycle: &[u32], speed: u32) -> usize {
    cycle.iter().position(|&s| s == speed).unwrap_or(0)
}

#[cfg(test)]
mod tests;
