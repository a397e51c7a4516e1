//! Reading content lines: unfolding (RFC folding and quoted-printable soft breaks), grouped
//! properties, parameters, and value decoding (QP, base64, CHARSET) into the canonical form.

use encoding_rs::Encoding;

use super::{
    dialect_for, is_list_property, Component, Dialect, Param, ParsedObject, Property, Value,
};
use crate::pim::codec;
use crate::pim::error::{ParseError, ParseErrorKind};

/// A content line after unfolding, before value decoding.
#[derive(Debug)]
struct RawProperty {
    line: usize,
    group: Option<String>,
    name: String,
    params: Vec<Param>,
    value: Vec<u8>,
}

#[derive(Debug)]
struct RawComponent {
    name: String,
    line: usize,
    properties: Vec<RawProperty>,
    components: Vec<RawComponent>,
}

struct LogicalLine {
    line: usize,
    bytes: Vec<u8>,
    end_offset: usize,
}

/// Physical lines as (1-based number, start offset, end offset without the
/// terminator, offset after the terminator).
fn physical_lines(input: &[u8]) -> Vec<(usize, usize, usize)> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < input.len() {
        let (end, next) = match input[start..].iter().position(|&b| b == b'\n') {
            Some(pos) => (start + pos, start + pos + 1),
            None => (input.len(), input.len()),
        };
        let trimmed_end = if end > start && input[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        lines.push((start, trimmed_end, next));
        start = next;
    }
    lines
}

/// The part of a content line before its first `:` outside double quotes,
/// or `None` when there is no such colon.
fn head_length(bytes: &[u8]) -> Option<usize> {
    let mut quoted = false;
    for (index, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b':' if !quoted => return Some(index),
            _ => {}
        }
    }
    None
}

/// Finds the name/value colon of a growing logical line incrementally, so
/// that joining many lines stays linear (hostile input).
#[derive(Default)]
struct HeadScan {
    scanned: usize,
    quoted: bool,
    colon: Option<usize>,
    quoted_printable: Option<bool>,
}

impl HeadScan {
    fn colon(&mut self, bytes: &[u8]) -> Option<usize> {
        while self.colon.is_none() && self.scanned < bytes.len() {
            match bytes[self.scanned] {
                b'"' => self.quoted = !self.quoted,
                b':' if !self.quoted => self.colon = Some(self.scanned),
                _ => {}
            }
            self.scanned += 1;
        }
        self.colon
    }

    /// Whether the parameters ask for QUOTED-PRINTABLE; a line without its
    /// colon yet has no value to decode.
    fn is_quoted_printable(&mut self, bytes: &[u8]) -> bool {
        let Some(colon) = self.colon(bytes) else {
            return false;
        };
        *self.quoted_printable.get_or_insert_with(|| {
            bytes[..colon]
                .to_ascii_uppercase()
                .windows(16)
                .any(|w| w == b"QUOTED-PRINTABLE")
        })
    }
}

/// Joins physical lines into logical ones: RFC folding (a line starting with
/// space or tab continues the previous one, minus that one character), QP
/// soft breaks (a QP value ending in `=` continues on the next line, even when
/// the break splits a multi-byte character or an `=XX` escape), and lines cut
/// without any marker inside the parameters (some Symbian phones), recognised
/// by having no `:` at all and joined with a space.
fn logical_lines(input: &[u8]) -> Vec<LogicalLine> {
    let lines = physical_lines(input);
    let mut out = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let (start, end, mut next_offset) = lines[index];
        let line_number = index + 1;
        index += 1;
        if start == end {
            continue;
        }
        let mut bytes = input[start..end].to_vec();
        let mut head = HeadScan::default();
        while let Some(&(next_start, next_end, next_after)) = lines.get(index) {
            let next = &input[next_start..next_end];
            let quoted_printable = head.is_quoted_printable(&bytes);
            if bytes.last() == Some(&b'=') && quoted_printable {
                bytes.pop();
                bytes.extend_from_slice(next);
            } else if matches!(next.first(), Some(b'=' | b';')) && quoted_printable {
                // Sony Ericsson phones break QP values without the soft-break
                // `=`; no property name starts with `=` or `;`.
                bytes.extend_from_slice(next);
            } else if matches!(next.first(), Some(b' ' | b'\t')) {
                bytes.extend_from_slice(&next[1..]);
            } else if head.colon(&bytes).is_none()
                && !next.is_empty()
                && !next.to_ascii_uppercase().starts_with(b"END:")
                && !next.to_ascii_uppercase().starts_with(b"BEGIN:")
            {
                bytes.push(b' ');
                bytes.extend_from_slice(next);
            } else {
                break;
            }
            next_offset = next_after;
            index += 1;
        }
        out.push(LogicalLine {
            line: line_number,
            bytes,
            end_offset: next_offset,
        });
    }
    out
}

