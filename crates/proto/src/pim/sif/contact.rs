//! SIF-C (`<contact>`) and vCard 3.0.
//!
//! Names go to N (`LastName;FirstName;MiddleName;Title;Suffix`) and FN (FileAs, else the
//! name as written); the company to ORG with the department; e-mail 1–3 to EMAIL (plain,
//! HOME, WORK); each telephone field to a TEL with the types that say which it is; the
//! home, business and other addresses to ADR (HOME, WORK, none); Outlook fields without a
//! vCard property to the X- properties other PIM programs use.

use super::{categories_of, categories_property, SifDocument, SifKind, SifWriter};
use crate::pim::codec;
use crate::pim::content::{Component, Property, Value};
use crate::pim::vcard::VCard;

/// Telephone fields and the TEL types each stands for, in the order slots are filled
/// when writing (the first slot whose types a TEL has, and that is still free, takes it).
const PHONES: [(&str, &[&str]); 13] = [
    ("HomeFaxNumber", &["HOME", "FAX"]),
    ("BusinessFaxNumber", &["WORK", "FAX"]),
    ("OtherFaxNumber", &["FAX"]),
    ("MobileTelephoneNumber", &["CELL"]),
    ("PagerNumber", &["PAGER"]),
    ("CarTelephoneNumber", &["CAR"]),
    ("CompanyMainTelephoneNumber", &["WORK", "PREF"]),
    ("BusinessTelephoneNumber", &["WORK", "VOICE"]),
    ("Business2TelephoneNumber", &["WORK", "VOICE"]),
    ("HomeTelephoneNumber", &["HOME", "VOICE"]),
    ("Home2TelephoneNumber", &["HOME", "VOICE"]),
    ("PrimaryTelephoneNumber", &["PREF", "VOICE"]),
    ("OtherTelephoneNumber", &["VOICE"]),
];

/// Address prefixes and the ADR type of each (`Other` has none).
const ADDRESSES: [(&str, Option<&str>); 3] = [
    ("HomeAddress", Some("HOME")),
    ("BusinessAddress", Some("WORK")),
    ("OtherAddress", None),
];

/// E-mail fields and the EMAIL type beside INTERNET.
const EMAILS: [(&str, Option<&str>); 3] = [
    ("Email1Address", None),
    ("Email2Address", Some("HOME")),
    ("Email3Address", Some("WORK")),
];

/// Fields kept as one text property each.
const TEXTS: [(&str, &str); 9] = [
    ("NickName", "NICKNAME"),
    ("JobTitle", "TITLE"),
    ("Profession", "ROLE"),
    ("Body", "NOTE"),
    ("Spouse", "X-SPOUSE"),
    ("Children", "X-CHILDREN"),
    ("ManagerName", "X-MANAGER"),
    ("AssistantName", "X-ASSISTANT"),
    ("IMAddress", "X-IM"),
];

