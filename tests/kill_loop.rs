//! A short kill loop for every phone model (the long one is `examples/kill_loop.rs`): two-way
//! syncs, phone- and PC-started, with edits on both sides, cut after random messages or with
//! the server killed mid-message; afterwards both sides hold exactly what the user made:
//! nothing lost, duplicated, brought back or undone, PC UIDs intact, the store sound.

#[path = "support/kill_loop.rs"]
mod kill_loop;

use handsync::emulator::DeviceProfile;

#[test]
fn interrupted_syncs_never_damage_data() {
    let mut interrupted = 0;
    for profile in DeviceProfile::all() {
        for seed in [3, 11, 29] {
            let report = kill_loop::run_loop(&profile, 80, seed);
            eprintln!("{report}");
            assert_eq!(report.damage(), 0, "seed {seed}: {report}");
            // Only a cut that lost our Adds in flight leaves no other way than a slow sync.
            assert_eq!(
                report.forced_slow, report.forced_slow_adds_in_flight,
                "seed {seed}: a cut forced a slow sync: {report}"
            );
            assert!(report.items_made > 10, "seed {seed}: {report}");
            interrupted += report.interrupted;
        }
    }
    assert!(interrupted > 400, "only {interrupted} interruptions");
}
