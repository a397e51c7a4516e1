//! The content-line layer shared by vCard, vCalendar/iCalendar and vNote:
//! unfolding (RFC folding and quoted-printable soft breaks), grouped
//! properties, parameters, value decoding (QP, base64, CHARSET), and the
//! writers for the legacy (vCard 2.1, vCalendar 1.0, vNote 1.1) and modern
//! (vCard 3.0, iCalendar 2.0) dialects.
//!
//! Values are held in one canonical form whatever the input dialect: text
//! decoded to Unicode, with the escapes of RFC 2426/5545 (`\n`, `\\`, `\;`,
//! `\,`) marking newlines and literal separators, so that an unescaped `;`
//! separates components and an unescaped `,` separates list items.

use encoding_rs::Encoding;

use super::codec;
use super::error::{ParseError, ParseErrorKind};

/// One parameter: `TYPE=HOME,VOICE` is `{ name: "TYPE", values: [HOME, VOICE] }`.
/// Names are upper case; TYPE values too (they are case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub values: Vec<String>,
}

/// A decoded property value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Text in canonical escaped form (see the module documentation).
    Text(String),
    /// Inline binary data (`ENCODING=BASE64` or `b`), e.g. a PHOTO.
    Binary(Vec<u8>),
}

/// One property, with its group (`item1` in `item1.TEL`), upper-case name,
/// parameters in input order (ENCODING and CHARSET are consumed by decoding
/// and chosen again by the writer) and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub group: Option<String>,
    pub name: String,
    pub params: Vec<Param>,
    pub value: Value,
}

/// A BEGIN/END block: its properties in order, and nested blocks in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Component {
    pub name: String,
    pub properties: Vec<Property>,
    pub components: Vec<Component>,
}

/// A top-level object as parsed, with the exact bytes it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedObject {
    pub component: Component,
    pub original: Vec<u8>,
}

/// Legacy: vCard 2.1, vCalendar 1.0, vNote 1.1 (QP, CHARSET, bare types).
/// Modern: vCard 3.0/4.0, iCalendar 2.0 (UTF-8, backslash escapes, folding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Legacy,
    Modern,
}

/// Which family of formats a component belongs to; writers need it for the
/// few places where vCard and vCalendar differ (list separators, binary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    VCard,
    VCalendar,
    VNote,
}

impl Family {
    pub fn of(component_name: &str) -> Family {
        match component_name.to_ascii_uppercase().as_str() {
            "VCARD" => Family::VCard,
            "VNOTE" => Family::VNote,
            _ => Family::VCalendar,
        }
    }
}

/// Properties whose value is a list of items: separated by `,` in the
/// modern dialect and by `;` in vCalendar 1.0.
fn is_list_property(name: &str) -> bool {
    matches!(name, "CATEGORIES" | "RESOURCES" | "EXDATE" | "RDATE")
}

