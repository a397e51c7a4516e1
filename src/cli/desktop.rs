//! `handsync desktop sync`: the store and a vdir brought in step both ways, once, without the
//! daemon (which does the same by itself: see `crate::desktop`).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};

use super::import::parse_datastore;
use super::serve::{load_config, resolve_db};
use super::support::{describe_count, now};
use super::Failure;
use crate::daemon::config::ConfigFile;
use crate::desktop::{self, DesktopSettings};
use crate::engine::{ConflictPolicy, ServerConfig};
use crate::store::Datastore;

#[derive(Subcommand, Debug)]
pub enum DesktopCommand {
    /// Bring the store and the vdir in step both ways, once: the store's changes (phones'
    /// syncs, imports, restores) are written to the vdir, the vdir's edits (khard, khal,
    /// vdirsyncer, an editor) are taken into the store for the phones' next sync. An item
    /// changed on both sides is settled by the conflict policy; the loser stays in its
    /// history. `handsync serve` does this by itself.
    Sync(DesktopSyncArgs),
}

#[derive(Args, Debug)]
pub struct DesktopSyncArgs {
    /// The vdir (default: [desktop] vdir in the configuration, else vdir/ beside
    /// handsync.db, NAME-vdir/ beside NAME.db). One folder per datastore inside: contacts/,
    /// calendar/, tasks/, notes/.
    #[arg(long, value_name = "DIR")]
    vdir: Option<PathBuf>,
    /// Only this datastore (default: all four).
    #[arg(long, value_parser = parse_datastore)]
    datastore: Option<Datastore>,
    /// Who wins an item changed on both sides: store (what phones sent), desktop, newer (by
    /// modification time) or both (the desktop's version becomes an item of its own).
    /// Default: [desktop] conflicts, else [server] conflicts.
    #[arg(long, value_enum)]
    conflicts: Option<ConflictChoice>,
    /// The configuration file (default: $XDG_CONFIG_HOME/handsync/config.toml when it
    /// exists).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ConflictChoice {
    Store,
    Desktop,
    Newer,
    Both,
}

impl From<ConflictChoice> for ConflictPolicy {
    fn from(choice: ConflictChoice) -> ConflictPolicy {
        match choice {
            ConflictChoice::Store => ConflictPolicy::PhoneWins,
            ConflictChoice::Desktop => ConflictPolicy::PcWins,
            ConflictChoice::Newer => ConflictPolicy::NewerWins,
            ConflictChoice::Both => ConflictPolicy::KeepBoth,
        }
    }
}

/// The desktop settings from the configuration file, with an explicit vdir over it.
pub(super) fn settings(
    file: &ConfigFile,
    db: &Path,
    vdir: Option<PathBuf>,
    server: &ServerConfig,
) -> DesktopSettings {
    DesktopSettings {
        vdir: vdir
            .or_else(|| file.desktop.vdir.clone())
            .unwrap_or_else(|| DesktopSettings::default_vdir(db)),
        db: db.to_path_buf(),
        conflicts: file
            .desktop
            .conflicts
            .map_or(server.conflicts, ConflictPolicy::from),
        datastores: Datastore::ALL.to_vec(),
    }
}

pub fn run(db: Option<PathBuf>, command: &DesktopCommand) -> Result<(), Failure> {
    let DesktopCommand::Sync(args) = command;
    let file = load_config(args.config.as_ref())?;
    let server = file
        .server_config()
        .map_err(|e| Failure::bad_input(e.to_string()))?;
    let db = resolve_db(db, &file)?;
    let mut settings = settings(&file, &db, args.vdir.clone(), &server);
    if let Some(choice) = args.conflicts {
        settings.conflicts = choice.into();
    }
    if let Some(one) = args.datastore {
        settings.datastores = vec![one];
    }
    let report = desktop::sync(&settings, now())?;
    for conflict in &report.conflicts {
        eprintln!("handsync: conflict: {conflict}");
    }
    for kept in &report.kept {
        eprintln!(
            "handsync: a copy of the desktop's file is kept at {}",
            kept.display()
        );
    }
    for problem in &report.problems {
        eprintln!("handsync: not taken in: {problem}");
    }
    if report.busy > 0 {
        eprintln!(
            "handsync: {} changed while syncing; run again to take them",
            describe_count(report.busy, "file")
        );
    }
    println!(
        "desktop {}: to the desktop {}; from the desktop {}",
        settings.vdir.display(),
        report.to_desktop,
        report.from_desktop
    );
    if !report.problems.is_empty() {
        return Err(Failure::bad_input(format!(
            "{} could not be taken in (see above); the rest is in step",
            describe_count(report.problems.len(), "file")
        )));
    }
    Ok(())
}
