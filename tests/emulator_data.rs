//! The emulator's data: generated data sets (deterministic, written the way each model writes
//! them), directories loaded and saved (state included), corpus files loaded and synced, and
//! the built-in profiles checked against the quirk files in `phones/`.

#[path = "support/emulator.rs"]
mod emulator_support;
mod support;

use handsync::emulator::{
    generate, CableSwitch, Change, DataSetSpec, DeviceProfile, EmulatedPhone, PhoneConfig,
    PhoneItem, PhoneStore, SyncMode, TextStyle,
};
use handsync::engine::ServerConfig;
use handsync::pim::profile::{DeviceInfo, ProfileSet};
use handsync::store::Datastore;
use handsync::syncml::{self, Command, Data, Document, GetPut, Item, Source};

use emulator_support::{assert_converged, pc_vcard, phone_keys, sync_all, Pc};

fn spec(seed: u64) -> DataSetSpec {
    DataSetSpec {
        contacts: 30,
        events: 10,
        tasks: 5,
        notes: 4,
        photo_bytes: Some(2000),
        seed,
    }
}

#[test]
fn generated_data_is_deterministic_and_written_as_each_model_writes() {
    for profile in DeviceProfile::all() {
        let one = generate(&profile, &spec(1));
        assert_eq!(one, generate(&profile, &spec(1)), "{}", profile.name);
        assert_ne!(one, generate(&profile, &spec(2)), "{}", profile.name);
        let contacts: Vec<&[u8]> = one
            .datastore(Datastore::Contacts)
            .items()
            .values()
            .map(|i| i.data.as_slice())
            .collect();
        assert_eq!(contacts.len(), 30);
        let all = contacts.concat();
        let has = |needle: &str| all.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(
            has("VERSION:2.1") && has("PHOTO;ENCODING=BASE64"),
            "{}",
            profile.name
        );
        match profile.text_style {
            TextStyle::QuotedPrintableUtf8 => {
                assert!(
                    has("CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE"),
                    "{}",
                    profile.name
                )
            }
            TextStyle::Latin1EightBit => {
                assert!(has("CHARSET=ISO-8859-1"), "{}", profile.name);
                assert!(
                    contacts.iter().any(|c| std::str::from_utf8(c).is_err()),
                    "raw Latin-1"
                );
            }
            TextStyle::QuotedPrintableWindows1252 => {
                assert!(
                    has("CHARSET=WINDOWS-1252;ENCODING=QUOTED-PRINTABLE"),
                    "{}",
                    profile.name
                )
            }
            TextStyle::Utf8EightBit => assert!(has("CHARSET=UTF-8:"), "{}", profile.name),
        }
        // Every item reads back, with identity keys all different.
        for kind in profile.datastores.iter().map(|d| d.kind) {
            let phone = EmulatedPhone::new(profile.clone(), one.clone(), PhoneConfig::default());
            let keys = phone_keys(&phone, kind);
            let mut unique = keys.clone();
            unique.dedup();
            assert_eq!(
                keys.len(),
                unique.len(),
                "{} {kind}: {keys:?}",
                profile.name
            );
            assert!(!keys.is_empty(), "{} {kind}", profile.name);
        }
        // Tasks live where the model keeps them.
        let tasks_in = if profile
            .datastores
            .iter()
            .any(|d| d.kind == Datastore::Tasks)
        {
            Some(Datastore::Tasks)
        } else if profile.datastores.iter().any(|d| d.holds_tasks) {
            Some(Datastore::Calendar)
        } else {
            None
        };
        let todos = Datastore::ALL
            .iter()
            .flat_map(|k| one.datastore(*k).items().values())
            .filter(|i| String::from_utf8_lossy(&i.data).contains("BEGIN:VTODO"))
            .count();
        assert_eq!(
            todos,
            if tasks_in.is_some() { 5 } else { 0 },
            "{}",
            profile.name
        );
    }
}

