//! SyncML DS Server Alerted Notification (SAN), the binary "package 0" of SyncML DS 1.2
//! (OMA "DS Server Alerted Notification"): a 128-bit digest, a trigger header and a DS
//! trigger body. The PC sends it to a phone to make it start a sync.
//!
//! ```text
//! digest          128 bits  MD5 (see compute_digest)
//! version          10 bits  12 for 1.2
//! ui-mode           2 bits  0 not specified, 1 background, 2 informative, 3 user interaction
//! initiator         1 bit   0 user, 1 server
//! future use       27 bits
//! session id       16 bits
//! server id length  8 bits, then the server identifier
//! num-syncs         4 bits  (0: sync every data store)
//! future use        4 bits
//! per sync:  sync type 4 bits (alert code - 200), future use 4 bits, content type 24 bits,
//!            server URI length 8 bits, then the server URI
//! vendor-specific  the rest
//! ```

use std::fmt::{self, Write as _};

use super::{Alert, AlertCode, Command, Item, Message, MetInf, Source, SyncBody, SyncHdr, Target};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use md5::{Digest as _, Md5};

/// The server identifier handsync announces, as PC Suite did.
pub const DEFAULT_SERVER_IDENTIFIER: &str = "PC Suite";
/// The digest length in bytes.
pub const DIGEST_LEN: usize = 16;
/// SyncML 1.2 in the 10-bit version field.
pub const VERSION_1_2: u16 = 12;
/// SyncML 1.1 in the 10-bit version field.
pub const VERSION_1_1: u16 = 11;
/// The trigger header's fixed part, before the server identifier.
const HEADER_LEN: usize = 8;
/// Alert codes are sent as their offset from this base.
const SYNC_TYPE_BASE: u16 = 200;

/// How the phone should involve its user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiMode {
    NotSpecified,
    Background,
    Informative,
    UserInteraction,
}

impl UiMode {
    fn from_bits(bits: u8) -> Self {
        match bits & 0x03 {
            0 => UiMode::NotSpecified,
            1 => UiMode::Background,
            2 => UiMode::Informative,
            _ => UiMode::UserInteraction,
        }
    }

    fn bits(self) -> u8 {
        match self {
            UiMode::NotSpecified => 0,
            UiMode::Background => 1,
            UiMode::Informative => 2,
            UiMode::UserInteraction => 3,
        }
    }
}

/// Who asked for the sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initiator {
    User,
    Server,
}

/// The sync a SAN asks for, by its SyncML alert code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncType {
    /// 206.
    TwoWay,
    /// 207.
    OneWayFromClient,
    /// 208.
    RefreshFromClient,
    /// 209.
    OneWayFromServer,
    /// 210.
    RefreshFromServer,
    /// Any other alert code 200..=215 the 4 bits can carry.
    Other(u16),
}

impl SyncType {
    /// The alert code (206 and so on).
    pub fn alert_code(self) -> u16 {
        match self {
            SyncType::TwoWay => 206,
            SyncType::OneWayFromClient => 207,
            SyncType::RefreshFromClient => 208,
            SyncType::OneWayFromServer => 209,
            SyncType::RefreshFromServer => 210,
            SyncType::Other(code) => code,
        }
    }

    /// The sync type for an alert code.
    pub fn from_alert_code(code: u16) -> Self {
        match code {
            206 => SyncType::TwoWay,
            207 => SyncType::OneWayFromClient,
            208 => SyncType::RefreshFromClient,
            209 => SyncType::OneWayFromServer,
            210 => SyncType::RefreshFromServer,
            other => SyncType::Other(other),
        }
    }
}

/// The trigger header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanHeader {
    /// 10 bits; [`VERSION_1_2`] is 12.
    pub version: u16,
    pub ui_mode: UiMode,
    pub initiator: Initiator,
    /// 27 reserved bits, kept so that decoding then encoding gives the same bytes.
    pub future_use: u32,
    pub session_id: u16,
    pub server_identifier: String,
}

/// One data store to sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanSync {
    pub sync_type: SyncType,
    /// 4 reserved bits.
    pub future_use: u8,
    /// 24-bit WSP / OMNA content type code; 0 leaves the type to the data store.
    pub content_type: u32,
    pub server_uri: String,
}

