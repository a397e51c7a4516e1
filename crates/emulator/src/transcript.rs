//! Session transcripts: every message of a session, both ways, as readable XML (whatever went
//! on the wire) and as the exact bytes, in a plain text format (`docs/emulator.md`), plus a
//! replay checker that runs a phone against the recorded server messages and compares what it
//! sends with what was recorded.
//!
//! ```text
//! handsync-emulator-transcript 1
//! profile: nokia-6230i
//! device: Nokia 6230i (Series 40 2nd edition, SyncML 1.1, WBXML)
//! session: 1
//! started-unix-ms: 1700000000000
//! completed: yes
//!
//! message 1 phone-to-pc +0ms application/vnd.syncml+wbxml 812
//! | <?xml version="1.0" encoding="UTF-8"?>
//! | <SyncML xmlns="SYNCML:SYNCML1.1">
//! ...
//! base64 AmQBagAAb...
//! base64 ...
//! end
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use super::client::{EmulatedPhone, Step, SyncMode, SyncRequest};
use super::error::EmulatorError;
use super::UnixMillis;
use handsync_proto::syncml::{self, xml::XmlOptions, Command, Data, Encoding, Message};

const MAGIC: &str = "handsync-emulator-transcript 1";

/// Who sent a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The phone sent it (to the PC).
    Sent,
    /// The phone received it (from the PC).
    Received,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::Sent => "phone-to-pc",
            Direction::Received => "pc-to-phone",
        }
    }
}

/// One recorded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub direction: Direction,
    /// Milliseconds since the session started.
    pub offset_ms: u64,
    pub content_type: String,
    /// The message as indented XML (binary item data shown as ISO-8859-1 text), or why it
    /// could not be shown.
    pub xml: String,
    /// The exact bytes.
    pub bytes: Vec<u8>,
}

/// One session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    pub profile: String,
    pub device: String,
    pub session_id: String,
    pub started: UnixMillis,
    pub completed: bool,
    pub entries: Vec<Entry>,
}

/// The message as indented XML; binary data (Latin-1 vCards in OPAQUE) cannot be XML text,
/// so it is shown decoded as ISO-8859-1.
pub fn display_xml(message: &Message) -> String {
    fn textify(commands: &mut [Command]) {
        for command in commands {
            let items: &mut Vec<handsync_proto::syncml::Item> = match command {
                Command::Add(c) | Command::Replace(c) | Command::Copy(c) | Command::Move(c) => {
                    &mut c.items
                }
                Command::Delete(c) => &mut c.items,
                Command::Get(c) | Command::Put(c) => &mut c.items,
                Command::Results(c) => &mut c.items,
                Command::Status(c) => &mut c.items,
                Command::Alert(c) => &mut c.items,
                Command::Sync(c) => {
                    textify(&mut c.commands);
                    continue;
                }
                Command::Atomic(c) | Command::Sequence(c) => {
                    textify(&mut c.commands);
                    continue;
                }
                _ => continue,
            };
            for item in items {
                if let Some(Data::Binary(bytes)) = &item.data {
                    item.data = Some(Data::Text(
                        encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
                    ));
                }
            }
        }
    }
    let mut shown = message.clone();
    textify(&mut shown.body.commands);
    syncml::to_xml(&shown, XmlOptions::pretty())
        .unwrap_or_else(|e| format!("(not shown as XML: {e})"))
}

impl Transcript {
    pub fn new(profile: &str, device: &str, session_id: &str, started: UnixMillis) -> Transcript {
        Transcript {
            profile: profile.into(),
            device: device.into(),
            session_id: session_id.into(),
            started,
            completed: false,
            entries: Vec::new(),
        }
    }

    /// Adds a message; `message` is its decoded form when it could be decoded.
    pub fn record(
        &mut self,
        direction: Direction,
        now: UnixMillis,
        bytes: &[u8],
        message: Option<&Message>,
    ) {
        let encoding = syncml::sniff_encoding(bytes);
        let xml = match message {
            Some(message) => display_xml(message),
            None => match syncml::decode(bytes) {
                Ok(message) => display_xml(&message),
                Err(e) => format!("(undecodable: {e})"),
            },
        };
        self.entries.push(Entry {
            direction,
            offset_ms: now.0.saturating_sub(self.started.0),
            content_type: encoding.syncml_content_type().into(),
            xml: xml.trim_end().to_string(),
            bytes: bytes.to_vec(),
        });
    }

