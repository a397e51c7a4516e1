//! The emulated Nokia phones keep events and to-dos in one "Calendar" datastore, as the real
//! ones do: their to-dos land in the PC's Tasks, the PC's to-dos reach their calendar, and
//! edits and deletes go both ways across the two stores with two-way syncs.

#[path = "support/emulator.rs"]
mod emulator_support;

use handsync::emulator::{generate, DataSetSpec, DeviceProfile, PhoneItem, SyncMode};
use handsync::engine::ServerConfig;
use handsync::store::Datastore;

use emulator_support::{assert_converged, phone_with, sync_all, Pc};

fn todos_on_phone(phone: &handsync::emulator::EmulatedPhone) -> Vec<String> {
    let mut found: Vec<String> = phone
        .store()
        .datastore(Datastore::Calendar)
        .items()
        .values()
        .map(|item| String::from_utf8_lossy(&item.data).into_owned())
        .filter(|text| text.contains("BEGIN:VTODO"))
        .collect();
    found.sort();
    found
}

fn summary_of(canonical: &str) -> &str {
    canonical
        .lines()
        .find_map(|l| l.strip_prefix("SUMMARY:"))
        .unwrap_or("")
}

#[test]
fn nokia_calendars_carry_todos_both_ways() {
    let combined: Vec<DeviceProfile> = DeviceProfile::all()
        .into_iter()
        .filter(|p| p.datastores.iter().any(|d| d.holds_tasks))
        .collect();
    assert!(
        combined.len() >= 2,
        "the Nokia models keep to-dos in Calendar"
    );
    for profile in combined {
        let spec = DataSetSpec {
            contacts: 5,
            events: 6,
            tasks: 4,
            notes: 0,
            photo_bytes: None,
            seed: 6230,
        };
        let mut phone = phone_with(profile.clone(), generate(&profile, &spec));
        assert_eq!(todos_on_phone(&phone).len(), 4, "{}", profile.name);
        let mut pc = Pc::new(ServerConfig::default());
        sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
        // The phone's to-dos are tasks on the PC, never calendar items.
        assert_eq!(pc.items(Datastore::Tasks).len(), 4, "{}", profile.name);
        assert!(pc
            .items(Datastore::Calendar)
            .iter()
            .all(|i| !i.canonical.contains("BEGIN:VTODO")));
        assert_converged(&phone, &mut pc);

        // A to-do written on the desktop reaches the phone's calendar.
        let desk = pc.add(
            Datastore::Tasks,
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:desk-1\r\nSUMMARY:File taxes\r\nDUE:20070430T220000Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
        );
        // One to-do done on the phone, one added there.
        let first_todo = phone
            .store()
            .datastore(Datastore::Calendar)
            .items()
            .iter()
            .find(|(_, item)| String::from_utf8_lossy(&item.data).contains("BEGIN:VTODO"))
            .map(|(luid, item)| (luid.clone(), item.data.clone()))
            .unwrap();
        let done = String::from_utf8_lossy(&first_todo.1)
            .replace("END:VTODO", "STATUS:COMPLETED\r\nEND:VTODO")
            .into_bytes();
        assert!(phone
            .store_mut()
            .replace(Datastore::Calendar, &first_todo.0, done));
        phone.store_mut().add(
            Datastore::Calendar,
            PhoneItem::new(
                "text/x-vcalendar",
                "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VTODO\r\nSUMMARY:Water plants\r\nDUE:20070501T080000Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
            ),
        );
        let report = sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
        assert!(
            report.datastores.iter().all(|d| d.mode == SyncMode::TwoWay),
            "{}: {report:?}",
            profile.name
        );
        let on_phone = todos_on_phone(&phone);
        assert_eq!(on_phone.len(), 6, "{}", profile.name);
        assert!(on_phone.iter().any(|t| t.contains("SUMMARY:File taxes")));
        let tasks = pc.items(Datastore::Tasks);
        let mut summaries: Vec<&str> = tasks.iter().map(|t| summary_of(&t.canonical)).collect();
        summaries.sort();
        assert!(summaries.contains(&"Water plants") && summaries.contains(&"File taxes"));
        assert_eq!(
            tasks
                .iter()
                .filter(|t| t.canonical.contains("STATUS:COMPLETED"))
                .count(),
            1,
            "{}",
            profile.name
        );
        assert_converged(&phone, &mut pc);

        // The phone deletes the desktop's to-do: the PC's task goes too.
        let luid = phone
            .store()
            .datastore(Datastore::Calendar)
            .items()
            .iter()
            .find(|(_, item)| String::from_utf8_lossy(&item.data).contains("File taxes"))
            .map(|(luid, _)| luid.clone())
            .unwrap();
        assert!(phone.store_mut().delete(Datastore::Calendar, &luid));
        sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
        assert!(pc.items(Datastore::Tasks).iter().all(|t| t.guid != desk));
        assert_converged(&phone, &mut pc);
    }
}
