//! Phone quirk profiles: data files (`phones/*.toml`, embedded at build time
//! and loadable at run time) that say how a phone model behaves, matched on
//! the DevInf manufacturer, model and software version. Adding a phone means
//! adding a rule to a data file.
//!
//! Every matching rule applies, from the least specific (a vendor's
//! defaults) to the most specific (a model, a firmware); a later rule's
//! settings override earlier ones, and among equally specific rules, files
//! loaded at run time override the embedded ones.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use super::calendar::{AllDayStyle, VcalOptions};
use super::datetime::DateTime;
use super::merge::PhoneCapabilities;

/// The profile files shipped with handsync.
pub const EMBEDDED_PROFILES: [(&str, &str); 6] = [
    ("nokia.toml", include_str!("../../../../phones/nokia.toml")),
    (
        "sony-ericsson.toml",
        include_str!("../../../../phones/sony-ericsson.toml"),
    ),
    (
        "ericsson.toml",
        include_str!("../../../../phones/ericsson.toml"),
    ),
    (
        "siemens.toml",
        include_str!("../../../../phones/siemens.toml"),
    ),
    (
        "motorola.toml",
        include_str!("../../../../phones/motorola.toml"),
    ),
    ("sendo.toml", include_str!("../../../../phones/sendo.toml")),
];

/// What the phone says about itself in its DevInf.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceInfo {
    pub manufacturer: String,
    pub model: String,
    pub software_version: String,
}

/// Which phones a rule is for. Patterns compare case-insensitively and may
/// use `*` for any text; an absent list matches anything.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    pub manufacturer: Vec<String>,
    pub model: Option<Vec<String>>,
    pub software_version: Option<Vec<String>>,
}

/// Datastore names (LocURI) on the phone.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Datastores {
    pub contacts: Option<String>,
    pub calendar: Option<String>,
    pub tasks: Option<String>,
    pub notes: Option<String>,
    /// The calendar datastore holds events and to-dos together (Nokia).
    pub calendar_holds_tasks: Option<bool>,
}

/// One rule as written in a profile file; unset settings leave the value
/// of less specific rules.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileRule {
    pub name: String,
    pub description: Option<String>,
    #[serde(rename = "match")]
    pub matcher: Matcher,
    /// The server identity the phone expects ("PC Suite").
    pub server_identifier: Option<String>,
    /// The server name in Server Alerted Notifications, when it differs
    /// ("PC Suite Data Sync" for Nokia).
    pub alert_server_identifier: Option<String>,
    pub syncml_version: Option<String>,
    pub datastores: Option<Datastores>,
    /// Charset for legacy text sent to and read from the phone.
    pub charset: Option<String>,
    pub alarms_in_utc: Option<bool>,
    /// Send times as local time (the phone mishandles UTC).
    pub force_local_time: Option<bool>,
    /// Send times as UTC even without DevInf UTC support.
    pub force_utc: Option<bool>,
    /// Earliest date the phone stores (`19800101T000000Z`).
    pub min_date: Option<String>,
    /// The phone cuts values to limits (from CTCap or `field_limits`).
    pub limited_field_lengths: Option<bool>,
    /// Empty properties crash or confuse the phone: leave them out.
    pub no_empty_properties: Option<bool>,
    /// Ignore DevInf MaxSize (bogus values, e.g. 256 bytes for PHOTO).
    pub ignore_devinf_max_size: Option<bool>,
    /// The phone only takes EMAIL with the INTERNET type.
    pub email_internet_type: Option<bool>,
    /// Quote 8-bit text with QUOTED-PRINTABLE.
    pub quote_8bit: Option<bool>,
    /// Do not fold content lines.
    pub no_folding: Option<bool>,
    /// `date-only`, `midnight-to-2359` or `midnight-to-midnight`.
    pub all_day_style: Option<String>,
    /// Known value limits in characters, by property.
    pub field_limits: Option<BTreeMap<String, usize>>,
    /// Known limits on how many of a property the phone keeps.
    pub max_occurrences: Option<BTreeMap<String, usize>>,
    /// Other facts, for people (docs, logs).
    pub notes: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    profile: Vec<ProfileRule>,
}