/// Splits on a separator byte outside double quotes.
fn split_unquoted(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (index, c) in text.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == separator && !quoted {
            parts.push(&text[start..index]);
            start = index + 1;
        }
    }
    parts.push(&text[start..]);
    parts
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

const BARE_ENCODINGS: [&str; 5] = ["QUOTED-PRINTABLE", "BASE64", "8BIT", "7BIT", "B"];

fn parse_params(tokens: &[&str]) -> Vec<Param> {
    let mut params: Vec<Param> = Vec::new();
    let mut push = |name: String, values: Vec<String>| {
        if let Some(existing) = params.iter_mut().find(|p| p.name == name) {
            if name == "TYPE" {
                for value in values {
                    if !existing.values.contains(&value) {
                        existing.values.push(value);
                    }
                }
                return;
            }
        }
        params.push(Param { name, values });
    };
    for token in tokens {
        let token = token.trim();
        if token.is_empty() {
            continue;
        }
        match token.split_once('=') {
            Some((name, value)) => {
                let name = name.trim().to_ascii_uppercase();
                let is_type = name == "TYPE";
                let values = split_unquoted(value, ',')
                    .into_iter()
                    .map(|v| {
                        let v = unquote(v.trim());
                        if is_type {
                            v.to_ascii_uppercase()
                        } else {
                            v.to_string()
                        }
                    })
                    .filter(|v| !v.is_empty())
                    .collect();
                push(name, values);
            }
            None => {
                // vCard 2.1 bare parameters: `TEL;CELL;HOME`, `PHOTO;BASE64`.
                let value = token.to_ascii_uppercase();
                let name = if BARE_ENCODINGS.contains(&value.as_str()) {
                    "ENCODING"
                } else {
                    "TYPE"
                };
                push(name.to_string(), vec![value]);
            }
        }
    }
    params
}

fn parse_content_line(logical: &LogicalLine) -> Result<RawProperty, ParseError> {
    let head_len = head_length(&logical.bytes)
        .ok_or_else(|| ParseError::new(logical.line, ParseErrorKind::MissingColon))?;
    let head = String::from_utf8_lossy(&logical.bytes[..head_len]);
    let tokens = split_unquoted(&head, ';');
    let full_name = tokens[0].trim();
    let (group, name) = match full_name.rsplit_once('.') {
        Some((group, name)) => (Some(group.to_string()), name),
        None => (None, full_name),
    };
    if name.is_empty() {
        return Err(ParseError::new(logical.line, ParseErrorKind::EmptyName));
    }
    Ok(RawProperty {
        line: logical.line,
        group,
        name: name.to_ascii_uppercase(),
        params: parse_params(&tokens[1..]),
        value: logical.bytes[head_len + 1..].to_vec(),
    })
}

const MAX_NESTING: usize = 16;

/// Parses every BEGIN/END object in `input` (several vCards in one file,
/// several VCALENDARs...). Never panics; errors name the line. 8-bit text
/// without CHARSET is read as UTF-8 when valid, else windows-1252.
pub fn parse_objects(input: &[u8]) -> Result<Vec<ParsedObject>, ParseError> {
    parse_objects_with(input, None)
}