impl Param {
    pub fn new(name: &str, values: &[&str]) -> Self {
        Param {
            name: name.to_ascii_uppercase(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }
}

impl Property {
    /// A property holding `text` (plain, unescaped).
    pub fn text(name: &str, text: &str) -> Self {
        Property {
            group: None,
            name: name.to_ascii_uppercase(),
            params: Vec::new(),
            value: Value::Text(codec::escape_text(text)),
        }
    }

    /// A property holding an already escaped or structured canonical value,
    /// e.g. `Doe;John;;;` for N or `FREQ=DAILY` for RRULE.
    pub fn raw(name: &str, escaped: &str) -> Self {
        Property {
            group: None,
            name: name.to_ascii_uppercase(),
            params: Vec::new(),
            value: Value::Text(escaped.to_string()),
        }
    }

    /// A property with components joined by `;` (N, ADR, ORG...).
    pub fn structured(name: &str, parts: &[&str]) -> Self {
        let escaped: Vec<String> = parts.iter().map(|p| codec::escape_text(p)).collect();
        Property::raw(name, &escaped.join(";"))
    }

    pub fn with_param(mut self, name: &str, values: &[&str]) -> Self {
        self.add_param(name, values);
        self
    }

    /// Adds values to a parameter, creating it if needed (TYPE values are
    /// upper-cased and not repeated).
    pub fn add_param(&mut self, name: &str, values: &[&str]) {
        let name = name.to_ascii_uppercase();
        let is_type = name == "TYPE";
        let normalized: Vec<String> = values
            .iter()
            .map(|v| {
                if is_type {
                    v.to_ascii_uppercase()
                } else {
                    v.to_string()
                }
            })
            .collect();
        if let Some(existing) = self.params.iter_mut().find(|p| p.name == name) {
            for value in normalized {
                if !existing.values.contains(&value) {
                    existing.values.push(value);
                }
            }
        } else {
            self.params.push(Param {
                name,
                values: normalized,
            });
        }
    }

    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The first value of a parameter.
    pub fn param_value(&self, name: &str) -> Option<&str> {
        self.param(name)
            .and_then(|p| p.values.first())
            .map(String::as_str)
    }

    pub fn remove_param(&mut self, name: &str) {
        self.params.retain(|p| !p.name.eq_ignore_ascii_case(name));
    }

    /// TYPE values, upper case (`HOME`, `CELL`, `PREF`, `INTERNET`...).
    pub fn types(&self) -> &[String] {
        self.param("TYPE")
            .map(|p| p.values.as_slice())
            .unwrap_or(&[])
    }

    pub fn has_type(&self, wanted: &str) -> bool {
        self.types().iter().any(|t| t.eq_ignore_ascii_case(wanted))
    }

    /// The value as canonical escaped text ("" for binary values).
    pub fn escaped(&self) -> &str {
        match &self.value {
            Value::Text(text) => text,
            Value::Binary(_) => "",
        }
    }

    /// The value as plain text, escapes undone.
    pub fn text_value(&self) -> String {
        codec::unescape_text(self.escaped())
    }

    /// The `;`-separated components, each unescaped (N, ADR, ORG).
    pub fn components(&self) -> Vec<String> {
        codec::split_escaped(self.escaped(), ';')
            .into_iter()
            .map(codec::unescape_text)
            .collect()
    }

    /// The `,`-separated list items, each unescaped (CATEGORIES, EXDATE).
    pub fn list_items(&self) -> Vec<String> {
        codec::split_escaped(self.escaped(), ',')
            .into_iter()
            .map(codec::unescape_text)
            .filter(|item| !item.is_empty())
            .collect()
    }

    /// Whether two values hold the same data: binary equal, or text with
    /// the same components once unescaped (a comma escaped by one writer
    /// and left bare by another is the same comma).
    pub fn same_value(&self, other: &Property) -> bool {
        match (&self.value, &other.value) {
            (Value::Text(_), Value::Text(_)) => {
                // Phones drop trailing empty components (`N:Doe;John` for
                // `N:Doe;John;;;`).
                let trimmed = |property: &Property| {
                    let mut parts = property.components();
                    while parts.len() > 1 && parts.last().is_some_and(String::is_empty) {
                        parts.pop();
                    }
                    parts
                };
                trimmed(self) == trimmed(other)
            }
            (a, b) => a == b,
        }
    }

    pub fn binary(&self) -> Option<&[u8]> {
        match &self.value {
            Value::Binary(data) => Some(data),
            Value::Text(_) => None,
        }
    }

    /// True when the value holds nothing but separators (`EMAIL:`, `N:;;;;`).
    pub fn is_empty(&self) -> bool {
        match &self.value {
            Value::Text(text) => text.chars().all(|c| c == ';' || c == ','),
            Value::Binary(data) => data.is_empty(),
        }
    }
}

impl Component {
    pub fn new(name: &str) -> Self {
        Component {
            name: name.to_ascii_uppercase(),
            ..Component::default()
        }
    }

    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    pub fn property_mut(&mut self, name: &str) -> Option<&mut Property> {
        self.properties
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    pub fn properties_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Property> {
        self.properties
            .iter()
            .filter(move |p| p.name.eq_ignore_ascii_case(name))
    }

    /// Plain text of the first property of that name.
    pub fn text_of(&self, name: &str) -> Option<String> {
        self.property(name).map(Property::text_value)
    }

    /// Replaces the first property of that name, or appends it.
    pub fn set(&mut self, property: Property) {
        match self.properties.iter_mut().find(|p| p.name == property.name) {
            Some(existing) => *existing = property,
            None => self.properties.push(property),
        }
    }

    pub fn remove_all(&mut self, name: &str) {
        self.properties
            .retain(|p| !p.name.eq_ignore_ascii_case(name));
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Component> {
        self.components
            .iter()
            .filter(move |c| c.name.eq_ignore_ascii_case(name))
    }

    pub fn version(&self) -> Option<String> {
        self.text_of("VERSION").map(|v| v.trim().to_string())
    }

    /// The dialect this top-level component is written in, from its
    /// VERSION (phones that omit it speak the legacy formats).
    pub fn dialect(&self) -> Dialect {
        dialect_for(&self.name, self.version().as_deref())
    }
}

fn dialect_for(name: &str, version: Option<&str>) -> Dialect {
    match (Family::of(name), version) {
        (Family::VCard, Some(v)) if v.starts_with('3') || v.starts_with('4') => Dialect::Modern,
        (Family::VCalendar, Some(v)) if v.starts_with('2') => Dialect::Modern,
        _ => Dialect::Legacy,
    }
}

// ---------------------------------------------------------------- parsing

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
            Value::Text(match dialect {
                Dialect::Legacy => legacy_to_canonical(&text, &raw.name),
                Dialect::Modern => modern_to_canonical(&text),
            })
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

/// Legacy text: literal newlines, literal commas; `\;` marks a literal `;`
/// and phones also send `\n` and `\\` (gammu reads them the same way). In
/// list properties both `;` and `,` separate items.
fn legacy_to_canonical(text: &str, name: &str) -> String {
    let list = is_list_property(name);
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
                _ => out.push_str("\\\\"),
            },
            // CRLF, LF and a lone CR (some phones) all mean a line break.
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' => out.push_str("\\n"),
            ',' if !list => out.push_str("\\,"),
            ';' if list => out.push(','),
            _ => out.push(c),
        }
    }
    out
}

/// Modern text is already escaped; normalise `\N` and `\:` and make a stray
/// backslash literal, so that equal values have equal canonical forms.
fn modern_to_canonical(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
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
                Some(':') => {
                    out.push(':');
                    chars.next();
                }
                _ => out.push_str("\\\\"),
            },
            // CRLF, LF and a lone CR (some phones) all mean a line break.
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------- writing

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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Component {
        parse_object(text.as_bytes()).unwrap().component
    }