/// The settings for one phone, all rules applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneProfile {
    /// Names of the rules that matched, least specific first.
    pub matched: Vec<String>,
    pub server_identifier: String,
    /// Server name for Server Alerted Notifications (defaults to
    /// `server_identifier`).
    pub alert_server_identifier: String,
    pub syncml_version: String,
    pub datastores: Datastores,
    pub charset: &'static encoding_rs::Encoding,
    pub alarms_in_utc: bool,
    pub force_local_time: bool,
    pub force_utc: bool,
    pub min_date: Option<DateTime>,
    pub limited_field_lengths: bool,
    pub no_empty_properties: bool,
    pub ignore_devinf_max_size: bool,
    pub email_internet_type: bool,
    pub quote_8bit: bool,
    pub no_folding: bool,
    pub all_day_style: AllDayStyle,
    pub field_limits: BTreeMap<String, usize>,
    pub max_occurrences: BTreeMap<String, usize>,
    pub notes: Vec<String>,
}

impl Default for PhoneProfile {
    fn default() -> Self {
        PhoneProfile {
            matched: Vec::new(),
            server_identifier: "PC Suite".into(),
            alert_server_identifier: "PC Suite".into(),
            syncml_version: "1.1".into(),
            datastores: Datastores::default(),
            charset: encoding_rs::UTF_8,
            alarms_in_utc: false,
            force_local_time: false,
            force_utc: false,
            min_date: None,
            limited_field_lengths: false,
            no_empty_properties: false,
            ignore_devinf_max_size: false,
            email_internet_type: false,
            quote_8bit: false,
            no_folding: false,
            all_day_style: AllDayStyle::DateOnly,
            field_limits: BTreeMap::new(),
            max_occurrences: BTreeMap::new(),
            notes: Vec::new(),
        }
    }
}

/// A problem in a profile file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    pub file: String,
    pub message: String,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl std::error::Error for ProfileError {}

/// All known rules.
#[derive(Debug, Clone, Default)]
pub struct ProfileSet {
    rules: Vec<ProfileRule>,
}

