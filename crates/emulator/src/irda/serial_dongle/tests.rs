use super::*;
use handsync_proto::irda::dongle::{change_speed, reset, Step, POWER_SETTLE};

/// Carries out `steps` on `dongle` as a driver would, in virtual time: the UART starts at
/// 9600 b/s, writes take their bytes' time. Returns the time after the last step and the
/// UART speed the host ended at, or why an echo did not come.
fn drive(
    dongle: &mut EmulatedDongle,
    steps: &[Step],
    mut now: Instant,
    mut uart: u32,
) -> Result<(Instant, u32), String> {
    for step in steps {
        match step {
            Step::SetLines { dtr, rts } => {
                dongle.set_lines(now, *dtr, *rts);
                now += Duration::from_micros(1); // an ioctl takes a moment
            }
            Step::SetUartSpeed(speed) => {
                uart = *speed;
                dongle.host_uart_speed(uart);
            }
            Step::Write(bytes) => now = dongle.host_bytes(now, bytes, uart),
            Step::Wait(pause) => now += *pause,
            Step::ExpectEcho { bytes, .. } => {
                let echoed = dongle.poll_echo().unwrap_or_default();
                if echoed != *bytes {
                    return Err(format!("echo {echoed:02x?} instead of {bytes:02x?}"));
                }
            }
        }
    }
    Ok((now, uart))
}

/// Brings a fresh dongle to `speed` with the proper steps.
fn dongle_at(kind: DongleKind, speed: u32, t0: Instant) -> (EmulatedDongle, Instant) {
    let mut dongle = EmulatedDongle::new(kind, t0);
    let (now, _) = drive(&mut dongle, &change_speed(kind, speed).unwrap(), t0, 9600).unwrap();
    assert_eq!(dongle.ir_speed(now), Some(speed), "{kind}");
    (dongle, now)
}

#[test]
fn every_dongle_reaches_every_speed_it_supports_from_power_on() {
    let t0 = Instant::now();
    for kind in DongleKind::ALL {
        for &speed in kind.speeds() {
            let mut dongle = EmulatedDongle::new(kind, t0);
            let steps = change_speed(kind, speed).unwrap();
            let (now, uart) = drive(&mut dongle, &steps, t0, 9600)
                .unwrap_or_else(|e| panic!("{kind} to {speed}: {e}"));
            assert_eq!(
                dongle.ir_speed(now),
                Some(speed),
                "{kind} to {speed}: {:?}",
                dongle.faults()
            );
            assert_eq!(
                dongle.uart_speed(),
                Some(uart),
                "{kind}: host and dongle UARTs agree"
            );
            assert_eq!(uart, speed);
        }
    }
}

#[test]
fn every_dongle_changes_speed_from_any_speed_it_was_left_at() {
    let t0 = Instant::now();
    for kind in DongleKind::ALL {
        let mut dongle = EmulatedDongle::new(kind, t0);
        let mut now = t0;
        let mut uart = 9600;
        let there_and_back = kind.speeds().iter().rev().chain(kind.speeds().iter());
        for &speed in there_and_back {
            (now, uart) = drive(&mut dongle, &change_speed(kind, speed).unwrap(), now, uart)
                .unwrap_or_else(|e| panic!("{kind} to {speed}: {e}"));
            assert_eq!(
                dongle.ir_speed(now),
                Some(speed),
                "{kind}: {:?}",
                dongle.faults()
            );
        }
    }
}

#[test]
fn reset_alone_leaves_each_dongle_at_its_power_on_speed() {
    let t0 = Instant::now();
    for kind in DongleKind::ALL {
        let highest = *kind.speeds().last().unwrap();
        let (mut dongle, now) = dongle_at(kind, highest, t0);
        let (now, uart) = drive(&mut dongle, &reset(kind), now, highest).unwrap();
        assert_eq!(
            dongle.ir_speed(now),
            Some(kind.speed_after_reset()),
            "{kind}"
        );
        assert_eq!(uart, kind.speed_after_reset());
    }
}

/// The steps with every wait but the first (the supply settling after power-up; for the
/// TOIM3232, its power-off discharge) cut to a twentieth: pulses too short, command modes entered too briefly, reset timers not run
/// out.
fn hurried(steps: Vec<Step>) -> Vec<Step> {
    let mut first_wait = true;
    steps
        .into_iter()
        .map(|step| match step {
            Step::Wait(pause) if first_wait => {
                first_wait = false;
                assert_eq!(pause, POWER_SETTLE);
                Step::Wait(pause)
            }
            Step::Wait(pause) => Step::Wait(pause / 20),
            other => other,
        })
        .collect()
}