    #[test]
    fn qp_soft_break_splitting_a_utf8_character() {
        // Soft break between the two bytes of "н" (D0 BD), as a SE phone sends.
        let card = parse(
            "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=98=D0=\r\n=BD;=D0=90\r\nEND:VCARD\r\n",
        );
        assert_eq!(card.property("N").unwrap().components(), vec!["Ин", "А"]);
    }

    #[test]
    fn qp_line_broken_without_soft_break() {
        let card = parse(
            "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:\r\n;=D0=A2=D0=B0\r\nTEL:1\r\nEND:VCARD\r\n",
        );
        assert_eq!(card.property("N").unwrap().components(), vec!["", "Та"]);
    }

    #[test]
    fn qp_soft_break_between_the_bytes_of_a_character() {
        let card = parse(
            "BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Caf=C3=\r\n=A9 =C3=A9=\r\nt=C3=A9\r\nEND:VCARD\r\n",
        );
        assert_eq!(card.text_of("NOTE").unwrap(), "Café été");
    }

    #[test]
    fn qp_soft_break_inside_an_escape() {
        // `=C3` cut after `=C`, and after `=`.
        let card = parse(
            "BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Caf=C=\r\n3=A9 caf==\r\nC3=A9\r\nEND:VCARD\r\n",
        );
        assert_eq!(card.text_of("NOTE").unwrap(), "Café café");
    }

    #[test]
    fn folding_groups_types_and_quotes() {
        let card = parse(
            "BEGIN:VCARD\nVERSION:3.0\nitem1.TEL;TYPE=work,voice;TYPE=pref:+1 555\n 0100\nX-A;X-P=\"a:b;c\":v\nEND:VCARD\n",
        );
        let tel = card.property("TEL").unwrap();
        assert_eq!(tel.group.as_deref(), Some("item1"));
        assert_eq!(tel.types(), ["WORK", "VOICE", "PREF"]);
        assert_eq!(tel.text_value(), "+1 5550100");
        assert_eq!(
            card.property("X-A").unwrap().param_value("X-P"),
            Some("a:b;c")
        );
    }

    #[test]
    fn bare_legacy_params_become_type_and_encoding() {
        let card = parse(
            "BEGIN:VCARD\nVERSION:2.1\nTEL;CELL;HOME:1\nNOTE;QUOTED-PRINTABLE:a=3Db\nEND:VCARD\n",
        );
        assert_eq!(card.property("TEL").unwrap().types(), ["CELL", "HOME"]);
        assert_eq!(card.text_of("NOTE").unwrap(), "a=b");
    }

