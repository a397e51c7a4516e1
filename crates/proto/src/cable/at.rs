//! The AT dialogue that puts a phone on a cable into OBEX mode, and the one that brings it
//! back (sans-IO: bytes in, bytes out, the time handed in; see docs/serial.md).
//!
//! [`Switcher`]: probe with an OBEX CONNECT (Target SYNCML-SYNC) whether the phone is in OBEX
//! mode already; else `ATZ`, `ATE0`, `AT+CGMI`, `AT+CGMM`, then the maker's switch:
//! `AT+CPROT=0` (3GPP TS 27.007; Nokia and anyone unknown), `AT*EOBEX` (Sony Ericsson),
//! `AT^SQWE=3` (Siemens that know `AT^SQWE?`, after `AT^SQWE=0` when in another mode),
//! `AT^SBFB=1` and the BFB hello (older Siemens), `AT+MODE=22` (Motorola). A maker's command
//! refused falls back to `AT+CPROT=0`. [`Leaver`]: back to AT mode after the OBEX DISCONNECT.

use std::time::{Duration, Instant};

use super::bfb;
use crate::machine::Machine;
use crate::obex::{Header, Request, Response, ResponseTo};

/// Timing of the dialogue.
#[derive(Debug, Clone)]
pub struct SwitchOptions {
    /// How long an AT command may take to answer.
    pub command_timeout: Duration,
    /// How long to wait for an OBEX answer to the probe.
    pub probe_timeout: Duration,
    /// The pause after a mode change (the phones need it) and for stray answers to die out.
    pub settle: Duration,
    /// Probe for OBEX mode first (off: go straight to AT commands).
    pub probe_obex: bool,
}

impl Default for SwitchOptions {
    fn default() -> Self {
        SwitchOptions {
            command_timeout: Duration::from_secs(3),
            probe_timeout: Duration::from_secs(1),
            settle: Duration::from_millis(500),
            probe_obex: true,
        }
    }
}

/// Who made the phone, from `AT+CGMI`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Maker {
    Nokia,
    SonyEricsson,
    Siemens,
    Motorola,
    Other,
}

impl Maker {
    pub fn from_manufacturer(text: &str) -> Maker {
        let upper = text.to_ascii_uppercase();
        if upper.contains("NOKIA") {
            Maker::Nokia
        } else if upper.contains("ERICSSON") {
            Maker::SonyEricsson
        } else if upper.contains("SIEMENS") {
            Maker::Siemens
        } else if upper.contains("MOTOROLA") {
            Maker::Motorola
        } else {
            Maker::Other
        }
    }
}

/// How the phone got into OBEX mode (and so how it leaves it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwitchMethod {
    /// It answered the OBEX probe: nothing was switched.
    AlreadyObex,
    /// `AT+CPROT=0`, answered CONNECT.
    Cprot,
    /// `AT*EOBEX`, answered CONNECT.
    Eobex,
    /// `AT^SQWE=3`, answered OK.
    Sqwe,
    /// `AT^SBFB=1`, then the BFB hello: OBEX travels in BFB frames.
    Sbfb,
    /// `AT+MODE=22`, answered OK or CONNECT.
    Mode22,
}

impl SwitchMethod {
    pub fn command(self) -> &'static str {
        match self {
            SwitchMethod::AlreadyObex => "OBEX CONNECT SYNCML-SYNC",
            SwitchMethod::Cprot => "AT+CPROT=0",
            SwitchMethod::Eobex => "AT*EOBEX",
            SwitchMethod::Sqwe => "AT^SQWE=3",
            SwitchMethod::Sbfb => "AT^SBFB=1",
            SwitchMethod::Mode22 => "AT+MODE=22",
        }
    }

    /// OBEX is carried in BFB frames.
    pub fn uses_bfb(self) -> bool {
        self == SwitchMethod::Sbfb
    }

    fn accepts(self, answer: &Final) -> bool {
        match self {
            SwitchMethod::Cprot | SwitchMethod::Eobex => *answer == Final::Connect,
            _ => matches!(answer, Final::Ok | Final::Connect),
        }
    }
}

