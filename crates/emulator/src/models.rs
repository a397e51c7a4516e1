//! The built-in phone models as data: `models/*.toml`, embedded at build time and read into
//! [`DeviceProfile`]s. `models/base.toml` holds the CTCap templates the models share; the
//! format is described in `docs/emulator.md`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use toml::Spanned;

use super::profile::{
    AnchorStyle, CableSwitch, Capability, CapabilityProperty, DatastoreSpec, DeviceProfile,
    TextStyle,
};
use handsync_proto::markup::Version;
use handsync_proto::pim::Datastore;
use handsync_proto::syncml::Encoding;

const BASE: (&str, &str) = ("base.toml", include_str!("../models/base.toml"));

/// The built-in models, by file name; each file's `name` is its stem.
pub(super) const MODELS: [(&str, &str); 6] = [
    (
        "nokia-6230i.toml",
        include_str!("../models/nokia-6230i.toml"),
    ),
    ("nokia-e51.toml", include_str!("../models/nokia-e51.toml")),
    (
        "sonyericsson-k750i.toml",
        include_str!("../models/sonyericsson-k750i.toml"),
    ),
    (
        "sonyericsson-z600.toml",
        include_str!("../models/sonyericsson-z600.toml"),
    ),
    (
        "siemens-s65.toml",
        include_str!("../models/siemens-s65.toml"),
    ),
    (
        "motorola-v3.toml",
        include_str!("../models/motorola-v3.toml"),
    ),
];

/// A model file that could not be read: the file, and what is wrong where (TOML errors
/// give the line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError {
    pub file: String,
    pub message: String,
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl std::error::Error for ModelError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    name: String,
    description: String,
    manufacturer: String,
    /// Empty: the DevInf has no `Mod` (the Z600).
    model: String,
    software_version: String,
    hardware_version: String,
    /// Empty: the DevInf has no `FwV`.
    firmware_version: String,
    oem: Option<String>,
    device_id: String,
    syncml: SyncMlVersion,
    encoding: WireEncoding,
    #[serde(default)]
    wbxml_public_id_as_text: bool,
    max_msg_size: u64,
    max_obj_size: u64,
    large_objects: bool,
    number_of_changes: bool,
    utc: bool,
    cable_switch: Option<CableSwitch>,
    #[serde(default)]
    infrared: bool,
    text_style: TextStyle,
    anchor_style: AnchorStyle,
    #[serde(default = "pc_suite")]
    server_identifier: String,
    #[serde(default = "yes")]
    sends_devinf: bool,
    binary_san: bool,
    #[serde(rename = "datastore")]
    datastores: Vec<DatastoreEntry>,
    #[serde(rename = "capability", default)]
    capabilities: Vec<CapabilityEntry>,
}

