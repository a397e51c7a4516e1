//! Every built-in phone profile against handsync's engine: first slow sync of a generated data
//! set, two-way syncs with changes on both sides, deletes, a conflict, refresh and one-way
//! modes. Both sides are compared by identity key after each session.

#[path = "support/emulator.rs"]
mod emulator_support;

use handsync::emulator::{generate, DataSetSpec, DeviceProfile, SyncMode};
use handsync::engine::ServerConfig;
use handsync::store::Datastore;

use emulator_support::{
    assert_converged, phone_with, sync_all, Pc,
};

fn data_set() -> DataSetSpec {
    DataSetSpec {
        contacts: 40,
        events: 12,
        tasks: 6,
        notes: 5,
        photo_bytes: None,
        seed: 2006,
    }
}

#[test]
fn first_slow_sync_of_every_profile_puts_everything_on_the_pc() {
    for profile in DeviceProfile::all() {
        let store = generate(&profile, &data_set());
        let mut phone = phone_with(profile.clone(), store);
        let mut pc = Pc::new(ServerConfig::default());
        let report = sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
        for ds in &report.datastores {
            assert_eq!(ds.mode, SyncMode::Slow, "{}: a first sync is slow", profile.name);
            assert!(ds.sent_statuses.iter().all(|s| s.is_success()), "{}: {ds:?}", profile.name);
        }
        assert_eq!(pc.keys(Datastore::Contacts).len(), 40, "{}", profile.name);
        assert_converged(&phone, &mut pc);
        for kind in Datastore::ALL {
            assert!(phone.store().datastore(kind).changes().is_empty(), "{}", profile.name);
        }
    }
}
