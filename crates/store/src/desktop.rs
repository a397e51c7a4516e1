//! What the two-way desktop sync knows of a vdir: for each file, the item it holds and the
//! state both sides agreed on when they last met (the item's revision, the file's hash).
//! Comparing today's item and file with that state tells which side changed since.

use crate::db::params;
use handsync_engine::storage::{Datastore, Guid, Revision};

use super::error::{Context, Result};
use super::types::{id_column, text_column};
use super::Tx;

/// One file of a vdir as the desktop sync last left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesktopFile {
    pub datastore: Datastore,
    /// The file's name in the datastore's folder.
    pub name: String,
    pub guid: Guid,
    /// The item's revision the file agrees with.
    pub revision: Revision,
    /// The hash of the file's bytes then (hex MD5).
    pub file_hash: String,
    /// Whether handsync wrote those bytes (a file the desktop wrote is kept aside, not just
    /// removed, when its item is deleted).
    pub written_by_us: bool,
}

impl Tx<'_> {
    /// The files known in one datastore's folder of the vdir at `vdir`.
    pub fn desktop_files(&self, vdir: &str, datastore: Datastore) -> Result<Vec<DesktopFile>> {
        self.collect(
            "SELECT datastore, name, item_id, item_revision, file_hash, written_by_us \
             FROM desktop_files WHERE vdir = ?1 AND datastore = ?2 ORDER BY name",
            params![vdir, datastore.as_str()],
            |row| {
                Ok(DesktopFile {
                    datastore: text_column(row, 0)?,
                    name: row.get(1)?,
                    guid: id_column(row, 2)?,
                    revision: id_column(row, 3)?,
                    file_hash: row.get(4)?,
                    written_by_us: row.get(5)?,
                })
            },
            || format!("reading the desktop files of {vdir}"),
        )
    }

    /// Records (or updates) what a file and its item agree on. A file holds one item and an
    /// item lives in one file of a vdir: an older row of either is replaced.
    pub fn set_desktop_file(&self, vdir: &str, file: &DesktopFile) -> Result<()> {
        let what = || format!("recording {} in the desktop state of {vdir}", file.name);
        self.execute_cached(
            "DELETE FROM desktop_files WHERE vdir = ?1 AND item_id = ?2 \
             AND NOT (datastore = ?3 AND name = ?4)",
            params![vdir, file.guid.0, file.datastore.as_str(), file.name],
        )
        .context(what)?;
        self.execute_cached(
            "INSERT INTO desktop_files (vdir, datastore, name, item_id, item_revision, \
             file_hash, written_by_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (vdir, datastore, name) DO UPDATE SET item_id = excluded.item_id, \
             item_revision = excluded.item_revision, file_hash = excluded.file_hash, \
             written_by_us = excluded.written_by_us",
            params![
                vdir,
                file.datastore.as_str(),
                file.name,
                file.guid.0,
                file.revision.0,
                file.file_hash,
                file.written_by_us
            ],
        )
        .context(what)?;
        Ok(())
    }

    /// Forgets a file (it was removed, on either side).
    pub fn remove_desktop_file(&self, vdir: &str, datastore: Datastore, name: &str) -> Result<()> {
        self.execute_cached(
            "DELETE FROM desktop_files WHERE vdir = ?1 AND datastore = ?2 AND name = ?3",
            params![vdir, datastore.as_str(), name],
        )
        .context(|| format!("forgetting {name} in the desktop state of {vdir}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cause, ItemContent, Reason, Store, Timestamp};

    fn add(tx: &Tx<'_>, text: &str) -> Guid {
        let content = ItemContent {
            content_type: "text/vcard",
            raw: text.as_bytes(),
            canonical: text,
            identity_key: None,
        };
        tx.add_item(
            Datastore::Contacts,
            content,
            &Cause::pc(Reason::AddedOnPc),
            Timestamp(1),
        )
        .unwrap()
        .guid
    }

    fn file(name: &str, guid: Guid, revision: i64) -> DesktopFile {
        DesktopFile {
            datastore: Datastore::Contacts,
            name: name.into(),
            guid,
            revision: Revision(revision),
            file_hash: format!("hash-{name}-{revision}"),
            written_by_us: true,
        }
    }

    #[test]
    fn a_file_row_is_updated_in_place_and_an_item_lives_in_one_file() {
        let mut store = Store::open_in_memory().unwrap();
        let tx = store.begin().unwrap();
        let a = add(&tx, "BEGIN:VCARD\r\nFN:A\r\nEND:VCARD\r\n");
        let b = add(&tx, "BEGIN:VCARD\r\nFN:B\r\nEND:VCARD\r\n");
        tx.set_desktop_file("/v", &file("a.vcf", a, 1)).unwrap();
        tx.set_desktop_file("/v", &file("b.vcf", b, 2)).unwrap();
        tx.set_desktop_file("/v", &file("a.vcf", a, 3)).unwrap();
        // The item moved to another file name: the old row goes.
        tx.set_desktop_file("/v", &file("a2.vcf", a, 4)).unwrap();
        let rows = tx.desktop_files("/v", Datastore::Contacts).unwrap();
        assert_eq!(rows, vec![file("a2.vcf", a, 4), file("b.vcf", b, 2)]);
        // Another vdir has its own rows.
        assert!(tx
            .desktop_files("/other", Datastore::Contacts)
            .unwrap()
            .is_empty());
        tx.remove_desktop_file("/v", Datastore::Contacts, "b.vcf")
            .unwrap();
        assert_eq!(
            tx.desktop_files("/v", Datastore::Contacts).unwrap(),
            vec![file("a2.vcf", a, 4)]
        );
    }
}
