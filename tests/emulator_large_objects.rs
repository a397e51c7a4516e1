//! A 150 KB contact photo through 3,000-byte messages, both ways, for every profile: the phone
//! sends it in chunks (MoreData, Size on the first), the engine sends it back in chunks, and
//! both sides end with the same bytes.

#[path = "support/emulator.rs"]
mod emulator_support;

use handsync::emulator::{generate, photo, DataSetSpec, DeviceProfile, PhoneItem, SyncMode};
use handsync::engine::ServerConfig;
use handsync::pim::vcard::{Photo, VCard};
use handsync::store::Datastore;
use handsync::syncml::{self, Command};

use emulator_support::{assert_converged, phone_with, sync_all, Pc};

const PHOTO: usize = 150 * 1024;
const MAX_MSG: u64 = 3000;

fn small_messages(mut profile: DeviceProfile) -> DeviceProfile {
    profile.max_msg_size = MAX_MSG;
    profile.max_obj_size = profile.max_obj_size.max(512 * 1024);
    profile
}

fn pc_config() -> ServerConfig {
    ServerConfig {
        max_msg_size: MAX_MSG,
        ..ServerConfig::default()
    }
}

/// The photo's bytes in a vCard, whatever its folding.
fn photo_of(vcard: &[u8]) -> Vec<u8> {
    let card = VCard::parse(vcard).expect("a vCard");
    match card.photo() {
        Some(Photo::Inline { data, .. }) => data,
        other => panic!("no inline photo: {other:?}"),
    }
}

fn chunks_in(messages: &[Vec<u8>]) -> usize {
    messages
        .iter()
        .map(|bytes| {
            let message = syncml::decode(bytes).unwrap();
            message
                .body
                .commands
                .iter()
                .flat_map(|c| c.commands())
                .filter(|c| matches!(c, Command::Add(_) | Command::Replace(_)))
                .flat_map(|c| c.items())
                .filter(|i| i.more_data)
                .count()
        })
        .sum()
}

#[test]
fn a_large_photo_goes_from_phone_to_pc_in_chunks() {
    for profile in DeviceProfile::all() {
        let profile = small_messages(profile);
        let spec = DataSetSpec {
            photo_bytes: Some(PHOTO),
            ..DataSetSpec::contacts(5, 11)
        };
        let mut phone = phone_with(profile.clone(), generate(&profile, &spec));
        let mut pc = Pc::new(pc_config());
        let request = handsync::emulator::SyncRequest::all(&profile, SyncMode::TwoWay);
        let outcome = emulator_support::run_session(&mut phone, &mut pc, &request, None);
        assert!(
            outcome.report().completed,
            "{}: {:#?}",
            profile.name,
            outcome.report()
        );
        if !emulator_support::carries_large_objects(&profile) {
            // SyncML 1.0: the contact cannot travel; it stays on the phone, still pending.
            assert_eq!(
                outcome.report().datastores[0].left_out.len(),
                1,
                "{}",
                profile.name
            );
            assert_eq!(chunks_in(&outcome.sent), 0);
            assert_eq!(pc.keys(Datastore::Contacts).len(), 4, "{}", profile.name);
            assert_eq!(
                phone.store().datastore(Datastore::Contacts).changes().len(),
                1
            );
            continue;
        }
        assert!(
            chunks_in(&outcome.sent) > 50,
            "{}: the photo went in chunks ({})",
            profile.name,
            chunks_in(&outcome.sent)
        );
        let with_photo: Vec<_> = pc
            .items(Datastore::Contacts)
            .into_iter()
            .filter(|i| i.canonical.contains("PHOTO"))
            .collect();
        assert_eq!(with_photo.len(), 1, "{}", profile.name);
        assert_eq!(
            photo_of(with_photo[0].canonical.as_bytes()),
            photo(PHOTO, 11),
            "{}",
            profile.name
        );
        assert_converged(&phone, &mut pc);
    }
}

#[test]
fn a_large_photo_goes_from_pc_to_phone_in_chunks() {
    for profile in DeviceProfile::all() {
        let profile = small_messages(profile);
        let mut phone = phone_with(
            profile.clone(),
            generate(&profile, &DataSetSpec::contacts(3, 5)),
        );
        let mut pc = Pc::new(pc_config());
        sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
        let bytes = photo(PHOTO, 99);
        let encoded = handsync::pim::codec::encode_base64(&bytes);
        let vcard = format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Bild;Gross\r\nTEL;TYPE=CELL:+491709999999\r\nPHOTO;ENCODING=b;TYPE=JPEG:{encoded}\r\nEND:VCARD\r\n"
        );
        pc.add(Datastore::Contacts, &vcard);
        let request = handsync::emulator::SyncRequest::only(Datastore::Contacts, SyncMode::TwoWay);
        let outcome = emulator_support::run_session(&mut phone, &mut pc, &request, None);
        let report = outcome.report();
        assert!(report.completed, "{}: {report:#?}", profile.name);
        if !emulator_support::carries_large_objects(&profile) {
            // This phone's CTCap has no PHOTO: the contact comes without it, in one message.
            assert_eq!(report.datastores[0].added, 1, "{}", profile.name);
            let texts: Vec<String> = phone
                .store()
                .datastore(Datastore::Contacts)
                .items()
                .values()
                .map(|i| String::from_utf8_lossy(&i.data).into_owned())
                .collect();
            assert!(texts.iter().any(|t| t.contains("Bild")), "{}", profile.name);
            assert!(
                !texts.iter().any(|t| t.contains("PHOTO")),
                "{}",
                profile.name
            );
            assert_converged(&phone, &mut pc);
            continue;
        }
        assert_eq!(report.datastores[0].added, 1, "{}", profile.name);
        let replies: Vec<Vec<u8>> = outcome.replies.iter().map(|r| r.bytes.clone()).collect();
        assert!(
            chunks_in(&replies) > 50,
            "{}: the engine sent chunks",
            profile.name
        );
        let on_phone: Vec<&PhoneItem> = phone
            .store()
            .datastore(Datastore::Contacts)
            .items()
            .values()
            .filter(|i| String::from_utf8_lossy(&i.data).contains("PHOTO"))
            .collect();
        assert_eq!(on_phone.len(), 1, "{}", profile.name);
        assert_eq!(photo_of(&on_phone[0].data), bytes, "{}", profile.name);
        assert_converged(&phone, &mut pc);
    }
}