/// One command and what came back, for logs and error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub sent: String,
    pub answer: String,
}

fn dialogue_text(dialogue: &[Exchange]) -> String {
    dialogue
        .iter()
        .map(|e| format!("{} → {}", e.sent, e.answer))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The phone is in OBEX mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switched {
    pub method: SwitchMethod,
    pub maker: Maker,
    /// `AT+CGMI` and `AT+CGMM` answers (None: refused, or not asked).
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub dialogue: Vec<Exchange>,
}

/// The phone could not be put in OBEX mode (or back in AT mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchError {
    pub reason: String,
    pub dialogue: Vec<Exchange>,
}

impl std::fmt::Display for SwitchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.reason)?;
        if !self.dialogue.is_empty() {
            write!(f, " (dialogue: {})", dialogue_text(&self.dialogue))?;
        }
        Ok(())
    }
}

impl std::error::Error for SwitchError {}

/// A final result code.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Final {
    Ok,
    Connect,
    /// ERROR, +CME ERROR: n, NO CARRIER...: the line as the phone sent it.
    Error(String),
}

impl Final {
    fn text(&self) -> String {
        match self {
            Final::Ok => "OK".into(),
            Final::Connect => "CONNECT".into(),
            Final::Error(line) => line.clone(),
        }
    }
}

fn classify(line: &str) -> Option<Final> {
    let upper = line.trim().to_ascii_uppercase();
    if upper == "OK" {
        Some(Final::Ok)
    } else if upper == "CONNECT" || upper.starts_with("CONNECT ") {
        Some(Final::Connect)
    } else if upper == "ERROR"
        || upper.starts_with("+CME ERROR")
        || upper.starts_with("+CMS ERROR")
        || upper == "NO CARRIER"
        || upper.starts_with("COMMAND NOT SUPPORT")
    {
        Some(Final::Error(line.trim().to_string()))
    } else {
        None
    }
}

/// Answer lines of an AT modem, bounded.
#[derive(Debug, Default)]
struct LineReader {
    partial: Vec<u8>,
    info: Vec<String>,
}

/// A line longer than this is not an AT answer.
const MAX_LINE: usize = 512;

enum LineEvent {
    Final(Final, Vec<String>),
    Garbage,
}

impl LineReader {
    fn clear(&mut self) {
        self.partial.clear();
        self.info.clear();
    }

    fn push(&mut self, bytes: &[u8]) -> Option<LineEvent> {
        for &byte in bytes {
            if byte == b'\r' || byte == b'\n' {
                let line = String::from_utf8_lossy(&self.partial).trim().to_string();
                self.partial.clear();
                if line.is_empty() || line.to_ascii_uppercase().starts_with("AT") {
                    continue; // blank, or the echo of our command
                }
                if let Some(answer) = classify(&line) {
                    // Whatever follows the final answer belongs to no command of ours.
                    let info = std::mem::take(&mut self.info);
                    return Some(LineEvent::Final(answer, info));
                }
                if self.info.len() < 16 {
                    self.info.push(line);
                }
            } else {
                if self.partial.len() >= MAX_LINE {
                    return Some(LineEvent::Garbage);
                }
                self.partial.push(byte);
            }
        }
        None
    }
}

