//! The `handsync` command line.

mod account;
mod codec;
mod desktop;
mod doctor;
mod emulate;
mod export;
mod import;
mod listing;
pub(crate) mod objects;
mod pair;
mod progress;
mod rejected;
mod restore;
mod serve;
mod shell;
pub(crate) mod support;
mod sync;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "handsync",
    version,
    about = "Sync legacy phones with this PC over Bluetooth, cable, USB, infrared or HTTP \
             (SyncML DS), the way Nokia PC Suite did"
)]
pub struct Cli {
    /// More log output on stderr (-v: debug, -vv: trace). HANDSYNC_LOG overrides, e.g.
    /// HANDSYNC_LOG=handsync::wbxml=trace.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    /// The store: an SQLite file, or a PostgreSQL database as
    /// postgres://USER:PASSWORD@HOST:PORT/DATABASE (hosting many users; docs/hosting.md).
    /// Default: $HANDSYNC_DB, else the configuration's `db` (serve, sync, desktop, doctor),
    /// else $XDG_DATA_HOME/handsync/handsync.db (~/.local/share/handsync/handsync.db).
    #[arg(long, global = true, value_name = "PATH|URL")]
    db: Option<PathBuf>,

    /// Work in the data of this account (one with data of its own, as on a hosted store):
    /// devices, history, export, import, restore and rejected then see only its phones and
    /// items. Default: the household's data.
    #[arg(long, global = true, value_name = "NAME")]
    account: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print a SyncML or DevInf message (WBXML or XML) as indented XML.
    Decode(codec::DecodeArgs),
    /// Turn an XML SyncML or DevInf message into WBXML, shaped as phones send it.
    Encode(codec::EncodeArgs),
    /// Run the handsync daemon until SIGINT or SIGTERM: the SyncML server and its listeners,
    /// HTTP, OBEX over TCP, Bluetooth, serial cables, USB and IrDA (infrared).
    Serve(serve::ServeArgs),
    /// An emulated phone (Nokia, Sony Ericsson, Siemens, Motorola models) syncing with
    /// handsync or any SyncML server, for trying handsync without a phone.
    Emulate(Box<emulate::EmulateArgs>),
    /// Start one sync with one phone from the PC: notify it (SAN), then serve its session.
    Sync(sync::SyncArgs),
    /// Accounts phones log in with (only md5("name:password") is stored).
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// Known phones: make, model, last sync, items held per datastore; then the phones
    /// paired over Bluetooth. With --usb or --irda: the phones plugged in, or in infrared
    /// range, instead.
    Devices(DevicesArgs),
    /// Pair with a phone over Bluetooth (PIN or passkey) and trust it.
    Pair(pair::PairArgs),
    /// Sync sessions, newest first: when, how, the result and what changed.
    History(listing::HistoryArgs),
    /// Write the store's items as vCard/iCalendar/text: to stdout, a file, or a vdir.
    Export(export::ExportArgs),
    /// Read vCards, vCalendars, iCalendars, vNotes or text notes into the store; phones get
    /// them at their next sync.
    Import(import::ImportArgs),
    /// Bring an item or a datastore back to an earlier state (itself undoable).
    Restore(restore::RestoreArgs),
    /// Items a phone sent that the sync refused, kept with their bytes: list, show, export.
    #[command(subcommand)]
    Rejected(rejected::RejectedCommand),
    /// The desktop's copy of the store, a vdir kept in step both ways (khard, khal,
    /// vdirsyncer): `desktop sync` once; `serve` does it by itself.
    #[command(subcommand)]
    Desktop(desktop::DesktopCommand),
    /// Check this machine for syncing phones: one line per finding, with what to do.
    ///
    /// Checks bluetoothd (running, version), the adapter (present, powered), paired phones
    /// (trusted), serial ports and USB phones (can you open them, which group to join),
    /// ModemManager (holding a phone's port), the udev rules and systemd units (installed),
    /// the database (integrity, size), the listeners' ports (free) and the configuration
    /// (valid). Lines are marked ok, warn or FAIL; the exit status is 1 when one says FAIL,
    /// else 0 (docs/doctor.md).
    Doctor(doctor::DoctorArgs),
    /// Print a completion script for bash, zsh, fish, elvish or PowerShell to stdout.
    Completions(shell::CompletionsArgs),
    /// Write the man pages (handsync.1, handsync-COMMAND.1) into a folder, for packagers and
    /// scripts/install.
    // Not hidden: clap_complete lists hidden commands too, so shells would offer it anyway.
    Man(shell::ManArgs),
}

