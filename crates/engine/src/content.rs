//! Items between the phone's formats and the stored canonical ones, through the PIM layer:
//! what the phone sends becomes an [`ItemContent`] (raw bytes kept, canonical form, identity
//! key for slow-sync matching); what we send is the stored item in the phone's format.

use crate::storage::{Datastore, ItemContent, ItemRecord, Timestamp};
use handsync_proto::pim::calendar::Calendar;
use handsync_proto::pim::merge::{PhoneCapabilities, PropertyCapability};
use handsync_proto::pim::phone::PhoneFormat;
use handsync_proto::pim::profile::{DeviceInfo, ProfileSet};
use handsync_proto::pim::sif::{self, SifKind};
use handsync_proto::pim::stored;
use handsync_proto::pim::stored_merge::{self, PhoneItem};
use handsync_proto::pim::vcard::VCard;
use handsync_proto::syncml::DevInf;

/// An item from the phone, ready for the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub content_type: String,
    pub raw: Vec<u8>,
    pub canonical: String,
    pub identity_key: Option<String>,
}

impl Incoming {
    pub fn as_content(&self) -> ItemContent<'_> {
        ItemContent {
            content_type: &self.content_type,
            raw: &self.raw,
            canonical: &self.canonical,
            identity_key: self.identity_key.as_deref(),
        }
    }
}

/// The content type we assume when the phone names none.
pub fn default_content_type(datastore: Datastore) -> &'static str {
    match datastore {
        Datastore::Contacts => "text/x-vcard",
        Datastore::Calendar | Datastore::Tasks => "text/x-vcalendar",
        Datastore::Notes => "text/plain",
    }
}

/// Reads a phone's item into the stored form, the same one `handsync import` stores
/// (`pim::stored`). The error says what is wrong with it.
pub fn from_phone(
    phone: &PhoneFormat,
    datastore: Datastore,
    content_type: &str,
    bytes: &[u8],
) -> Result<Incoming, String> {
    // SIF clients name their type; every other format is told apart by its content.
    let item = match SifKind::from_content_type(content_type) {
        Some(_) => sif::from_sif(datastore, bytes)?,
        None => stored::from_phone(phone, datastore, bytes)?,
    };
    Ok(Incoming {
        content_type: content_type.to_string(),
        raw: item.raw,
        canonical: item.canonical,
        identity_key: Some(item.identity_key),
    })
}

/// A phone's new version of an item the PC holds, merged into the stored one
/// (`pim::stored_merge`): what the phone cannot hold (the PC's UID and timestamps,
/// properties outside its CTCap, values cut to its limits) is kept from the stored version
/// instead of being lost, and the identity key is that of the merged item.
/// `unchanged_since_sent` says the PC did not change the item since the phone got it, so
/// what we would send now is what the phone had.
pub fn merge_into_stored(
    phone: &PhoneFormat,
    stored: &ItemRecord,
    incoming: Incoming,
    unchanged_since_sent: bool,
) -> Incoming {
    if stored.is_deleted() {
        return incoming;
    }
    // A SIF client holds only what SIF has fields for, whatever its CTCap says.
    let sif_phone;
    let phone = match SifKind::from_content_type(&incoming.content_type) {
        Some(_) => {
            let mut for_sif = phone.clone();
            for_sif.capabilities = sif::capabilities(stored.datastore);
            sif_phone = for_sif;
            &sif_phone
        }
        None => phone,
    };
    let from_phone = PhoneItem {
        canonical: &incoming.canonical,
        content_type: &incoming.content_type,
    };
    let merged = stored_merge::merge_into_stored(
        phone,
        stored.datastore,
        &stored.canonical,
        from_phone,
        unchanged_since_sent,
    );
    match merged {
        Some(merged) => Incoming {
            canonical: merged.canonical,
            identity_key: Some(merged.identity_key),
            ..incoming
        },
        None => incoming,
    }
}