/// `+CGMI: "Motorola CE"` → `Motorola CE`.
fn identity_text(info: &[String], prefix: &str) -> Option<String> {
    let line = info.iter().find(|l| !l.is_empty())?;
    let mut text = line.as_str();
    if text.to_ascii_uppercase().starts_with(prefix) {
        text = text[prefix.len()..].trim_start_matches(':').trim();
    }
    let text = text.trim_matches('"').trim();
    (!text.is_empty()).then(|| text.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Reset,
    EchoOff,
    Manufacturer,
    Model,
    SqweQuery,
    SqweReset,
    Switch(SwitchMethod),
}

impl Command {
    fn text(self) -> &'static str {
        match self {
            Command::Reset => "ATZ",
            Command::EchoOff => "ATE0",
            Command::Manufacturer => "AT+CGMI",
            Command::Model => "AT+CGMM",
            Command::SqweQuery => "AT^SQWE?",
            Command::SqweReset => "AT^SQWE=0",
            Command::Switch(method) => method.command(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterSettle {
    Send(Command),
    BfbHello,
    Done(SwitchMethod),
}

#[derive(Debug)]
enum Step {
    Probe,
    Flush,
    Waiting(Command),
    Settle(AfterSettle),
    BfbHello { tries: u8 },
    Finished,
}

/// Puts the phone in OBEX mode: feed it what the port reads, send what it gives.
#[derive(Debug)]
pub struct Switcher {
    options: SwitchOptions,
    step: Step,
    deadline: Option<Instant>,
    transmit: Vec<Vec<u8>>,
    probe_input: Vec<u8>,
    lines: LineReader,
    frames: bfb::FrameDecoder,
    maker: Maker,
    manufacturer: Option<String>,
    model: Option<String>,
    dialogue: Vec<Exchange>,
    result: Option<Result<Switched, SwitchError>>,
}

/// The OBEX probe: CONNECT with Target SYNCML-SYNC.
pub fn obex_probe() -> Vec<u8> {
    Request::connect(0x2000, vec![Header::Target(b"SYNCML-SYNC".to_vec())])
        .encode()
        .expect("a small CONNECT encodes")
}

/// Whether `input` starts with a whole OBEX response: Some(Ok(code text)) when it does,
/// Some(Err) when it is malformed, None when more is needed or it is no response at all.
fn obex_answer(input: &[u8]) -> Option<Result<Response, String>> {
    let first = *input.first()?;
    // Responses have the final bit and a code of Continue (0x10) or above; requests echoed
    // by a modem start with 0x80 (CONNECT) and are not taken for one.
    if first & 0x80 == 0 || first < 0x90 {
        return None;
    }
    if input.len() < 3 {
        return None;
    }
    let len = u16::from_be_bytes([input[1], input[2]]) as usize;
    if len < 3 {
        return None;
    }
    if input.len() < len {
        return None;
    }
    Some(Response::decode(&input[..len], ResponseTo::Connect).map_err(|e| e.to_string()))
}

impl Switcher {
    pub fn new(options: SwitchOptions, now: Instant) -> Switcher {
        let mut switcher = Switcher {
            options,
            step: Step::Finished,
            deadline: None,
            transmit: Vec::new(),
            probe_input: Vec::new(),
            lines: LineReader::default(),
            frames: bfb::FrameDecoder::new(),
            maker: Maker::Other,
            manufacturer: None,
            model: None,
            dialogue: Vec::new(),
            result: None,
        };
        if switcher.options.probe_obex {
            switcher.transmit.push(obex_probe());
            switcher.step = Step::Probe;
            switcher.deadline = Some(now + switcher.options.probe_timeout);
        } else {
            switcher.send(Command::Reset, now);
        }
        switcher
    }

    /// The outcome, once the dialogue is over.
    pub fn result(&self) -> Option<&Result<Switched, SwitchError>> {
        self.result.as_ref()
    }

    fn send(&mut self, command: Command, now: Instant) {
        self.lines.clear();
        self.transmit
            .push(format!("{}\r", command.text()).into_bytes());
        self.step = Step::Waiting(command);
        self.deadline = Some(now + self.options.command_timeout);
    }

    fn record(&mut self, sent: &str, answer: String) {
        self.dialogue.push(Exchange {
            sent: sent.to_string(),
            answer,
        });
    }

    fn finish(&mut self, method: SwitchMethod) {
        self.step = Step::Finished;
        self.deadline = None;
        self.result = Some(Ok(Switched {
            method,
            maker: self.maker,
            manufacturer: self.manufacturer.clone(),
            model: self.model.clone(),
            dialogue: std::mem::take(&mut self.dialogue),
        }));
    }

    fn fail(&mut self, reason: String) {
        self.step = Step::Finished;
        self.deadline = None;
        self.result = Some(Err(SwitchError {
            reason,
            dialogue: std::mem::take(&mut self.dialogue),
        }));
    }

    fn settle(&mut self, then: AfterSettle, now: Instant) {
        self.step = Step::Settle(then);
        self.deadline = Some(now + self.options.settle);
    }

    fn answered(&mut self, command: Command, answer: Final, info: Vec<String>, now: Instant) {
        let mut text = info.join(" / ");
        if !text.is_empty() {
            text.push_str(" / ");
        }
        text.push_str(&answer.text());
        self.record(command.text(), text);
        let ok = answer == Final::Ok;
        match command {
            // Refusals here cost nothing: the switch decides.
            Command::Reset => self.send(Command::EchoOff, now),
            Command::EchoOff => self.send(Command::Manufacturer, now),
            Command::Manufacturer => {
                if ok {
                    self.manufacturer = identity_text(&info, "+CGMI");
                }
                self.maker = self
                    .manufacturer
                    .as_deref()
                    .map(Maker::from_manufacturer)
                    .unwrap_or(Maker::Other);
                self.send(Command::Model, now);
            }
            Command::Model => {
                if ok {
                    self.model = identity_text(&info, "+CGMM");
                }
                let first = match self.maker {
                    Maker::Siemens => Command::SqweQuery,
                    Maker::SonyEricsson => Command::Switch(SwitchMethod::Eobex),
                    Maker::Motorola => Command::Switch(SwitchMethod::Mode22),
                    Maker::Nokia | Maker::Other => Command::Switch(SwitchMethod::Cprot),
                };
                self.send(first, now);
            }
            Command::SqweQuery => {
                if ok {
                    // "^SQWE: 0": RCCP (AT) mode; another number: switch back to it first.
                    let mode = info.iter().find_map(|l| {
                        l.rsplit(':')
                            .next()
                            .and_then(|n| n.trim().parse::<u8>().ok())
                    });
                    if mode.unwrap_or(0) == 0 {
                        self.send(Command::Switch(SwitchMethod::Sqwe), now);
                    } else {
                        self.send(Command::SqweReset, now);
                    }
                } else {
                    // No ^SQWE: an older Siemens, BFB framing.
                    self.send(Command::Switch(SwitchMethod::Sbfb), now);
                }
            }
            Command::SqweReset => {
                if ok {
                    self.settle(AfterSettle::Send(Command::Switch(SwitchMethod::Sqwe)), now);
                } else {
                    self.send(Command::Switch(SwitchMethod::Cprot), now);
                }
            }
            Command::Switch(method) => {
                if method.accepts(&answer) {
                    match method {
                        SwitchMethod::Cprot | SwitchMethod::Eobex => self.finish(method),
                        SwitchMethod::Sbfb => self.settle(AfterSettle::BfbHello, now),
                        _ => self.settle(AfterSettle::Done(method), now),
                    }
                } else if method != SwitchMethod::Cprot {
                    self.send(Command::Switch(SwitchMethod::Cprot), now);
                } else {
                    let who = match (&self.manufacturer, &self.model) {
                        (Some(m), Some(model)) => format!("the phone ({m} {model})"),
                        (Some(m), None) => format!("the phone ({m})"),
                        _ => "the phone".to_string(),
                    };
                    self.fail(format!(
                        "{who} refused every way into OBEX mode (last: {} answered {})",
                        method.command(),
                        answer.text()
                    ));
                }
            }
        }
    }

    fn bfb_hello(&mut self, tries: u8, now: Instant) {
        self.frames = bfb::FrameDecoder::new();
        self.transmit.push(bfb::encode_frames(
            bfb::frame_type::CONNECT,
            &[bfb::CONNECT_HELLO],
        ));
        self.step = Step::BfbHello { tries };
        self.deadline = Some(now + self.options.command_timeout);
    }
}

impl Machine for Switcher {
    type Event = Result<Switched, SwitchError>;

    fn handle_input(&mut self, now: Instant, input: &[u8]) {
        match self.step {
            Step::Probe => {
                if self.probe_input.len() < 4096 {
                    self.probe_input.extend_from_slice(input);
                }
                match obex_answer(&self.probe_input) {
                    None => {}
                    Some(Ok(response)) if response.code.is_success() => {
                        self.record(
                            SwitchMethod::AlreadyObex.command(),
                            format!("OBEX {}", response.code),
                        );
                        self.finish(SwitchMethod::AlreadyObex);
                    }
                    Some(Ok(response)) => {
                        let code = response.code;
                        self.record(SwitchMethod::AlreadyObex.command(), format!("OBEX {code}"));
                        self.fail(format!(
                            "the phone is in OBEX mode but refuses SyncML (CONNECT SYNCML-SYNC answered {code})"
                        ));
                    }
                    Some(Err(error)) => {
                        self.record(
                            SwitchMethod::AlreadyObex.command(),
                            format!("a malformed OBEX answer: {error}"),
                        );
                        self.fail(
                            "the phone answered the OBEX probe with a malformed packet".into(),
                        );
                    }
                }
            }
            Step::Flush | Step::Settle(_) | Step::Finished => {} // stray answers
            Step::Waiting(command) => match self.lines.push(input) {
                None => {}
                Some(LineEvent::Garbage) => {
                    self.record(
                        command.text(),
                        format!("over {MAX_LINE} bytes without a line end"),
                    );
                    self.fail(format!(
                        "the phone answered {} with no AT text: is it in another mode (BFB, a data call) or at another baud rate?",
                        command.text()
                    ));
                }
                Some(LineEvent::Final(answer, info)) => self.answered(command, answer, info, now),
            },
            Step::BfbHello { .. } => {
                self.frames.push(input);
                while let Some(frame) = self.frames.next_frame() {
                    if let Ok(frame) = frame {
                        if frame.kind == bfb::frame_type::CONNECT
                            && frame.payload == [bfb::CONNECT_HELLO, bfb::CONNECT_HELLO_ACK]
                        {
                            self.record("BFB hello", "BFB hello acknowledged".into());
                            self.finish(SwitchMethod::Sbfb);
                            return;
                        }
                    }
                }
            }
        }
    }

    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.transmit.is_empty() {
            None
        } else {
            Some(self.transmit.remove(0))
        }
    }

    /// The outcome, once the dialogue is over (handed out once).
    fn poll_event(&mut self) -> Option<Self::Event> {
        self.result.take()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    fn handle_timeout(&mut self, now: Instant) {
        match self.deadline {
            Some(deadline) if now >= deadline => {}
            _ => return,
        }
        match self.step {
            Step::Probe => {
                let waited = self.options.probe_timeout;
                self.record(
                    SwitchMethod::AlreadyObex.command(),
                    format!("no OBEX answer within {}", seconds(waited)),
                );
                // A modem in AT mode took the binary as the start of a line: end it, let any
                // answer to it pass, then talk AT.
                self.transmit.push(b"\r".to_vec());
                self.step = Step::Flush;
                self.deadline = Some(now + self.options.settle);
            }
            Step::Flush => self.send(Command::Reset, now),
            Step::Waiting(command) => {
                let waited = self.options.command_timeout;
                self.record(
                    command.text(),
                    format!("no answer within {}", seconds(waited)),
                );
                match command {
                    Command::Switch(method) if method != SwitchMethod::Cprot => {
                        self.send(Command::Switch(SwitchMethod::Cprot), now)
                    }
                    _ => {
                        let hint = if command == Command::Reset {
                            ": check the cable, the device path and the baud rate, and that the phone is on"
                        } else {
                            ""
                        };
                        self.fail(format!(
                            "the phone does not answer {} within {}{hint}",
                            command.text(),
                            seconds(waited)
                        ))
                    }
                }
            }
            Step::Settle(then) => match then {
                AfterSettle::Send(command) => self.send(command, now),
                AfterSettle::Done(method) => self.finish(method),
                AfterSettle::BfbHello => self.bfb_hello(0, now),
            },
            Step::BfbHello { tries } => {
                self.record(
                    "BFB hello",
                    format!("no answer within {}", seconds(self.options.command_timeout)),
                );
                if tries < 1 {
                    self.bfb_hello(tries + 1, now);
                } else {
                    self.fail("the phone took AT^SBFB=1 but does not answer the BFB hello".into());
                }
            }
            Step::Finished => self.deadline = None,
        }
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LeaveStep {
    /// BFB only: `AT^SBFB=0` in an AT frame, waiting for OK.
    LeaveBfb,
    Pause,
    Probe {
        tries: u8,
    },
    /// Siemens: `AT^SQWE=0`, back to the default mode.
    SqweReset,
    /// Silence before and after "+++", then probe again.
    EscapeBefore,
    EscapeAfter,
    Finished,
}

/// Brings the phone back to AT mode after the OBEX DISCONNECT: most phones go back by
/// themselves (we wait, then check with `AT`); Siemens BFB needs `AT^SBFB=0`; Siemens
/// `^SQWE` phones get `AT^SQWE=0`; a phone that stays silent gets the "+++" escape.
#[derive(Debug)]
pub struct Leaver {
    method: SwitchMethod,
    options: SwitchOptions,
    step: LeaveStep,
    escaped: bool,
    deadline: Option<Instant>,
    transmit: Vec<Vec<u8>>,
    input: Vec<u8>,
    dialogue: Vec<Exchange>,
    result: Option<Result<Vec<Exchange>, SwitchError>>,
}

const LEAVE_PROBES: u8 = 3;

impl Leaver {
    pub fn new(method: SwitchMethod, options: SwitchOptions, now: Instant) -> Leaver {
        let mut leaver = Leaver {
            method,
            options,
            step: LeaveStep::Finished,
            escaped: false,
            deadline: None,
            transmit: Vec::new(),
            input: Vec::new(),
            dialogue: Vec::new(),
            result: None,
        };
        match method {
            // It was in OBEX mode before we came: leave it so.
            SwitchMethod::AlreadyObex => leaver.result = Some(Ok(Vec::new())),
            SwitchMethod::Sbfb => {
                leaver
                    .transmit
                    .push(bfb::encode_frames(bfb::frame_type::AT, b"AT^SBFB=0\r"));
                leaver.step = LeaveStep::LeaveBfb;
                leaver.deadline = Some(now + leaver.options.command_timeout);
            }
            _ => {
                leaver.step = LeaveStep::Pause;
                leaver.deadline = Some(now + leaver.options.settle);
            }
        }
        leaver
    }

    fn send(&mut self, text: &str, step: LeaveStep, now: Instant) {
        self.input.clear();
        // The probe starts with a line end: it ends whatever OBEX bytes the modem took for
        // the start of a command line, so that "AT" starts a line of its own.
        let lead = if text == "AT" { "\r" } else { "" };
        self.transmit.push(format!("{lead}{text}\r").into_bytes());
        self.step = step;
        self.deadline = Some(now + self.options.command_timeout);
    }

    fn finish(&mut self) {
        self.step = LeaveStep::Finished;
        self.deadline = None;
        self.result = Some(Ok(std::mem::take(&mut self.dialogue)));
    }

    fn record(&mut self, sent: &str, answer: &str) {
        self.dialogue.push(Exchange {
            sent: sent.into(),
            answer: answer.into(),
        });
    }

    /// A final answer in what arrived (lenient: BFB wraps it in an AT frame).
    fn answer(&self) -> Option<&'static str> {
        let text = String::from_utf8_lossy(&self.input).to_ascii_uppercase();
        if text.contains("OK\r") || text.contains("OK\n") {
            Some("OK")
        } else if text.contains("ERROR") {
            Some("ERROR")
        } else {
            None
        }
    }
}

impl Machine for Leaver {
    type Event = Result<Vec<Exchange>, SwitchError>;

    fn handle_input(&mut self, now: Instant, input: &[u8]) {
        if self.input.len() < 4096 {
            self.input.extend_from_slice(input);
        }
        let Some(answer) = self.answer() else {
            return;
        };
        match self.step {
            LeaveStep::LeaveBfb => {
                self.record("AT^SBFB=0 (in a BFB AT frame)", answer);
                self.step = LeaveStep::Pause;
                self.deadline = Some(now + self.options.settle);
            }
            LeaveStep::Probe { .. } => {
                // OK or ERROR: either way an AT interpreter answered.
                self.record("AT", answer);
                if self.method == SwitchMethod::Sqwe {
                    self.send("AT^SQWE=0", LeaveStep::SqweReset, now);
                } else {
                    self.finish();
                }
            }
            LeaveStep::SqweReset => {
                self.record("AT^SQWE=0", answer);
                self.finish();
            }
            _ => {}
        }
    }

    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.transmit.is_empty() {
            None
        } else {
            Some(self.transmit.remove(0))
        }
    }

    /// The dialogue once the phone is back in AT mode, or why it is not (handed out once).
    fn poll_event(&mut self) -> Option<Self::Event> {
        self.result.take()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    fn handle_timeout(&mut self, now: Instant) {
        match self.deadline {
            Some(deadline) if now >= deadline => {}
            _ => return,
        }
        let waited = seconds(self.options.command_timeout);
        match self.step {
            LeaveStep::LeaveBfb => {
                self.record(
                    "AT^SBFB=0 (in a BFB AT frame)",
                    &format!("no answer within {waited}"),
                );
                self.step = LeaveStep::Pause;
                self.deadline = Some(now + self.options.settle);
            }
            LeaveStep::Pause => self.send("AT", LeaveStep::Probe { tries: 1 }, now),
            LeaveStep::Probe { tries } => {
                self.record("AT", &format!("no answer within {waited}"));
                if tries < LEAVE_PROBES {
                    self.send("AT", LeaveStep::Probe { tries: tries + 1 }, now);
                } else if !self.escaped {
                    self.escaped = true;
                    self.step = LeaveStep::EscapeBefore;
                    self.deadline = Some(now + Duration::from_secs(1).max(self.options.settle));
                } else {
                    self.step = LeaveStep::Finished;
                    self.deadline = None;
                    self.result = Some(Err(SwitchError {
                        reason: format!(
                            "the phone did not come back to AT mode after {} and OBEX DISCONNECT; unplug it or switch it off and on",
                            self.method.command()
                        ),
                        dialogue: std::mem::take(&mut self.dialogue),
                    }));
                }
            }
            LeaveStep::SqweReset => {
                // It answered AT already: it is usable, only not in its default mode.
                self.record("AT^SQWE=0", &format!("no answer within {waited}"));
                self.finish();
            }
            LeaveStep::EscapeBefore => {
                self.transmit.push(b"+++".to_vec());
                self.record("+++", "(escape sent)");
                self.step = LeaveStep::EscapeAfter;
                self.deadline = Some(now + Duration::from_secs(1).max(self.options.settle));
            }
            LeaveStep::EscapeAfter => self.send("AT", LeaveStep::Probe { tries: 1 }, now),
            LeaveStep::Finished => self.deadline = None,
        }
    }
}
