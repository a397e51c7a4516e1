//! vCard 2.1 and 3.0 (read and write) and 4.0 (read): typed access over the
//! generic [`Component`], and conversion between the versions. Every
//! property, known or not, is kept in its original order.

use super::content::{self, Component, Dialect, Param, Property, Value, WriteOptions};
use super::datetime::Date;
use super::error::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VCardVersion {
    V21,
    V30,
    V40,
}

/// A vCard: the component with every property as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VCard {
    pub component: Component,
}

/// The five components of N.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StructuredName {
    pub family: String,
    pub given: String,
    pub additional: String,
    pub prefixes: String,
    pub suffixes: String,
}

/// A TEL or EMAIL value with its TYPE values (upper case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedValue {
    pub value: String,
    pub types: Vec<String>,
}

/// The seven components of ADR, and its types.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub po_box: String,
    pub extended: String,
    pub street: String,
    pub locality: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
    pub types: Vec<String>,
}

/// PHOTO (or LOGO): inline data with its image type, or a URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Photo {
    Inline {
        data: Vec<u8>,
        image_type: Option<String>,
    },
    Uri(String),
}

impl VCard {
    /// Parses every vCard in `input`.
    pub fn parse_all(input: &[u8]) -> Result<Vec<VCard>, ParseError> {
        Ok(content::parse_objects(input)?
            .into_iter()
            .map(|object| VCard {
                component: object.component,
            })
            .collect())
    }

    /// Parses the first vCard in `input`.
    pub fn parse(input: &[u8]) -> Result<VCard, ParseError> {
        Ok(VCard {
            component: content::parse_object(input)?.component,
        })
    }

    pub fn version(&self) -> VCardVersion {
        match self.component.version().as_deref() {
            Some(v) if v.starts_with('3') => VCardVersion::V30,
            Some(v) if v.starts_with('4') => VCardVersion::V40,
            _ => VCardVersion::V21,
        }
    }

    pub fn name(&self) -> Option<StructuredName> {
        let parts = self.component.property("N")?.components();
        let part = |i: usize| parts.get(i).cloned().unwrap_or_default();
        Some(StructuredName {
            family: part(0),
            given: part(1),
            additional: part(2),
            prefixes: part(3),
            suffixes: part(4),
        })
    }

    pub fn formatted_name(&self) -> Option<String> {
        self.component.text_of("FN")
    }

    pub fn telephones(&self) -> Vec<TypedValue> {
        self.typed_values("TEL")
            .into_iter()
            .map(|mut tel| {
                // vCard 4.0 writes numbers as tel: URIs.
                if let Some(number) = tel.value.strip_prefix("tel:") {
                    tel.value = number.to_string();
                }
                tel
            })
            .collect()
    }

    pub fn emails(&self) -> Vec<TypedValue> {
        self.typed_values("EMAIL")
    }

    fn typed_values(&self, name: &str) -> Vec<TypedValue> {
        self.component
            .properties_named(name)
            .map(|p| TypedValue {
                value: p.text_value(),
                types: p.types().to_vec(),
            })
            .collect()
    }

    pub fn addresses(&self) -> Vec<Address> {
        self.component
            .properties_named("ADR")
            .map(|p| {
                let parts = p.components();
                let part = |i: usize| parts.get(i).cloned().unwrap_or_default();
                Address {
                    po_box: part(0),
                    extended: part(1),
                    street: part(2),
                    locality: part(3),
                    region: part(4),
                    postal_code: part(5),
                    country: part(6),
                    types: p.types().to_vec(),
                }
            })
            .collect()
    }

    /// ORG: organisation name then units.
    pub fn organization(&self) -> Option<Vec<String>> {
        self.component.property("ORG").map(Property::components)
    }

    pub fn title(&self) -> Option<String> {
        self.component.text_of("TITLE")
    }

    pub fn birthday(&self) -> Option<Date> {
        Date::parse(&self.component.text_of("BDAY")?)
    }

    pub fn notes(&self) -> Vec<String> {
        self.texts("NOTE")
    }

