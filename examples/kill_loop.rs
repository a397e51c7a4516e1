//! The kill loop, long runs: for each phone model, two-way syncs with edits on both sides
//! and sessions cut or the server killed at random, then both sides compared with a model
//! of what they should hold (see `tests/support/kill_loop.rs`). Seeded and repeatable:
//!
//!     cargo run --release --example kill_loop -- [--rounds N] [--seed S] [--profile NAME]
//!
//! It exits with status 1 when any item was damaged. `tests/kill_loop.rs` runs a short loop.

#[path = "../tests/support/kill_loop.rs"]
mod kill_loop;

use std::process::ExitCode;

use handsync::emulator::DeviceProfile;

struct Options {
    rounds: usize,
    seed: u64,
    profiles: Vec<DeviceProfile>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        rounds: 200,
        seed: 1,
        profiles: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--rounds" => {
                options.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?
            }
            "--seed" => options.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--profile" => {
                let name = value()?;
                let profile = DeviceProfile::builtin(&name)
                    .ok_or(format!("--profile: no model named {name:?}"))?;
                options.profiles.push(profile);
            }
            "--bench" => {}
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if options.profiles.is_empty() {
        options.profiles = DeviceProfile::all();
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("kill_loop: {e}");
            return ExitCode::from(2);
        }
    };
    let mut damaged = false;
    let mut interrupted = 0;
    for profile in &options.profiles {
        let report = kill_loop::run_loop(profile, options.rounds, options.seed);
        println!("{report}");
        interrupted += report.interrupted;
        damaged |= report.damage() > 0;
    }
    println!("{interrupted} interrupted sessions in all");
    if damaged {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