/// A SIF-C document as a vCard 3.0.
pub fn to_vcard(document: &SifDocument) -> VCard {
    let get = |name: &str| document.get(name).unwrap_or("").trim().to_string();
    let mut card = Component::new("VCARD");
    card.properties.push(Property::raw("VERSION", "3.0"));
    let name = [
        get("LastName"),
        get("FirstName"),
        get("MiddleName"),
        get("Title"),
        get("Suffix"),
    ];
    let formatted = match document.get("FileAs") {
        Some(file_as) => file_as.trim().to_string(),
        None => {
            let written: Vec<&str> = [&name[3], &name[1], &name[2], &name[0], &name[4]]
                .into_iter()
                .map(String::as_str)
                .filter(|part| !part.is_empty())
                .collect();
            match written.is_empty() {
                true => get("CompanyName"),
                false => written.join(" "),
            }
        }
    };
    card.properties.push(Property::text("FN", &formatted));
    let parts: Vec<&str> = name.iter().map(String::as_str).collect();
    card.properties.push(Property::structured("N", &parts));
    let (company, department) = (get("CompanyName"), get("Department"));
    if !company.is_empty() || !department.is_empty() {
        let org: Vec<&str> = match department.is_empty() {
            true => vec![&company],
            false => vec![&company, &department],
        };
        card.properties.push(Property::structured("ORG", &org));
    }
    for (field, property) in TEXTS {
        if let Some(value) = document.get(field) {
            card.properties.push(Property::text(property, value.trim()));
        }
    }
    for (field, kind) in EMAILS {
        if let Some(address) = document.get(field) {
            let mut types = vec!["INTERNET"];
            types.extend(kind);
            card.properties
                .push(Property::text("EMAIL", address.trim()).with_param("TYPE", &types));
        }
    }
    for (field, types) in PHONES {
        if let Some(number) = document.get(field) {
            card.properties
                .push(Property::text("TEL", number.trim()).with_param("TYPE", types));
        }
    }
    for (prefix, kind) in ADDRESSES {
        let part = |suffix: &str| get(&format!("{prefix}{suffix}"));
        let parts = [
            part("PostOfficeBox"),
            String::new(),
            part("Street"),
            part("City"),
            part("State"),
            part("PostalCode"),
            part("Country"),
        ];
        if parts.iter().all(String::is_empty) {
            continue;
        }
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let mut address = Property::structured("ADR", &parts);
        if let Some(kind) = kind {
            address.add_param("TYPE", &[kind]);
        }
        card.properties.push(address);
    }
    if let Some(url) = document.get("WebPage") {
        card.properties.push(Property::text("URL", url.trim()));
    }
    if let Some(url) = document.get("HomeWebPage") {
        card.properties
            .push(Property::text("URL", url.trim()).with_param("TYPE", &["HOME"]));
    }
    for (field, property) in [("Birthday", "BDAY"), ("Anniversary", "X-ANNIVERSARY")] {
        if let Some(date) = document.get(field).and_then(sif_date) {
            card.properties.push(Property::raw(property, &date));
        }
    }
    if let Some(categories) = document.get("Categories").and_then(categories_property) {
        card.properties.push(categories);
    }
    if let Some(photo) = document
        .get("Photo")
        .and_then(|p| codec::decode_base64(p.as_bytes()))
    {
        if !photo.is_empty() {
            let mut property = Property {
                group: None,
                name: "PHOTO".into(),
                params: Vec::new(),
                value: Value::Binary(photo.clone()),
            };
            if let Some(kind) = image_type(&photo) {
                property.add_param("TYPE", &[kind]);
            }
            card.properties.push(property);
        }
    }
    VCard { component: card }
}

/// `yyyy-MM-dd` (or `yyyyMMdd`) as the stored date; Outlook's "no date" (`4501-01-01`)
/// and anything not a date read as absent.
fn sif_date(text: &str) -> Option<String> {
    let text = text.trim();
    let date = crate::pim::datetime::Date::parse(text.get(..10).unwrap_or(text))
        .or_else(|| crate::pim::datetime::Date::parse(text.get(..8).unwrap_or(text)))?;
    (date.year < 4000).then(|| format!("{:04}-{:02}-{:02}", date.year, date.month, date.day))
}

fn image_type(data: &[u8]) -> Option<&'static str> {
    match data {
        [0xFF, 0xD8, ..] => Some("JPEG"),
        [0x89, b'P', b'N', b'G', ..] => Some("PNG"),
        [b'G', b'I', b'F', ..] => Some("GIF"),
        [b'B', b'M', ..] => Some("BMP"),
        _ => None,
    }
}

/// A stored vCard as SIF-C.
pub fn from_vcard(card: &VCard) -> String {
    let component = &card.component;
    let mut sif = SifWriter::new(SifKind::Contact);
    let text = |name: &str| component.text_of(name).unwrap_or_default();
    let name = component
        .property("N")
        .map(Property::components)
        .unwrap_or_default();
    let part = |i: usize| name.get(i).cloned().unwrap_or_default();
    sif.field("FileAs", &text("FN"));
    sif.field("LastName", &part(0));
    sif.field("FirstName", &part(1));
    sif.field("MiddleName", &part(2));
    sif.field("Title", &part(3));
    sif.field("Suffix", &part(4));
    let org = component
        .property("ORG")
        .map(Property::components)
        .unwrap_or_default();
    sif.field("CompanyName", org.first().map(String::as_str).unwrap_or(""));
    sif.field("Department", &org.get(1..).unwrap_or_default().join(", "));
    for (field, property) in TEXTS {
        sif.field(field, &text(property));
    }
    write_emails(&mut sif, component);
    write_phones(&mut sif, component);
    write_addresses(&mut sif, component);
    let mut work_url = String::new();
    let mut home_url = String::new();
    for url in component.properties_named("URL") {
        let slot = match url.has_type("HOME") {
            true => &mut home_url,
            false => &mut work_url,
        };
        if slot.is_empty() {
            *slot = url.text_value();
        }
    }
    sif.field("WebPage", &work_url);
    sif.field("HomeWebPage", &home_url);
    for (field, property) in [("Birthday", "BDAY"), ("Anniversary", "X-ANNIVERSARY")] {
        if let Some(date) = component.text_of(property).as_deref().and_then(sif_date) {
            sif.field(field, &date);
        }
    }
    sif.field("Categories", &categories_of(component));
    if let Some(photo) = component.property("PHOTO").and_then(Property::binary) {
        sif.field("Photo", &codec::encode_base64(photo));
    }
    sif.finish()
}

