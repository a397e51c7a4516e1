//! Writing components in the legacy (vCard 2.1, vCalendar 1.0, vNote 1.1) and modern
//! (vCard 3.0, iCalendar 2.0) dialects.

use encoding_rs::Encoding;

use super::{is_list_property, Component, Dialect, Family, Property, Value};
use crate::pim::codec;

/// How to write a component.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    pub dialect: Dialect,
    /// Charset for non-ASCII legacy text (UTF-8 unless a phone profile says
    /// otherwise); text it cannot hold falls back to UTF-8.
    pub legacy_charset: &'static Encoding,
    /// Break long quoted-printable values with soft line breaks; phones that
    /// take no folded lines (Motorola V3) want one line per property.
    pub soft_line_breaks: bool,
}

impl WriteOptions {
    pub fn legacy() -> Self {
        WriteOptions {
            dialect: Dialect::Legacy,
            legacy_charset: encoding_rs::UTF_8,
            soft_line_breaks: true,
        }
    }

    pub fn modern() -> Self {
        WriteOptions {
            dialect: Dialect::Modern,
            legacy_charset: encoding_rs::UTF_8,
            soft_line_breaks: true,
        }
    }
}

/// Writes a component and its children with CRLF line ends.
pub fn write_component(component: &Component, options: &WriteOptions) -> String {
    let family = Family::of(&component.name);
    let mut out = String::new();
    write_into(component, family, options, &mut out);
    out
}

fn write_into(component: &Component, family: Family, options: &WriteOptions, out: &mut String) {
    out.push_str("BEGIN:");
    out.push_str(&component.name);
    out.push_str("\r\n");
    for property in &component.properties {
        match options.dialect {
            Dialect::Legacy => write_legacy_property(property, family, options, out),
            Dialect::Modern => write_modern_property(property, family, out),
        }
    }
    for child in &component.components {
        write_into(child, family, options, out);
    }
    out.push_str("END:");
    out.push_str(&component.name);
    out.push_str("\r\n");
}

fn write_name(property: &Property, out: &mut String) {
    if let Some(group) = &property.group {
        out.push_str(group);
        out.push('.');
    }
    out.push_str(&property.name);
}

fn quote_param_value(value: &str) -> String {
    if value.contains([':', ';', ',']) {
        format!("\"{}\"", value.replace('"', "'"))
    } else {
        value.to_string()
    }
}

fn write_modern_property(property: &Property, family: Family, out: &mut String) {
    let mut line = String::new();
    write_name(property, &mut line);
    for param in &property.params {
        line.push(';');
        line.push_str(&param.name);
        line.push('=');
        let values: Vec<String> = param.values.iter().map(|v| quote_param_value(v)).collect();
        line.push_str(&values.join(","));
    }
    match &property.value {
        Value::Text(text) => {
            line.push(':');
            // A lone CR (from legacy `=0D`) would end the line early.
            line.push_str(&text.replace("\r\n", "\\n").replace('\r', "\\n"));
        }
        Value::Binary(data) => {
            line.push_str(match family {
                Family::VCard => ";ENCODING=b:",
                _ => ";ENCODING=BASE64;VALUE=BINARY:",
            });
            line.push_str(&codec::encode_base64(data));
        }
    }
    fold_line(&line, out);
}

/// Folds at 75 octets without splitting a UTF-8 sequence (RFC 5545 3.1).
fn fold_line(line: &str, out: &mut String) {
    let mut used = 0;
    for c in line.chars() {
        let width = c.len_utf8();
        if used + width > 75 {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += width;
    }
    out.push_str("\r\n");
}

/// Canonical escaped text to legacy text: newlines become real line breaks
/// (written through QP), commas literal, `\;` and `\\` kept.
fn canonical_to_legacy(escaped: &str, name: &str, family: Family) -> String {
    let list = is_list_property(name);
    let mut out = String::with_capacity(escaped.len());
    let mut chars = escaped.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') | Some('N') => out.push_str("\r\n"),
                Some(',') if !list => out.push(','),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            ',' if list && family == Family::VCalendar => out.push(';'),
            _ => out.push(c),
        }
    }
    out
}

fn write_legacy_property(
    property: &Property,
    family: Family,
    options: &WriteOptions,
    out: &mut String,
) {
    let mut head = String::new();
    write_name(property, &mut head);
    for param in &property.params {
        if param.name == "TYPE" && family == Family::VCard {
            // vCard 2.1 style bare types: `TEL;CELL;HOME`.
            for value in &param.values {
                head.push(';');
                head.push_str(value);
            }
        } else {
            head.push(';');
            head.push_str(&param.name);
            head.push('=');
            head.push_str(&param.values.join(","));
        }
    }
    match &property.value {
        Value::Binary(data) => {
            head.push_str(";ENCODING=BASE64:");
            out.push_str(&head);
            out.push_str("\r\n");
            let encoded = codec::encode_base64(data);
            for chunk in encoded.as_bytes().chunks(72) {
                out.push(' ');
                out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
                out.push_str("\r\n");
            }
            // vCard 2.1: base64 data ends with an empty line.
            out.push_str("\r\n");
        }
        Value::Text(escaped) => {
            let text = canonical_to_legacy(escaped, &property.name, family);
            let needs_qp = text
                .chars()
                .any(|c| !c.is_ascii() || (c.is_ascii_control() && c != '\t'))
                || text.ends_with(' ');
            if !needs_qp {
                out.push_str(&head);
                out.push(':');
                out.push_str(&text);
                out.push_str("\r\n");
                return;
            }
            let (bytes, charset) = if text.is_ascii() {
                (text.into_bytes(), None)
            } else {
                match codec::encode_text(&text, options.legacy_charset) {
                    Some(bytes) => (bytes, Some(options.legacy_charset)),
                    None => (text.into_bytes(), Some(encoding_rs::UTF_8)),
                }
            };
            if let Some(charset) = charset {
                head.push_str(";CHARSET=");
                head.push_str(charset_label(charset));
            }
            head.push_str(";ENCODING=QUOTED-PRINTABLE:");
            out.push_str(&head);
            let encoded = codec::encode_quoted_printable(&bytes, head.len());
            if options.soft_line_breaks {
                out.push_str(&encoded);
            } else {
                out.push_str(&encoded.replace("=\r\n", ""));
            }
            out.push_str("\r\n");
        }
    }
}

/// The label phones expect: `ISO-8859-1` rather than WHATWG's windows-1252
/// when the text fits Latin-1.
fn charset_label(charset: &'static Encoding) -> &'static str {
    if charset == encoding_rs::WINDOWS_1252 {
        "ISO-8859-1"
    } else {
        charset.name()
    }
}
