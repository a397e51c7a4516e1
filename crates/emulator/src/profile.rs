//! Device profiles: what an emulated phone says about itself and how it talks.
//!
//! Each built-in profile reproduces one real model of 2004-2008: its DevInf identity, SyncML
//! version and encoding, message and object limits, datastore names and content types, the
//! capabilities (CTCap) it declares, how it writes its vCards, and the AT command that turns
//! its cable port into OBEX. Sources: `phones/*.toml`, `docs/phones.md`, SyncEvolution's phone
//! templates and real client messages (Sony Ericsson K500i/Z600 captures). Values no capture
//! shows (Nokia's and Siemens' MaxMsgSize, for instance) are typical of their generation and
//! said so in `docs/emulator.md`.

use handsync_proto::markup::Version;
use handsync_proto::pim::Datastore;
use handsync_proto::syncml::{
    ContentType, CtCap, DataStore, DevInf, DsMem, Encoding, PropParam, Property, SyncCap,
};

/// The AT command (or protocol switch) that puts a phone's cable port into OBEX mode. Data for
/// the serial driver: the emulator core itself never sees a modem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CableSwitch {
    /// Sony Ericsson: `AT*EOBEX`.
    SonyEricssonEobex,
    /// Siemens S65 and later: `AT^SQWE=3`.
    SiemensSqwe,
    /// Older Siemens (S55, M55): the BFB framing, then OBEX inside it.
    SiemensBfb,
    /// Motorola: `AT+MODE=22`.
    MotorolaMode22,
    /// Nokia and others that follow 3GPP 27.007: `AT+CPROT=0`.
    Cprot0,
}

impl CableSwitch {
    /// The command as sent to the modem (without the trailing carriage return); `BFB` for the
    /// Siemens framing, which is not an AT command.
    pub fn command(self) -> &'static str {
        match self {
            CableSwitch::SonyEricssonEobex => "AT*EOBEX",
            CableSwitch::SiemensSqwe => "AT^SQWE=3",
            CableSwitch::SiemensBfb => "BFB",
            CableSwitch::MotorolaMode22 => "AT+MODE=22",
            CableSwitch::Cprot0 => "AT+CPROT=0",
        }
    }
}

/// How the phone writes non-ASCII text in its vCards and vCalendars (used by the generated
/// data set; items the server sends are stored as they come).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextStyle {
    /// `CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE` (Nokia).
    QuotedPrintableUtf8,
    /// Raw ISO-8859-1 bytes with `CHARSET=ISO-8859-1` (Sony Ericsson): not UTF-8, so the
    /// items travel as WBXML OPAQUE.
    Latin1EightBit,
    /// Quoted-printable windows-1252, never folded (Motorola).
    QuotedPrintableWindows1252,
    /// Plain UTF-8 with `CHARSET=UTF-8` (Siemens).
    Utf8EightBit,
}

/// How the phone makes its sync anchors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorStyle {
    /// A counter (`51`), as Sony Ericsson phones send.
    Counter,
    /// The time (`20061012T101010Z`), as Nokia phones send.
    Timestamp,
}

/// One property a phone's CTCap declares, with its parameters (types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityProperty {
    pub name: String,
    pub params: Vec<String>,
    /// Longest value the phone keeps, when it declares one.
    pub max_size: Option<u64>,
}

/// The CTCap of one content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capability {
    pub content_type: String,
    pub version: String,
    pub properties: Vec<CapabilityProperty>,
}

/// A datastore of the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatastoreSpec {
    /// What it holds (Nokia's calendar also holds to-dos: `holds_tasks`).
    pub kind: Datastore,
    /// The phone's own name (DevInf `SourceRef`, the `Source` of its Alert).
    pub local_uri: String,
    /// The server datastore the phone is configured to sync it with (the Alert's `Target`).
    pub server_uri: String,
    pub display_name: String,
    /// Preferred content type and version (Rx-Pref and Tx-Pref).
    pub content_type: String,
    pub content_version: String,
    /// Other types it takes (Rx).
    pub also_receives: Vec<(String, String)>,
    pub max_guid_size: u32,
    /// How many items it can hold (DSMem MaxID); more are refused with 420.
    pub max_items: Option<u64>,
    /// Events and to-dos share this calendar datastore.
    pub holds_tasks: bool,
}