/// A whole notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct San {
    pub digest: [u8; DIGEST_LEN],
    pub header: SanHeader,
    /// The 4 reserved bits after num-syncs.
    pub body_future_use: u8,
    /// At most 15; none means "every data store".
    pub syncs: Vec<SanSync>,
    /// Bytes after the last sync.
    pub vendor_specific: Vec<u8>,
}

/// The MIME type of a well-known WSP content type code (WAP WSP table; SAN uses these codes).
pub fn content_type_name(code: u32) -> Option<&'static str> {
    match code {
        0x00 => Some("*/*"),
        0x01 => Some("text/*"),
        0x02 => Some("text/html"),
        0x03 => Some("text/plain"),
        0x06 => Some("text/x-vcalendar"),
        0x07 => Some("text/x-vcard"),
        _ => None,
    }
}

/// What went wrong with a SAN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SanErrorKind {
    /// The input ends inside this field.
    Truncated(&'static str),
    /// This text field is not UTF-8.
    NotUtf8(&'static str),
    /// A value does not fit its field when encoding.
    DoesNotFit { field: &'static str, value: u64 },
}

/// A SAN decoding or encoding error, with the byte offset for decoding errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanError {
    pub offset: usize,
    pub kind: SanErrorKind,
}

impl fmt::Display for SanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            SanErrorKind::Truncated(field) => {
                write!(f, "at offset {}: SAN ends inside the {field}", self.offset)
            }
            SanErrorKind::NotUtf8(field) => {
                write!(f, "at offset {}: the {field} is not UTF-8", self.offset)
            }
            SanErrorKind::DoesNotFit { field, value } => {
                write!(f, "{value} does not fit the SAN's {field} field")
            }
        }
    }
}

impl std::error::Error for SanError {}

struct Cursor<'a> {
    input: &'a [u8],
    position: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, count: usize, field: &'static str) -> Result<&'a [u8], SanError> {
        let bytes = self
            .input
            .get(self.position..self.position + count)
            .ok_or(SanError {
                offset: self.position,
                kind: SanErrorKind::Truncated(field),
            })?;
        self.position += count;
        Ok(bytes)
    }

    fn byte(&mut self, field: &'static str) -> Result<u8, SanError> {
        Ok(self.take(1, field)?[0])
    }

    fn text(&mut self, count: usize, field: &'static str) -> Result<String, SanError> {
        let offset = self.position;
        let bytes = self.take(count, field)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| SanError {
            offset,
            kind: SanErrorKind::NotUtf8(field),
        })
    }
}

fn does_not_fit(field: &'static str, value: u64) -> SanError {
    SanError {
        offset: 0,
        kind: SanErrorKind::DoesNotFit { field, value },
    }
}

/// The digest: `H(B64(H(server-identifier:password)):nonce:B64(H(notification)))` with H
/// MD5 and B64 Base64 (padded), `notification` being everything after the digest.
pub fn compute_digest(
    server_identifier: &[u8],
    password: &[u8],
    nonce: &[u8],
    notification: &[u8],
) -> [u8; DIGEST_LEN] {
    let credentials = Md5::new()
        .chain_update(server_identifier)
        .chain_update(b":")
        .chain_update(password)
        .finalize();
    let notification_hash = Md5::digest(notification);
    Md5::new()
        .chain_update(BASE64.encode(credentials))
        .chain_update(b":")
        .chain_update(nonce)
        .chain_update(b":")
        .chain_update(BASE64.encode(notification_hash))
        .finalize()
        .into()
}

impl San {
    /// A SAN 1.2 asking, in the background, for these syncs; the digest is filled in by
    /// [`San::encode_signed`].
    pub fn new(server_identifier: &str, session_id: u16, syncs: Vec<SanSync>) -> Self {
        San {
            digest: [0; DIGEST_LEN],
            header: SanHeader {
                version: VERSION_1_2,
                ui_mode: UiMode::Background,
                initiator: Initiator::Server,
                future_use: 0,
                session_id,
                server_identifier: server_identifier.to_owned(),
            },
            body_future_use: 0,
            syncs,
            vendor_specific: Vec::new(),
        }
    }

