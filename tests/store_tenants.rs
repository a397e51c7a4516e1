//! Accounts as tenants, on SQLite and on PostgreSQL alike: an account with data of its own
//! never reads, matches, restores, lists or exports another's, even by guessing its ids; an
//! account sharing the household's data sees the household's; phones of two accounts with the
//! same SyncML URI are two devices.

mod engine_phone;
mod support;

use engine_phone::test_postgres as postgres;
use engine_phone::{vcard, Auth, Phone};
use handsync::engine::{AuthPolicy, ServerConfig};
use handsync::store::{
    Cause, Datastore, ItemContent, PointInTime, Reason, Revision, Store, StoreError, Timestamp,
};
use handsync_proto::markup::Version;
use handsync_proto::syncml::{AlertCode, Encoding};

fn card(name: &str) -> String {
    format!("BEGIN:VCARD\r\nVERSION:2.1\r\nN:{name};\r\nFN:{name}\r\nTEL;CELL:+4912345\r\nEND:VCARD\r\n")
}

fn add_card(store: &mut Store, name: &str) -> handsync::store::Guid {
    let text = card(name);
    let key = format!("fn:{}", name.to_lowercase());
    store
        .transaction(|tx| {
            tx.add_item(
                Datastore::Contacts,
                ItemContent {
                    content_type: "text/x-vcard",
                    raw: text.as_bytes(),
                    canonical: &text,
                    identity_key: Some(&key),
                },
                &Cause::pc(Reason::AddedOnPc),
                Timestamp(10),
            )
        })
        .unwrap()
        .guid
}