/// Like [`parse_objects`], reading 8-bit text without a CHARSET parameter
/// in `default_charset` (a phone profile's charset) when given.
pub fn parse_objects_with(
    input: &[u8],
    default_charset: Option<&'static Encoding>,
) -> Result<Vec<ParsedObject>, ParseError> {
    // Windows tools write a byte order mark, and some export vCards in
    // UTF-16: read those as UTF-8 text (the originals are then UTF-8 too).
    if let Some((encoding, bom_length)) = Encoding::for_bom(input) {
        if encoding == encoding_rs::UTF_8 {
            return parse_lines(&input[bom_length..], default_charset);
        }
        let (text, _) = encoding.decode_without_bom_handling(&input[bom_length..]);
        return parse_lines(text.as_bytes(), default_charset);
    }
    parse_lines(input, default_charset)
}

fn parse_lines(
    input: &[u8],
    default_charset: Option<&'static Encoding>,
) -> Result<Vec<ParsedObject>, ParseError> {
    let mut objects = Vec::new();
    let mut stack: Vec<RawComponent> = Vec::new();
    let mut object_start = 0;
    let mut previous_end = 0;
    let lines = logical_lines(input);
    for logical in &lines {
        let property = parse_content_line(logical)?;
        let value_upper = String::from_utf8_lossy(&property.value)
            .trim()
            .to_ascii_uppercase();
        if property.group.is_none() && property.name == "BEGIN" {
            // Real items nest three deep (VCALENDAR/VTIMEZONE/STANDARD);
            // a bound keeps hostile input from exhausting the stack.
            if stack.len() >= MAX_NESTING {
                return Err(ParseError::new(
                    logical.line,
                    ParseErrorKind::NestingTooDeep,
                ));
            }
            if stack.is_empty() {
                object_start = previous_end;
            }
            stack.push(RawComponent {
                name: value_upper,
                line: logical.line,
                properties: Vec::new(),
                components: Vec::new(),
            });
        } else if property.group.is_none() && property.name == "END" {
            let Some(open) = stack.pop() else {
                return Err(ParseError::new(
                    logical.line,
                    ParseErrorKind::PropertyOutsideObject("END".into()),
                ));
            };
            // Tolerate trailing junk such as `END:VCARD.` seen from phones.
            if !value_upper.starts_with(&open.name) {
                return Err(ParseError::new(
                    logical.line,
                    ParseErrorKind::MismatchedEnd {
                        expected: open.name,
                        found: value_upper,
                    },
                ));
            }
            match stack.last_mut() {
                Some(parent) => parent.components.push(open),
                None => {
                    let component = decode_object(open, default_charset)?;
                    objects.push(ParsedObject {
                        component,
                        original: input[object_start..logical.end_offset].to_vec(),
                    });
                }
            }
        } else {
            match stack.last_mut() {
                Some(open) => open.properties.push(property),
                None => {
                    return Err(ParseError::new(
                        logical.line,
                        ParseErrorKind::PropertyOutsideObject(property.name),
                    ))
                }
            }
        }
        previous_end = logical.end_offset;
    }
    if let Some(open) = stack.into_iter().next() {
        return Err(ParseError::new(
            open.line,
            ParseErrorKind::UnterminatedComponent(open.name),
        ));
    }
    if objects.is_empty() {
        return Err(ParseError::new(1, ParseErrorKind::NoObject));
    }
    Ok(objects)
}

/// Parses exactly the first object of `input`.
pub fn parse_object(input: &[u8]) -> Result<ParsedObject, ParseError> {
    let mut objects = parse_objects(input)?;
    Ok(objects.remove(0))
}

fn raw_version(raw: &RawComponent) -> Option<String> {
    raw.properties
        .iter()
        .find(|p| p.name == "VERSION")
        .map(|p| String::from_utf8_lossy(&p.value).trim().to_string())
}