    /// The same request in the legacy form of SyncML 1.0/1.1 phones (no binary SAN): a SyncML
    /// message of `version` whose Alerts carry the server-alerted sync codes 206..210, one per
    /// datastore, each Item naming our datastore (Target and Source) with its content type in
    /// Meta. `device` is the phone's device URI when known (its DevInf DevID); phones accept
    /// any Target here since they just asked for nothing. The server identifier is the Source.
    pub fn to_legacy_message(&self, version: crate::markup::Version, device: &str) -> Message {
        let alerts = self
            .syncs
            .iter()
            .enumerate()
            .map(|(index, sync)| {
                let meta = content_type_name(sync.content_type)
                    .filter(|_| sync.content_type != 0)
                    .map(|name| {
                        Box::new(MetInf {
                            type_: Some(name.into()),
                            ..MetInf::default()
                        })
                    });
                Command::Alert(Alert {
                    cmd_id: Some((index + 1).to_string().into()),
                    data: Some(AlertCode::from_code(sync.sync_type.alert_code())),
                    items: vec![Item {
                        target: Some(Target::new(sync.server_uri.as_str())),
                        source: Some(Source::new(sync.server_uri.as_str())),
                        meta,
                        ..Item::default()
                    }],
                    ..Alert::default()
                })
            })
            .collect();
        Message {
            version,
            header: Some(SyncHdr {
                ver_proto: format!("SyncML/{}", version.as_str()).into(),
                session_id: self.header.session_id.to_string().into(),
                msg_id: 1,
                target: Target::new(device),
                source: Source::new(self.header.server_identifier.as_str()),
                resp_uri: None,
                no_resp: false,
                cred: None,
                meta: None,
                extensions: Default::default(),
            }),
            body: SyncBody {
                commands: alerts,
                final_: true,
                ..SyncBody::default()
            },
            extensions: Default::default(),
        }
    }

    /// Reads a legacy (SyncML 1.0/1.1 message) notification back: the server identifier
    /// (header Source), session id and one sync per Alert with a code 206..210.
    pub fn from_legacy_message(message: &Message) -> Option<San> {
        let header = message.header.as_ref()?;
        let syncs: Vec<SanSync> = message
            .body
            .commands
            .iter()
            .filter_map(|command| match command {
                Command::Alert(alert) => {
                    let code = alert.data?.code();
                    if !(206..=210).contains(&code) {
                        return None;
                    }
                    let item = alert.items.first()?;
                    let uri = item
                        .target
                        .as_ref()
                        .map(|t| t.loc_uri.as_str())
                        .or_else(|| item.source.as_ref().map(|s| s.loc_uri.as_str()))?;
                    Some(SanSync {
                        sync_type: SyncType::from_alert_code(code),
                        future_use: 0,
                        content_type: 0,
                        server_uri: uri.to_string(),
                    })
                }
                _ => None,
            })
            .collect();
        if syncs.is_empty() {
            return None;
        }
        let mut san = San::new(
            header.source.loc_uri.as_str(),
            header.session_id.parse().unwrap_or(0),
            syncs,
        );
        san.header.version = VERSION_1_1;
        Some(san)
    }

