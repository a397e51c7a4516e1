//! `handsync devices` and `handsync history`: readable tables of what the store knows.

use std::path::Path;

use clap::Args;

use super::support::{format_time, open_store};
use super::Failure;
use crate::store::{DeviceId, DeviceRecord, Direction, SessionCounts, Tx};

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// Only this device's sessions (its ID from `handsync devices`).
    #[arg(long, value_name = "ID")]
    device: Option<i64>,
    /// At most this many sessions, newest first.
    #[arg(long, value_name = "N", default_value_t = 20)]
    limit: usize,
}

/// Prints rows as columns padded to their widest cell; the last column is not padded.
pub(super) fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let last = cells.len().saturating_sub(1);
        let mut out = String::new();
        for (i, cell) in cells.into_iter().enumerate() {
            if i == last {
                out.push_str(&cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                out.push_str(&cell);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row.clone());
    }
}

fn make_and_model(device: &DeviceRecord) -> (String, String) {
    let summary = &device.summary;
    (
        summary.manufacturer.clone().unwrap_or_else(|| "?".into()),
        summary.model.clone().unwrap_or_else(|| "?".into()),
    )
}

pub fn devices(db: &Path) -> Result<(), Failure> {
    let mut store = open_store(db)?;
    let devices = store.read(|tx| tx.devices())?;
    if devices.is_empty() {
        println!("no phones have synced yet");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = devices
        .iter()
        .map(|summary| {
            let device = &summary.device;
            let (make, model) = make_and_model(device);
            let last_sync = summary
                .datastores
                .iter()
                .filter_map(|d| d.state.last_sync_at.map(|at| (at, d.state.last_result)))
                .max_by_key(|(at, _)| *at);
            let last_sync = match last_sync {
                Some((at, Some(result))) => format!("{} ({result})", format_time(at)),
                Some((at, None)) => format_time(at),
                None => "never".into(),
            };
            let items = summary
                .datastores
                .iter()
                .map(|d| format!("{} {}", d.state.datastore, d.held_items))
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                device.id.to_string(),
                make,
                model,
                last_sync,
                format_time(device.last_seen),
                if items.is_empty() { "-".into() } else { items },
                device.uri.clone(),
            ]
        })
        .collect();
    print_table(
        &[
            "ID",
            "MAKE",
            "MODEL",
            "LAST SYNC",
            "LAST SEEN",
            "ITEMS HELD",
            "URI",
        ],
        &rows,
    );
    Ok(())
}

/// `contacts: from phone +2 ~1 -0, to phone +0 ~0 -1; calendar: ...`
pub(super) fn counts_text(counts: &[SessionCounts]) -> String {
    if counts.is_empty() {
        return "no changes".into();
    }
    let mut parts: Vec<String> = Vec::new();
    for count in counts {
        let direction = match count.direction {
            Direction::FromPhone => "from phone",
            Direction::ToPhone => "to phone",
        };
        parts.push(format!(
            "{} {direction} +{} ~{} -{}",
            count.datastore, count.added, count.replaced, count.deleted
        ));
    }
    parts.join(", ")
}

pub(super) fn device_label(tx: &Tx<'_>, device: DeviceId) -> String {
    match tx.device(device) {
        Ok(record) => {
            let (make, model) = make_and_model(&record);
            format!("{} {make} {model}", record.id)
        }
        Err(_) => device.to_string(),
    }
}

pub fn history(db: &Path, args: &HistoryArgs) -> Result<(), Failure> {
    let mut store = open_store(db)?;
    let rows = store.read(|tx| -> Result<Vec<Vec<String>>, Failure> {
        let device = args.device.map(DeviceId);
        if let Some(device) = device {
            tx.device(device)?;
        }
        let sessions = tx.sessions(device, args.limit)?;
        let mut rows = Vec::with_capacity(sessions.len());
        for session in &sessions {
            let mut result = session.result.to_string();
            if let Some(error) = &session.error {
                result.push_str(&format!(": {error}"));
            }
            let mut changes = counts_text(&session.counts);
            let refused = tx.rejected_item_count(session.id)?;
            if refused > 0 {
                changes.push_str(&format!("; {refused} refused (handsync rejected list)"));
            }
            rows.push(vec![
                session.id.to_string(),
                device_label(tx, session.device),
                format_time(session.started_at),
                session.ended_at.map_or_else(|| "-".into(), format_time),
                session.transport.clone(),
                result,
                changes,
            ]);
        }
        Ok(rows)
    })?;
    if rows.is_empty() {
        println!("no sync sessions yet");
        return Ok(());
    }
    print_table(
        &[
            "SESSION",
            "DEVICE",
            "START",
            "END",
            "TRANSPORT",
            "RESULT",
            "CHANGES (+added ~replaced -deleted)",
        ],
        &rows,
    );
    Ok(())
}