fn decode_object(
    raw: RawComponent,
    default_charset: Option<&'static Encoding>,
) -> Result<Component, ParseError> {
    let dialect = dialect_for(&raw.name, raw_version(&raw).as_deref());
    decode_component(raw, dialect, default_charset)
}

fn decode_component(
    raw: RawComponent,
    dialect: Dialect,
    default_charset: Option<&'static Encoding>,
) -> Result<Component, ParseError> {
    let mut component = Component::new(&raw.name);
    for property in raw.properties {
        component
            .properties
            .push(decode_property(property, dialect, default_charset)?);
    }
    for child in raw.components {
        component
            .components
            .push(decode_component(child, dialect, default_charset)?);
    }
    Ok(component)
}

fn decode_property(
    raw: RawProperty,
    dialect: Dialect,
    default_charset: Option<&'static Encoding>,
) -> Result<Property, ParseError> {
    let mut params = raw.params;
    let encoding = take_param(&mut params, "ENCODING").map(|v| v.to_ascii_uppercase());
    let charset_label = take_param(&mut params, "CHARSET");
    let value = match encoding.as_deref() {
        Some("BASE64") | Some("B") => {
            let data = codec::decode_base64(&raw.value)
                .ok_or_else(|| ParseError::new(raw.line, ParseErrorKind::InvalidBase64))?;
            Value::Binary(data)
        }
        _ => {
            let quoted_printable = encoding.as_deref() == Some("QUOTED-PRINTABLE");
            let bytes = if quoted_printable {
                codec::decode_quoted_printable(&raw.value)
            } else {
                raw.value
            };
            let charset = match charset_label {
                Some(label) => Some(codec::charset_by_label(&label).ok_or_else(|| {
                    ParseError::new(raw.line, ParseErrorKind::UnknownCharset(label.clone()))
                })?),
                None => None,
            };
            // A UTF-8 default is no better than the UTF-8-else-1252 guess.
            let fallback = default_charset.filter(|c| *c != encoding_rs::UTF_8);
            let text = match (charset, fallback) {
                (Some(charset), _) => codec::decode_text(&bytes, Some(charset)),
                (None, Some(default)) if !bytes.is_ascii() => {
                    codec::decode_text(&bytes, Some(default))
                }
                _ => codec::decode_text(&bytes, None),
            };
            Value::Text(to_canonical(&text, dialect, &raw.name))
        }
    };
    Ok(Property {
        group: raw.group,
        name: raw.name,
        params,
        value,
    })
}

fn take_param(params: &mut Vec<Param>, name: &str) -> Option<String> {
    let position = params.iter().position(|p| p.name == name)?;
    params.remove(position).values.into_iter().next()
}

/// Text in the canonical form. Both dialects mark a newline and a literal `\`, `;` or `,`
/// with a backslash (phones also send `\n` and `\\` in legacy text, and gammu reads them the
/// same way); CRLF, LF and a lone CR (some phones) all mean a line break; any other backslash
/// is made literal, so that equal values have equal canonical forms. Legacy text has literal
/// commas, and in list properties both `;` and `,` separate items; modern text may escape a
/// `:` as `\:`.
fn to_canonical(text: &str, dialect: Dialect, name: &str) -> String {
    let legacy = dialect == Dialect::Legacy;
    let list = legacy && is_list_property(name);
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some('n') | Some('N') => {
                    out.push_str("\\n");
                    chars.next();
                }
                Some(&next @ ('\\' | ';' | ',')) => {
                    out.push('\\');
                    out.push(next);
                    chars.next();
                }
                Some(':') if !legacy => {
                    out.push(':');
                    chars.next();
                }
                _ => out.push_str("\\\\"),
            },
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' => out.push_str("\\n"),
            ',' if legacy && !list => out.push_str("\\,"),
            ';' if list => out.push(','),
            _ => out.push(c),
        }
    }
    out
}