    pub fn urls(&self) -> Vec<String> {
        self.texts("URL")
    }

    fn texts(&self, name: &str) -> Vec<String> {
        self.component
            .properties_named(name)
            .map(Property::text_value)
            .collect()
    }

    pub fn uid(&self) -> Option<String> {
        self.component.text_of("UID")
    }

    pub fn revision(&self) -> Option<String> {
        self.component.text_of("REV")
    }

    pub fn categories(&self) -> Vec<String> {
        self.component
            .properties_named("CATEGORIES")
            .flat_map(Property::list_items)
            .collect()
    }

    pub fn photo(&self) -> Option<Photo> {
        let property = self.component.property("PHOTO")?;
        let image_type = property
            .param_value("TYPE")
            .or_else(|| property.param_value("MEDIATYPE"))
            .map(str::to_string);
        match &property.value {
            Value::Binary(data) => Some(Photo::Inline {
                data: data.clone(),
                image_type,
            }),
            Value::Text(_) => {
                let uri = property.text_value();
                match data_uri(&uri) {
                    Some((media, data)) => Some(Photo::Inline {
                        data,
                        image_type: Some(media),
                    }),
                    None => Some(Photo::Uri(uri)),
                }
            }
        }
    }

    /// Extension properties (`X-...`), in order.
    pub fn extensions(&self) -> impl Iterator<Item = &Property> {
        self.component
            .properties
            .iter()
            .filter(|p| p.name.starts_with("X-"))
    }

    /// The same card as vCard 3.0, the form stored on the PC.
    pub fn to_v30(&self) -> VCard {
        let mut card = self.component.clone();
        card.set(Property::raw("VERSION", "3.0"));
        for property in &mut card.properties {
            upgrade_property(property);
        }
        // RFC 2426 requires FN and N; phones often send only N.
        if card.property("FN").is_none() {
            if let Some(name) = self.name() {
                let formatted = [
                    &name.prefixes,
                    &name.given,
                    &name.additional,
                    &name.family,
                    &name.suffixes,
                ]
                .iter()
                .filter(|s| !s.is_empty())
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ");
                if !formatted.is_empty() {
                    let position = card
                        .properties
                        .iter()
                        .position(|p| p.name == "N")
                        .map_or(card.properties.len(), |i| i + 1);
                    card.properties
                        .insert(position, Property::text("FN", &formatted));
                }
            }
        }
        if card.property("N").is_none() {
            if let Some(formatted) = self.formatted_name() {
                let position = card
                    .properties
                    .iter()
                    .position(|p| p.name == "FN")
                    .map_or(card.properties.len(), |i| i + 1);
                card.properties.insert(
                    position,
                    Property::structured("N", &[&formatted, "", "", "", ""]),
                );
            }
        }
        VCard { component: card }
    }

    /// The same card as vCard 2.1, the form phones take.
    pub fn to_v21(&self) -> VCard {
        let source = if self.version() == VCardVersion::V40 {
            self.to_v30()
        } else {
            self.clone()
        };
        let mut card = source.component;
        card.set(Property::raw("VERSION", "2.1"));
        for property in &mut card.properties {
            if property.name == "BDAY" {
                if let Some(date) = Date::parse(&property.text_value()) {
                    property.value = Value::Text(date.basic());
                }
            }
        }
        VCard { component: card }
    }

    /// Writes the card in the dialect of its VERSION.
    pub fn write(&self) -> String {
        let options = match self.version() {
            VCardVersion::V21 => WriteOptions::legacy(),
            _ => WriteOptions::modern(),
        };
        self.write_with(&options)
    }

    pub fn write_with(&self, options: &WriteOptions) -> String {
        content::write_component(&self.component, options)
    }

    pub fn dialect(&self) -> Dialect {
        self.component.dialect()
    }
}