/// Everything that makes an emulated phone model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceProfile {
    /// Short name for the command line (`nokia-6230i`).
    pub name: String,
    pub description: String,
    /// DevInf `Man`, `Mod`, `SwV`, `HwV`, `FwV`, `OEM`.
    pub manufacturer: String,
    pub model: String,
    pub software_version: String,
    pub hardware_version: String,
    pub firmware_version: String,
    pub oem: Option<String>,
    /// DevInf `DevID` and the header's `Source/LocURI` (`IMEI:...`).
    pub device_id: String,
    pub version: Version,
    pub encoding: Encoding,
    /// WBXML only: the public id as text in the string table (Sony Ericsson does so).
    pub wbxml_public_id_as_text: bool,
    /// The largest message the phone takes (header `MaxMsgSize`).
    pub max_msg_size: u64,
    /// The largest object the phone takes (`MaxObjSize`, SyncML 1.1+).
    pub max_obj_size: u64,
    pub supports_large_objects: bool,
    pub supports_number_of_changes: bool,
    /// DevInf `UTC`.
    pub utc: bool,
    pub datastores: Vec<DatastoreSpec>,
    pub capabilities: Vec<Capability>,
    pub cable_switch: Option<CableSwitch>,
    pub text_style: TextStyle,
    pub anchor_style: AnchorStyle,
    /// The server identity the phone is configured with (header `Target`).
    pub server_identifier: String,
    /// Whether the phone sends its DevInf in package 1 unasked (all these models do).
    pub sends_devinf: bool,
    /// Whether it takes the binary Server Alerted Notification (OMA DS 1.2 form). Phones of
    /// the SyncML 1.0/1.1 generation take only the SyncML message with Alerts 206..210 and
    /// refuse the binary one (the PC then falls back); Nokia S40 firmware of the 1.1
    /// generation already took both (PC Suite started their syncs with it).
    pub binary_san: bool,
}

fn prop(name: &str, params: &[&str]) -> CapabilityProperty {
    CapabilityProperty {
        name: name.to_string(),
        params: params.iter().map(|p| p.to_string()).collect(),
        max_size: None,
    }
}

fn sized(name: &str, params: &[&str], max_size: u64) -> CapabilityProperty {
    CapabilityProperty {
        max_size: Some(max_size),
        ..prop(name, params)
    }
}

fn capability(
    content_type: &str,
    version: &str,
    properties: Vec<CapabilityProperty>,
) -> Capability {
    Capability {
        content_type: content_type.into(),
        version: version.into(),
        properties,
    }
}

#[allow(clippy::too_many_arguments)]
fn datastore(
    kind: Datastore,
    local_uri: &str,
    server_uri: &str,
    display_name: &str,
    content_type: &str,
    content_version: &str,
    max_guid_size: u32,
    max_items: u64,
) -> DatastoreSpec {
    DatastoreSpec {
        kind,
        local_uri: local_uri.into(),
        server_uri: server_uri.into(),
        display_name: display_name.into(),
        content_type: content_type.into(),
        content_version: content_version.into(),
        also_receives: Vec::new(),
        max_guid_size,
        max_items: Some(max_items),
        holds_tasks: false,
    }
}

fn vcard_capability(extra: Vec<CapabilityProperty>) -> Capability {
    let mut properties = vec![
        prop("BEGIN", &[]),
        prop("VERSION", &[]),
        prop("N", &[]),
        prop("FN", &[]),
        prop("TEL", &["HOME", "WORK", "CELL", "FAX", "VOICE", "PREF"]),
        prop("EMAIL", &["INTERNET"]),
        prop("ADR", &["HOME", "WORK"]),
        prop("ORG", &[]),
        prop("TITLE", &[]),
        prop("NOTE", &[]),
        prop("URL", &[]),
        prop("BDAY", &[]),
        prop("END", &[]),
    ];
    properties.extend(extra);
    capability("text/x-vcard", "2.1", properties)
}

