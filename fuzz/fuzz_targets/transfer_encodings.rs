//! Any bytes through the transfer encodings of phone data (quoted-printable, base64, the
//! CHARSET conversions, the text escapes) and through the vCard writers and parser that fold,
//! soft-break and unfold them: decoding hostile input may fail but never panics or hangs, and
//! what the encoders write decodes back to what they were given (as their docs promise).
#![no_main]
use handsync_proto::pim::codec::{
    charset_by_label, decode_base64, decode_quoted_printable, decode_text, encode_base64,
    encode_quoted_printable, encode_text, escape_text, split_escaped, unescape_text,
};
use handsync_proto::pim::content::{parse_object, write_component, WriteOptions};
use handsync_proto::pim::{Component, Property, Value};
use libfuzzer_sys::fuzz_target;

/// CHARSET labels phones and quirk profiles use.
const CHARSETS: [&str; 24] = [
    "UTF-8",
    "ISO-8859-1",
    "Windows-1252",
    "Windows-1251",
    "Windows-1250",
    "Windows-1253",
    "Windows-1254",
    "Windows-1255",
    "Windows-1256",
    "Windows-1257",
    "ISO-8859-2",
    "ISO-8859-5",
    "ISO-8859-7",
    "ISO-8859-15",
    "KOI8-R",
    "TIS-620",
    "Big5",
    "GB2312",
    "GBK",
    "GB18030",
    "Shift_JIS",
    "EUC-JP",
    "EUC-KR",
    "UTF-16",
];

fuzz_target!(|data: &[u8]| {
    // The first two bytes also choose the settings (they stay in the payload, so that a
    // captured vCard is one as it stands).
    let (first_line_used, settings) = match data {
        [used, settings, ..] => (usize::from(*used), *settings),
        _ => (0, 0),
    };
    // Lines are at most 76 characters: 8 KB shows every folding case, and keeps the photos
    // among the seeds from slowing every run down (the writers take the first 2 KB).
    let payload = &data[..data.len().min(8 * 1024)];
    let label = CHARSETS[usize::from(settings) % CHARSETS.len()];
    quoted_printable(payload, first_line_used);
    base64(payload, usize::from(settings >> 2) + 1);
    let text = decode_text(payload, None);
    // The same bytes in the chosen charset: CJK and Cyrillic text from any bytes.
    let charset_text = decode_text(payload, charset_by_label(label));
    charsets(payload, &text, label);
    charsets(payload, &charset_text, label);
    escapes(&text);
    let short = &payload[..payload.len().min(2 * 1024)];
    let written = if settings & 0x40 != 0 {
        decode_text(short, charset_by_label(label))
    } else {
        decode_text(short, None)
    };
    writers(short, &written, label, settings & 0x80 != 0);
    let _ = charset_by_label(&String::from_utf8_lossy(payload));
});

fn quoted_printable(payload: &[u8], first_line_used: usize) {
    // Any bytes from a phone (soft breaks already unfolded).
    let decoded = decode_quoted_printable(payload);
    assert!(decoded.len() <= payload.len());
    if !payload.contains(&b'=') {
        assert_eq!(decoded, payload, "QP without '=' is the text itself");
    }
    // What the encoder writes: lines of at most 76 characters (the first one shared with
    // `first_line_used` characters before it), joined by `=` CRLF, no escape split, and
    // after unfolding the soft breaks the bytes it was given.
    let encoded = encode_quoted_printable(payload, first_line_used);
    assert!(encoded.is_ascii(), "{encoded:?}");
    let lines: Vec<&str> = encoded.split("\r\n").collect();
    for (index, line) in lines.iter().enumerate() {
        let used = if index == 0 { first_line_used } else { 0 };
        if used <= 75 {
            assert!(used + line.len() <= 76, "line {index} too long: {line:?}");
        }
        let body = if index + 1 < lines.len() {
            line.strip_suffix('=')
                .unwrap_or_else(|| panic!("line {index} ends without a soft break: {line:?}"))
        } else {
            line
        };
        assert!(!body.contains(['\r', '\n']), "a raw line break in {body:?}");
        let bytes = body.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' {
                assert!(
                    bytes.len() >= i + 3 && bytes[i + 1..i + 3].iter().all(u8::is_ascii_hexdigit),
                    "an escape split or malformed in line {index}: {line:?}"
                );
                i += 3;
            } else {
                i += 1;
            }
        }
    }
    let unfolded = encoded.replace("=\r\n", "");
    assert_eq!(
        decode_quoted_printable(unfolded.as_bytes()),
        payload,
        "QP round trip (first line used {first_line_used}): {encoded:?}"
    );
}