#[test]
fn a_saved_phone_loads_back_with_its_state() {
    let profile = DeviceProfile::sony_ericsson_k750i();
    let mut phone = EmulatedPhone::new(
        profile.clone(),
        generate(&profile, &spec(9)),
        PhoneConfig::default(),
    );
    let mut pc = Pc::new(ServerConfig::default());
    sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
    let luid = phone
        .store()
        .datastore(Datastore::Contacts)
        .items()
        .keys()
        .next()
        .unwrap()
        .clone();
    phone.store_mut().delete(Datastore::Contacts, &luid);
    phone
        .store_mut()
        .datastore_mut(Datastore::Notes)
        .pending_maps
        .push(("17".into(), "4".into()));
    let dir = support::scratch_dir("emulator-save");
    phone.store().save_dir(&dir).unwrap();
    assert!(dir.join("contacts").is_dir() && dir.join("emulator-state.txt").is_file());
    let loaded = PhoneStore::load_dir(&dir, false).unwrap();
    assert_eq!(&loaded, phone.store());
    assert_eq!(
        loaded.datastore(Datastore::Contacts).changes()[&luid],
        Change::Deleted
    );
    assert!(loaded.datastore(Datastore::Contacts).last_anchor.is_some());

    // The loaded phone goes on syncing where the saved one stopped: a two-way sync.
    let mut again = EmulatedPhone::new(profile, loaded, PhoneConfig::default());
    again
        .store_mut()
        .datastore_mut(Datastore::Notes)
        .pending_maps
        .clear();
    let report = sync_all(&mut again, &mut pc, SyncMode::TwoWay);
    let contacts = report
        .datastores
        .iter()
        .find(|d| d.kind == Datastore::Contacts)
        .unwrap();
    assert_eq!((contacts.mode, contacts.sent), (SyncMode::TwoWay, 1));
    assert_converged(&again, &mut pc);

    // A broken state file is an error naming the line.
    std::fs::write(dir.join("emulator-state.txt"), "last-anchor elsewhere 5\n").unwrap();
    let error = PhoneStore::load_dir(&dir, false).unwrap_err();
    assert!(error.to_string().contains("elsewhere"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corpus_files_load_as_a_phone_and_sync() {
    let dir = support::scratch_dir("emulator-corpus");
    let corpus = support::corpus_dir();
    for (from, to) in [
        ("pim/syncevolution/vcard21.vcf", "all.vcf"),
        ("pim/syncevolution/vcal10.ics", "all.vcs"),
        ("pim/gammu/vnote/nokia.vnt", "nokia.vnt"),
    ] {
        std::fs::copy(corpus.join(from), dir.join(to)).unwrap();
    }
    std::fs::write(dir.join("shopping.txt"), "Shopping\r\nmilk, bread").unwrap();
    let mut profile = DeviceProfile::nokia_e51();
    // This phone keeps its notes as vNotes.
    profile.datastores[2].content_type = "text/x-vnote".into();
    let store = PhoneStore::load_dir(&dir, true).unwrap();
    assert_eq!(store.datastore(Datastore::Contacts).len(), 16);
    assert_eq!(store.datastore(Datastore::Calendar).len(), 8);
    assert_eq!(store.datastore(Datastore::Notes).len(), 2);
    let mut phone = EmulatedPhone::new(profile, store, PhoneConfig::default());
    let mut pc = Pc::new(ServerConfig::default());
    sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
    assert_eq!(pc.keys(Datastore::Contacts).len(), 16);
    assert_converged(&phone, &mut pc);
    pc.add(Datastore::Contacts, &pc_vcard("Corpus", "+491713333333"));
    sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
    assert_converged(&phone, &mut pc);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn profiles_agree_with_the_quirk_files() {
    let rules = ProfileSet::embedded();
    for profile in DeviceProfile::all() {
        let resolved = rules.resolve(&DeviceInfo {
            manufacturer: profile.manufacturer.clone(),
            model: profile.model.clone(),
            software_version: profile.software_version.clone(),
        });
        assert!(
            !resolved.matched.is_empty(),
            "{}: no quirk rule matches",
            profile.name
        );
        assert_eq!(
            resolved.server_identifier, profile.server_identifier,
            "{}",
            profile.name
        );
        let names = &resolved.datastores;
        for spec in &profile.datastores {
            let expected = match spec.kind {
                Datastore::Contacts => &names.contacts,
                Datastore::Calendar => &names.calendar,
                Datastore::Tasks => &names.tasks,
                Datastore::Notes => &names.notes,
            };
            if let Some(name) = expected {
                assert_eq!(&spec.server_uri, name, "{} {}", profile.name, spec.kind);
            }
        }
        if let Some(combined) = names.calendar_holds_tasks {
            let holds = profile.datastores.iter().any(|d| d.holds_tasks);
            assert_eq!(holds, combined, "{}", profile.name);
        }
        if profile.model == "K750i" {
            // The quirk file's K750i rule: SyncML 1.1.
            assert_eq!(
                resolved.syncml_version,
                profile.version.as_str(),
                "{}",
                profile.name
            );
        }
        if profile.manufacturer == "SonyEricsson" {
            assert_eq!(
                resolved.charset.name(),
                "windows-1252",
                "ISO-8859-1 is read as windows-1252"
            );
            assert_eq!(profile.cable_switch, Some(CableSwitch::SonyEricssonEobex));
        }
        let command = profile
            .cable_switch
            .expect("every built-in has a cable")
            .command();
        assert!(command.starts_with("AT") || command == "BFB", "{command}");
    }
    assert_eq!(
        DeviceProfile::siemens_s65().cable_switch.unwrap().command(),
        "AT^SQWE=3"
    );
    assert_eq!(
        DeviceProfile::motorola_v3().cable_switch.unwrap().command(),
        "AT+MODE=22"
    );
    assert_eq!(
        DeviceProfile::nokia_6230i().cable_switch.unwrap().command(),
        "AT+CPROT=0"
    );
    assert!(DeviceProfile::builtin("nokia-3310").is_none());
}

#[test]
fn the_devinf_survives_both_encodings_in_its_version_layout() {
    for profile in DeviceProfile::all() {
        let devinf = profile.devinf();
        assert_eq!(devinf.version(), profile.version);
        if profile.version == handsync::markup::Version::V1_2 {
            assert!(devinf.ct_caps.is_empty() && !devinf.data_stores[0].ct_caps.is_empty());
        } else {
            assert!(!devinf.ct_caps.is_empty());
        }
        let put = Command::Put(GetPut {
            cmd_id: Some("1".into()),
            items: vec![Item {
                source: Some(Source::new(profile.devinf_uri())),
                data: Some(Data::DevInf(Box::new(devinf.clone()))),
                ..Item::default()
            }],
            ..GetPut::default()
        });
        let message = syncml::Message {
            version: profile.version,
            header: None,
            body: syncml::SyncBody {
                commands: vec![put],
                ..syncml::SyncBody::default()
            },
            extensions: Default::default(),
        };
        let bytes = handsync::emulator::encode_message(&profile, &message).unwrap();
        let (document, _) = syncml::decode_document(&bytes).unwrap();
        let Document::Message(decoded) = document else {
            panic!("a message")
        };
        let read = decoded.devinfs().next().expect("the DevInf");
        assert_eq!(read.man, devinf.man);
        assert_eq!(read.model, devinf.model);
        assert_eq!(read.data_stores.len(), profile.datastores.len());
        assert_eq!(read.support_large_objs, devinf.support_large_objs);
    }
}

/// `--data` pointed at a folder other tools use (an `export --vdir`, vdirsyncer's metadata,
/// a `displayname`, a file that happens to be called `1.vcf`): saving the phone, again and
/// again with items added and deleted, never changes or removes a file the emulator did not
/// write, and what it wrote loads back as the same phone.
#[test]
fn saving_never_touches_files_it_did_not_write() {
    let dir = support::scratch_dir("emulator-foreign-files");
    let contacts = dir.join("contacts");
    std::fs::create_dir_all(&contacts).unwrap();
    let foreign: Vec<(std::path::PathBuf, Vec<u8>)> = vec![
        (
            contacts.join("1.vcf"),
            pc_vcard("Collision", "+491701000001").into_bytes(),
        ),
        (
            contacts.join("a1b2-uid.vcf"),
            pc_vcard("Vdir", "+491701000002").into_bytes(),
        ),
        (contacts.join("displayname"), b"Phone contacts".to_vec()),
        (contacts.join(".vdirsyncer-meta"), b"etag 42".to_vec()),
        (dir.join("notes.txt"), b"the user's own notes".to_vec()),
    ];
    for (path, bytes) in &foreign {
        std::fs::write(path, bytes).unwrap();
    }
    let untouched = || {
        for (path, bytes) in &foreign {
            assert_eq!(&std::fs::read(path).unwrap(), bytes, "{}", path.display());
        }
    };
    let mut store = PhoneStore::load_dir(&dir, false).unwrap();
    let imported = store.datastore(Datastore::Contacts).len();
    assert!(imported >= 2, "the vCards were imported: {imported}");
    store.save_dir(&dir).unwrap();
    untouched();
    let loaded = PhoneStore::load_dir(&dir, false).unwrap();
    assert_eq!(loaded, store);

    // The phone's user adds one and deletes one; saved twice over.
    let added = store.add(
        Datastore::Contacts,
        PhoneItem::new("text/vcard", pc_vcard("Added", "+491701000003")),
    );
    let first = store
        .datastore(Datastore::Contacts)
        .items()
        .keys()
        .next()
        .unwrap()
        .clone();
    assert!(store.delete(Datastore::Contacts, &first));
    store.save_dir(&dir).unwrap();
    store.save_dir(&dir).unwrap();
    untouched();
    let loaded = PhoneStore::load_dir(&dir, false).unwrap();
    assert_eq!(loaded, store);
    assert!(loaded.datastore(Datastore::Contacts).get(&added).is_some());
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&contacts)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.') && name != ".vdirsyncer-meta")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