fn vcalendar_capability(todo: bool) -> Capability {
    let mut properties = vec![
        prop("BEGIN", &[]),
        prop("VERSION", &[]),
        prop("SUMMARY", &[]),
        prop("DESCRIPTION", &[]),
        prop("LOCATION", &[]),
        prop("DTSTART", &[]),
        prop("DTEND", &[]),
        prop("AALARM", &[]),
        prop("RRULE", &[]),
        prop("CATEGORIES", &[]),
        prop("CLASS", &[]),
    ];
    if todo {
        properties.extend([prop("DUE", &[]), prop("PRIORITY", &[]), prop("STATUS", &[])]);
    }
    properties.push(prop("END", &[]));
    capability("text/x-vcalendar", "1.0", properties)
}

impl DeviceProfile {
    /// The names of the built-in profiles.
    pub const BUILTIN: [&'static str; 6] = [
        "nokia-6230i",
        "nokia-e51",
        "sonyericsson-k750i",
        "sonyericsson-z600",
        "siemens-s65",
        "motorola-v3",
    ];

    /// A built-in profile by name (see [`DeviceProfile::BUILTIN`]).
    pub fn builtin(name: &str) -> Option<DeviceProfile> {
        match name {
            "nokia-6230i" => Some(DeviceProfile::nokia_6230i()),
            "nokia-e51" => Some(DeviceProfile::nokia_e51()),
            "sonyericsson-k750i" => Some(DeviceProfile::sony_ericsson_k750i()),
            "sonyericsson-z600" => Some(DeviceProfile::sony_ericsson_z600()),
            "siemens-s65" => Some(DeviceProfile::siemens_s65()),
            "motorola-v3" => Some(DeviceProfile::motorola_v3()),
            _ => None,
        }
    }

    /// Every built-in profile.
    pub fn all() -> Vec<DeviceProfile> {
        DeviceProfile::BUILTIN
            .iter()
            .filter_map(|name| DeviceProfile::builtin(name))
            .collect()
    }

    /// Nokia 6230i, Series 40 2nd edition: SyncML 1.1 over WBXML, small messages, contacts,
    /// a calendar holding events and to-dos, notes as plain text.
    pub fn nokia_6230i() -> DeviceProfile {
        let mut calendar = datastore(
            Datastore::Calendar,
            "./Calendar",
            "Calendar",
            "Calendar",
            "text/x-vcalendar",
            "1.0",
            8,
            1000,
        );
        calendar.holds_tasks = true;
        let mut contacts = datastore(
            Datastore::Contacts,
            "./Contacts",
            "Contacts",
            "Contacts",
            "text/x-vcard",
            "2.1",
            8,
            1000,
        );
        contacts
            .also_receives
            .push(("text/vcard".into(), "3.0".into()));
        DeviceProfile {
            name: "nokia-6230i".into(),
            description: "Nokia 6230i (Series 40 2nd edition, SyncML 1.1, WBXML)".into(),
            manufacturer: "NOKIA".into(),
            model: "6230i".into(),
            software_version: "V 03.88".into(),
            hardware_version: "0606".into(),
            firmware_version: "V 03.88".into(),
            oem: None,
            device_id: "IMEI:355355001234567".into(),
            version: Version::V1_1,
            encoding: Encoding::Wbxml,
            wbxml_public_id_as_text: false,
            max_msg_size: 3584,
            max_obj_size: 262_144,
            supports_large_objects: true,
            supports_number_of_changes: true,
            utc: true,
            datastores: vec![
                contacts,
                calendar,
                datastore(
                    Datastore::Notes,
                    "./Notes",
                    "Notes",
                    "Notes",
                    "text/plain",
                    "1.0",
                    8,
                    50,
                ),
            ],
            capabilities: vec![
                vcard_capability(vec![prop("PHOTO", &["TYPE"]), prop("X-NICKNAME", &[])]),
                vcalendar_capability(true),
                capability("text/plain", "1.0", Vec::new()),
            ],
            cable_switch: Some(CableSwitch::Cprot0),
            text_style: TextStyle::QuotedPrintableUtf8,
            anchor_style: AnchorStyle::Timestamp,
            server_identifier: "PC Suite".into(),
            sends_devinf: true,
            binary_san: true,
        }
    }