    /// The transcript as text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{MAGIC}");
        let _ = writeln!(out, "profile: {}", self.profile);
        let _ = writeln!(out, "device: {}", self.device);
        let _ = writeln!(out, "session: {}", self.session_id);
        let _ = writeln!(out, "started-unix-ms: {}", self.started.0);
        let _ = writeln!(
            out,
            "completed: {}",
            if self.completed { "yes" } else { "no" }
        );
        for (index, entry) in self.entries.iter().enumerate() {
            let _ = writeln!(
                out,
                "\nmessage {} {} +{}ms {} {}",
                index + 1,
                entry.direction.as_str(),
                entry.offset_ms,
                entry.content_type,
                entry.bytes.len()
            );
            // Split on LF only: the CRs of vCard lines inside the XML are kept as they are.
            for line in entry.xml.split('\n') {
                let _ = writeln!(out, "| {line}");
            }
            let encoded = BASE64.encode(&entry.bytes);
            for chunk in encoded.as_bytes().chunks(76) {
                let _ = writeln!(out, "base64 {}", String::from_utf8_lossy(chunk));
            }
            let _ = writeln!(out, "end");
        }
        out
    }

    /// Reads a transcript written by [`Transcript::to_text`]; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Transcript, EmulatorError> {
        let error = |line: usize, message: String| EmulatorError::Format {
            path: path.to_string(),
            message: format!("line {line}: {message}"),
        };
        let mut lines = text.split('\n').enumerate().map(|(i, l)| (i + 1, l));
        match lines.next().map(|(n, l)| (n, l.trim_end_matches('\r'))) {
            Some((_, MAGIC)) => {}
            _ => return Err(error(1, format!("not a transcript (expected {MAGIC:?})"))),
        }
        let mut transcript = Transcript::new("", "", "", UnixMillis(0));
        let mut current: Option<(Entry, String)> = None;
        for (number, raw_line) in lines {
            if let Some((entry, _)) = current.as_mut() {
                if let Some(xml) = raw_line.strip_prefix("| ") {
                    entry.xml.push_str(xml);
                    entry.xml.push('\n');
                    continue;
                }
            }
            let line = raw_line.trim_end_matches('\r');
            if let Some((entry, base64)) = current.as_mut() {
                if line == "|" {
                    entry.xml.push('\n');
                } else if let Some(data) = line.strip_prefix("base64 ") {
                    base64.push_str(data.trim());
                } else if line == "end" {
                    let (mut entry, base64) = current.take().expect("checked");
                    entry.bytes = BASE64
                        .decode(base64.as_bytes())
                        .map_err(|e| error(number, format!("bad base64: {e}")))?;
                    if entry.xml.ends_with('\n') {
                        entry.xml.pop();
                    }
                    transcript.entries.push(entry);
                } else {
                    return Err(error(
                        number,
                        format!("unexpected {line:?} inside a message"),
                    ));
                }
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("message ") {
                let fields: Vec<&str> = rest.split(' ').collect();
                let [_, direction, offset, content_type, _length] = fields.as_slice() else {
                    return Err(error(number, format!("bad message line {line:?}")));
                };
                let direction = match *direction {
                    "phone-to-pc" => Direction::Sent,
                    "pc-to-phone" => Direction::Received,
                    other => return Err(error(number, format!("unknown direction {other:?}"))),
                };
                let offset_ms = offset
                    .strip_prefix('+')
                    .and_then(|o| o.strip_suffix("ms"))
                    .and_then(|o| o.parse().ok())
                    .ok_or_else(|| error(number, format!("bad offset {offset:?}")))?;
                current = Some((
                    Entry {
                        direction,
                        offset_ms,
                        content_type: content_type.to_string(),
                        xml: String::new(),
                        bytes: Vec::new(),
                    },
                    String::new(),
                ));
                continue;
            }
            let Some((key, value)) = line.split_once(": ") else {
                return Err(error(number, format!("unexpected {line:?}")));
            };
            match key {
                "profile" => transcript.profile = value.into(),
                "device" => transcript.device = value.into(),
                "session" => transcript.session_id = value.into(),
                "started-unix-ms" => {
                    transcript.started = UnixMillis(
                        value
                            .parse()
                            .map_err(|_| error(number, format!("bad time {value:?}")))?,
                    )
                }
                "completed" => transcript.completed = value == "yes",
                other => return Err(error(number, format!("unknown field {other:?}"))),
            }
        }
        if current.is_some() {
            return Err(error(
                text.lines().count(),
                "the last message has no end".into(),
            ));
        }
        Ok(transcript)
    }

    /// The file name under a transcript directory: start time, profile, session.
    pub fn file_name(&self) -> String {
        format!(
            "{}-{}-session{}.txt",
            self.started.0, self.profile, self.session_id
        )
    }

    /// Writes the transcript into `dir` (created if needed); returns the file's path.
    pub fn write_to_dir(&self, dir: &Path) -> Result<PathBuf, EmulatorError> {
        std::fs::create_dir_all(dir).map_err(|e| EmulatorError::io(dir, e))?;
        let path = dir.join(self.file_name());
        std::fs::write(&path, self.to_text()).map_err(|e| EmulatorError::io(&path, e))?;
        Ok(path)
    }

    /// Reads a transcript file.
    pub fn read_file(path: &Path) -> Result<Transcript, EmulatorError> {
        let text = std::fs::read_to_string(path).map_err(|e| EmulatorError::io(path, e))?;
        Transcript::parse(&text, &path.display().to_string())
    }

    /// Checks that every entry's XML is what its bytes decode to.
    pub fn check_consistency(&self) -> Result<(), ReplayMismatch> {
        for (index, entry) in self.entries.iter().enumerate() {
            let shown = match syncml::decode(&entry.bytes) {
                Ok(message) => display_xml(&message),
                Err(e) => format!("(undecodable: {e})"),
            };
            if shown.trim_end() != entry.xml.trim_end() {
                return Err(ReplayMismatch::new(
                    index,
                    "the XML is not what the bytes decode to",
                    &entry.xml,
                    &shown,
                ));
            }
            let encoding = syncml::sniff_encoding(&entry.bytes);
            if entry.content_type != encoding.syncml_content_type() {
                return Err(ReplayMismatch {
                    entry: index,
                    detail: format!(
                        "content type {} for {:?} bytes",
                        entry.content_type, encoding
                    ),
                });
            }
        }
        Ok(())
    }
}