/// vCard 4.0 forms that 3.0 writes differently: `tel:` URIs, `data:` URIs
/// and `PREF=1`.
fn upgrade_property(property: &mut Property) {
    if property.param("PREF").is_some() {
        property.remove_param("PREF");
        property.add_param("TYPE", &["PREF"]);
    }
    if property.name == "TEL" {
        let text = property.text_value();
        if let Some(number) = text.strip_prefix("tel:") {
            property.value = Value::Text(number.to_string());
            property.remove_param("VALUE");
        }
    }
    if matches!(property.name.as_str(), "PHOTO" | "LOGO") {
        if let Value::Text(_) = property.value {
            if let Some((media, data)) = data_uri(&property.text_value()) {
                property.value = Value::Binary(data);
                property.remove_param("VALUE");
                property.remove_param("MEDIATYPE");
                let subtype = media
                    .rsplit('/')
                    .next()
                    .unwrap_or(&media)
                    .to_ascii_uppercase();
                property.params.push(Param::new("TYPE", &[&subtype]));
            }
        }
    }
}

/// Splits `data:image/jpeg;base64,...` into media type and bytes.
fn data_uri(uri: &str) -> Option<(String, Vec<u8>)> {
    let rest = uri.strip_prefix("data:")?;
    let (meta, payload) = rest.split_once(',')?;
    let media = meta.strip_suffix(";base64")?;
    Some((
        media.to_string(),
        super::codec::decode_base64(payload.as_bytes())?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHONE_CARD: &str = "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=B6rg\r\nTEL;CELL;PREF:+491701234567\r\nTEL;WORK:+4930123\r\nEMAIL;INTERNET:joerg@example.com\r\nADR;HOME:;;Hauptstr. 1;Berlin;;10115;Germany\r\nBDAY:19700131\r\nX-IRMC-LUID:000200000012\r\nEND:VCARD\r\n";

    #[test]
    fn typed_access_to_a_phone_card() {
        let card = VCard::parse(PHONE_CARD.as_bytes()).unwrap();
        assert_eq!(card.version(), VCardVersion::V21);
        let name = card.name().unwrap();
        assert_eq!(
            (name.family.as_str(), name.given.as_str()),
            ("Müller", "Jörg")
        );
        let tels = card.telephones();
        assert_eq!(tels[0].value, "+491701234567");
        assert_eq!(tels[0].types, ["CELL", "PREF"]);
        assert_eq!(card.emails()[0].types, ["INTERNET"]);
        assert_eq!(card.addresses()[0].locality, "Berlin");
        assert_eq!(card.birthday(), Some(Date::new(1970, 1, 31)));
        assert_eq!(card.extensions().count(), 1);
    }

    #[test]
    fn v21_to_v30_and_back_keeps_every_property() {
        let phone = VCard::parse(PHONE_CARD.as_bytes()).unwrap();
        let stored = phone.to_v30();
        assert_eq!(stored.formatted_name().as_deref(), Some("Jörg Müller"));
        let written = stored.write();
        assert!(written.contains("TEL;TYPE=CELL,PREF:+491701234567"));
        let reparsed = VCard::parse(written.as_bytes()).unwrap();
        assert_eq!(reparsed, stored);
        let back = VCard::parse(reparsed.to_v21().write().as_bytes()).unwrap();
        for property in &phone.component.properties {
            assert!(
                back.component.properties.contains(property),
                "{property:?} lost"
            );
        }
    }

    #[test]
    fn v40_reads_tel_uris_and_data_photos() {
        let card = VCard::parse(
            b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nTEL;VALUE=uri;PREF=1;TYPE=cell:tel:+1555\r\nPHOTO:data:image/png;base64,AAEC\r\nEND:VCARD\r\n",
        )
        .unwrap();
        assert_eq!(card.telephones()[0].value, "+1555");
        assert_eq!(
            card.photo(),
            Some(Photo::Inline {
                data: vec![0, 1, 2],
                image_type: Some("image/png".into())
            })
        );
        let v3 = card.to_v30();
        let tel = v3.component.property("TEL").unwrap();
        assert_eq!(tel.text_value(), "+1555");
        assert!(tel.has_type("PREF") && tel.has_type("CELL"));
        assert_eq!(
            v3.component.property("PHOTO").unwrap().binary(),
            Some(&[0u8, 1, 2][..])
        );
    }
}