    /// Nokia E51, Series 60 3rd edition FP1: SyncML 1.2 over WBXML, larger messages, CTCap
    /// inside the datastores (the 1.2 layout).
    pub fn nokia_e51() -> DeviceProfile {
        let mut calendar = datastore(
            Datastore::Calendar,
            "./C\\Calendar",
            "Calendar",
            "Calendar",
            "text/x-vcalendar",
            "1.0",
            8,
            10_000,
        );
        calendar.holds_tasks = true;
        calendar
            .also_receives
            .push(("text/calendar".into(), "2.0".into()));
        let mut contacts = datastore(
            Datastore::Contacts,
            "./C\\System\\Data\\Contacts.cdb",
            "Contacts",
            "Contacts",
            "text/x-vcard",
            "2.1",
            8,
            10_000,
        );
        contacts
            .also_receives
            .push(("text/vcard".into(), "3.0".into()));
        DeviceProfile {
            name: "nokia-e51".into(),
            description: "Nokia E51 (Series 60 3rd edition FP1, SyncML 1.2, WBXML)".into(),
            manufacturer: "NOKIA".into(),
            model: "E51-1".into(),
            software_version: "200.34.36".into(),
            hardware_version: "1.0".into(),
            firmware_version: "200.34.36".into(),
            oem: Some("NOKIA".into()),
            device_id: "IMEI:356954012345678".into(),
            version: Version::V1_2,
            encoding: Encoding::Wbxml,
            wbxml_public_id_as_text: false,
            max_msg_size: 16_384,
            max_obj_size: 1_048_576,
            supports_large_objects: true,
            supports_number_of_changes: true,
            utc: true,
            datastores: vec![
                contacts,
                calendar,
                datastore(
                    Datastore::Notes,
                    "./C\\Notepad.dat",
                    "Notes",
                    "Notes",
                    "text/plain",
                    "1.0",
                    8,
                    1000,
                ),
            ],
            capabilities: vec![
                vcard_capability(vec![
                    prop("PHOTO", &["TYPE", "ENCODING"]),
                    prop("NICKNAME", &[]),
                    prop("X-ASSISTANT", &[]),
                    prop("X-SIP", &["POC", "VOIP"]),
                ]),
                vcalendar_capability(true),
                capability("text/plain", "1.0", Vec::new()),
            ],
            cable_switch: Some(CableSwitch::Cprot0),
            text_style: TextStyle::QuotedPrintableUtf8,
            anchor_style: AnchorStyle::Timestamp,
            server_identifier: "PC Suite".into(),
            sends_devinf: true,
            binary_san: true,
        }
    }