fn write_emails(sif: &mut SifWriter, card: &Component) {
    let mut slots: [Option<String>; 3] = Default::default();
    let mut rest = Vec::new();
    for email in card.properties_named("EMAIL") {
        let address = email.text_value();
        let wanted = match (email.has_type("HOME"), email.has_type("WORK")) {
            (true, _) => 1,
            (_, true) => 2,
            _ => 0,
        };
        match &slots[wanted] {
            None => slots[wanted] = Some(address),
            Some(_) => rest.push(address),
        }
    }
    // More addresses than their slots: they take the free ones.
    for address in rest {
        if let Some(free) = slots.iter_mut().find(|s| s.is_none()) {
            *free = Some(address);
        }
    }
    for ((field, _), address) in EMAILS.iter().zip(slots) {
        sif.field(field, &address.unwrap_or_default());
    }
}

fn write_phones(sif: &mut SifWriter, card: &Component) {
    let mut slots: Vec<Option<String>> = vec![None; PHONES.len()];
    for tel in card.properties_named("TEL") {
        let number = tel.text_value();
        let has_all = |types: &[&str]| {
            types
                .iter()
                .all(|t| tel.has_type(t) || (*t == "VOICE" && is_voice(tel)))
        };
        let fits = PHONES
            .iter()
            .enumerate()
            .find(|(i, (_, types))| slots[*i].is_none() && has_all(types))
            .map(|(i, _)| i)
            // A number of a kind SIF has no free field for still goes out.
            .or_else(|| {
                let other = PHONES.len() - 1;
                slots[other].is_none().then_some(other)
            });
        if let Some(i) = fits {
            slots[i] = Some(number);
        }
    }
    for ((field, _), number) in PHONES.iter().zip(slots) {
        sif.field(field, &number.unwrap_or_default());
    }
}

/// A TEL with no type that says what it is, other than where (HOME, WORK, PREF), is voice.
fn is_voice(tel: &Property) -> bool {
    ![
        "FAX", "CELL", "PAGER", "CAR", "MODEM", "VIDEO", "BBS", "ISDN", "MSG",
    ]
    .iter()
    .any(|t| tel.has_type(t))
}

fn write_addresses(sif: &mut SifWriter, card: &Component) {
    let mut slots: [Option<Vec<String>>; 3] = Default::default();
    for address in card.properties_named("ADR") {
        let wanted = match (address.has_type("HOME"), address.has_type("WORK")) {
            (true, _) => 0,
            (_, true) => 1,
            _ => 2,
        };
        let free = match slots[wanted].is_none() {
            true => Some(wanted),
            false => slots.iter().position(Option::is_none),
        };
        if let Some(i) = free {
            slots[i] = Some(address.components());
        }
    }
    for ((prefix, _), parts) in ADDRESSES.iter().zip(slots) {
        let Some(parts) = parts else { continue };
        let part = |i: usize| parts.get(i).cloned().unwrap_or_default();
        // The extended address has no SIF field: it goes with the street.
        let street = [part(2), part(1)]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        for (suffix, value) in [
            ("PostOfficeBox", part(0)),
            ("Street", street),
            ("City", part(3)),
            ("State", part(4)),
            ("PostalCode", part(5)),
            ("Country", part(6)),
        ] {
            sif.field(&format!("{prefix}{suffix}"), &value);
        }
    }
}
