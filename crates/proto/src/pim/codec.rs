//! Byte-level codecs used by content lines: quoted-printable, base64,
//! charsets and the text escaping of RFC 2426/5545.

use encoding_rs::Encoding;

/// Decodes quoted-printable data. Soft line breaks have already been removed
/// by unfolding; a `=` not followed by two hex digits is kept literally,
/// because phones emit such values (a value ending in `=`).
pub fn decode_quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'=' {
            if let (Some(high), Some(low)) = (
                input.get(i + 1).and_then(|b| hex_digit(*b)),
                input.get(i + 2).and_then(|b| hex_digit(*b)),
            ) {
                out.push(high * 16 + low);
                i += 3;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Encodes bytes as quoted-printable lines of at most 76 characters, joined
/// by soft line breaks (`=` CRLF). An `=XX` escape is never split.
pub fn encode_quoted_printable(input: &[u8], first_line_used: usize) -> String {
    const MAX: usize = 76;
    let mut out = String::new();
    let mut line_len = first_line_used;
    for (index, &byte) in input.iter().enumerate() {
        let is_last = index + 1 == input.len();
        let literal = (byte.is_ascii_graphic() && byte != b'=') || (byte == b' ' && !is_last);
        let piece_len = if literal { 1 } else { 3 };
        // Keep room for the soft-break '=' itself.
        if line_len + piece_len > MAX - 1 {
            out.push_str("=\r\n");
            line_len = 0;
        }
        if literal {
            out.push(byte as char);
        } else {
            out.push_str(&format!("={byte:02X}"));
        }
        line_len += piece_len;
    }
    out
}

/// The base64 engine for phone data: padding optional, non-zero trailing bits accepted
/// (phones are not strict). The `base64` crate does the decoding: it is several times faster
/// than a byte-at-a-time loop, which matters for photos.
const LENIENT_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes base64, ignoring whitespace (folded photo data) and accepting a
/// missing padding. Returns `None` on any other foreign character.
pub fn decode_base64(input: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let compact: std::borrow::Cow<'_, [u8]> = if input.iter().any(is_space) {
        std::borrow::Cow::Owned(input.iter().copied().filter(|b| !is_space(b)).collect())
    } else {
        std::borrow::Cow::Borrowed(input)
    };
    // Padding is optional, and some phones write too much or too little of it: drop it all.
    let end = compact
        .iter()
        .rposition(|&b| b != b'=')
        .map_or(0, |last| last + 1);
    let mut data = &compact[..end];
    if data.contains(&b'=') {
        return None; // padding in the middle
    }
    // A lone final character carries 6 bits, less than a byte: nothing to decode from it,
    // but it must still be base64.
    if data.len() % 4 == 1 {
        let last = data[data.len() - 1];
        if !(last.is_ascii_alphanumeric() || last == b'+' || last == b'/') {
            return None;
        }
        data = &data[..data.len() - 1];
    }
    LENIENT_BASE64.decode(data).ok()
}

/// Encodes bytes as base64 with padding, in one line.
pub fn encode_base64(input: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(input)
}

/// Finds an encoding by its CHARSET label (`UTF-8`, `ISO-8859-1`,
/// `Windows-1251`, `Big5`...). `ISO-8859-1` maps to windows-1252 as the WHATWG
/// standard does, which is a superset phones' Latin-1 text fits in.
pub fn charset_by_label(label: &str) -> Option<&'static Encoding> {
    Encoding::for_label(label.trim().as_bytes())
}

/// Decodes bytes in `charset`; without one, UTF-8 when the bytes are valid
/// UTF-8, else windows-1252, the usual charset of phones that send 8-bit text
/// without a CHARSET parameter.
pub fn decode_text(bytes: &[u8], charset: Option<&'static Encoding>) -> String {
    match charset {
        Some(encoding) => encoding.decode_without_bom_handling(bytes).0.into_owned(),
        None => match std::str::from_utf8(bytes) {
            Ok(text) => text.to_owned(),
            Err(_) => encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
                .into_owned(),
        },
    }
}

/// Encodes text in `charset`; `None` when the bytes would not read back as the same text
/// there: a character without a mapping, a charset encoding_rs writes as another (UTF-16
/// comes out as UTF-8), or a lossy mapping (the Japanese encoders write ¥ as 0x5C, which
/// reads back as a backslash). The callers then write UTF-8.
pub fn encode_text(text: &str, charset: &'static Encoding) -> Option<Vec<u8>> {
    if charset == encoding_rs::UTF_8 {
        return Some(text.as_bytes().to_vec());
    }
    if charset.output_encoding() != charset {
        return None;
    }
    let (bytes, _, had_errors) = charset.encode(text);
    if had_errors || charset.decode_without_bom_handling(&bytes).0 != text {
        return None;
    }
    Some(bytes.into_owned())
}