    /// Sony Ericsson K750i: SyncML 1.1 over WBXML with a text public id, MaxMsgSize 2700 (as
    /// the K500i and Z600 captures show), ISO-8859-1 vCards, four datastores.
    pub fn sony_ericsson_k750i() -> DeviceProfile {
        DeviceProfile {
            name: "sonyericsson-k750i".into(),
            description: "Sony Ericsson K750i (SyncML 1.1, WBXML, ISO-8859-1 vCards)".into(),
            manufacturer: "SonyEricsson".into(),
            model: "K750i".into(),
            software_version: "R1CA021".into(),
            hardware_version: "R1A".into(),
            firmware_version: "R1CA021".into(),
            oem: None,
            device_id: "IMEI:354416005739727".into(),
            version: Version::V1_1,
            encoding: Encoding::Wbxml,
            wbxml_public_id_as_text: true,
            max_msg_size: 2700,
            max_obj_size: 262_144,
            supports_large_objects: true,
            supports_number_of_changes: false,
            utc: true,
            datastores: vec![
                datastore(
                    Datastore::Contacts,
                    "EriPBDB",
                    "Contact",
                    "Phonebook",
                    "text/x-vcard",
                    "2.1",
                    40,
                    510,
                ),
                datastore(
                    Datastore::Calendar,
                    "EriCalDB",
                    "Calendar",
                    "Calendar",
                    "text/x-vcalendar",
                    "1.0",
                    40,
                    300,
                ),
                datastore(
                    Datastore::Tasks,
                    "EriTodoDB",
                    "Task",
                    "Tasks",
                    "text/x-vcalendar",
                    "1.0",
                    40,
                    80,
                ),
                datastore(
                    Datastore::Notes,
                    "EriNoteDB",
                    "Memo",
                    "Notes",
                    "text/x-vnote",
                    "1.1",
                    40,
                    50,
                ),
            ],
            capabilities: vec![
                vcard_capability(vec![prop("PHOTO", &["TYPE"]), prop("X-IRMC-LUID", &[])]),
                vcalendar_capability(true),
                capability(
                    "text/x-vnote",
                    "1.1",
                    vec![prop("BEGIN", &[]), prop("BODY", &[]), prop("END", &[])],
                ),
            ],
            cable_switch: Some(CableSwitch::SonyEricssonEobex),
            text_style: TextStyle::Latin1EightBit,
            anchor_style: AnchorStyle::Counter,
            server_identifier: "PC Suite".into(),
            sends_devinf: true,
            binary_san: false,
        }
    }

    /// Sony Ericsson Z600 as its captured package 1 shows it: SyncML 1.0 over WBXML with a
    /// text public id, no `Mod` in its DevInf (software R2B, hardware R2A), MaxMsgSize 2700,
    /// contacts (also taking vCard 3.0), calendar and to-dos, no large objects.
    pub fn sony_ericsson_z600() -> DeviceProfile {
        let mut contacts = datastore(
            Datastore::Contacts,
            "EriPBDB",
            "Contact",
            "Phonebook",
            "text/x-vcard",
            "2.1",
            40,
            510,
        );
        contacts
            .also_receives
            .push(("text/vcard".into(), "3.0".into()));
        DeviceProfile {
            name: "sonyericsson-z600".into(),
            description: "Sony Ericsson Z600 (SyncML 1.0, WBXML, no large objects)".into(),
            manufacturer: "SonyEricsson".into(),
            model: String::new(),
            software_version: "R2B".into(),
            hardware_version: "R2A".into(),
            firmware_version: String::new(),
            oem: None,
            device_id: "351932004600689".into(),
            version: Version::V1_0,
            encoding: Encoding::Wbxml,
            wbxml_public_id_as_text: true,
            max_msg_size: 2700,
            max_obj_size: 0,
            supports_large_objects: false,
            supports_number_of_changes: false,
            utc: false,
            datastores: vec![
                contacts,
                datastore(
                    Datastore::Calendar,
                    "EriCalDB",
                    "Calendar",
                    "Calendar",
                    "text/x-vcalendar",
                    "1.0",
                    40,
                    300,
                ),
                datastore(
                    Datastore::Tasks,
                    "EriTodoDB",
                    "Task",
                    "Tasks",
                    "text/x-vcalendar",
                    "1.0",
                    40,
                    80,
                ),
            ],
            capabilities: vec![
                capability(
                    "text/x-vcard",
                    "2.1",
                    vec![
                        prop("BEGIN", &[]),
                        prop("VERSION", &[]),
                        prop("N", &[]),
                        prop("FN", &[]),
                        prop("TITLE", &[]),
                        prop("ORG", &[]),
                        prop("TEL", &["WORK", "FAX", "CELL", "HOME"]),
                        prop("EMAIL", &["INTERNET"]),
                        prop("END", &[]),
                    ],
                ),
                vcalendar_capability(true),
            ],
            cable_switch: Some(CableSwitch::SonyEricssonEobex),
            text_style: TextStyle::Latin1EightBit,
            anchor_style: AnchorStyle::Counter,
            server_identifier: "PC Suite".into(),
            sends_devinf: true,
            binary_san: false,
        }
    }