    /// Decodes a whole SAN.
    pub fn decode(bytes: &[u8]) -> Result<San, SanError> {
        let mut cursor = Cursor {
            input: bytes,
            position: 0,
        };
        let digest: [u8; DIGEST_LEN] =
            cursor
                .take(DIGEST_LEN, "digest")?
                .try_into()
                .map_err(|_| SanError {
                    offset: 0,
                    kind: SanErrorKind::Truncated("digest"),
                })?;
        let fixed = cursor.take(HEADER_LEN, "trigger header")?;
        let bits = fixed
            .iter()
            .fold(0u64, |bits, byte| (bits << 8) | u64::from(*byte));
        let version = (bits >> 54) as u16 & 0x3FF;
        let ui_mode = UiMode::from_bits((bits >> 52) as u8);
        let initiator = if (bits >> 51) & 1 == 1 {
            Initiator::Server
        } else {
            Initiator::User
        };
        let future_use = (bits >> 24) as u32 & 0x07FF_FFFF;
        let session_id = (bits >> 8) as u16;
        let server_identifier_len = bits as u8 as usize;
        let server_identifier = cursor.text(server_identifier_len, "server identifier")?;
        let counts = cursor.byte("number of syncs")?;
        let mut syncs = Vec::new();
        for _ in 0..counts >> 4 {
            let type_byte = cursor.byte("sync type")?;
            let content = cursor.take(3, "content type")?;
            let uri_len = cursor.byte("server URI length")? as usize;
            let server_uri = cursor.text(uri_len, "server URI")?;
            syncs.push(SanSync {
                sync_type: SyncType::from_alert_code(SYNC_TYPE_BASE + u16::from(type_byte >> 4)),
                future_use: type_byte & 0x0F,
                content_type: u32::from_be_bytes([0, content[0], content[1], content[2]]),
                server_uri,
            });
        }
        let vendor_specific = bytes[cursor.position..].to_vec();
        Ok(San {
            digest,
            header: SanHeader {
                version,
                ui_mode,
                initiator,
                future_use,
                session_id,
                server_identifier,
            },
            body_future_use: counts & 0x0F,
            syncs,
            vendor_specific,
        })
    }

    /// Encodes trigger header and body: the bytes the digest covers.
    pub fn encode_notification(&self) -> Result<Vec<u8>, SanError> {
        let header = &self.header;
        if header.version > 0x3FF {
            return Err(does_not_fit("version", header.version.into()));
        }
        if header.future_use > 0x07FF_FFFF {
            return Err(does_not_fit("header future use", header.future_use.into()));
        }
        let server_identifier_len = u8::try_from(header.server_identifier.len()).map_err(|_| {
            does_not_fit(
                "server identifier length",
                header.server_identifier.len() as u64,
            )
        })?;
        let sync_count = u8::try_from(self.syncs.len())
            .ok()
            .filter(|count| *count <= 15)
            .ok_or_else(|| does_not_fit("number of syncs", self.syncs.len() as u64))?;
        if self.body_future_use > 0x0F {
            return Err(does_not_fit("body future use", self.body_future_use.into()));
        }
        let bits = (u64::from(header.version) << 54)
            | (u64::from(header.ui_mode.bits()) << 52)
            | (u64::from(header.initiator == Initiator::Server) << 51)
            | (u64::from(header.future_use) << 24)
            | (u64::from(header.session_id) << 8)
            | u64::from(server_identifier_len);
        let mut out = bits.to_be_bytes().to_vec();
        out.extend_from_slice(header.server_identifier.as_bytes());
        out.push((sync_count << 4) | self.body_future_use);
        for sync in &self.syncs {
            let code = sync.sync_type.alert_code();
            let offset = code
                .checked_sub(SYNC_TYPE_BASE)
                .filter(|offset| *offset <= 0x0F)
                .ok_or_else(|| does_not_fit("sync type", code.into()))?;
            if sync.future_use > 0x0F {
                return Err(does_not_fit("sync future use", sync.future_use.into()));
            }
            if sync.content_type > 0x00FF_FFFF {
                return Err(does_not_fit("content type", sync.content_type.into()));
            }
            let uri_len = u8::try_from(sync.server_uri.len())
                .map_err(|_| does_not_fit("server URI length", sync.server_uri.len() as u64))?;
            // offset <= 15 checked above.
            out.push(((offset as u8) << 4) | sync.future_use);
            out.extend_from_slice(&sync.content_type.to_be_bytes()[1..]);
            out.push(uri_len);
            out.extend_from_slice(sync.server_uri.as_bytes());
        }
        out.extend_from_slice(&self.vendor_specific);
        Ok(out)
    }

    /// Encodes with the digest as it stands (to re-encode a decoded SAN byte for byte).
    pub fn encode(&self) -> Result<Vec<u8>, SanError> {
        let mut out = self.digest.to_vec();
        out.extend_from_slice(&self.encode_notification()?);
        Ok(out)
    }

    /// Computes the digest for `password` and `nonce`, stores it, and encodes.
    pub fn encode_signed(&mut self, password: &[u8], nonce: &[u8]) -> Result<Vec<u8>, SanError> {
        let notification = self.encode_notification()?;
        self.digest = compute_digest(
            self.header.server_identifier.as_bytes(),
            password,
            nonce,
            &notification,
        );
        let mut out = self.digest.to_vec();
        out.extend_from_slice(&notification);
        Ok(out)
    }

