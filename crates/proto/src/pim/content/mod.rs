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
//!
//! Here the types; reading in `parse`, the writers in `write`.

use super::codec;

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

mod parse;
mod write;

pub use parse::{parse_object, parse_objects, parse_objects_with};
pub use write::{write_component, WriteOptions};

#[cfg(test)]
mod tests;
