use super::*;
use proptest::prelude::*;

fn round_trip(frame: Frame) {
    let bytes = frame.encode();
    assert_eq!(Frame::decode(&bytes), Ok(frame), "bytes {bytes:02x?}");
}

fn frame(connection: u8, command: bool, poll_final: bool, kind: FrameKind) -> Frame {
    Frame {
        connection,
        command,
        poll_final,
        kind,
    }
}

#[test]
fn information_and_supervisory_frames_round_trip() {
    for (ns, nr, pf) in [(0, 0, false), (7, 3, true), (5, 7, false)] {
        round_trip(frame(
            0x2A,
            true,
            pf,
            FrameKind::Information {
                ns,
                nr,
                data: vec![1, 2, 3],
            },
        ));
        for kind in [
            FrameKind::ReceiveReady { nr },
            FrameKind::ReceiveNotReady { nr },
            FrameKind::Reject { nr },
            FrameKind::SelectiveReject { nr },
        ] {
            round_trip(frame(0x2A, false, pf, kind));
        }
    }
}

#[test]
fn control_bytes_match_the_spec() {
    let rr = frame(0x2A, true, true, FrameKind::ReceiveReady { nr: 5 });
    assert_eq!(rr.encode(), [0x55, 0xB1]);
    let i = frame(
        0x2A,
        false,
        false,
        FrameKind::Information {
            ns: 2,
            nr: 1,
            data: vec![0xAB],
        },
    );
    assert_eq!(i.encode(), [0x54, 0x24, 0xAB]);
    assert_eq!(
        frame(0x2A, true, true, FrameKind::Disc).encode(),
        [0x55, 0x53]
    );
    assert_eq!(
        frame(0x2A, false, true, FrameKind::Dm).encode(),
        [0x54, 0x1F]
    );
    assert_eq!(
        frame(0x2A, false, true, FrameKind::Ua(None)).encode(),
        [0x54, 0x73]
    );
    assert_eq!(
        frame(0x2A, false, true, FrameKind::Rnrm).encode(),
        [0x54, 0x93]
    );
    assert_eq!(
        frame(0x2A, false, true, FrameKind::Rd).encode(),
        [0x54, 0x53]
    );
}

#[test]
fn unnumbered_frames_round_trip() {
    let caps = Capabilities::default();
    let snrm = FrameKind::Snrm(Some(SnrmInfo {
        source: DeviceAddress(0x1234_5678),
        destination: DeviceAddress(0x9ABC_DEF0),
        connection: 0x2A,
        parameters: caps.clone(),
    }));
    let bytes = frame(BROADCAST_CONNECTION, true, true, snrm.clone()).encode();
    assert_eq!(
        &bytes[..11],
        &[0xFF, 0x93, 0x78, 0x56, 0x34, 0x12, 0xF0, 0xDE, 0xBC, 0x9A, 0x54]
    );
    round_trip(frame(BROADCAST_CONNECTION, true, true, snrm));
    round_trip(frame(0x2A, true, true, FrameKind::Snrm(None)));
    for parameters in [Some(caps), None] {
        round_trip(frame(
            0x2A,
            false,
            true,
            FrameKind::Ua(Some(UaInfo {
                source: DeviceAddress(1),
                destination: DeviceAddress(2),
                parameters,
            })),
        ));
    }
    round_trip(frame(
        0x2A,
        false,
        true,
        FrameKind::Frmr(FrameReject {
            rejected_control: 0xE7,
            vs: 3,
            vr: 6,
            rejected_response: true,
            undefined_control: true,
            invalid_nr: true,
            ..FrameReject::default()
        }),
    ));
    for kind in [
        FrameKind::Disc,
        FrameKind::Ui(vec![9, 8]),
        FrameKind::Test(vec![7]),
    ] {
        round_trip(frame(0x2A, true, false, kind));
    }
    for kind in [
        FrameKind::Rd,
        FrameKind::Dm,
        FrameKind::Rnrm,
        FrameKind::Ua(None),
    ] {
        round_trip(frame(0x2A, false, true, kind));
    }
}

fn discovery_xid(slot: u8, info: Option<DiscoveryInfo>) -> Xid {
    Xid {
        source: DeviceAddress(0xA1B2_C3D4),
        destination: DeviceAddress::BROADCAST,
        slots: 8,
        new_address: false,
        slot,
        version: 0,
        info,
    }
}