#[derive(clap::Args, Debug)]
struct DevicesArgs {
    /// The Bluetooth adapter whose paired phones to list. Default: BlueZ's default adapter.
    #[arg(long, value_name = "NAME")]
    adapter: Option<String>,
    /// Leave out the Bluetooth part.
    #[arg(long)]
    no_bluetooth: bool,
    /// Only the phones plugged in on USB, with their OBEX functions and modems.
    #[arg(long, conflicts_with_all = ["adapter", "no_bluetooth"])]
    usb: bool,
    /// Only the phones in infrared range of this dongle (a tty, or `usb`, `usb:VID:PID`,
    /// `usb:BUS-PORT`): address, name and what each offers.
    #[arg(long, value_name = "DEVICE", conflicts_with_all = ["adapter", "no_bluetooth", "usb"])]
    irda: Option<String>,
    /// With --irda: the serial dongle's kind (see `handsync sync --help`).
    #[arg(long, value_name = "KIND", requires = "irda", value_parser = sync::parse_dongle)]
    dongle: Option<handsync_proto::irda::dongle::DongleKind>,
}

/// Whether `--account` means something to the command: it looks at or changes one account's
/// phones and items in the store.
fn works_in_one_account(command: &Command) -> bool {
    match command {
        Command::Devices(args) => !args.usb && args.irda.is_none(),
        Command::History(_)
        | Command::Export(_)
        | Command::Import(_)
        | Command::Restore(_)
        | Command::Rejected(_) => true,
        _ => false,
    }
}

/// Exit status for bad input or usage: what the user gave us cannot be used.
pub const EXIT_BAD_INPUT: u8 = 2;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("handsync: {}", failure.message);
            ExitCode::from(failure.status)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let db = cli.db;
    if cli.account.is_some() && !works_in_one_account(&cli.command) {
        return Err(Failure::bad_input(
            "--account works with devices, history, export, import, restore and rejected: \
             the other commands serve or manage every account (phones log in as theirs)",
        ));
    }
    support::set_account(cli.account);
    match cli.command {
        Command::Decode(args) => codec::decode(&args),
        Command::Encode(args) => codec::encode(&args),
        Command::Serve(args) => serve::run(db, &args),
        Command::Sync(args) => sync::run(db, &args),
        Command::Emulate(args) => emulate::run(&args),
        Command::Account(command) => account::run(&support::db_path(db)?, command),
        Command::Devices(args) if args.usb => pair::usb_devices(),
        Command::Devices(DevicesArgs {
            irda: Some(device),
            dongle,
            ..
        }) => pair::irda_devices(&device, dongle),
        Command::Devices(args) => {
            listing::devices(&support::db_path(db)?)?;
            if args.no_bluetooth {
                Ok(())
            } else {
                pair::bluetooth_devices(args.adapter.as_deref())
            }
        }
        Command::Pair(args) => pair::pair(&args),
        Command::History(args) => listing::history(&support::db_path(db)?, &args),
        Command::Export(args) => export::run(&support::db_path(db)?, &args),
        Command::Import(args) => import::run(&support::db_path(db)?, &args),
        Command::Restore(args) => restore::run(&support::db_path(db)?, &args),
        Command::Rejected(command) => rejected::run(&support::db_path(db)?, command),
        Command::Desktop(command) => desktop::run(db, &command),
        Command::Doctor(args) => doctor::run(db, &args),
        Command::Completions(args) => shell::completions(&args),
        Command::Man(args) => shell::man(&args),
    }
}

/// Why a command failed, and the exit status that says so.
#[derive(Debug)]
pub struct Failure {
    pub status: u8,
    pub message: String,
}

impl Failure {
    pub fn bad_input(message: impl Into<String>) -> Failure {
        Failure {
            status: EXIT_BAD_INPUT,
            message: message.into(),
        }
    }

    pub fn io(message: impl Into<String>) -> Failure {
        Failure {
            status: 1,
            message: message.into(),
        }
    }
}

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    let filter =
        EnvFilter::try_from_env("HANDSYNC_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
