//! Every phone model that the corpus's per-model rule files describe must be
//! matched by a model-specific profile carrying the same quirks.

use std::path::{Path, PathBuf};

use handsync::pim::profile::{DeviceInfo, ProfileSet};

fn corpus() -> PathBuf {
    match std::env::var_os("HANDSYNC_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
    }
}

fn tag<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{name}>"))? + start;
    Some(text[start..end].trim())
}

fn flag(text: &str, name: &str) -> bool {
    tag(text, name) == Some("yes")
}

#[test]
fn every_documented_model_has_its_quirks() {
    let set = ProfileSet::embedded();
    let dir = corpus().join("phones/syncevolution");
    let mut checked = 0;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("server-") && name.ends_with(".xml")
        })
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let manufacturer = tag(&text, "manufacturer").unwrap_or_default();
        // Desktop clients (Outlook plug-ins) are not phones.
        if text.contains("Outlook") {
            continue;
        }
        let device = DeviceInfo {
            manufacturer: manufacturer.trim_end_matches('*').to_string(),
            model: tag(&text, "model").unwrap_or_default().to_string(),
            software_version: tag(&text, "software").unwrap_or_default().to_string(),
        };
        let profile = set.resolve(&device);
        assert!(
            !profile.matched.is_empty(),
            "{file}: no profile for {device:?}"
        );
        assert_eq!(profile.server_identifier, "PC Suite", "{file}");
        let is_vendor_default = tag(&text, "finalrule") == Some("no");
        if !is_vendor_default {
            assert!(
                profile.matched.len() >= 2,
                "{file}: only vendor rule matched: {:?}",
                profile.matched
            );
        }
        let check = |wanted: bool, actual: bool, what: &str| {
            assert!(!wanted || actual, "{file}: {what} missing for {device:?}");
        };
        check(
            flag(&text, "limitedfieldlengths"),
            profile.limited_field_lengths,
            "limited field lengths",
        );
        check(
            flag(&text, "forcelocaltime"),
            profile.force_local_time,
            "force local time",
        );
        check(flag(&text, "forceutc"), profile.force_utc, "force UTC");
        check(
            flag(&text, "noemptyproperties"),
            profile.no_empty_properties,
            "no empty properties",
        );
        check(
            flag(&text, "ignoredevinfmaxsize"),
            profile.ignore_devinf_max_size,
            "ignore DevInf MaxSize",
        );
        check(
            text.contains("alarmTimeToUTC = TRUE"),
            profile.alarms_in_utc,
            "UTC alarms",
        );
        check(
            text.contains("addInternetEmail = TRUE"),
            profile.email_internet_type,
            "EMAIL;INTERNET",
        );
        check(
            text.contains("mindate="),
            profile.min_date.is_some(),
            "minimum date",
        );
        check(
            flag(&text, "quote8bitcontent"),
            profile.quote_8bit,
            "quote 8-bit",
        );
        check(
            flag(&text, "nocontentfolding"),
            profile.no_folding,
            "no folding",
        );
        if tag(&text, "outputcharset") == Some("ISO-8859-1") {
            assert_eq!(profile.charset.name(), "windows-1252", "{file}");
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} rule files checked");
}

#[test]
fn vendor_templates_name_the_datastores() {
    let set = ProfileSet::embedded();
    let nokia = set.resolve(&DeviceInfo {
        manufacturer: "Nokia".into(),
        model: "Nokia N85".into(),
        software_version: String::new(),
    });
    let template =
        std::fs::read_to_string(corpus().join("phones/syncevolution/phone-nokia.ini")).unwrap();
    for store in [
        &nokia.datastores.contacts,
        &nokia.datastores.calendar,
        &nokia.datastores.notes,
    ] {
        let name = store.as_deref().unwrap();
        assert!(template.contains(&format!("uri = {name}")), "{name}");
    }
    assert_eq!(nokia.datastores.calendar_holds_tasks, Some(true));
    let se = set.resolve(&DeviceInfo {
        manufacturer: "Sony Ericsson".into(),
        model: "W810i".into(),
        software_version: String::new(),
    });
    let template =
        std::fs::read_to_string(corpus().join("phones/syncevolution/phone-sony-ericsson.ini"))
            .unwrap();
    for store in [
        &se.datastores.contacts,
        &se.datastores.calendar,
        &se.datastores.tasks,
        &se.datastores.notes,
    ] {
        let name = store.as_deref().unwrap();
        assert!(template.contains(&format!("uri = {name}")), "{name}");
    }
    assert!(template.contains(&format!("remoteIdentifier = {}", se.server_identifier)));
}