#[test]
fn discovery_xid_layout() {
    let info = DiscoveryInfo {
        hints: Hints::COMPUTER | Hints::OBEX | Hints::IRCOMM,
        charset: 0,
        nickname: b"handsync".to_vec(),
    };
    let command = frame(
        BROADCAST_CONNECTION,
        true,
        true,
        FrameKind::Xid(discovery_xid(FINAL_SLOT, Some(info.clone()))),
    );
    let bytes = command.encode();
    assert_eq!(
        &bytes[..17],
        &[
            0xFF, 0x3F, 0x01, 0xD4, 0xC3, 0xB2, 0xA1, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0xFF,
            0x00, // header
            0x84, 0x24, 0x00 // hints with the extension bit, charset
        ]
    );
    assert_eq!(&bytes[17..], b"handsync");
    round_trip(command);
    let response = frame(
        BROADCAST_CONNECTION,
        false,
        true,
        FrameKind::Xid(discovery_xid(3, Some(info))),
    );
    assert_eq!(response.encode()[..2], [0xFE, 0xBF]);
    round_trip(response);
    // One hint byte when the second is empty; slot counts and the new-address flag.
    let mut xid = discovery_xid(
        0,
        Some(DiscoveryInfo {
            hints: Hints::PDA,
            charset: 0xFF,
            nickname: vec![0, b'A'],
        }),
    );
    xid.slots = 16;
    xid.new_address = true;
    let bytes = frame(
        BROADCAST_CONNECTION,
        true,
        true,
        FrameKind::Xid(xid.clone()),
    )
    .encode();
    assert_eq!(&bytes[11..15], &[0x07, 0x00, 0x00, 0x02]);
    round_trip(frame(BROADCAST_CONNECTION, true, true, FrameKind::Xid(xid)));
    for slots in [1, 6] {
        round_trip(frame(
            BROADCAST_CONNECTION,
            true,
            false,
            FrameKind::Xid(Xid {
                slots,
                ..discovery_xid(0, None)
            }),
        ));
    }
}

#[test]
fn discovery_info_extra_hint_bytes_charsets_and_limits() {
    // Three hint bytes: the third is skipped.
    let info = DiscoveryInfo::decode(&[0x82, 0xA0, 0x01, 0x01, b'x'], 14).unwrap();
    assert_eq!(info.hints, Hints::PDA | Hints::OBEX);
    assert_eq!(info.charset, 1);
    assert_eq!(info.nickname_text(), "x");
    let ucs2 = DiscoveryInfo {
        charset: 0xFF,
        nickname: vec![0x00, b'N', 0x00, 0xE9],
        ..DiscoveryInfo::default()
    };
    assert_eq!(ucs2.nickname_text(), "Né");
    assert_eq!(
        DiscoveryInfo::decode(&[0x84, 0x80], 14),
        Err(FrameError::Truncated {
            what: "hint byte",
            offset: 16
        })
    );
    assert_eq!(
        DiscoveryInfo::decode(&[0x04], 14),
        Err(FrameError::Truncated {
            what: "charset",
            offset: 15
        })
    );
    assert!(matches!(
        DiscoveryInfo::decode(&[0u8; 33], 14),
        Err(FrameError::DiscoveryInfoTooLong {
            offset: 14,
            len: 33
        })
    ));
    // A long nickname is cut to fit the 32-byte limit when sent.
    let long = DiscoveryInfo {
        hints: Hints::COMPUTER | Hints::OBEX,
        charset: 0,
        nickname: vec![b'n'; 40],
    };
    let mut bytes = Vec::new();
    long.encode(&mut bytes);
    assert_eq!(bytes.len(), MAX_DISCOVERY_INFO);
    assert_eq!(DiscoveryInfo::decode(&bytes, 0).unwrap().nickname.len(), 29);
}

#[test]
fn bad_frames_are_precise_errors() {
    assert_eq!(Frame::decode(&[0xFF]), Err(FrameError::TooShort { len: 1 }));
    assert_eq!(
        Frame::decode(&[0x55, 0x63]),
        Err(FrameError::UnknownControl {
            control: 0x63,
            command: true
        })
    );
    assert_eq!(
        Frame::decode(&[0x55, 0x11, 0x00]),
        Err(FrameError::UnexpectedInformation {
            control: 0x11,
            len: 1
        })
    );
    assert_eq!(
        Frame::decode(&[0xFF, 0x93, 1, 2, 3]),
        Err(FrameError::Truncated {
            what: "SNRM addresses",
            offset: 5
        })
    );
    assert_eq!(
        Frame::decode(&[0xFF, 0x3F, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        Err(FrameError::XidFormat {
            offset: 2,
            value: 2
        })
    );
    assert_eq!(
        Frame::decode(&[0xFF, 0x3F, 0x01, 0, 0]),
        Err(FrameError::Truncated {
            what: "discovery XID",
            offset: 5
        })
    );
    assert_eq!(
        Frame::decode(&[0x54, 0x97, 0xE7]),
        Err(FrameError::Truncated {
            what: "FRMR information",
            offset: 3
        })
    );
    assert!(matches!(
        Frame::decode(&[0xFF, 0x93, 1, 2, 3, 4, 5, 6, 7, 8, 0x54, 0x83, 7]),
        Err(FrameError::Parameters(QosError::Truncated {
            offset: 11,
            ..
        }))
    ));
}

proptest! {
    #[test]
    fn decode_never_panics_and_reencodes_what_it_accepts(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(frame) = Frame::decode(&bytes) {
            // What decodes must encode to something that decodes the same.
            prop_assert_eq!(Frame::decode(&frame.encode()), Ok(frame));
        }
    }

    #[test]
    fn xid_shaped_input_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..48), control in prop_oneof![Just(0x3Fu8), Just(0xBF), Just(0x93), Just(0x73), Just(0x97)]) {
        let mut bytes = vec![0xFF, control, 0x01];
        bytes.extend(tail);
        let _ = Frame::decode(&bytes);
        bytes[0] = 0xFE;
        let _ = Frame::decode(&bytes);
    }
}
