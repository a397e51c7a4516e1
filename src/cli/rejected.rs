//! `handsync rejected`: items a phone sent that the sync refused (unreadable, incomplete, not
//! allowed in the sync mode), kept in the store with their bytes so they can be recovered.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::listing::{device_label, print_table};
use super::support::{format_time, open_store, write_atomically};
use super::Failure;
use crate::store::{DeviceId, RejectedItem};

#[derive(Subcommand, Debug)]
pub enum RejectedCommand {
    /// Refused items, newest first: when, from which phone and datastore, and why.
    List(ListArgs),
    /// One refused item: where it came from, why it was refused, and its content as text.
    Show {
        /// Its ID from `handsync rejected list`.
        id: i64,
    },
    /// Write a refused item's bytes exactly as the phone sent them (to stdout, or a file).
    Export {
        /// Its ID from `handsync rejected list`.
        id: i64,
        /// Write to this file instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Only this device's items (its ID from `handsync devices`).
    #[arg(long, value_name = "ID")]
    device: Option<i64>,
    /// At most this many items, newest first.
    #[arg(long, value_name = "N", default_value_t = 50)]
    limit: usize,
}

pub fn run(db: &Path, command: RejectedCommand) -> Result<(), Failure> {
    match command {
        RejectedCommand::List(args) => list(db, &args),
        RejectedCommand::Show { id } => show(db, id),
        RejectedCommand::Export { id, output } => export(db, id, output.as_deref()),
    }
}

fn list(db: &Path, args: &ListArgs) -> Result<(), Failure> {
    let mut store = open_store(db)?;
    let rows = store.read(|tx| -> Result<Vec<Vec<String>>, Failure> {
        let device = args.device.map(DeviceId);
        if let Some(device) = device {
            tx.device(device)?;
        }
        Ok(tx
            .rejected_items(device, args.limit)?
            .iter()
            .map(|item| {
                vec![
                    item.id.to_string(),
                    format_time(item.received_at),
                    device_label(tx, item.device),
                    datastore_text(item),
                    item.luid.clone().unwrap_or_else(|| "-".into()),
                    item.command.clone(),
                    item.status.to_string(),
                    format!("{} bytes {}", item.raw.len(), item.content_type),
                    item.reason.clone(),
                ]
            })
            .collect())
    })?;
    if rows.is_empty() {
        println!("no refused items: everything the phones sent was stored");
        return Ok(());
    }
    print_table(
        &[
            "ID",
            "RECEIVED",
            "DEVICE",
            "DATASTORE",
            "LUID",
            "COMMAND",
            "STATUS",
            "CONTENT",
            "REASON",
        ],
        &rows,
    );
    Ok(())
}

/// `contacts (./EriPBDB)`; the phone's name alone when it matched none of ours.
fn datastore_text(item: &RejectedItem) -> String {
    match (item.datastore, item.device_datastore.is_empty()) {
        (Some(ours), false) => format!("{ours} ({})", item.device_datastore),
        (Some(ours), true) => ours.to_string(),
        (None, false) => item.device_datastore.clone(),
        (None, true) => "-".into(),
    }
}

fn show(db: &Path, id: i64) -> Result<(), Failure> {
    let mut store = open_store(db)?;
    let (item, device) = store.read(|tx| -> Result<_, Failure> {
        let item = tx.rejected_item(id)?;
        let device = device_label(tx, item.device);
        Ok((item, device))
    })?;
    println!("refused item {}", item.id);
    println!("received:     {}", format_time(item.received_at));
    println!("device:       {device}");
    if let Some(session) = item.session {
        println!("session:      {session}");
    }
    println!("datastore:    {}", datastore_text(&item));
    println!("LUID:         {}", item.luid.as_deref().unwrap_or("-"));
    println!("command:      {}", item.command);
    println!("status:       {}", item.status);
    println!("reason:       {}", item.reason);
    println!("content type: {}", item.content_type);
    println!("size:         {} bytes", item.raw.len());
    match std::str::from_utf8(&item.raw) {
        Ok(text) if !text.is_empty() => {
            println!();
            print!("{text}");
            if !text.ends_with('\n') {
                println!();
            }
        }
        Ok(_) => {}
        Err(_) => println!(
            "(not UTF-8 text: `handsync rejected export {}` writes the bytes)",
            item.id
        ),
    }
    Ok(())
}

fn export(db: &Path, id: i64, output: Option<&Path>) -> Result<(), Failure> {
    let mut store = open_store(db)?;
    let item = store.read(|tx| tx.rejected_item(id))?;
    match output {
        Some(path) => {
            write_atomically(path, &item.raw)?;
            eprintln!(
                "refused item {id} ({} bytes) written to {}",
                item.raw.len(),
                path.display()
            );
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(&item.raw).and_then(|()| stdout.flush()) {
                // A reader that stops early (`| head`) is not a failure of the export.
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(Failure::io(format!("cannot write to stdout: {e}")));
                }
                _ => {}
            }
        }
    }
    Ok(())
}