    #[test]
    fn charset_parameter_decodes_windows_1251_and_latin1() {
        let mut input = b"BEGIN:VCARD\nVERSION:2.1\nN;CHARSET=WINDOWS-1251:".to_vec();
        input.extend_from_slice(
            b"\xcf\xe5\xf2\xf0\xee\xe2\nFN;CHARSET=ISO-8859-1:Ren\xe9\nEND:VCARD\n",
        );
        let card = parse_object(&input).unwrap().component;
        assert_eq!(card.text_of("N").unwrap(), "Петров");
        assert_eq!(card.text_of("FN").unwrap(), "René");
    }

    #[test]
    fn unknown_charset_is_an_error_with_line() {
        let error =
            parse_object(b"BEGIN:VCARD\nVERSION:2.1\nN;CHARSET=X-NOPE:a\nEND:VCARD\n").unwrap_err();
        assert_eq!(error.line, 3);
        assert_eq!(error.kind, ParseErrorKind::UnknownCharset("X-NOPE".into()));
    }

    #[test]
    fn structural_errors_name_the_line() {
        let missing = parse_object(b"BEGIN:VCARD\nVERSION:2.1\nEND:VCALENDAR\n").unwrap_err();
        assert_eq!(missing.line, 3);
        let open = parse_object(b"BEGIN:VCARD\nVERSION:2.1\nN:a\n").unwrap_err();
        assert_eq!(
            open.kind,
            ParseErrorKind::UnterminatedComponent("VCARD".into())
        );
        let colon = parse_object(b"BEGIN:VCARD\nVERSION:2.1\nN\n\nEND:VCARD\n").unwrap_err();
        assert_eq!((colon.line, colon.kind), (3, ParseErrorKind::MissingColon));
        let base64 = parse_object(b"BEGIN:VCARD\nVERSION:3.0\nPHOTO;ENCODING=b:%%%\nEND:VCARD\n")
            .unwrap_err();
        assert_eq!(
            (base64.line, base64.kind),
            (3, ParseErrorKind::InvalidBase64)
        );
        assert_eq!(
            parse_object(b"").unwrap_err().kind,
            ParseErrorKind::NoObject
        );
    }

    #[test]
    fn many_lines_without_colon_parse_in_linear_time() {
        let mut input = b"BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE;X=".to_vec();
        for _ in 0..50_000 {
            input.extend_from_slice(b"abcdefgh=\r\n");
        }
        input.extend_from_slice(b":v\r\nEND:VCARD\r\n");
        let started = std::time::Instant::now();
        let card = parse_object(&input).unwrap().component;
        assert!(started.elapsed().as_secs() < 5);
        assert_eq!(card.text_of("NOTE").unwrap(), "v");
    }

    #[test]
    fn byte_order_marks_and_utf16_files() {
        let mut utf8 = vec![0xEF, 0xBB, 0xBF];
        utf8.extend_from_slice("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zoë\r\nEND:VCARD\r\n".as_bytes());
        assert_eq!(
            parse_object(&utf8)
                .unwrap()
                .component
                .text_of("FN")
                .unwrap(),
            "Zoë"
        );
        let mut utf16 = vec![0xFF, 0xFE];
        for unit in "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Zoë;A\r\nEND:VCARD\r\n".encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        let card = parse_object(&utf16).unwrap().component;
        assert_eq!(card.property("N").unwrap().components(), ["Zoë", "A"]);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let input = "BEGIN:X\r\n".repeat(100_000);
        let error = parse_objects(input.as_bytes()).unwrap_err();
        assert_eq!(
            (error.line, error.kind),
            (17, ParseErrorKind::NestingTooDeep)
        );
    }

    #[test]
    fn hostile_bytes_never_panic() {
        let samples: [&[u8]; 6] = [
            b"BEGIN:VCARD\n=\n",
            b"\xff\xfe\x00BEGIN",
            b"BEGIN:\nEND:\n",
            b"BEGIN:VCARD\nN;ENCODING=QUOTED-PRINTABLE:=\nEND:VCARD",
            b":\n;;;:\n",
            b"BEGIN:VCARD\nPHOTO;BASE64:====\nEND:VCARD\n",
        ];
        for sample in samples {
            let _ = parse_objects(sample);
        }
    }

    #[test]
    fn escapes_are_canonical_in_both_dialects() {
        let legacy = parse("BEGIN:VCARD\nVERSION:2.1\nNOTE:a, b\\;c\\nd\\M\\\nEND:VCARD\n");
        assert_eq!(legacy.text_of("NOTE").unwrap(), "a, b;c\nd\\M\\");
        let modern = parse("BEGIN:VCARD\nVERSION:3.0\nNOTE:a\\, b\\;c\\nd\\:\nEND:VCARD\n");
        assert_eq!(modern.text_of("NOTE").unwrap(), "a, b;c\nd:");
    }