    /// Siemens S65: SyncML 1.1 over WBXML, contacts, calendar and notes.
    pub fn siemens_s65() -> DeviceProfile {
        DeviceProfile {
            name: "siemens-s65".into(),
            description: "Siemens S65 (SyncML 1.1, WBXML)".into(),
            manufacturer: "SIEMENS".into(),
            model: "S65".into(),
            software_version: "25".into(),
            hardware_version: "03".into(),
            firmware_version: "25".into(),
            oem: None,
            device_id: "IMEI:350312345678901".into(),
            version: Version::V1_1,
            encoding: Encoding::Wbxml,
            wbxml_public_id_as_text: false,
            max_msg_size: 4096,
            max_obj_size: 131_072,
            supports_large_objects: true,
            supports_number_of_changes: true,
            utc: false,
            datastores: vec![
                datastore(
                    Datastore::Contacts,
                    "Addressbook",
                    "Contacts",
                    "Addressbook",
                    "text/x-vcard",
                    "2.1",
                    16,
                    1000,
                ),
                datastore(
                    Datastore::Calendar,
                    "Organizer",
                    "Calendar",
                    "Organizer",
                    "text/x-vcalendar",
                    "1.0",
                    16,
                    500,
                ),
                datastore(
                    Datastore::Notes,
                    "Notes",
                    "Notes",
                    "Notes",
                    "text/plain",
                    "1.0",
                    16,
                    100,
                ),
            ],
            capabilities: vec![
                vcard_capability(vec![sized("NOTE", &[], 400), prop("PHOTO", &["TYPE"])]),
                vcalendar_capability(false),
                capability("text/plain", "1.0", Vec::new()),
            ],
            cable_switch: Some(CableSwitch::SiemensSqwe),
            text_style: TextStyle::Utf8EightBit,
            anchor_style: AnchorStyle::Counter,
            server_identifier: "PC Suite".into(),
            sends_devinf: true,
            binary_san: false,
        }
    }

    /// Motorola RAZR V3: SyncML 1.1 over XML, contacts and calendar, quoted-printable
    /// windows-1252 without folding.
    pub fn motorola_v3() -> DeviceProfile {
        DeviceProfile {
            name: "motorola-v3".into(),
            description: "Motorola RAZR V3 (SyncML 1.1, XML, windows-1252 quoted-printable)".into(),
            manufacturer: "Motorola CE, Copyright 2000".into(),
            model: "V3".into(),
            software_version: "R374_G_0E.41.C3R_A".into(),
            hardware_version: "P3".into(),
            firmware_version: "R374_G_0E.41.C3R_A".into(),
            oem: None,
            device_id: "IMEI:354543001234567".into(),
            version: Version::V1_1,
            encoding: Encoding::Xml,
            wbxml_public_id_as_text: false,
            max_msg_size: 5120,
            max_obj_size: 65_536,
            supports_large_objects: true,
            supports_number_of_changes: false,
            utc: false,
            datastores: vec![
                datastore(
                    Datastore::Contacts,
                    "./contacts",
                    "Contacts",
                    "Phonebook",
                    "text/x-vcard",
                    "2.1",
                    12,
                    1000,
                ),
                datastore(
                    Datastore::Calendar,
                    "./calendar",
                    "Calendar",
                    "Datebook",
                    "text/x-vcalendar",
                    "1.0",
                    12,
                    500,
                ),
            ],
            capabilities: vec![
                vcard_capability(vec![prop("PHOTO", &["TYPE"])]),
                vcalendar_capability(false),
            ],
            cable_switch: Some(CableSwitch::MotorolaMode22),
            text_style: TextStyle::QuotedPrintableWindows1252,
            anchor_style: AnchorStyle::Counter,
            server_identifier: "PC Suite".into(),
            sends_devinf: true,
            binary_san: false,
        }
    }