    /// Whether the digest of the encoded SAN `bytes` matches `password` and `nonce`, with the
    /// server identifier the SAN itself carries.
    pub fn verify_digest(bytes: &[u8], password: &[u8], nonce: &[u8]) -> Result<bool, SanError> {
        let san = San::decode(bytes)?;
        let expected = compute_digest(
            san.header.server_identifier.as_bytes(),
            password,
            nonce,
            &bytes[DIGEST_LEN..],
        );
        Ok(expected == san.digest)
    }
}

/// A readable account of a SAN, or of why it does not decode.
pub fn describe(bytes: &[u8]) -> String {
    let san = match San::decode(bytes) {
        Ok(san) => san,
        Err(error) => return format!("SAN ({} bytes): error: {error}\n", bytes.len()),
    };
    let mut out = String::new();
    let header = &san.header;
    let version = match header.version {
        VERSION_1_2 => "1.2".to_owned(),
        VERSION_1_1 => "1.1".to_owned(),
        other => format!("unknown ({other})"),
    };
    // Writing to a String cannot fail.
    let _ = writeln!(out, "SAN ({} bytes)", bytes.len());
    let _ = writeln!(out, "  digest: {}", hex(&san.digest));
    let _ = writeln!(out, "  version: {version}");
    let _ = writeln!(out, "  ui-mode: {:?}", header.ui_mode);
    let _ = writeln!(out, "  initiator: {:?}", header.initiator);
    if header.future_use != 0 {
        let _ = writeln!(out, "  future use: 0x{:07X}", header.future_use);
    }
    let _ = writeln!(out, "  session id: {}", header.session_id);
    let _ = writeln!(out, "  server identifier: {:?}", header.server_identifier);
    if san.syncs.is_empty() {
        let _ = writeln!(out, "  syncs: every data store");
    }
    for (index, sync) in san.syncs.iter().enumerate() {
        let content = content_type_name(sync.content_type).unwrap_or("unknown");
        let _ = writeln!(
            out,
            "  sync {}: {} ({:?}), content type 0x{:06X} ({content}), server URI {:?}",
            index + 1,
            sync.sync_type.alert_code(),
            sync.sync_type,
            sync.content_type,
            sync.server_uri
        );
    }
    if !san.vendor_specific.is_empty() {
        let _ = writeln!(out, "  vendor-specific: {}", hex(&san.vendor_specific));
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contacts_and_calendar() -> San {
        San::new(
            DEFAULT_SERVER_IDENTIFIER,
            0x1234,
            vec![
                SanSync {
                    sync_type: SyncType::TwoWay,
                    future_use: 0,
                    content_type: 0x07,
                    server_uri: "Contacts".into(),
                },
                SanSync {
                    sync_type: SyncType::RefreshFromServer,
                    future_use: 0,
                    content_type: 0x06,
                    server_uri: "Calendar".into(),
                },
            ],
        )
    }

    #[test]
    fn header_and_body_bits_are_where_the_spec_puts_them() {
        let notification = contacts_and_calendar()
            .encode_notification()
            .expect("encodes");
        // version 12 = 0b0000001100, ui-mode 01, initiator 1, 27 bits of zero.
        assert_eq!(&notification[..5], &[0x03, 0x18, 0x00, 0x00, 0x00]);
        assert_eq!(&notification[5..7], &[0x12, 0x34], "session id");
        assert_eq!(notification[7], 8, "server identifier length");
        assert_eq!(&notification[8..16], b"PC Suite");
        assert_eq!(notification[16], 0x20, "two syncs");
        assert_eq!(&notification[17..22], &[0x60, 0x00, 0x00, 0x07, 8]);
        assert_eq!(&notification[22..30], b"Contacts");
        assert_eq!(&notification[30..35], &[0xA0, 0x00, 0x00, 0x06, 8]);
        assert_eq!(notification.len(), 43);
    }

    #[test]
    fn every_ui_mode_and_initiator_round_trips() {
        for ui_mode in [
            UiMode::NotSpecified,
            UiMode::Background,
            UiMode::Informative,
            UiMode::UserInteraction,
        ] {
            for initiator in [Initiator::User, Initiator::Server] {
                let mut san = contacts_and_calendar();
                san.header.ui_mode = ui_mode;
                san.header.initiator = initiator;
                san.header.future_use = 0x0555_5555;
                san.vendor_specific = vec![0xDE, 0xAD];
                let bytes = san.encode_signed(b"secret", b"nonce").expect("encodes");
                assert_eq!(San::decode(&bytes).expect("decodes"), san);
            }
        }
    }

    #[test]
    fn digest_follows_the_spec_construction() {
        // Reference value computed independently with Python's hashlib and base64:
        // md5(b64(md5(b"PC Suite:secret")) + b":" + b"abc" + b":" + b64(md5(b"note"))).
        let digest = compute_digest(b"PC Suite", b"secret", b"abc", b"note");
        assert_eq!(hex(&digest), "878810e28ffff70e9438b6f088cec7da");
    }

    #[test]
    fn signed_san_verifies_only_with_its_password_and_nonce() {
        let mut san = contacts_and_calendar();
        let bytes = san.encode_signed(b"secret", b"\x01\x02").expect("encodes");
        assert_eq!(San::verify_digest(&bytes, b"secret", b"\x01\x02"), Ok(true));
        assert_eq!(
            San::verify_digest(&bytes, b"Secret", b"\x01\x02"),
            Ok(false)
        );
        assert_eq!(San::verify_digest(&bytes, b"secret", b""), Ok(false));
        let mut tampered = bytes.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(
            San::verify_digest(&tampered, b"secret", b"\x01\x02"),
            Ok(false)
        );
    }

    #[test]
    fn no_syncs_means_every_data_store() {
        let mut san = San::new("srv", 0, Vec::new());
        let bytes = san.encode_signed(b"", b"").expect("encodes");
        assert_eq!(bytes[DIGEST_LEN + HEADER_LEN + 3], 0x00);
        assert!(describe(&bytes).contains("every data store"));
    }

    #[test]
    fn truncation_is_reported_with_the_field_and_offset() {
        let mut san = contacts_and_calendar();
        let bytes = san.encode_signed(b"", b"").expect("encodes");
        let error = San::decode(&bytes[..10]).expect_err("truncated digest");
        assert_eq!(error.kind, SanErrorKind::Truncated("digest"));
        let error = San::decode(&bytes[..20]).expect_err("truncated header");
        assert_eq!(error.offset, 16);
        assert_eq!(error.kind, SanErrorKind::Truncated("trigger header"));
        let error = San::decode(&bytes[..45]).expect_err("truncated URI");
        assert_eq!(
            error.to_string(),
            "at offset 38: SAN ends inside the server URI"
        );
        for length in 0..bytes.len() {
            assert!(
                San::decode(&bytes[..length]).is_err(),
                "prefix of {length} bytes"
            );
        }
    }

    #[test]
    fn values_that_do_not_fit_are_refused_when_encoding() {
        let mut san = contacts_and_calendar();
        san.header.version = 1024;
        assert!(san.encode().is_err());
        let mut san = contacts_and_calendar();
        san.header.server_identifier = "x".repeat(256);
        assert!(san.encode().is_err());
        let mut san = contacts_and_calendar();
        san.syncs[0].sync_type = SyncType::Other(199);
        assert!(san.encode().is_err());
        let mut san = contacts_and_calendar();
        san.syncs[0].content_type = 0x0100_0000;
        assert!(san.encode().is_err());
        let mut san = contacts_and_calendar();
        san.syncs = vec![san.syncs[0].clone(); 16];
        assert!(san.encode().is_err());
    }

    #[test]
    fn sync_types_map_to_alert_codes() {
        for code in 200..=215 {
            assert_eq!(SyncType::from_alert_code(code).alert_code(), code);
        }
        assert_eq!(SyncType::from_alert_code(206), SyncType::TwoWay);
        assert_eq!(SyncType::from_alert_code(210), SyncType::RefreshFromServer);
        assert_eq!(content_type_name(0x07), Some("text/x-vcard"));
        assert_eq!(content_type_name(0x06), Some("text/x-vcalendar"));
    }
}
