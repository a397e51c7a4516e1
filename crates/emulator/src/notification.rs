//! Server Alerted Notifications: which datastores the server wants synced, and how.
//!
//! Two forms reach phones of this era: the binary SAN of SyncML 1.2 (`handsync_proto::syncml::san`),
//! and, before it, a SyncML message holding `Alert` 206..210 per datastore (SyncML 1.1
//! "server alerted sync"). Both become a [`SyncRequest`] with `server_alerted` set.

use super::client::{SyncMode, SyncRequest};
use super::error::EmulatorError;
use super::profile::DeviceProfile;
use handsync_proto::syncml::san::{content_type_name, San, SyncType, VERSION_1_1, VERSION_1_2};
use handsync_proto::syncml::{self, Command};

/// The request a notification makes of this phone.
pub fn request_from_notification(
    profile: &DeviceProfile,
    bytes: &[u8],
) -> Result<SyncRequest, EmulatorError> {
    let looks_like_xml = syncml::sniff_encoding(bytes) == syncml::Encoding::Xml;
    if !looks_like_xml {
        match San::decode(bytes) {
            Ok(san)
                if !profile.binary_san
                    && (san.header.version == VERSION_1_2 || san.header.version == VERSION_1_1) =>
            {
                return Err(EmulatorError::Notification(format!(
                    "the {} takes no binary SAN (version {}.{}); only SyncML alerts",
                    profile.model,
                    san.header.version / 10,
                    san.header.version % 10
                )))
            }
            Ok(san) if san.header.version == VERSION_1_2 || san.header.version == VERSION_1_1 => {
                return from_san(profile, &san)
            }
            Ok(san) => {
                // Not a SAN version we know: perhaps a WBXML SyncML message after all.
                if let Ok(request) = from_message(profile, bytes) {
                    return Ok(request);
                }
                return Err(EmulatorError::Notification(format!(
                    "SAN version {} (expected 1.2)",
                    san.header.version
                )));
            }
            Err(san_error) => {
                return from_message(profile, bytes).map_err(|message_error| {
                    EmulatorError::Notification(format!(
                        "neither a SAN ({san_error}) nor a SyncML alert ({message_error})"
                    ))
                })
            }
        }
    }
    from_message(profile, bytes).map_err(|e| EmulatorError::Notification(e.to_string()))
}

fn mode_of_san(sync_type: SyncType) -> Result<SyncMode, EmulatorError> {
    match sync_type {
        SyncType::TwoWay => Ok(SyncMode::TwoWay),
        SyncType::OneWayFromClient => Ok(SyncMode::OneWayFromClient),
        SyncType::RefreshFromClient => Ok(SyncMode::RefreshFromClient),
        SyncType::OneWayFromServer => Ok(SyncMode::OneWayFromServer),
        SyncType::RefreshFromServer => Ok(SyncMode::RefreshFromServer),
        SyncType::Other(code) => Err(EmulatorError::Notification(format!(
            "sync type {code} is not a server-alerted sync (206..210)"
        ))),
    }
}

fn from_san(profile: &DeviceProfile, san: &San) -> Result<SyncRequest, EmulatorError> {
    let mut datastores = Vec::new();
    for sync in &san.syncs {
        let mode = mode_of_san(sync.sync_type)?;
        let spec = if sync.server_uri.is_empty() {
            let wanted = content_type_name(sync.content_type).unwrap_or("");
            profile
                .datastores
                .iter()
                .find(|d| d.content_type.eq_ignore_ascii_case(wanted))
        } else {
            profile.datastore_named(&sync.server_uri)
        };
        let spec = spec.ok_or_else(|| {
            EmulatorError::Notification(format!(
                "no datastore for server URI {:?} (content type 0x{:02x})",
                sync.server_uri, sync.content_type
            ))
        })?;
        if !datastores.iter().any(|(kind, _)| *kind == spec.kind) {
            datastores.push((spec.kind, mode));
        }
    }
    if datastores.is_empty() {
        // A SAN without syncs asks for every datastore.
        datastores = profile
            .datastores
            .iter()
            .map(|d| (d.kind, SyncMode::TwoWay))
            .collect();
    }
    Ok(SyncRequest {
        datastores,
        server_alerted: true,
        session_id: Some(san.header.session_id.to_string()),
    })
}

fn from_message(profile: &DeviceProfile, bytes: &[u8]) -> Result<SyncRequest, EmulatorError> {
    let message = syncml::decode(bytes).map_err(|e| EmulatorError::Notification(e.to_string()))?;
    let header = message
        .header
        .as_ref()
        .ok_or_else(|| EmulatorError::Notification("a SyncML alert without a header".into()))?;
    let mut datastores = Vec::new();
    for command in &message.body.commands {
        let Command::Alert(alert) = command else {
            continue;
        };
        let code = alert.data.map(|c| c.code()).unwrap_or(0);
        if !(206..=210).contains(&code) {
            return Err(EmulatorError::Notification(format!(
                "Alert {code} in a notification (expected 206..210)"
            )));
        }
        let mode = SyncMode::from_alert(alert.data.expect("checked")).expect("206..210 are modes");
        for item in &alert.items {
            let name = item
                .target
                .as_ref()
                .map(|t| t.loc_uri.as_str())
                .or(item.source.as_ref().map(|s| s.loc_uri.as_str()))
                .unwrap_or("");
            let spec = profile
                .datastore_named(name)
                .or_else(|| {
                    item.source
                        .as_ref()
                        .and_then(|s| profile.datastore_named(&s.loc_uri))
                })
                .ok_or_else(|| {
                    EmulatorError::Notification(format!("no datastore named {name:?}"))
                })?;
            if !datastores.iter().any(|(kind, _)| *kind == spec.kind) {
                datastores.push((spec.kind, mode));
            }
        }
    }
    if datastores.is_empty() {
        return Err(EmulatorError::Notification(
            "a SyncML message without server-alerted sync Alerts".into(),
        ));
    }
    Ok(SyncRequest {
        datastores,
        server_alerted: true,
        session_id: Some(header.session_id.to_string()),
    })
}