/// A stored item as the phone gets it: its content type and bytes. `preferred` is the type
/// the phone uses for the datastore: the SIF type its items came in, else its DevInf's
/// `Rx-Pref`. A SIF client gets SIF (a calendar item as the kind it is, appointment or
/// task).
pub fn to_phone(
    phone: &PhoneFormat,
    item: &ItemRecord,
    preferred: Option<&str>,
) -> (String, Vec<u8>) {
    if preferred.and_then(SifKind::from_content_type).is_some() {
        if let Some((kind, text)) = sif::to_sif(item.datastore, &item.canonical) {
            return (kind.content_type().to_string(), text.into_bytes());
        }
    }
    let wants = |t: &str| preferred.is_some_and(|p| p.eq_ignore_ascii_case(t));
    let canonical = item.canonical.as_bytes();
    let converted = match item.datastore {
        Datastore::Contacts => {
            if wants("text/vcard") {
                Some(("text/vcard", item.canonical.clone()))
            } else {
                VCard::parse(canonical)
                    .ok()
                    .map(|card| ("text/x-vcard", phone.contact_to_phone(&card)))
            }
        }
        Datastore::Calendar | Datastore::Tasks => {
            if wants("text/calendar") {
                Some(("text/calendar", item.canonical.clone()))
            } else {
                Calendar::parse(canonical)
                    .ok()
                    .map(|cal| ("text/x-vcalendar", phone.calendar_to_phone(&cal)))
            }
        }
        Datastore::Notes => stored::stored_note(&item.canonical).map(|note| {
            if wants("text/x-vnote") {
                ("text/x-vnote", phone.note_to_phone(&note, false))
            } else {
                ("text/plain", phone.note_to_phone(&note, true))
            }
        }),
    };
    match converted {
        Some((content_type, text)) => (content_type.to_string(), text.into_bytes()),
        // What the PIM layer cannot read goes as it came.
        None => (item.content_type.clone(), item.raw.clone()),
    }
}

/// When the item says it was last changed (vCard `REV`, iCalendar `LAST-MODIFIED`), in the
/// store's time.
pub fn modified_at(canonical: &str) -> Option<Timestamp> {
    canonical.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        let name = name.split(';').next()?.trim();
        if !(name.eq_ignore_ascii_case("REV") || name.eq_ignore_ascii_case("LAST-MODIFIED")) {
            return None;
        }
        let value = value.trim();
        let time = handsync_proto::pim::datetime::DateTime::parse(value).or_else(|| {
            // A date alone (REV:2006-04-06) means its start.
            handsync_proto::pim::datetime::DateTime::parse(&format!("{value}T000000Z"))
        })?;
        Some(Timestamp::from_unix_seconds(time.timestamp()))
    })
}

/// The phone as the PIM layer sees it: its quirk profile (matched on DevInf Man/Mod/SwV)
/// and, for one datastore, the capabilities its CTCap declares.
pub fn phone_for(devinf: Option<&DevInf>, phone_datastore: Option<&str>) -> PhoneFormat {
    let info = DeviceInfo {
        manufacturer: devinf.and_then(|d| d.man.as_deref()).unwrap_or("").into(),
        model: devinf.and_then(|d| d.model.as_deref()).unwrap_or("").into(),
        software_version: devinf.and_then(|d| d.sw_v.as_deref()).unwrap_or("").into(),
    };
    let profile = ProfileSet::embedded().resolve(&info);
    let mut capabilities = PhoneCapabilities::default();
    if let (Some(devinf), Some(uri)) = (devinf, phone_datastore) {
        if let Some(store) = devinf.data_store(uri) {
            for cap in devinf.ct_caps_for(store) {
                for property in &cap.properties {
                    let entry = capabilities
                        .properties
                        .entry(property.name.to_ascii_uppercase())
                        .or_insert_with(PropertyCapability::default);
                    if let Some(size) = property.max_size.filter(|s| *s > 0) {
                        entry.max_length = usize::try_from(size).ok();
                    }
                }
            }
        }
    }
    PhoneFormat::new(profile, capabilities)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_change_time_comes_from_rev_or_last_modified() {
        let at = modified_at("BEGIN:VCARD\r\nREV:2006-04-06T17:00:00Z\r\nEND:VCARD\r\n");
        assert_eq!(at, Some(Timestamp::from_unix_seconds(1_144_342_800)));
        let at = modified_at("BEGIN:VEVENT\r\nLAST-MODIFIED:20060406T170000Z\r\nEND:VEVENT");
        assert_eq!(at, Some(Timestamp::from_unix_seconds(1_144_342_800)));
        assert_eq!(modified_at("BEGIN:VCARD\r\nN:x\r\nEND:VCARD"), None);
    }

    #[test]
    fn a_phone_vcard_gets_a_canonical_form_and_identity_key() {
        let phone = phone_for(None, None);
        let card = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:Lovelace;Ada\r\nTEL;CELL:+44 20 1234567\r\nEND:VCARD\r\n";
        let incoming = from_phone(&phone, Datastore::Contacts, "text/x-vcard", card).unwrap();
        assert!(
            incoming.canonical.contains("VERSION:3.0"),
            "{}",
            incoming.canonical
        );
        assert!(incoming.identity_key.unwrap().contains("ada"));
        assert!(from_phone(&phone, Datastore::Contacts, "text/x-vcard", b"hello").is_err());
    }
}