/// Case-insensitive match with `*` standing for any text.
fn pattern_matches(pattern: &str, text: &str) -> bool {
    let pattern = pattern.trim().to_lowercase();
    let text = text.trim().to_lowercase();
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text.as_str();
    for (index, part) in parts.iter().enumerate() {
        if index == 0 {
            match rest.strip_prefix(part) {
                Some(after) => rest = after,
                None => return false,
            }
        } else if index == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(position) => rest = &rest[position + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Manufacturer spellings differ ("SonyEricsson", "Sony Ericsson"): compare
/// without spaces.
fn manufacturer_matches(pattern: &str, text: &str) -> bool {
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    pattern_matches(&squeeze(pattern), &squeeze(text))
}

/// Models match as reported or without the maker's name in front ("Nokia
/// 6230" matches `6230`).
fn model_matches(pattern: &str, model: &str, manufacturer: &str) -> bool {
    if pattern_matches(pattern, model) {
        return true;
    }
    let lower = model.trim().to_lowercase();
    let makers = [
        manufacturer.trim().to_lowercase(),
        "sony ericsson".into(),
        "nokia".into(),
    ];
    makers.iter().any(|maker| {
        !maker.is_empty()
            && lower
                .strip_prefix(maker.as_str())
                .is_some_and(|rest| pattern_matches(pattern, rest))
    })
}

impl ProfileRule {
    pub fn matches(&self, device: &DeviceInfo) -> bool {
        let manufacturer_ok = self
            .matcher
            .manufacturer
            .iter()
            .any(|p| manufacturer_matches(p, &device.manufacturer));
        let model_ok = self.matcher.model.as_ref().is_none_or(|patterns| {
            patterns
                .iter()
                .any(|p| model_matches(p, &device.model, &device.manufacturer))
        });
        let software_ok = self
            .matcher
            .software_version
            .as_ref()
            .is_none_or(|patterns| {
                patterns
                    .iter()
                    .any(|p| pattern_matches(p, &device.software_version))
            });
        manufacturer_ok && model_ok && software_ok
    }

    /// More constraints, more specific.
    fn specificity(&self) -> usize {
        usize::from(self.matcher.model.is_some())
            + usize::from(self.matcher.software_version.is_some())
    }
}

fn parse_all_day_style(text: &str) -> Option<AllDayStyle> {
    match text {
        "date-only" => Some(AllDayStyle::DateOnly),
        "midnight-to-2359" => Some(AllDayStyle::MidnightTo2359),
        "midnight-to-midnight" => Some(AllDayStyle::MidnightToMidnight),
        _ => None,
    }
}

fn validate(rule: &ProfileRule, file: &str) -> Result<(), ProfileError> {
    let error = |message: String| ProfileError {
        file: file.to_string(),
        message: format!("profile {:?}: {message}", rule.name),
    };
    if rule.matcher.manufacturer.is_empty() {
        return Err(error("match.manufacturer is empty".into()));
    }
    if let Some(charset) = &rule.charset {
        if super::codec::charset_by_label(charset).is_none() {
            return Err(error(format!("unknown charset {charset:?}")));
        }
    }
    if let Some(date) = &rule.min_date {
        if DateTime::parse(date).is_none() {
            return Err(error(format!("min_date {date:?} is not a date-time")));
        }
    }
    if let Some(style) = &rule.all_day_style {
        if parse_all_day_style(style).is_none() {
            return Err(error(format!("unknown all_day_style {style:?}")));
        }
    }
    Ok(())
}

impl ProfileSet {
    /// The profiles shipped with handsync.
    pub fn embedded() -> ProfileSet {
        let mut set = ProfileSet::default();
        for (name, text) in EMBEDDED_PROFILES {
            // Embedded files are checked by the tests; a broken one is a
            // build defect, not a user error.
            set.add_file(name, text)
                .unwrap_or_else(|e| panic!("embedded phone profile: {e}"));
        }
        set
    }

    /// Adds the rules of one profile file's text.
    pub fn add_file(&mut self, file: &str, text: &str) -> Result<(), ProfileError> {
        let parsed: ProfileFile = toml::from_str(text).map_err(|e| ProfileError {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        for rule in &parsed.profile {
            validate(rule, file)?;
        }
        self.rules.extend(parsed.profile);
        Ok(())
    }

    /// Adds every `*.toml` file of a directory (sorted by name); they
    /// override embedded rules of the same specificity.
    pub fn load_dir(&mut self, dir: &Path) -> Result<usize, ProfileError> {
        let io_error = |e: std::io::Error| ProfileError {
            file: dir.display().to_string(),
            message: e.to_string(),
        };
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(io_error)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        for path in &paths {
            let text = std::fs::read_to_string(path).map_err(io_error)?;
            self.add_file(&path.display().to_string(), &text)?;
        }
        Ok(paths.len())
    }

    pub fn rules(&self) -> &[ProfileRule] {
        &self.rules
    }

    /// The profile for a phone: defaults, then every matching rule from the
    /// least to the most specific.
    pub fn resolve(&self, device: &DeviceInfo) -> PhoneProfile {
        let mut matching: Vec<(usize, usize, &ProfileRule)> = self
            .rules
            .iter()
            .enumerate()
            .filter(|(_, rule)| rule.matches(device))
            .map(|(order, rule)| (rule.specificity(), order, rule))
            .collect();
        matching.sort_by_key(|(specificity, order, _)| (*specificity, *order));
        let mut profile = PhoneProfile::default();
        for (_, _, rule) in matching {
            apply(&mut profile, rule);
        }
        profile
    }
}

fn apply(profile: &mut PhoneProfile, rule: &ProfileRule) {
    profile.matched.push(rule.name.clone());
    let set_bool = |target: &mut bool, value: Option<bool>| {
        if let Some(value) = value {
            *target = value;
        }
    };
    if let Some(id) = &rule.server_identifier {
        profile.server_identifier = id.clone();
        if rule.alert_server_identifier.is_none() {
            profile.alert_server_identifier = id.clone();
        }
    }
    if let Some(id) = &rule.alert_server_identifier {
        profile.alert_server_identifier = id.clone();
    }
    if let Some(version) = &rule.syncml_version {
        profile.syncml_version = version.clone();
    }
    if let Some(stores) = &rule.datastores {
        let target = &mut profile.datastores;
        let merge = |target: &mut Option<String>, value: &Option<String>| {
            if value.is_some() {
                target.clone_from(value);
            }
        };
        merge(&mut target.contacts, &stores.contacts);
        merge(&mut target.calendar, &stores.calendar);
        merge(&mut target.tasks, &stores.tasks);
        merge(&mut target.notes, &stores.notes);
        if stores.calendar_holds_tasks.is_some() {
            target.calendar_holds_tasks = stores.calendar_holds_tasks;
        }
    }
    if let Some(charset) = rule
        .charset
        .as_deref()
        .and_then(super::codec::charset_by_label)
    {
        profile.charset = charset;
    }
    set_bool(&mut profile.alarms_in_utc, rule.alarms_in_utc);
    set_bool(&mut profile.force_local_time, rule.force_local_time);
    set_bool(&mut profile.force_utc, rule.force_utc);
    if let Some(date) = rule.min_date.as_deref().and_then(DateTime::parse) {
        profile.min_date = Some(date);
    }
    set_bool(
        &mut profile.limited_field_lengths,
        rule.limited_field_lengths,
    );
    set_bool(&mut profile.no_empty_properties, rule.no_empty_properties);
    set_bool(
        &mut profile.ignore_devinf_max_size,
        rule.ignore_devinf_max_size,
    );
    set_bool(&mut profile.email_internet_type, rule.email_internet_type);
    set_bool(&mut profile.quote_8bit, rule.quote_8bit);
    set_bool(&mut profile.no_folding, rule.no_folding);
    if let Some(style) = rule.all_day_style.as_deref().and_then(parse_all_day_style) {
        profile.all_day_style = style;
    }
    if let Some(limits) = &rule.field_limits {
        profile
            .field_limits
            .extend(limits.iter().map(|(k, v)| (k.to_ascii_uppercase(), *v)));
    }
    if let Some(limits) = &rule.max_occurrences {
        profile
            .max_occurrences
            .extend(limits.iter().map(|(k, v)| (k.to_ascii_uppercase(), *v)));
    }
    if let Some(notes) = &rule.notes {
        profile.notes.extend(notes.iter().cloned());
    }
}

/// The kinds of data a phone keeps, one datastore each (or shared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    Contacts,
    Events,
    Tasks,
    Notes,
}

impl PhoneProfile {
    /// The datastore (LocURI) holding a kind of data: to-dos go to the
    /// calendar datastore on phones that keep them together (Nokia).
    pub fn datastore_for(&self, kind: DataKind) -> Option<&str> {
        let stores = &self.datastores;
        match kind {
            DataKind::Contacts => stores.contacts.as_deref(),
            DataKind::Events => stores.calendar.as_deref(),
            DataKind::Tasks if stores.calendar_holds_tasks == Some(true) => {
                stores.calendar.as_deref()
            }
            DataKind::Tasks => stores.tasks.as_deref(),
            DataKind::Notes => stores.notes.as_deref(),
        }
    }

    /// Options for writing vCalendar 1.0 to this phone.
    pub fn vcal_options(&self) -> VcalOptions {
        VcalOptions {
            times_in_utc: !self.force_local_time || self.force_utc,
            alarms_in_utc: self.alarms_in_utc,
            all_day: self.all_day_style,
            local_zone: None,
        }
    }

    /// Adds the profile's known limits to capabilities from the phone's
    /// CTCap; drops CTCap sizes the profile says are bogus.
    pub fn adjust_capabilities(&self, capabilities: &mut PhoneCapabilities) {
        if self.ignore_devinf_max_size {
            for capability in capabilities.properties.values_mut() {
                capability.max_length = None;
            }
        }
        capabilities.limited_field_lengths |= self.limited_field_lengths;
        if capabilities.is_known() {
            for (name, limit) in &self.field_limits {
                capabilities.set_max_length(name, *limit);
            }
            for (name, count) in &self.max_occurrences {
                capabilities.set_max_occurrences(name, *count);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(manufacturer: &str, model: &str, software: &str) -> DeviceInfo {
        DeviceInfo {
            manufacturer: manufacturer.into(),
            model: model.into(),
            software_version: software.into(),
        }
    }

    #[test]
    fn embedded_profiles_load() {
        let set = ProfileSet::embedded();
        assert!(set.rules().len() >= 20);
        assert!(set.rules().iter().all(|r| !r.name.is_empty()));
    }

    #[test]
    fn nokia_defaults_and_model_overrides() {
        let set = ProfileSet::embedded();
        let e55 = set.resolve(&device("NOKIA", "Nokia E55", "031.022"));
        assert_eq!(e55.server_identifier, "PC Suite");
        assert_eq!(e55.alert_server_identifier, "PC Suite Data Sync");
        assert!(e55.alarms_in_utc && e55.email_internet_type && e55.ignore_devinf_max_size);
        assert_eq!(e55.datastores.calendar.as_deref(), Some("Calendar"));
        assert_eq!(e55.datastores.calendar_holds_tasks, Some(true));
        assert_eq!(e55.min_date.unwrap().basic(), "19800101T000000Z");
        assert!(!e55.force_local_time);
        let old = set.resolve(&device("Nokia", "6230", "V 05.50"));
        assert!(old.force_local_time && old.limited_field_lengths);
        assert!(!old.vcal_options().times_in_utc);
        assert_eq!(old.matched, ["Nokia", "Nokia 6230"]);
        let with_prefix = set.resolve(&device("NOKIA", "Nokia 6230", ""));
        assert!(with_prefix.force_local_time);
        let c7210 = set.resolve(&device("Nokia", "Nokia 7210c", "V 05.60"));
        assert!(c7210.force_utc && c7210.vcal_options().times_in_utc);
        assert_eq!(c7210.max_occurrences.get("EMAIL"), Some(&3));
        assert_eq!(e55.datastore_for(DataKind::Tasks), Some("Calendar"));
        assert_eq!(e55.datastore_for(DataKind::Notes), Some("Notes"));
    }

    #[test]
    fn sony_ericsson_charset_and_firmware_rules() {
        let set = ProfileSet::embedded();
        let k750 = set.resolve(&device("Sony Ericsson", "K750i", "R1CA021"));
        assert_eq!(k750.charset.name(), "windows-1252");
        assert!(k750.alarms_in_utc);
        assert_eq!(k750.datastores.contacts.as_deref(), Some("Contact"));
        assert_eq!(k750.syncml_version, "1.1");
        assert_eq!(k750.datastore_for(DataKind::Tasks), Some("Task"));
        let k700 = set.resolve(&device("SonyEricsson", "SEMC Phone", "R3B"));
        assert!(k700.force_local_time && k700.limited_field_lengths);
        let t610 = set.resolve(&device("SonyEricsson", "T610", "R2B"));
        assert!(t610.limited_field_lengths && !t610.force_local_time);
    }

    #[test]
    fn siemens_sx1_avoids_empty_properties() {
        let set = ProfileSet::embedded();
        let sx1 = set.resolve(&device("SIEMENS", "SX1", ""));
        assert!(sx1.no_empty_properties && sx1.force_local_time);
        let unknown = set.resolve(&device("Acme", "Phone", ""));
        assert!(unknown.matched.is_empty());
        assert_eq!(unknown, PhoneProfile::default());
    }

    #[test]
    fn runtime_files_add_and_override() {
        let mut set = ProfileSet::embedded();
        set.add_file(
            "local.toml",
            "[[profile]]\nname = \"My E55\"\nmatch = { manufacturer = [\"NOKIA\"], model = [\"E55\"] }\nalarms_in_utc = false\ncharset = \"Windows-1251\"\n",
        )
        .unwrap();
        let e55 = set.resolve(&device("NOKIA", "Nokia E55", ""));
        assert!(!e55.alarms_in_utc);
        assert_eq!(e55.charset.name(), "windows-1251");
        let broken = set.add_file(
            "bad.toml",
            "[[profile]]\nname = \"x\"\nmatch = { manufacturer = [\"A\"] }\ncharset = \"nope\"\n",
        );
        assert!(broken.unwrap_err().message.contains("unknown charset"));
        let typo = set.add_file(
            "typo.toml",
            "[[profile]]\nname = \"x\"\nmatch = { manufacturer = [\"A\"] }\nalarm_in_utc = true\n",
        );
        assert!(typo.is_err());
    }

    #[test]
    fn profile_limits_adjust_ctcap() {
        let set = ProfileSet::embedded();
        let n97 = set.resolve(&device("NOKIA", "Nokia N97 mini", ""));
        let mut capabilities = PhoneCapabilities::with_properties(&["PHOTO", "N"]);
        capabilities.set_max_length("PHOTO", 256);
        n97.adjust_capabilities(&mut capabilities);
        assert_eq!(capabilities.max_length("PHOTO"), None);
        let c7210 = set.resolve(&device("Nokia", "Nokia 7210c", ""));
        let mut capabilities = PhoneCapabilities::with_properties(&["NOTE", "EMAIL"]);
        c7210.adjust_capabilities(&mut capabilities);
        assert_eq!(capabilities.max_length("NOTE"), Some(80));
        assert_eq!(capabilities.max_occurrences("EMAIL"), Some(3));
    }

    #[test]
    fn patterns() {
        assert!(pattern_matches("Motorola*", "Motorola Inc."));
        assert!(pattern_matches("*mini", "Nokia N97 mini"));
        assert!(!pattern_matches("N97", "N97 mini"));
        assert!(manufacturer_matches("SonyEricsson", "Sony Ericsson"));
    }
}