    /// The datastore holding `kind` (for tasks, a calendar that holds them too).
    pub fn datastore(&self, kind: Datastore) -> Option<&DatastoreSpec> {
        self.datastores.iter().find(|d| d.kind == kind).or_else(|| {
            (kind == Datastore::Tasks)
                .then(|| self.datastores.iter().find(|d| d.holds_tasks))
                .flatten()
        })
    }

    /// The datastore a server names (its `server_uri` or our `local_uri`, compared
    /// case-insensitively without a leading `./`).
    pub fn datastore_named(&self, name: &str) -> Option<&DatastoreSpec> {
        let clean = |s: &str| s.trim().trim_start_matches("./").to_ascii_lowercase();
        let wanted = clean(name);
        self.datastores
            .iter()
            .find(|d| clean(&d.server_uri) == wanted || clean(&d.local_uri) == wanted)
    }

    /// The `./devinf1x` URI of the profile's version.
    pub fn devinf_uri(&self) -> &'static str {
        match self.version {
            Version::V1_0 => "./devinf10",
            Version::V1_1 => "./devinf11",
            Version::V1_2 => "./devinf12",
        }
    }

    /// The DevInf the phone sends (Put in package 1, Results to the server's Get).
    pub fn devinf(&self) -> DevInf {
        let mut devinf = DevInf::new(self.version);
        devinf.man = Some(self.manufacturer.clone());
        // Some phones send no Mod at all (the Z600).
        devinf.model = (!self.model.is_empty()).then(|| self.model.clone());
        devinf.oem.clone_from(&self.oem);
        devinf.sw_v = Some(self.software_version.clone());
        devinf.hw_v = Some(self.hardware_version.clone());
        devinf.fw_v = (!self.firmware_version.is_empty()).then(|| self.firmware_version.clone());
        devinf.dev_id = Some(self.device_id.clone());
        devinf.dev_typ = Some("phone".into());
        let at_least_1_1 = self.version != Version::V1_0;
        devinf.utc = self.utc && at_least_1_1;
        devinf.support_large_objs = self.supports_large_objects && at_least_1_1;
        devinf.support_number_of_changes = self.supports_number_of_changes && at_least_1_1;
        for spec in &self.datastores {
            let preferred =
                ContentType::new(spec.content_type.clone(), spec.content_version.clone());
            let mut store = DataStore {
                source_ref: spec.local_uri.clone(),
                display_name: Some(spec.display_name.clone()),
                max_guid_size: Some(spec.max_guid_size),
                rx_pref: vec![preferred.clone()],
                rx: spec
                    .also_receives
                    .iter()
                    .map(|(t, v)| ContentType::new(t.clone(), v.clone()))
                    .collect(),
                tx_pref: vec![preferred],
                ds_mem: spec.max_items.map(|max_id| DsMem {
                    max_id: Some(max_id),
                    ..DsMem::default()
                }),
                sync_cap: Some(SyncCap {
                    sync_types: vec![1, 2, 3, 4, 5, 6, 7],
                    ..SyncCap::default()
                }),
                ..DataStore::default()
            };
            if self.version == Version::V1_2 {
                store.ct_caps = self
                    .capabilities
                    .iter()
                    .filter(|c| c.content_type.eq_ignore_ascii_case(&spec.content_type))
                    .map(|c| ct_cap(c, true))
                    .collect();
            }
            devinf.data_stores.push(store);
        }
        if self.version != Version::V1_2 {
            devinf.ct_caps = self.capabilities.iter().map(|c| ct_cap(c, false)).collect();
        }
        devinf
    }
}

fn ct_cap(capability: &Capability, with_version: bool) -> CtCap {
    CtCap {
        ct_type: capability.content_type.clone(),
        ver_ct: with_version.then(|| capability.version.clone()),
        properties: capability
            .properties
            .iter()
            .map(|p| Property {
                name: p.name.clone(),
                max_size: p.max_size,
                params: p
                    .params
                    .iter()
                    .map(|name| PropParam {
                        name: name.clone(),
                        ..PropParam::default()
                    })
                    .collect(),
                ..Property::default()
            })
            .collect(),
        ..CtCap::default()
    }
}