/// Undoes the canonical escaping of one text value: `\n` (or `\N`), `\\`,
/// `\;`, `\,` and `\:`. Any other backslash stays as it is.
pub fn unescape_text(escaped: &str) -> String {
    let mut out = String::with_capacity(escaped.len());
    let mut chars = escaped.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('n') | Some('N') => {
                out.push('\n');
                chars.next();
            }
            Some(&next @ ('\\' | ';' | ',' | ':')) => {
                out.push(next);
                chars.next();
            }
            _ => out.push('\\'),
        }
    }
    out
}

/// Escapes one text component into the canonical form.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            // CRLF, LF and a lone CR (some phones) all mean a line break.
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out
}

/// Splits an escaped value on an unescaped separator, keeping the escapes.
pub fn split_escaped(escaped: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped_next = false;
    for (index, c) in escaped.char_indices() {
        if escaped_next {
            escaped_next = false;
        } else if c == '\\' {
            escaped_next = true;
        } else if c == separator {
            parts.push(&escaped[start..index]);
            start = index + c.len_utf8();
        }
    }
    parts.push(&escaped[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_encoded_only_where_it_reads_back_the_same() {
        let utf16 = charset_by_label("UTF-16").unwrap();
        assert_eq!(
            encode_text("é", utf16),
            None,
            "encoding_rs writes UTF-16 as UTF-8"
        );
        let sjis = charset_by_label("Shift_JIS").unwrap();
        assert_eq!(
            encode_text("Yamada ¥", sjis),
            None,
            "¥ would read back as a backslash"
        );
        let kana = encode_text("ヤマダ", sjis).expect("kana map");
        assert_eq!(decode_text(&kana, Some(sjis)), "ヤマダ");
        let latin = charset_by_label("ISO-8859-1").unwrap();
        assert_eq!(encode_text("Müller", latin), Some(b"M\xfcller".to_vec()));
    }

    #[test]
    fn a_lone_final_character_must_be_base64_too() {
        assert_eq!(decode_base64(b"YWJjZ").as_deref(), Some(&b"abc"[..]));
        assert_eq!(decode_base64(b"YWJj*"), None);
        assert_eq!(decode_base64(b"\xfe"), None);
    }

    #[test]
    fn quoted_printable_round_trip_keeps_bytes() {
        let data = "Grüße = 100%\r\nzweite Zeile ".as_bytes();
        let encoded = encode_quoted_printable(data, 0);
        let joined = encoded.replace("=\r\n", "");
        assert_eq!(decode_quoted_printable(joined.as_bytes()), data);
    }

    #[test]
    fn quoted_printable_keeps_stray_equal_sign() {
        assert_eq!(decode_quoted_printable(b"sign="), b"sign=");
        assert_eq!(decode_quoted_printable(b"a=ZZb"), b"a=ZZb");
    }

    #[test]
    fn long_quoted_printable_never_splits_an_escape() {
        let data = "ж".repeat(60);
        let encoded = encode_quoted_printable(data.as_bytes(), 20);
        for line in encoded.split("\r\n") {
            assert!(line.len() <= 76, "{line}");
            let body = line.strip_suffix('=').unwrap_or(line);
            assert!(body.len() % 3 == 0, "escape split in {line}");
        }
        let joined = encoded.replace("=\r\n", "");
        assert_eq!(decode_quoted_printable(joined.as_bytes()), data.as_bytes());
    }

    #[test]
    fn base64_round_trip_and_whitespace() {
        for data in [&b""[..], b"a", b"ab", b"abc", b"abcd\x00\xff"] {
            let encoded = encode_base64(data);
            assert_eq!(decode_base64(encoded.as_bytes()).unwrap(), data);
        }
        assert_eq!(decode_base64(b"YWJj\r\n ZGVm").unwrap(), b"abcdef");
        assert!(decode_base64(b"YW*j").is_none());
        // Phones' padding: missing, short, excess; padding before data is an error.
        for lenient in [&b"YWI"[..], b"YWI=", b"YWI==", b"YWI=\r\n"] {
            assert_eq!(decode_base64(lenient).unwrap(), b"ab");
        }
        assert!(decode_base64(b"YQ==YQ==").is_none());
        assert_eq!(decode_base64(b"YWJjZ").unwrap(), b"abc");
    }

    #[test]
    fn charsets_decode_legacy_text() {
        let latin1 = charset_by_label("ISO-8859-1").unwrap();
        assert_eq!(decode_text(b"Caf\xe9", Some(latin1)), "Café");
        let cyrillic = charset_by_label("Windows-1251").unwrap();
        assert_eq!(decode_text(b"\xcf\xf0\xe8", Some(cyrillic)), "При");
        assert_eq!(decode_text(b"Caf\xe9", None), "Café");
        assert_eq!(decode_text("Café".as_bytes(), None), "Café");
        assert!(encode_text("При", latin1).is_none());
        assert_eq!(encode_text("Café", latin1).unwrap(), b"Caf\xe9");
    }

    #[test]
    fn escaping_round_trip() {
        let text = "a;b,c\\d\ne";
        assert_eq!(escape_text(text), "a\\;b\\,c\\\\d\\ne");
        assert_eq!(unescape_text(&escape_text(text)), text);
        assert_eq!(split_escaped("a\\;b;c", ';'), vec!["a\\;b", "c"]);
    }
}