fn base64(payload: &[u8], width: usize) {
    // Any bytes from a phone: a character other than the alphabet, white space and `=` is
    // refused.
    let decoded = decode_base64(payload);
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let is_foreign = |b: &u8| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    let compact: Vec<u8> = payload.iter().copied().filter(|b| !is_space(b)).collect();
    if compact.iter().any(is_foreign) {
        assert!(decoded.is_none(), "foreign characters accepted");
    }
    if let Some(decoded) = &decoded {
        assert!(decoded.len() <= payload.len());
    }
    // One line with padding, decoding to the input; also folded (vCard 2.1 continuation
    // lines) and without its padding.
    let encoded = encode_base64(payload);
    assert_eq!(encoded.len(), payload.len().div_ceil(3) * 4);
    assert!(!encoded.contains(|c: char| c.is_ascii_whitespace()));
    assert_eq!(decode_base64(encoded.as_bytes()).as_deref(), Some(payload));
    let unpadded = encoded.trim_end_matches('=');
    assert_eq!(
        decode_base64(unpadded.as_bytes()).as_deref(),
        Some(payload),
        "without padding: {unpadded:?}"
    );
    let folded = encoded
        .as_bytes()
        .chunks(width)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect::<Vec<_>>()
        .join("\r\n ");
    assert_eq!(
        decode_base64(folded.as_bytes()).as_deref(),
        Some(payload),
        "folded: {folded:?}"
    );
}

fn charsets(payload: &[u8], text: &str, label: &str) {
    let charset = charset_by_label(label).expect("a known label");
    // Without a CHARSET: UTF-8 when it is UTF-8.
    if let Ok(utf8) = std::str::from_utf8(payload) {
        assert_eq!(decode_text(payload, None), utf8);
    }
    // "Encodes text in `charset`": decoding in that charset gives the text back.
    if let Some(bytes) = encode_text(text, charset) {
        assert_eq!(
            decode_text(&bytes, Some(charset)),
            text,
            "encode_text in {} does not decode back: {bytes:02x?}",
            charset.name()
        );
    }
}

fn escapes(text: &str) {
    // Escaping then unescaping gives the text, each line break (CRLF, CR, LF) as LF.
    let escaped = escape_text(text);
    let lines = text.replace("\r\n", "\n").replace('\r', "\n");
    assert_eq!(unescape_text(&escaped), lines, "escaped: {escaped:?}");
    for separator in [';', ','] {
        assert_eq!(split_escaped(&escaped, separator), [escaped.as_str()]);
    }
    // Splitting keeps the escapes: the parts joined again are the whole.
    for separator in [';', ',', ':'] {
        let parts = split_escaped(text, separator);
        assert_eq!(parts.join(&separator.to_string()), text);
    }
    let _ = unescape_text(text);
}

/// Printable text (no control characters) and any binary survive both writers and the
/// parser: QP with soft breaks or on one line, the legacy charset, base64, RFC folding.
fn writers(payload: &[u8], text: &str, label: &str, one_line: bool) {
    let charset = charset_by_label(label).expect("a known label");
    let printable: String = text.chars().filter(|c| !c.is_control()).collect();
    for legacy in [true, false] {
        let mut card = Component::new("VCARD");
        card.properties
            .push(Property::raw("VERSION", if legacy { "2.1" } else { "3.0" }));
        card.properties.push(Property::text("NOTE", &printable));
        card.properties
            .push(Property::structured("N", &[&printable, "x", &printable]));
        if !payload.is_empty() {
            card.properties.push(Property {
                group: None,
                name: "PHOTO".into(),
                params: Vec::new(),
                value: Value::Binary(payload.to_vec()),
            });
        }
        let options = if legacy {
            WriteOptions {
                legacy_charset: charset,
                soft_line_breaks: !one_line,
                ..WriteOptions::legacy()
            }
        } else {
            WriteOptions::modern()
        };
        let written = write_component(&card, &options);
        let again = match parse_object(written.as_bytes()) {
            Ok(object) => object.component,
            Err(error) => panic!("the writer's output does not parse ({error}): {written:?}"),
        };
        match again.property("PHOTO").map(|p| &p.value) {
            _ if payload.is_empty() => {}
            Some(Value::Binary(data)) => assert_eq!(data, payload, "PHOTO: {written:?}"),
            other => panic!("PHOTO came back as {other:?}: {written:?}"),
        }
        assert_eq!(
            again.text_of("NOTE").as_deref(),
            Some(printable.as_str()),
            "NOTE (legacy {legacy}, {}): {written:?}",
            charset.name()
        );
        assert_eq!(
            again.property("N").map(|n| n.components()),
            Some(vec![printable.clone(), "x".into(), printable.clone()]),
            "N (legacy {legacy}, {}): {written:?}",
            charset.name()
        );
    }
}
