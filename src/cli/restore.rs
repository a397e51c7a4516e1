//! `handsync restore`: an item or a datastore back to an earlier state. A restore writes new
//! versions, so it is itself in the history and can be undone the same way.

use std::path::Path;

use clap::Args;

use super::import::parse_datastore;
use super::objects::describe;
use super::support::{now, open_store, parse_time};
use super::Failure;
use crate::store::{Datastore, Guid, PointInTime, RestoreReport, Revision, SessionId, Tx};

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The item to restore: its GUID, its UID (as khard or khal show it), or the
    /// handsync-guid-… UID `export` gave it.
    #[arg(
        long,
        value_name = "GUID",
        required_unless_present = "datastore",
        conflicts_with = "datastore"
    )]
    item: Option<String>,
    /// The datastore to restore as a whole.
    #[arg(long, value_name = "NAME", value_parser = parse_datastore)]
    datastore: Option<Datastore>,
    /// Back to the state right after this revision, or at this time (UTC: 2026-11-21T21:00:00Z
    /// or "2026-11-21 21:00"). For an item, the default is its state before its last change.
    #[arg(long, value_name = "REVISION|TIME", conflicts_with = "before_session")]
    at: Option<String>,
    /// Undo what a sync session did (its ID from `handsync history`).
    #[arg(long, value_name = "ID")]
    before_session: Option<i64>,
}

fn parse_point(text: &str) -> Result<PointInTime, Failure> {
    if let Ok(revision) = text.trim().parse::<i64>() {
        return Ok(PointInTime::Revision(Revision(revision)));
    }
    parse_time(text).map(PointInTime::Time).ok_or_else(|| {
        Failure::bad_input(format!(
            "--at {text:?} is neither a revision number nor a time like 2026-11-21T21:00:00Z"
        ))
    })
}

pub fn run(db: &Path, args: &RestoreArgs) -> Result<(), Failure> {
    let mut store = open_store(db)?;
    let at = now();
    if let Some(guid_text) = &args.item {
        let point = match (&args.at, args.before_session) {
            (Some(text), _) => Some(parse_point(text)?),
            (None, Some(session)) => Some(PointInTime::BeforeSession(SessionId(session))),
            (None, None) => None,
        };
        let (report, lines, guid) = store.transaction(|tx| -> Result<_, Failure> {
            let guid = find_item(tx, guid_text)?;
            let item = tx.item(guid)?;
            let point = match point {
                Some(point) => point,
                // The state just before the item's latest change: "undo the last change".
                None => PointInTime::Revision(Revision(item.revision.0 - 1)),
            };
            let report = tx.restore_item(guid, point, at)?;
            let lines = describe_report(tx, &report)?;
            Ok((report, lines, guid))
        })?;
        print_report(&report, &lines, &format!("--item {guid}"));
        return Ok(());
    }
    let Some(datastore) = args.datastore else {
        return Err(Failure::bad_input(
            "restore needs --item GUID or --datastore NAME",
        ));
    };
    let point = match (&args.at, args.before_session) {
        (Some(text), _) => parse_point(text)?,
        (None, Some(session)) => PointInTime::BeforeSession(SessionId(session)),
        (None, None) => {
            return Err(Failure::bad_input(
                "restore --datastore needs --before-session ID or --at REVISION|TIME",
            ))
        }
    };
    let (report, lines) = store.transaction(|tx| -> Result<_, Failure> {
        let report = tx.restore_datastore(datastore, point, at)?;
        let lines = describe_report(tx, &report)?;
        Ok((report, lines))
    })?;
    print_report(&report, &lines, &format!("--datastore {datastore}"));
    Ok(())
}

/// The item `--item` names: a GUID, the `handsync-guid-…` UID export gave it, or its own
/// UID (as khard and khal show it), deleted items included.
fn find_item(tx: &Tx<'_>, text: &str) -> Result<Guid, Failure> {
    if let Some(hint) = super::objects::GuidHint::parse(text) {
        return Ok(hint.guid);
    }
    if let Ok(guid) = text.parse::<Guid>() {
        return Ok(guid);
    }
    let mut found = Vec::new();
    for datastore in Datastore::ALL {
        for item in tx.items(datastore, true)? {
            let uid = crate::pim::content::parse_object(item.canonical.as_bytes())
                .ok()
                .and_then(|object| crate::pim::vdir::uid_of(&object.component));
            if uid.as_deref() == Some(text.trim()) {
                found.push(item.guid);
            }
        }
    }
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(Failure::bad_input(format!(
            "no item has the GUID or UID {text:?}"
        ))),
        several => Err(Failure::bad_input(format!(
            "several items have the UID {text:?} (GUIDs {}); name one by its GUID",
            several
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn describe_report(tx: &Tx<'_>, report: &RestoreReport) -> Result<Vec<String>, Failure> {
    let mut lines = Vec::new();
    for (verb, guids) in [("restored", &report.restored), ("deleted", &report.deleted)] {
        for guid in guids {
            let item = tx.item(*guid)?;
            lines.push(format!(
                "{verb} {} item {guid}: {}",
                item.datastore,
                describe(item.datastore, &item.canonical)
            ));
        }
    }
    Ok(lines)
}

fn print_report(report: &RestoreReport, lines: &[String], what: &str) {
    for line in lines {
        println!("{line}");
    }
    println!(
        "restore {} to revision {}: {} restored, {} deleted, {} unchanged",
        report.id,
        report.target,
        report.restored.len(),
        report.deleted.len(),
        report.unchanged
    );
    if !lines.is_empty() {
        println!(
            "undo it with: handsync restore {what} --at {}",
            report.undo_point
        );
    }
}