/// Where a replay or consistency check found a difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayMismatch {
    /// The index of the entry (0-based).
    pub entry: usize,
    pub detail: String,
}

impl ReplayMismatch {
    fn new(entry: usize, what: &str, expected: &str, actual: &str) -> ReplayMismatch {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        ReplayMismatch {
            entry,
            detail: format!(
                "{what}; first difference at XML line {}: recorded {:?}, now {:?}",
                line + 1,
                expected.lines().nth(line).unwrap_or("(end)"),
                actual.lines().nth(line).unwrap_or("(end)")
            ),
        }
    }
}

impl std::fmt::Display for ReplayMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "message {}: {}", self.entry + 1, self.detail)
    }
}

impl std::error::Error for ReplayMismatch {}

/// Runs `phone` (in the state it had when the session was recorded) against the recorded
/// server messages, at the recorded times, and checks that it sends exactly the recorded
/// messages and ends as the recording did.
pub fn replay(phone: &mut EmulatedPhone, transcript: &Transcript) -> Result<(), ReplayMismatch> {
    let first = transcript.entries.first().ok_or(ReplayMismatch {
        entry: 0,
        detail: "an empty transcript".into(),
    })?;
    let recorded_first = syncml::decode(&first.bytes).map_err(|e| ReplayMismatch {
        entry: 0,
        detail: format!("undecodable: {e}"),
    })?;
    let request = request_for(phone, &recorded_first)?;
    let at = |entry: &Entry| UnixMillis(transcript.started.0 + entry.offset_ms);
    let sent = phone
        .start_sync(&request, at(first))
        .map_err(|e| ReplayMismatch {
            entry: 0,
            detail: format!("the phone could not start: {e}"),
        })?;
    compare(0, first, &sent.bytes, sent.encoding)?;
    let mut finished = false;
    let mut index = 1;
    while index < transcript.entries.len() {
        let entry = &transcript.entries[index];
        if entry.direction != Direction::Received {
            return Err(ReplayMismatch {
                entry: index,
                detail: "the phone sent nothing here, the recording has a phone message".into(),
            });
        }
        match phone.receive(&entry.bytes, at(entry)) {
            Ok(Step::Send(outgoing)) => {
                let Some(expected) = transcript.entries.get(index + 1) else {
                    return Err(ReplayMismatch {
                        entry: index + 1,
                        detail: "the phone sends a message the recording does not have".into(),
                    });
                };
                if expected.direction != Direction::Sent {
                    return Err(ReplayMismatch {
                        entry: index + 1,
                        detail: "the phone sends a message where the recording has a PC message"
                            .into(),
                    });
                }
                compare(index + 1, expected, &outgoing.bytes, outgoing.encoding)?;
                index += 2;
            }
            Ok(Step::Finished(_)) => {
                finished = true;
                index += 1;
                if index < transcript.entries.len() {
                    return Err(ReplayMismatch {
                        entry: index,
                        detail: "the phone finished; the recording goes on".into(),
                    });
                }
            }
            // A recording that ends with a message the phone refused replays so too.
            Err(_) if index + 1 == transcript.entries.len() && !transcript.completed => {
                index += 1;
            }
            Err(e) => {
                return Err(ReplayMismatch {
                    entry: index,
                    detail: format!("the phone refused the message: {e}"),
                })
            }
        }
    }
    if finished != transcript.completed {
        phone.abort();
        return Err(ReplayMismatch {
            entry: transcript.entries.len(),
            detail: format!(
                "the recording {} but the replay {}",
                if transcript.completed {
                    "completed"
                } else {
                    "did not complete"
                },
                if finished { "did" } else { "did not" }
            ),
        });
    }
    phone.abort();
    Ok(())
}