#[test]
fn hurried_pulses_and_waits_leave_the_dongle_at_the_wrong_speed() {
    let t0 = Instant::now();
    for kind in DongleKind::ALL {
        if !kind.needs_modem_lines() || kind == DongleKind::Esi {
            continue; // no timing to get wrong
        }
        let speeds = kind.speeds();
        // Start where the reset matters: away from the power-on speed.
        let start = if *speeds.last().unwrap() == kind.speed_after_reset() {
            speeds[0]
        } else {
            *speeds.last().unwrap()
        };
        let target = speeds[speeds.len() / 2];
        assert!(target != start && target != kind.speed_after_reset());
        let (mut dongle, now) = dongle_at(kind, start, t0);
        let steps = hurried(change_speed(kind, target).unwrap());
        let outcome = drive(&mut dongle, &steps, now, start);
        if let Ok((now, _)) = outcome {
            assert_ne!(
                dongle.ir_speed(now),
                Some(target),
                "{kind} took hurried steps"
            );
        }
    }
}

#[test]
fn a_wrong_control_byte_leaves_the_dongle_at_the_wrong_speed() {
    let t0 = Instant::now();
    let mut checked = 0;
    for kind in DongleKind::ALL {
        let target = *kind.speeds().last().unwrap();
        let steps = change_speed(kind, target).unwrap();
        if !steps.iter().any(|s| matches!(s, Step::Write(_))) {
            continue;
        }
        let garbled: Vec<Step> = steps
            .into_iter()
            .map(|step| match step {
                Step::Write(bytes) => Step::Write(bytes.iter().map(|b| b ^ 0x40).collect()),
                other => other,
            })
            .collect();
        let mut dongle = EmulatedDongle::new(kind, t0);
        match drive(&mut dongle, &garbled, t0, 9600) {
            Err(echo) => assert!(echo.contains("instead of"), "{kind}: {echo}"),
            Ok((now, _)) => {
                assert_ne!(dongle.ir_speed(now), Some(target), "{kind}");
                assert!(
                    !dongle.faults().is_empty(),
                    "{kind} should say what it refused"
                );
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 5, "Tekram, GIrBIL, MA600, MCP2120, TOIM3232");
}

#[test]
fn the_esi_speed_is_its_line_levels() {
    let t0 = Instant::now();
    let mut dongle = EmulatedDongle::new(DongleKind::Esi, t0);
    assert_eq!(dongle.ir_speed(t0), None, "unpowered");
    dongle.set_lines(t0, true, false);
    assert_eq!(dongle.ir_speed(t0), Some(19200));
    dongle.set_lines(t0, true, true);
    assert_eq!(dongle.ir_speed(t0), Some(115_200));
    dongle.set_lines(t0, false, true);
    assert_eq!(dongle.ir_speed(t0), Some(9600));
}

#[test]
fn a_dongle_ignores_commands_until_its_supply_has_settled() {
    let t0 = Instant::now();
    let mut dongle = EmulatedDongle::new(DongleKind::Actisys220L, t0);
    dongle.set_lines(t0, true, true);
    // An RTS pulse right after power-up is lost.
    dongle.set_lines(t0 + Duration::from_micros(10), true, false);
    dongle.set_lines(t0 + Duration::from_micros(20), true, true);
    let later = t0 + Duration::from_millis(50);
    assert_eq!(dongle.ir_speed(later), Some(9600));
    dongle.set_lines(later, true, false);
    dongle.set_lines(later + Duration::from_micros(10), true, true);
    assert_eq!(dongle.ir_speed(later), Some(19200));
}

#[test]
fn bytes_at_the_wrong_uart_speed_are_not_commands() {
    let t0 = Instant::now();
    let mut dongle = EmulatedDongle::new(DongleKind::Tekram210B, t0);
    let mut now = t0;
    for step in reset(DongleKind::Tekram210B) {
        if let Step::Wait(pause) = step {
            now += pause;
        } else if let Step::SetLines { dtr, rts } = step {
            dongle.set_lines(now, dtr, rts);
        }
    }
    dongle.set_lines(now, true, false);
    now += Duration::from_micros(20);
    now = dongle.host_bytes(now, &[0x00], 115_200); // 115200 code, but sent too fast
    dongle.set_lines(now, true, true);
    assert_eq!(dongle.ir_speed(now), Some(9600));
    assert!(
        dongle.faults()[0].contains("115200 b/s"),
        "{:?}",
        dongle.faults()
    );
}

#[test]
fn a_girbil_told_to_echo_echoes_its_commands() {
    let t0 = Instant::now();
    let (mut dongle, now) = dongle_at(DongleKind::Girbil, 9600, t0);
    dongle.set_lines(now, false, true);
    let now = dongle.host_bytes(now + Duration::from_micros(30), &[0x0b, 0x36, 0x51], 9600);
    assert_eq!(
        dongle.poll_echo(),
        Some(vec![0x36, 0x51]),
        "echo on from the next byte"
    );
    dongle.set_lines(now, true, true);
    assert_eq!(dongle.ir_speed(now), Some(115_200));
}
