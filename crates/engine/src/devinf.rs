//! Our device information ("PC Suite"), and what we keep of a phone's.

use super::config::ServerConfig;
use crate::storage::{Datastore, DevInfSummary};
use handsync_proto::markup::Version;
use handsync_proto::syncml::{ContentType, DataStore, DevInf, SyncCap};

/// The DevInf `LocURI` of a SyncML version: `./devinf10`, `./devinf11`, `./devinf12`.
pub fn devinf_uri(version: Version) -> &'static str {
    match version {
        Version::V1_0 => "./devinf10",
        Version::V1_1 => "./devinf11",
        Version::V1_2 => "./devinf12",
    }
}

/// Whether a `LocURI` names a DevInf document (any version, with or without `./`).
pub fn is_devinf_uri(uri: &str) -> bool {
    let uri = uri.trim();
    let uri = uri.strip_prefix("./").unwrap_or(uri);
    matches!(uri, "devinf10" | "devinf11" | "devinf12")
}

/// Our DevInf in the version of the session.
pub fn server_devinf(config: &ServerConfig, version: Version) -> DevInf {
    let mut devinf = DevInf::new(version);
    devinf.man = Some(config.manufacturer.clone().into());
    devinf.model = Some(config.server_id.clone().into());
    devinf.dev_id = Some(config.server_id.clone().into());
    devinf.dev_typ = Some("server".into());
    devinf.sw_v = Some(env!("CARGO_PKG_VERSION").into());
    if version != Version::V1_0 {
        devinf.utc = true;
        devinf.support_number_of_changes = true;
    }
    // (datastore, preferred (type, version), also accepted (type, version))
    type Formats = (
        Datastore,
        (&'static str, &'static str),
        (&'static str, &'static str),
    );
    let types: [Formats; 4] = [
        (
            Datastore::Contacts,
            ("text/x-vcard", "2.1"),
            ("text/vcard", "3.0"),
        ),
        (
            Datastore::Calendar,
            ("text/x-vcalendar", "1.0"),
            ("text/calendar", "2.0"),
        ),
        (
            Datastore::Tasks,
            ("text/x-vcalendar", "1.0"),
            ("text/calendar", "2.0"),
        ),
        (
            Datastore::Notes,
            ("text/plain", "1.0"),
            ("text/x-vnote", "1.1"),
        ),
    ];
    for (datastore, preferred, other) in types {
        let preferred = ContentType::new(preferred.0, preferred.1);
        let other = ContentType::new(other.0, other.1);
        devinf.data_stores.push(DataStore {
            source_ref: ServerConfig::server_uri(datastore).into(),
            rx_pref: vec![preferred.clone()],
            rx: vec![other.clone()],
            tx_pref: vec![preferred],
            tx: vec![other],
            sync_cap: Some(SyncCap {
                sync_types: vec![1, 2, 3, 4, 5, 6, 7],
                ..SyncCap::default()
            }),
            ..DataStore::default()
        });
    }
    // Placed at DevInf level, the writer moves each into the datastores taking its type in
    // DevInf 1.2 and writes them flat in 1.0/1.1.
    devinf.ct_caps = crate::capabilities::server_ct_caps();
    devinf
}

/// The identifying fields of a phone's DevInf, as the store keeps them.
pub fn summary(devinf: &DevInf) -> DevInfSummary {
    DevInfSummary {
        manufacturer: text(&devinf.man),
        model: text(&devinf.model),
        oem: text(&devinf.oem),
        firmware_version: text(&devinf.fw_v),
        software_version: text(&devinf.sw_v),
        hardware_version: text(&devinf.hw_v),
        dev_id: text(&devinf.dev_id),
        device_type: text(&devinf.dev_typ),
    }
}

fn text<S: AsRef<str>>(value: &Option<S>) -> Option<String> {
    value.as_ref().map(|v| v.as_ref().to_string())
}
