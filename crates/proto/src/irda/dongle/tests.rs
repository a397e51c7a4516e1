use super::*;

#[test]
fn every_cli_name_parses_back_to_its_kind() {
    for kind in DongleKind::ALL {
        assert_eq!(kind.cli_name().parse::<DongleKind>().unwrap(), kind);
    }
    assert_eq!(
        " Tekram ".parse::<DongleKind>().unwrap(),
        DongleKind::Tekram210B
    );
    assert_eq!(
        "actisys+".parse::<DongleKind>().unwrap(),
        DongleKind::Actisys220LPlus
    );
}

#[test]
fn an_unknown_name_is_refused_with_the_list_of_known_ones() {
    let error = "irda-usb".parse::<DongleKind>().unwrap_err();
    let message = error.to_string();
    assert!(message.contains("\"irda-usb\""), "{message}");
    for kind in DongleKind::ALL {
        assert!(message.contains(kind.cli_name()), "{message}");
    }
}

#[test]
fn an_unsupported_speed_names_the_dongle_and_its_speeds() {
    let error = change_speed(DongleKind::Esi, 57600).unwrap_err();
    assert!(matches!(
        error,
        DongleError::UnsupportedSpeed {
            dongle: DongleKind::Esi,
            speed: 57600
        }
    ));
    assert_eq!(
        error.to_string(),
        "the JetEye PC ESI-9680 cannot run at 57600 b/s; it runs at 9600, 19200, 115200 b/s"
    );
    assert!(
        change_speed(DongleKind::Actisys220L, 38400).is_err(),
        "only the 220L+ has 38400"
    );
    assert!(change_speed(DongleKind::Actisys220LPlus, 38400).is_ok());
    assert!(change_speed(DongleKind::Plain, 115_200).is_err());
}

#[test]
fn every_sequence_ends_with_the_uart_at_the_new_speed() {
    for kind in DongleKind::ALL {
        let after_reset = reset(kind);
        assert_eq!(
            after_reset.first(),
            Some(&Step::SetUartSpeed(kind.speed_after_reset())),
            "{kind}: the UART at the chip's speed before anything is written to it"
        );
        for &speed in kind.speeds() {
            let steps = change_speed(kind, speed).unwrap();
            assert_eq!(
                steps.last(),
                Some(&Step::SetUartSpeed(speed)),
                "{kind} {speed}"
            );
            assert!(steps.starts_with(&after_reset), "{kind}: reset first");
            let touches_lines = steps.iter().any(|s| matches!(s, Step::SetLines { .. }));
            assert_eq!(touches_lines, kind.needs_modem_lines(), "{kind}");
        }
    }
}

#[test]
fn the_actisys_steps_one_rts_pulse_per_speed_in_its_cycle() {
    let rts_pulses = |speed| {
        change_speed(DongleKind::Actisys220LPlus, speed)
            .unwrap()
            .iter()
            .filter(|s| {
                **s == Step::SetLines {
                    dtr: true,
                    rts: false,
                }
            })
            .count()
    };
    assert_eq!(rts_pulses(9600), 0);
    assert_eq!(rts_pulses(19200), 1);
    assert_eq!(rts_pulses(115_200), 3);
    assert_eq!(rts_pulses(38400), 4);
}

#[test]
fn command_byte_dongles_write_their_speed_code() {
    let written = |kind, speed| -> Vec<u8> {
        change_speed(kind, speed)
            .unwrap()
            .into_iter()
            .filter_map(|s| match s {
                Step::Write(bytes) => Some(bytes),
                _ => None,
            })
            .flatten()
            .collect()
    };
    assert_eq!(written(DongleKind::Tekram210B, 115_200), [0x00]);
    assert_eq!(written(DongleKind::Tekram210B, 9600), [0x14]);
    assert_eq!(written(DongleKind::Toim3232, 2400), [0x1a]);
    assert_eq!(written(DongleKind::Girbil, 38400), [0x03, 0x34, 0x51]);
    assert_eq!(written(DongleKind::Mcp2120, 57600), [0x83, 0x11]);
    let ma600 = change_speed(DongleKind::Ma600, 19200).unwrap();
    assert!(ma600.contains(&Step::ExpectEcho {
        bytes: vec![0x01],
        timeout: ECHO_TIMEOUT
    }));
}

#[test]
fn no_echo_names_the_dongle_and_the_speed() {
    let error = DongleError::NoEcho {
        dongle: DongleKind::Mcp2120,
        speed: 115_200,
        expected: vec![0x81, 0x11],
        received: vec![],
    };
    let message = error.to_string();
    assert!(message.contains("Microchip MCP2120"), "{message}");
    assert!(message.contains("115200"), "{message}");
    assert!(message.contains("81 11"), "{message}");
}