    #[test]
    fn legacy_writer_uses_qp_and_charset_and_round_trips() {
        let card = parse("BEGIN:VCARD\nVERSION:3.0\nN:Müller;Jörg\\, Jr.;;;\nNOTE:line1\\nline2\nTEL;TYPE=CELL,HOME:+49\nEND:VCARD\n");
        let latin1 = WriteOptions {
            legacy_charset: codec::charset_by_label("ISO-8859-1").unwrap(),
            ..WriteOptions::legacy()
        };
        let mut legacy_card = card.clone();
        legacy_card.set(Property::raw("VERSION", "2.1"));
        let written = write_component(&legacy_card, &latin1);
        assert!(written
            .contains("N;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller;J=F6rg, Jr.;;;"));
        assert!(written.contains("NOTE;ENCODING=QUOTED-PRINTABLE:line1=0D=0Aline2"));
        assert!(written.contains("TEL;CELL;HOME:+49"));
        let again = parse(&written);
        assert_eq!(again.properties[1..], card.properties[1..]);
    }

    #[test]
    fn quoted_printable_on_one_line_when_asked() {
        let mut card = Component::new("VCARD");
        card.properties.push(Property::raw("VERSION", "2.1"));
        card.properties
            .push(Property::text("NOTE", &"é".repeat(60)));
        let one_line = WriteOptions {
            soft_line_breaks: false,
            ..WriteOptions::legacy()
        };
        let written = write_component(&card, &one_line);
        assert_eq!(written.lines().count(), 4);
        assert_eq!(parse(&written), card);
        assert!(
            write_component(&card, &WriteOptions::legacy())
                .lines()
                .count()
                > 4
        );
    }

    #[test]
    fn vcalendar_keeps_named_type_parameters() {
        let calendar = parse("BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nAALARM;TYPE=X-EPOCSOUND:20061005T075000Z;;;x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        let written = write_component(&calendar, &WriteOptions::legacy());
        assert!(
            written.contains("AALARM;TYPE=X-EPOCSOUND:20061005T075000Z;;;x"),
            "{written}"
        );
    }

    #[test]
    fn modern_writer_folds_and_round_trips_binary() {
        let mut card = Component::new("VCARD");
        card.properties.push(Property::raw("VERSION", "3.0"));
        card.properties
            .push(Property::text("NOTE", &"ä".repeat(100)));
        card.properties.push(Property {
            group: None,
            name: "PHOTO".into(),
            params: vec![Param::new("TYPE", &["JPEG"])],
            value: Value::Binary((0..=255).collect()),
        });
        let written = write_component(&card, &WriteOptions::modern());
        assert!(written.lines().all(|l| l.len() <= 75));
        assert_eq!(parse(&written), card);
        let mut legacy_card = card.clone();
        legacy_card.set(Property::raw("VERSION", "2.1"));
        let legacy = write_component(&legacy_card, &WriteOptions::legacy());
        let mut again = parse(&legacy);
        again.set(Property::raw("VERSION", "3.0"));
        assert_eq!(again, card);
    }
}

#[cfg(test)]
mod property_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Hostile bytes from a phone never make the parser panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_objects(&bytes);
        }

        /// Arbitrary lines inside a vCard never make the parser panic.
        #[test]
        fn arbitrary_lines_in_a_card_never_panic(body in "[ -~\t=;:,\\\\\r\n]{0,300}") {
            let input = format!("BEGIN:VCARD\r\nVERSION:2.1\r\n{body}\r\nEND:VCARD\r\n");
            let _ = parse_objects(input.as_bytes());
        }

        /// Any printable text (`\PC`: no control characters) survives both
        /// writers.
        #[test]
        fn any_text_round_trips(text in "\\PC{0,120}", legacy in any::<bool>()) {
            let mut card = Component::new("VCARD");
            card.properties.push(Property::raw("VERSION", if legacy { "2.1" } else { "3.0" }));
            card.properties.push(Property::text("NOTE", &text));
            card.properties.push(Property::structured("N", &[&text, "x", &text]));
            let options = if legacy { WriteOptions::legacy() } else { WriteOptions::modern() };
            let written = write_component(&card, &options);
            let again = parse_object(written.as_bytes()).unwrap().component;
            prop_assert_eq!(again.text_of("NOTE").unwrap(), text.clone());
            prop_assert_eq!(again.property("N").unwrap().components()[0].clone(), text.clone());
        }
    }
}