fn pc_suite() -> String {
    "PC Suite".into()
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
enum SyncMlVersion {
    #[serde(rename = "1.0")]
    V1_0,
    #[serde(rename = "1.1")]
    V1_1,
    #[serde(rename = "1.2")]
    V1_2,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum WireEncoding {
    Xml,
    Wbxml,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Contacts,
    Calendar,
    Tasks,
    Notes,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DatastoreEntry {
    kind: Kind,
    local_uri: String,
    server_uri: String,
    display_name: String,
    content_type: String,
    content_version: String,
    #[serde(default)]
    also_receives: Vec<(String, String)>,
    max_guid_size: u32,
    max_items: Option<u64>,
    #[serde(default)]
    holds_tasks: bool,
}

/// A CTCap: a template of `base.toml` and more properties, or a type, version and properties
/// of its own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapabilityEntry {
    base: Option<Spanned<String>>,
    content_type: Option<String>,
    version: Option<String>,
    #[serde(default)]
    properties: Vec<PropertyEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Template {
    content_type: String,
    version: String,
    properties: Vec<PropertyEntry>,
}

/// A property: its name alone, or a table with its parameters and size limit.
#[derive(Deserialize)]
#[serde(untagged)]
enum PropertyEntry {
    Name(String),
    Full(FullProperty),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullProperty {
    name: String,
    #[serde(default)]
    params: Vec<String>,
    max_size: Option<u64>,
}

impl From<&PropertyEntry> for CapabilityProperty {
    fn from(entry: &PropertyEntry) -> CapabilityProperty {
        match entry {
            PropertyEntry::Name(name) => CapabilityProperty {
                name: name.clone(),
                params: Vec::new(),
                max_size: None,
            },
            PropertyEntry::Full(full) => CapabilityProperty {
                name: full.name.clone(),
                params: full.params.clone(),
                max_size: full.max_size,
            },
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, ModelError> {
    toml::from_str(text).map_err(|e| ModelError {
        file: file.to_string(),
        message: e.to_string(),
    })
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Reads one model file; `base` names the templates its capabilities may start from.
fn read_model(
    file: &str,
    text: &str,
    templates: &BTreeMap<String, Template>,
) -> Result<DeviceProfile, ModelError> {
    let model: ModelFile = parse(file, text)?;
    let error = |message: String| ModelError {
        file: file.to_string(),
        message,
    };
    let mut capabilities = Vec::new();
    for (index, entry) in model.capabilities.iter().enumerate() {
        let template = match &entry.base {
            Some(base) => Some(templates.get(base.get_ref()).ok_or_else(|| {
                error(format!(
                    "line {}: no capability template {:?} in {} (it has {})",
                    line_of(text, base.span().start),
                    base.get_ref(),
                    BASE.0,
                    templates.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
            })?),
            None => None,
        };
        let pick = |own: &Option<String>, inherited: Option<&String>, what: &str| {
            own.clone().or_else(|| inherited.cloned()).ok_or_else(|| {
                error(format!(
                    "capability {} has no {what} and no base template",
                    index + 1
                ))
            })
        };
        let content_type = pick(
            &entry.content_type,
            template.map(|t| &t.content_type),
            "content_type",
        )?;
        let version = pick(&entry.version, template.map(|t| &t.version), "version")?;
        let properties = template
            .map(|t| t.properties.as_slice())
            .unwrap_or_default()
            .iter()
            .chain(&entry.properties)
            .map(CapabilityProperty::from)
            .collect();
        capabilities.push(Capability {
            content_type,
            version,
            properties,
        });
    }
    Ok(DeviceProfile {
        name: model.name,
        description: model.description,
        manufacturer: model.manufacturer,
        model: model.model,
        software_version: model.software_version,
        hardware_version: model.hardware_version,
        firmware_version: model.firmware_version,
        oem: model.oem,
        device_id: model.device_id,
        version: match model.syncml {
            SyncMlVersion::V1_0 => Version::V1_0,
            SyncMlVersion::V1_1 => Version::V1_1,
            SyncMlVersion::V1_2 => Version::V1_2,
        },
        encoding: match model.encoding {
            WireEncoding::Xml => Encoding::Xml,
            WireEncoding::Wbxml => Encoding::Wbxml,
        },
        wbxml_public_id_as_text: model.wbxml_public_id_as_text,
        max_msg_size: model.max_msg_size,
        max_obj_size: model.max_obj_size,
        supports_large_objects: model.large_objects,
        supports_number_of_changes: model.number_of_changes,
        utc: model.utc,
        datastores: model.datastores.into_iter().map(datastore_spec).collect(),
        capabilities,
        cable_switch: model.cable_switch,
        infrared: model.infrared,
        text_style: model.text_style,
        anchor_style: model.anchor_style,
        server_identifier: model.server_identifier,
        sends_devinf: model.sends_devinf,
        binary_san: model.binary_san,
    })
}

fn datastore_spec(entry: DatastoreEntry) -> DatastoreSpec {
    DatastoreSpec {
        kind: match entry.kind {
            Kind::Contacts => Datastore::Contacts,
            Kind::Calendar => Datastore::Calendar,
            Kind::Tasks => Datastore::Tasks,
            Kind::Notes => Datastore::Notes,
        },
        local_uri: entry.local_uri,
        server_uri: entry.server_uri,
        display_name: entry.display_name,
        content_type: entry.content_type,
        content_version: entry.content_version,
        also_receives: entry.also_receives,
        max_guid_size: entry.max_guid_size,
        max_items: entry.max_items,
        holds_tasks: entry.holds_tasks,
    }
}

/// Reads a model file's text, with the built-in capability templates.
pub(super) fn model_from_toml(file: &str, text: &str) -> Result<DeviceProfile, ModelError> {
    let templates: BTreeMap<String, Template> = parse(BASE.0, BASE.1)?;
    read_model(file, text, &templates)
}

/// A built-in model by file name. The embedded files are checked by the tests: a broken one
/// is a build defect, not a user error.
pub(super) fn builtin_model(name: &str) -> Option<DeviceProfile> {
    let (file, text) = MODELS
        .iter()
        .find(|(file, _)| file.strip_suffix(".toml") == Some(name))?;
    Some(model_from_toml(file, text).unwrap_or_else(|e| panic!("built-in phone model: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_model_reads_and_is_named_as_its_file() {
        for (file, text) in MODELS {
            let profile = model_from_toml(file, text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(format!("{}.toml", profile.name), file);
            assert!(!profile.datastores.is_empty(), "{file}");
        }
    }

    #[test]
    fn an_unknown_field_is_named_with_its_file_and_line() {
        let (_, text) = MODELS[0];
        let broken = text.replacen("utc = true", "utc = true\nbattery = \"full\"", 1);
        let error = model_from_toml("mine.toml", &broken).unwrap_err();
        assert_eq!(error.file, "mine.toml");
        let line = broken
            .lines()
            .position(|l| l.starts_with("battery"))
            .unwrap()
            + 1;
        assert!(error.message.contains(&format!("line {line}")), "{error}");
        assert!(error.message.contains("battery"), "{error}");
    }

    #[test]
    fn an_unknown_template_is_named_with_its_line() {
        let (_, text) = MODELS[0];
        let broken = text.replacen("base = \"vcard\"", "base = \"vcards\"", 1);
        let error = model_from_toml("mine.toml", &broken).unwrap_err();
        let line = broken.lines().position(|l| l.contains("vcards")).unwrap() + 1;
        assert!(error.to_string().starts_with("mine.toml: "), "{error}");
        assert!(error.message.contains(&format!("line {line}")), "{error}");
        assert!(error.message.contains("\"vcards\""), "{error}");
    }

    #[test]
    fn a_capability_without_base_needs_its_type() {
        let text = MODELS[0].1.to_string() + "\n[[capability]]\nversion = \"1.0\"\n";
        let error = model_from_toml("mine.toml", &text).unwrap_err();
        assert!(
            error.message.contains("capability 4 has no content_type"),
            "{error}"
        );
    }

    #[test]
    fn a_template_comes_first_then_the_model_s_own_properties() {
        let profile = builtin_model("nokia-6230i").unwrap();
        let vcard = &profile.capabilities[0];
        let names: Vec<&str> = vcard.properties.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names.first(), Some(&"BEGIN"));
        assert_eq!(names[names.len() - 3..], ["END", "PHOTO", "X-NICKNAME"]);
        assert_eq!(vcard.properties[names.len() - 2].params, ["TYPE"]);
        assert!(builtin_model("nokia-3310").is_none());
    }
}
