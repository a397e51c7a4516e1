//! Golden transcripts in `captures/`: each built-in phone's first (slow) sync and a two-way
//! sync after changes on both sides, against handsync's engine with fixed clocks. The test
//! records the same sessions again and compares them with the goldens message by message (a
//! change in what handsync answers, or in what the emulated phones send, shows up here), and
//! replays each golden with `emulator::replay` (the phone, fed the recorded answers, sends
//! the recorded messages).
//!
//! After an intended change: `HANDSYNC_UPDATE_CAPTURES=1 cargo test --test captures_replay`,
//! then review the diff of `captures/` like code.

#[path = "support/emulator.rs"]
mod emulator_support;

use std::path::PathBuf;

use handsync::emulator::{
    generate, replay, DataSetSpec, DeviceProfile, EmulatedPhone, PhoneConfig, SyncMode, Transcript,
};
use handsync::engine::ServerConfig;
use handsync::store::Datastore;

use emulator_support::{pc_vcard, phone_vcard, sync_all, Pc};

fn data() -> DataSetSpec {
    DataSetSpec {
        contacts: 4,
        events: 2,
        tasks: 0,
        notes: 0,
        photo_bytes: None,
        seed: 1,
    }
}

fn fresh_phone(profile: &DeviceProfile) -> EmulatedPhone {
    let mut phone = EmulatedPhone::new(
        profile.clone(),
        generate(profile, &data()),
        PhoneConfig::default(),
    );
    phone.record_transcripts(true);
    phone
}

/// The user's edits between the two sessions.
fn edit(phone: &mut EmulatedPhone, pc: &mut Pc) {
    pc.add(Datastore::Contacts, &pc_vcard("Golden", "+4930555"));
    phone
        .store_mut()
        .add(Datastore::Contacts, phone_vcard("Silver", "+4917666"));
}

/// The two sessions, recorded.
fn record(profile: &DeviceProfile) -> Vec<Transcript> {
    let mut pc = Pc::new(ServerConfig::default());
    let mut phone = fresh_phone(profile);
    sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
    edit(&mut phone, &mut pc);
    sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
    phone.take_transcripts()
}

fn golden_path(profile: &DeviceProfile, session: usize) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(&profile.name)
        .join(format!("session-{session}.txt"))
}

#[test]
fn recorded_sessions_match_the_goldens_and_replay() {
    let update = std::env::var_os("HANDSYNC_UPDATE_CAPTURES").is_some();
    for profile in DeviceProfile::all() {
        let recorded = record(&profile);
        assert_eq!(recorded.len(), 2, "{}", profile.name);
        assert!(recorded.iter().all(|t| t.completed), "{}", profile.name);
        let mut goldens = Vec::new();
        for (index, transcript) in recorded.iter().enumerate() {
            let path = golden_path(&profile, index + 1);
            if update {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, transcript.to_text()).unwrap();
            }
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (HANDSYNC_UPDATE_CAPTURES=1 records it)",
                    path.display()
                )
            });
            let golden = Transcript::parse(&text, &path.display().to_string())
                .unwrap_or_else(|e| panic!("{e}"));
            for (number, (now, then)) in transcript.entries.iter().zip(&golden.entries).enumerate()
            {
                assert!(
                    now.bytes == then.bytes,
                    "{}, message {}: differs from the golden\n--- now\n{}\n--- golden\n{}",
                    path.display(),
                    number + 1,
                    now.xml,
                    then.xml
                );
            }
            assert_eq!(
                transcript.entries.len(),
                golden.entries.len(),
                "{}: message count",
                path.display()
            );
            goldens.push(golden);
        }

        // The phone, fed the recorded answers, sends what it sent then.
        let mut pc = Pc::new(ServerConfig::default());
        let mut phone = fresh_phone(&profile);
        replay(&mut phone, &goldens[0])
            .unwrap_or_else(|e| panic!("{} session 1: {e}", profile.name));
        edit(&mut phone, &mut pc);
        replay(&mut phone, &goldens[1])
            .unwrap_or_else(|e| panic!("{} session 2: {e}", profile.name));
    }
}
