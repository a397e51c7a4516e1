//! vdir naming: one `.vcf` or `.ics` file per item, named after its UID so that the name
//! stays the same across syncs. The files themselves are written at the edge (the CLI).

use super::content::{self, Component, Property, WriteOptions};

/// The UID of a stored item: the vCard's, or that of the first event, to-do
/// or journal of a VCALENDAR.
pub fn uid_of(component: &Component) -> Option<String> {
    if component.name == "VCALENDAR" {
        return component
            .components
            .iter()
            .filter(|c| matches!(c.name.as_str(), "VEVENT" | "VTODO" | "VJOURNAL"))
            .find_map(|c| c.text_of("UID"))
            .filter(|u| !u.trim().is_empty());
    }
    component.text_of("UID").filter(|u| !u.trim().is_empty())
}

/// Gives an item without UID (phones rarely send one) a UID derived from
/// its content, so that the same item always gets the same file. Returns
/// the UID.
pub fn ensure_uid(component: &mut Component) -> String {
    if let Some(uid) = uid_of(component) {
        return uid;
    }
    let text = content::write_component(component, &WriteOptions::modern());
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    let uid = format!("handsync-{hash:016x}");
    let target = if component.name == "VCALENDAR" {
        component
            .components
            .iter_mut()
            .find(|c| matches!(c.name.as_str(), "VEVENT" | "VTODO" | "VJOURNAL"))
    } else {
        Some(component)
    };
    if let Some(target) = target {
        target.remove_all("UID");
        target.properties.push(Property::text("UID", &uid));
    }
    uid
}

/// A file name for a UID: characters safe in file names are kept, others
/// are percent-encoded; very long UIDs are shortened with a hash.
pub fn file_name(uid: &str, extension: &str) -> String {
    let mut name = String::new();
    for byte in uid.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.@+=".contains(&byte) {
            name.push(byte as char);
        } else {
            name.push_str(&format!("%{byte:02X}"));
        }
    }
    if name.starts_with('.') {
        name.replace_range(0..1, "%2E");
    }
    if name.len() > 200 {
        let hash = uid.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
        name.truncate(180);
        while !name.is_char_boundary(name.len()) {
            name.pop();
        }
        name.push_str(&format!("-{hash:016x}"));
    }
    format!("{name}.{extension}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(text: &str) -> Component {
        content::parse_object(text.as_bytes()).unwrap().component
    }

    #[test]
    fn file_names_are_safe_and_stable() {
        assert_eq!(file_name("abc-1@host", "vcf"), "abc-1@host.vcf");
        assert_eq!(file_name("/a b", "ics"), "%2Fa%20b.ics");
        assert_eq!(file_name(".hidden", "ics"), "%2Ehidden.ics");
        let long = "x".repeat(500);
        let name = file_name(&long, "vcf");
        assert!(name.len() < 220);
        assert_eq!(name, file_name(&long, "vcf"));
        assert_ne!(name, file_name(&"x".repeat(501), "vcf"));
    }

    #[test]
    fn items_without_uid_get_a_content_uid() {
        let mut first = card("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nEND:VCARD\r\n");
        let mut same = first.clone();
        let uid = ensure_uid(&mut first);
        assert!(uid.starts_with("handsync-"));
        assert_eq!(ensure_uid(&mut same), uid);
        assert_eq!(ensure_uid(&mut first), uid);
        let mut calendar = card("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:e1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        assert_eq!(ensure_uid(&mut calendar), "e1");
    }
}
