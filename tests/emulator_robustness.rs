//! Whatever the server sends, the emulated phone answers or refuses with an error; it never
//! panics. Real sessions' replies are mutated (bytes flipped, cut, duplicated) at every point
//! of the session, in WBXML and XML.

#[path = "support/emulator.rs"]
mod emulator_support;
mod support;

use handsync::emulator::{
    generate, DataSetSpec, DeviceProfile, EmulatedPhone, PhoneConfig, Step, SyncMode, SyncRequest,
    UnixMillis,
};
use handsync::engine::ServerConfig;
use handsync::store::Datastore;

use emulator_support::{pc_vcard, run_session, Pc};
use support::XorShift;

fn mutate(bytes: &[u8], rng: &mut XorShift) -> Vec<u8> {
    let mut out = bytes.to_vec();
    match rng.below(4) {
        0 => {
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(out.len().max(1));
                if let Some(byte) = out.get_mut(at) {
                    *byte ^= 1 << rng.below(8);
                }
            }
        }
        1 => out.truncate(rng.below(out.len().max(1))),
        2 => {
            let at = rng.below(out.len().max(1));
            let piece: Vec<u8> = out[at..].iter().take(1 + rng.below(16)).copied().collect();
            out.splice(at..at, piece);
        }
        _ => {
            let at = rng.below(out.len().max(1));
            out.insert(at, rng.next_u64() as u8);
        }
    }
    out
}

#[test]
fn mutated_server_messages_never_panic_the_phone() {
    let mut rng = XorShift(0x005E_ED0F_F00D);
    for profile in [
        DeviceProfile::sony_ericsson_k750i(),
        DeviceProfile::motorola_v3(),
        DeviceProfile::nokia_e51(),
    ] {
        let mut small = profile.clone();
        small.max_msg_size = 1800;
        let spec = DataSetSpec {
            photo_bytes: Some(3000),
            ..DataSetSpec::contacts(6, 4)
        };
        let initial = generate(&small, &spec);
        // A recorded session with changes both ways.
        let mut phone = EmulatedPhone::new(small.clone(), initial.clone(), PhoneConfig::default());
        let mut pc = Pc::new(ServerConfig {
            max_msg_size: 1800,
            ..ServerConfig::default()
        });
        for n in 0..3 {
            pc.add(
                Datastore::Contacts,
                &pc_vcard(&format!("Robust{n}"), &format!("+49172000000{n}")),
            );
        }
        let request = SyncRequest::all(&small, SyncMode::TwoWay);
        let outcome = run_session(&mut phone, &mut pc, &request, None);
        assert!(outcome.report().completed);
        let replies: Vec<Vec<u8>> = outcome.replies.iter().map(|r| r.bytes.clone()).collect();
        let mut refused = 0;
        for point in 0..replies.len() {
            for _ in 0..40 {
                // The same phone, the same session up to `point`, then a mutated reply.
                let mut fresh =
                    EmulatedPhone::new(small.clone(), initial.clone(), PhoneConfig::default());
                fresh
                    .start_sync(&request, UnixMillis(1_160_000_001_000))
                    .unwrap();
                for (index, reply) in replies.iter().enumerate().take(point) {
                    match fresh.receive(reply, UnixMillis(1_160_000_002_000 + index as u64)) {
                        Ok(Step::Send(_)) => {}
                        other => panic!(
                            "{}: the recorded session went otherwise: {other:?}",
                            profile.name
                        ),
                    }
                }
                let bad = mutate(&replies[point], &mut rng);
                match fresh.receive(&bad, UnixMillis(1_160_000_009_000)) {
                    Ok(_) => {}
                    Err(error) => {
                        refused += 1;
                        assert!(!error.to_string().is_empty());
                        assert!(!fresh.in_session(), "an error ends the session");
                    }
                }
            }
        }
        assert!(refused > 0, "{}: some mutations were refused", profile.name);
    }
}

#[test]
fn a_max_msg_size_too_small_for_any_data_is_an_error_not_a_livelock() {
    let mut profile = DeviceProfile::motorola_v3();
    profile.max_msg_size = 650;
    let mut phone = EmulatedPhone::new(
        profile.clone(),
        generate(&profile, &DataSetSpec::contacts(3, 1)),
        PhoneConfig::default(),
    );
    let mut pc = Pc::new(ServerConfig {
        max_msg_size: 650,
        ..ServerConfig::default()
    });
    let mut session = pc.session();
    let request = SyncRequest::all(&profile, SyncMode::TwoWay);
    let mut bytes = phone.start_sync(&request, pc.tick()).unwrap().bytes;
    let mut error = None;
    for _ in 0..2000 {
        let reply = pc.exchange(&mut session, &bytes).unwrap();
        match phone.receive(&reply.bytes, pc.tick()) {
            Ok(Step::Send(next)) => bytes = next.bytes,
            Ok(Step::Finished(report)) => panic!("finished: {report:?}"),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    // Either side may see it first: the phone finds no room for its data, or the server
    // finds the phone's messages too small for any progress and ends the session (500).
    let error = error.expect("the session ends with an error");
    let text = error.to_string();
    assert!(text.contains("no room") || text.contains("500"), "{text}");
}
