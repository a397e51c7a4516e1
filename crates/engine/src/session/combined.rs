//! A phone calendar that holds to-dos too (Nokia, the Sony Ericsson P900): the phone has one
//! datastore, we keep two. Its sync runs as two actives sharing the phone's datastore: the
//! Calendar one the phone alerted, and a Tasks companion with the same phone URI, mode and
//! anchors. The phone's to-dos land in Tasks (a desktop to-do app sees them), ours go to the
//! phone in the calendar's Sync, and Maps, deletes and anchors follow the item's own store.

use base64::Engine as _;

use crate::storage::SyncStore;
use crate::storage::{Datastore, DeviceId, Guid};
use handsync_proto::pim::profile::{DeviceInfo, ProfileSet};
use handsync_proto::syncml::{DevInf, Item};

use super::{Result, Session};

impl Session {
    /// Whether the phone's datastore `phone_uri`, which it syncs with our Calendar, holds
    /// its to-dos too. Its DevInf decides when it says: the datastore's CTCap lists VTODO
    /// and no other datastore of the phone is a task list (combined), or another one is
    /// (separate). Otherwise the quirk profile matched on the phone's maker and model does.
    pub(super) fn calendar_holds_tasks(&self, phone_uri: &str) -> bool {
        let devinf = self.state.phone_info.devinf.as_ref();
        if let Some(devinf) = devinf {
            let separate_tasks = devinf.data_stores.iter().any(|store| {
                !same_uri(&store.source_ref, phone_uri)
                    && self.config.datastore_for(&store.source_ref) == Some(Datastore::Tasks)
            });
            if separate_tasks {
                return false;
            }
            if lists_todos(devinf, phone_uri) {
                return true;
            }
        }
        let info = DeviceInfo {
            manufacturer: devinf.and_then(|d| d.man.as_deref()).unwrap_or("").into(),
            model: devinf.and_then(|d| d.model.as_deref()).unwrap_or("").into(),
            software_version: devinf.and_then(|d| d.sw_v.as_deref()).unwrap_or("").into(),
        };
        ProfileSet::embedded()
            .resolve(&info)
            .datastores
            .calendar_holds_tasks
            .unwrap_or(false)
    }

    /// The Tasks companion of the active at `index` (a calendar that holds to-dos).
    pub(super) fn companion_of(&self, index: usize) -> Option<usize> {
        let active = &self.state.active[index];
        if active.datastore != Datastore::Calendar {
            return None;
        }
        self.state
            .active
            .iter()
            .position(|a| a.tasks_of_calendar && a.phone_uri == active.phone_uri)
    }

    /// The active an item the phone sent to the datastore of the active at `index` belongs
    /// to: for a calendar holding to-dos, the store that knows its LUID, else (a new item)
    /// the one its content says (a VTODO goes to Tasks).
    pub(super) fn route_item<S: SyncStore + ?Sized>(
        &self,
        store: &S,
        index: usize,
        luid: Option<&str>,
        item: Option<&Item>,
        format: Option<&str>,
    ) -> Result<usize> {
        let Some(companion) = self.companion_of(index) else {
            return Ok(index);
        };
        let device = self.state.device.expect("started");
        if let Some(luid) = luid {
            // A chunk continuing a large object goes where its first chunk went.
            if let Some(partial) = &self.state.partial {
                if partial.luid == luid {
                    let datastore = partial.datastore();
                    return Ok(if datastore == Datastore::Tasks {
                        companion
                    } else {
                        index
                    });
                }
            }
            if knows_luid(store, device, Datastore::Calendar, luid)? {
                return Ok(index);
            }
            if knows_luid(store, device, Datastore::Tasks, luid)? {
                return Ok(companion);
            }
        }
        let data = item
            .and_then(|i| i.data.as_ref())
            .and_then(|d| d.as_bytes());
        Ok(match data {
            Some(data) if is_todo(data, format) => companion,
            _ => index,
        })
    }

    /// The store a Map item for the phone's datastore `datastore` belongs in: the Tasks one
    /// for a to-do we sent to a calendar that holds to-dos, whether or not that calendar is
    /// being synced now (a late Map).
    pub(super) fn map_datastore<S: SyncStore + ?Sized>(
        &self,
        store: &S,
        datastore: Datastore,
        guid: Guid,
    ) -> Result<Datastore> {
        if datastore != Datastore::Calendar {
            return Ok(datastore);
        }
        match store.item(guid) {
            Ok(item) if item.datastore == Datastore::Tasks => Ok(Datastore::Tasks),
            _ => Ok(datastore),
        }
    }
}

fn knows_luid<S: SyncStore + ?Sized>(
    store: &S,
    device: DeviceId,
    datastore: Datastore,
    luid: &str,
) -> Result<bool> {
    match store.device_item_by_luid(device, datastore, luid) {
        Ok(held) => Ok(held.is_some()),
        // The device never had this datastore set up: it holds nothing there.
        Err(e) if e.kind() == crate::storage::StorageErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn same_uri(a: &str, b: &str) -> bool {
    a.trim_start_matches("./")
        .eq_ignore_ascii_case(b.trim_start_matches("./"))
}

/// The phone's CTCap for its datastore lists VTODO among what BEGIN takes.
fn lists_todos(devinf: &DevInf, phone_uri: &str) -> bool {
    let Some(store) = devinf
        .data_stores
        .iter()
        .find(|s| same_uri(&s.source_ref, phone_uri))
    else {
        return false;
    };
    devinf.ct_caps_for(store).iter().any(|cap| {
        cap.properties.iter().any(|p| {
            p.name.eq_ignore_ascii_case("BEGIN")
                && p.val_enums.iter().any(|v| v.eq_ignore_ascii_case("VTODO"))
        })
    })
}

/// A vCalendar or iCalendar item holding a to-do and no event.
fn is_todo(data: &[u8], format: Option<&str>) -> bool {
    let decoded;
    let data = match format {
        Some(f) if f.eq_ignore_ascii_case("b64") => {
            let compact: Vec<u8> = data
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            match base64::engine::general_purpose::STANDARD.decode(compact) {
                Ok(bytes) => {
                    decoded = bytes;
                    &decoded[..]
                }
                Err(_) => return false,
            }
        }
        _ => data,
    };
    let text = String::from_utf8_lossy(data).to_ascii_uppercase();
    let has = |what: &str| {
        text.lines()
            .any(|line| line.trim_end().replace(' ', "") == format!("BEGIN:{what}"))
    };
    has("VTODO") && !has("VEVENT")
}