fn names(store: &mut Store) -> Vec<String> {
    let items = store
        .read(|tx| tx.items(Datastore::Contacts, true))
        .unwrap();
    let mut names: Vec<String> = items
        .iter()
        .filter_map(|item| {
            item.canonical
                .lines()
                .find_map(|l| l.strip_prefix("FN:"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// The same walk on each database: three stores opened on one database, each in one
/// account's data, try everything on each other's.
fn accounts_never_see_each_others_data(location: &str) {
    let mut admin = Store::open(location).unwrap();
    admin
        .transaction(|tx| {
            tx.add_account_with("alice", "a-secret", true, Timestamp(1))?;
            tx.add_account_with("bob", "b-secret", true, Timestamp(1))?;
            tx.add_account_with("family", "f-secret", false, Timestamp(1))
        })
        .unwrap();
    let household_item = add_card(&mut admin, "Household Person");

    let mut alice = Store::open(location).unwrap();
    alice.use_account("alice").unwrap();
    let mut bob = Store::open(location).unwrap();
    bob.use_account("bob").unwrap();
    let mut family = Store::open(location).unwrap();
    family.use_account("family").unwrap();

    let alices = add_card(&mut alice, "Alice Friend");
    let bobs = add_card(&mut bob, "Bob Friend");
    // The same person in two accounts: two items, never matched with each other.
    add_card(&mut alice, "Shared Name");
    add_card(&mut bob, "Shared Name");

    assert_eq!(names(&mut alice), ["Alice Friend", "Shared Name"]);
    assert_eq!(names(&mut bob), ["Bob Friend", "Shared Name"]);
    assert_eq!(names(&mut family), ["Household Person"]);
    assert_eq!(names(&mut admin), ["Household Person"]);

    // Guessing another account's GUID finds nothing: reading, history, editing, deleting,
    // restoring.
    bob.read(|tx| {
        assert!(matches!(tx.item(alices), Err(StoreError::ItemNotFound(_))));
        assert!(tx.item(household_item).is_err());
        assert!(tx.item_history(alices).is_err());
        let matched = tx.items_by_identity_key(Datastore::Contacts, "fn:alice friend")?;
        assert!(matched.is_empty(), "{matched:?}");
        assert_eq!(
            tx.items_by_identity_key(Datastore::Contacts, "fn:shared name")?
                .len(),
            1
        );
        assert_eq!(tx.item_count(Datastore::Contacts)?, 2);
        Ok::<_, StoreError>(())
    })
    .unwrap();
    let edit = card("Bob Was Here");
    let tried = bob.transaction(|tx| {
        tx.replace_item(
            alices,
            ItemContent {
                content_type: "text/x-vcard",
                raw: edit.as_bytes(),
                canonical: &edit,
                identity_key: None,
            },
            &Cause::pc(Reason::ReplacedOnPc),
            Timestamp(20),
        )
    });
    assert!(matches!(tried, Err(StoreError::ItemNotFound(_))));
    let tried = bob
        .transaction(|tx| tx.delete_item(alices, &Cause::pc(Reason::DeletedOnPc), Timestamp(20)));
    assert!(matches!(tried, Err(StoreError::ItemNotFound(_))));
    let tried = bob.transaction(|tx| {
        tx.restore_item(alices, PointInTime::Revision(Revision(1)), Timestamp(20))
    });
    assert!(tried.is_err());
    // A restore of the whole datastore touches only the account's own items.
    bob.transaction(|tx| tx.delete_item(bobs, &Cause::pc(Reason::DeletedOnPc), Timestamp(30)))
        .unwrap();
    let report = bob
        .transaction(|tx| {
            tx.restore_datastore(
                Datastore::Contacts,
                PointInTime::Time(Timestamp(25)),
                Timestamp(40),
            )
        })
        .unwrap();
    assert_eq!(report.restored.len(), 1, "{report:?}");
    assert_eq!(names(&mut alice), ["Alice Friend", "Shared Name"]);
    assert_eq!(names(&mut bob), ["Bob Friend", "Shared Name"]);
    assert!(alice.read(|tx| tx.restores()).unwrap().is_empty());
    assert_eq!(bob.read(|tx| tx.restores()).unwrap().len(), 1);

    // An unknown account is refused, not a window on the household.
    let mut nobody = Store::open(location).unwrap();
    assert!(matches!(
        nobody.use_account("mallory"),
        Err(StoreError::AccountNotFound(_))
    ));
    // An account holding data of its own is not removed from under it.
    let refused = admin.transaction(|tx| tx.remove_account("alice"));
    assert!(refused.is_err(), "{refused:?}");
}

#[test]
fn on_sqlite_accounts_never_see_each_others_data() {
    let dir = support::scratch_dir("store-tenants");
    accounts_never_see_each_others_data(dir.join("handsync.db").to_str().unwrap());
}

#[test]
fn on_postgres_accounts_never_see_each_others_data() {
    let Some(database) = postgres::postgres_or_skip("store tenants") else {
        return;
    };
    accounts_never_see_each_others_data(database.url());
}

/// Two phones with the same IMEI, logged in (md5: each device's nonce is kept in its
/// account's data) as two accounts with data of their own, slow sync overlapping contacts:
/// each account ends with its own phone's contacts only.
fn phones_of_two_accounts_sync_apart(store: Store) {
    let config = ServerConfig {
        auth: AuthPolicy::Md5,
        ..ServerConfig::default()
    };
    let mut server = engine_phone::Server::with_store(store, config);
    server
        .store
        .transaction(|tx| {
            tx.add_account_with("alice", "a-secret", true, Timestamp(1))?;
            tx.add_account_with("bob", "b-secret", true, Timestamp(1))
        })
        .unwrap();

    let mut alices = Phone::new(Version::V1_2, Encoding::Wbxml);
    alices.credentials = Some(("alice".into(), "a-secret".into(), Auth::Md5));
    let mut bobs = Phone::new(Version::V1_2, Encoding::Wbxml);
    bobs.credentials = Some(("bob".into(), "b-secret".into(), Auth::Md5));
    for n in 0..3 {
        alices.add(&vcard(n));
    }
    for n in 2..6 {
        bobs.add(&vcard(n));
    }
    assert!(
        alices
            .sync(&mut server, AlertCode::SlowSync, None)
            .completed
    );
    assert!(bobs.sync(&mut server, AlertCode::SlowSync, None).completed);
    // A two-way sync each: nothing of the other account comes over.
    let outcome = alices.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert!(outcome.received.is_empty(), "{:?}", outcome.received);
    assert_eq!(alices.items.len(), 3);
    let outcome = bobs.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert!(outcome.received.is_empty(), "{:?}", outcome.received);
    assert_eq!(bobs.items.len(), 4);

    let store = &mut server.store;
    store.use_account("alice").unwrap();
    assert_eq!(
        store.read(|tx| tx.item_count(Datastore::Contacts)).unwrap(),
        3
    );
    assert_eq!(store.read(|tx| tx.devices()).unwrap().len(), 1);
    store.use_account("bob").unwrap();
    assert_eq!(
        store.read(|tx| tx.item_count(Datastore::Contacts)).unwrap(),
        4
    );
    let devices = store.read(|tx| tx.devices()).unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(store.read(|tx| tx.sessions(None, 10)).unwrap().len(), 2);
}

#[test]
fn on_sqlite_phones_of_two_accounts_sync_apart() {
    phones_of_two_accounts_sync_apart(Store::open_in_memory().unwrap());
}

#[test]
fn on_postgres_phones_of_two_accounts_sync_apart() {
    let Some(database) = postgres::postgres_or_skip("store tenants sync") else {
        return;
    };
    phones_of_two_accounts_sync_apart(Store::open(database.url()).unwrap());
}
