//! Device profiles: what an emulated phone says about itself and how it talks.
//!
//! Each built-in profile reproduces one real model of 2004-2008: its DevInf identity, SyncML
//! version and encoding, message and object limits, datastore names and content types, the
//! capabilities (CTCap) it declares, how it writes its vCards, and the AT command that turns
//! its cable port into OBEX. The models are data, `models/*.toml` (see `models.rs`). Sources: `phones/*.toml`, `docs/phones.md`, SyncEvolution's phone
//! templates and real client messages (Sony Ericsson K500i/Z600 captures). Values no capture
//! shows (Nokia's and Siemens' MaxMsgSize, for instance) are typical of their generation and
//! said so in `docs/emulator.md`.

use serde::Deserialize;

use super::models::{self, ModelError};
use handsync_proto::markup::Version;
use handsync_proto::pim::Datastore;
use handsync_proto::syncml::{
    ContentType, CtCap, DataStore, DevInf, DsMem, Encoding, PropParam, Property, SyncCap,
};

/// The AT command (or protocol switch) that puts a phone's cable port into OBEX mode. Data for
/// the serial driver: the emulator core itself never sees a modem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
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
    /// The phone has an infrared port (IrDA with OBEX): `emulate --irda-pty` takes it.
    pub infrared: bool,
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
        models::builtin_model(name)
    }

    /// Every built-in profile.
    pub fn all() -> Vec<DeviceProfile> {
        DeviceProfile::BUILTIN
            .iter()
            .filter_map(|name| DeviceProfile::builtin(name))
            .collect()
    }

    /// A profile from a model file's text (the format of `models/*.toml`); `file` names it in
    /// errors.
    pub fn from_toml(file: &str, text: &str) -> Result<DeviceProfile, ModelError> {
        models::model_from_toml(file, text)
    }

    /// Nokia 6230i, Series 40 2nd edition (SyncML 1.1, WBXML).
    pub fn nokia_6230i() -> DeviceProfile {
        DeviceProfile::built_in_model("nokia-6230i")
    }

    /// Nokia E51, Series 60 3rd edition FP1 (SyncML 1.2, WBXML).
    pub fn nokia_e51() -> DeviceProfile {
        DeviceProfile::built_in_model("nokia-e51")
    }

    /// Sony Ericsson K750i (SyncML 1.1, WBXML, ISO-8859-1 vCards).
    pub fn sony_ericsson_k750i() -> DeviceProfile {
        DeviceProfile::built_in_model("sonyericsson-k750i")
    }

    /// Sony Ericsson Z600 (SyncML 1.0, WBXML, no large objects).
    pub fn sony_ericsson_z600() -> DeviceProfile {
        DeviceProfile::built_in_model("sonyericsson-z600")
    }

    /// Siemens S65 (SyncML 1.1, WBXML).
    pub fn siemens_s65() -> DeviceProfile {
        DeviceProfile::built_in_model("siemens-s65")
    }

    /// Motorola RAZR V3 (SyncML 1.1, XML, windows-1252 quoted-printable).
    pub fn motorola_v3() -> DeviceProfile {
        DeviceProfile::built_in_model("motorola-v3")
    }

    fn built_in_model(name: &str) -> DeviceProfile {
        DeviceProfile::builtin(name).expect("one of DeviceProfile::BUILTIN")
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