fn request_for(phone: &EmulatedPhone, first: &Message) -> Result<SyncRequest, ReplayMismatch> {
    let mut request = SyncRequest {
        datastores: Vec::new(),
        server_alerted: false,
        session_id: first.header.as_ref().map(|h| h.session_id.to_string()),
    };
    for command in &first.body.commands {
        let Command::Alert(alert) = command else {
            continue;
        };
        let Some(code) = alert.data else { continue };
        let Some(mode) = SyncMode::from_alert(code) else {
            continue;
        };
        request.server_alerted |= code.code() >= 206;
        let source = alert
            .items
            .first()
            .and_then(|i| i.source.as_ref())
            .map(|s| s.loc_uri.to_string())
            .unwrap_or_default();
        let spec = phone
            .profile()
            .datastore_named(&source)
            .ok_or_else(|| ReplayMismatch {
                entry: 0,
                detail: format!("the profile has no datastore {source:?}"),
            })?;
        request.datastores.push((spec.kind, mode));
    }
    Ok(request)
}

fn compare(
    index: usize,
    expected: &Entry,
    bytes: &[u8],
    encoding: Encoding,
) -> Result<(), ReplayMismatch> {
    if expected.bytes == bytes {
        return Ok(());
    }
    let actual = match syncml::decode(bytes) {
        Ok(message) => display_xml(&message),
        Err(e) => format!("(undecodable: {e})"),
    };
    let mut mismatch = ReplayMismatch::new(
        index,
        "the phone sent something else",
        &expected.xml,
        &actual,
    );
    if expected.xml == actual {
        mismatch.detail = format!(
            "same XML, different {encoding:?} bytes ({} recorded, {} now)",
            expected.bytes.len(),
            bytes.len()
        );
    }
    Err(mismatch)
}
