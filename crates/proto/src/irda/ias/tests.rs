use super::*;

fn database() -> IasDatabase {
    let mut database = IasDatabase::with_device("handsync");
    database
        .add_tinytp_service(names::OBEX_CLASS, 0x05)
        .unwrap();
    database
}

fn query(class: &str, attribute: &str) -> GetValueByClass {
    GetValueByClass::new(class, attribute).unwrap()
}

#[test]
fn request_encodes_with_length_prefixed_names() {
    let request = query("OBEX", "IrDA:TinyTP:LsapSel");
    let body = request.encode();
    assert_eq!(body[0], 4);
    assert_eq!(&body[1..5], b"OBEX");
    assert_eq!(body[5], 19);
    assert_eq!(&body[6..], b"IrDA:TinyTP:LsapSel");
    assert_eq!(GetValueByClass::decode(&body), Ok(request));
}

#[test]
fn request_decoding_reports_offsets() {
    assert_eq!(
        GetValueByClass::decode(&[4, b'O', b'B']),
        Err(IasDecodeError {
            offset: 1,
            kind: IasDecodeErrorKind::Truncated {
                what: "class name",
                needed: 4
            }
        })
    );
    assert_eq!(
        GetValueByClass::decode(&[0, 61]).unwrap_err(),
        IasDecodeError {
            offset: 1,
            kind: IasDecodeErrorKind::NameTooLong { len: 61 }
        }
    );
    assert_eq!(
        GetValueByClass::decode(&[0, 0, 9]).unwrap_err().kind,
        IasDecodeErrorKind::TrailingBytes { len: 1 }
    );
    assert_eq!(
        GetValueByClass::new(&"x".repeat(61), "a"),
        Err(IasDatabaseError::NameTooLong { len: 61 })
    );
}

#[test]
fn every_value_type_round_trips() {
    let response = IasResponse::Success(vec![
        IasEntry {
            object_id: 0,
            value: IasValue::Missing,
        },
        IasEntry {
            object_id: 1,
            value: IasValue::Integer(-2),
        },
        IasEntry {
            object_id: 0x1234,
            value: IasValue::OctetSequence(vec![1, 0, 0]),
        },
        IasEntry {
            object_id: 7,
            value: IasValue::ascii("Nokia 6230i"),
        },
    ]);
    let body = response.encode();
    assert_eq!(&body[..3], &[0x00, 0x00, 0x04]);
    // object 1: id, type 1, four bytes big-endian
    assert_eq!(&body[6..13], &[0x00, 0x01, 0x01, 0xFF, 0xFF, 0xFF, 0xFE]);
    assert_eq!(IasResponse::decode(&body), Ok(response));
    for failure in [
        IasResponse::NoSuchClass,
        IasResponse::NoSuchAttribute,
        IasResponse::Failed(0xFF),
    ] {
        assert_eq!(IasResponse::decode(&failure.encode()), Ok(failure));
    }
}

#[test]
fn a_failure_with_a_missing_value_after_it_decodes() {
    // Linux sends the list with a Missing value even for "no such class".
    assert_eq!(
        IasResponse::decode(&[0x01, 0x00, 0x01, 0x12, 0x35, 0x00]),
        Ok(IasResponse::NoSuchClass)
    );
}

#[test]
fn response_decoding_reports_offsets() {
    assert_eq!(
        IasResponse::decode(&[0x00, 0x00, 0x01, 0x00, 0x00, 0x09]).unwrap_err(),
        IasDecodeError {
            offset: 5,
            kind: IasDecodeErrorKind::UnknownValueType { value_type: 9 }
        }
    );
    assert_eq!(
        IasResponse::decode(&[0x00, 0x00, 0x01, 0x00, 0x00, 0x02, 0x04, 0x01]).unwrap_err(),
        IasDecodeError {
            offset: 6,
            kind: IasDecodeErrorKind::OctetSequenceTooLong { len: 1025 }
        }
    );
    assert_eq!(
        IasResponse::decode(&[0x00, 0x00, 0x02, 0x00, 0x00, 0x00]).unwrap_err(),
        IasDecodeError {
            offset: 6,
            kind: IasDecodeErrorKind::Truncated {
                what: "object identifier",
                needed: 2
            }
        }
    );
}

#[test]
fn database_answers_found_no_class_and_no_attribute() {
    let database = database();
    assert_eq!(
        database.get_value_by_class(&query("OBEX", "IrDA:TinyTP:LsapSel")),
        IasResponse::Success(vec![IasEntry {
            object_id: 1,
            value: IasValue::Integer(5)
        }])
    );
    assert_eq!(
        database.get_value_by_class(&query("Device", "DeviceName")),
        IasResponse::Success(vec![IasEntry {
            object_id: 0,
            value: IasValue::ascii("handsync")
        }])
    );
    assert_eq!(
        database.get_value_by_class(&query("IrLAN", "IrDA:TinyTP:LsapSel")),
        IasResponse::NoSuchClass
    );
    assert_eq!(
        database.get_value_by_class(&query("OBEX", "IrDA:IrLMP:LsapSel")),
        IasResponse::NoSuchAttribute
    );
    // names compare exactly, case included
    assert_eq!(
        database.get_value_by_class(&query("obex", "IrDA:TinyTP:LsapSel")),
        IasResponse::NoSuchClass
    );
}

#[test]
fn database_answers_every_object_of_the_class() {
    let mut database = database();
    let second = database.add_tinytp_service("OBEX", 0x09).unwrap();
    // an object of the class without the attribute adds nothing
    database.add_object("OBEX").unwrap();
    assert_eq!(
        database.get_value_by_class(&query("OBEX", "IrDA:TinyTP:LsapSel")),
        IasResponse::Success(vec![
            IasEntry {
                object_id: 1,
                value: IasValue::Integer(5)
            },
            IasEntry {
                object_id: second,
                value: IasValue::Integer(9)
            },
        ])
    );
    database.remove_object(second).unwrap();
    database
        .set_attribute(1, names::TINYTP_LSAP_SEL, IasValue::Integer(6))
        .unwrap();
    assert_eq!(
        database.get_value_by_class(&query("OBEX", "IrDA:TinyTP:LsapSel")),
        IasResponse::Success(vec![IasEntry {
            object_id: 1,
            value: IasValue::Integer(6)
        }])
    );
}

#[test]
fn database_refuses_what_does_not_fit_the_air() {
    let mut database = IasDatabase::new();
    let object = database.add_object("Device").unwrap();
    assert_eq!(
        database.set_attribute(object, "Blob", IasValue::OctetSequence(vec![0; 1025])),
        Err(IasDatabaseError::ValueTooLong { len: 1025 })
    );
    assert_eq!(
        database.set_attribute(99, "DeviceName", IasValue::Missing),
        Err(IasDatabaseError::NoSuchObject(99))
    );
    assert_eq!(
        database.add_object(&"C".repeat(61)),
        Err(IasDatabaseError::NameTooLong { len: 61 })
    );
}

/// Runs a query between a client and a server session with frames of at most `max_frame`
/// bytes; returns the answer and the number of frames exchanged.
fn exchange(
    database: &IasDatabase,
    request: &GetValueByClass,
    max_frame: usize,
) -> (IasResponse, usize) {
    let mut client = ClientSession::new();
    let mut server = ServerSession::new();
    let mut to_server = vec![client.start(request, max_frame)];
    let mut frames = 0;
    loop {
        let mut to_client = Vec::new();
        for frame in to_server.drain(..) {
            assert!(frame.len() <= max_frame);
            frames += 1;
            to_client.extend(server.handle_frame(database, &frame, max_frame).unwrap());
        }
        for frame in to_client {
            assert!(frame.len() <= max_frame);
            frames += 1;
            let step = client.handle_frame(&frame).unwrap();
            if let Some(answer) = step.answer {
                assert!(client.is_idle());
                assert!(!server.is_answering());
                return (answer, frames);
            }
            to_server.extend(step.send);
        }
        assert!(frames < 1000, "no answer");
    }
}

#[test]
fn sessions_answer_in_one_frame_each_way() {
    let database = database();
    let (answer, frames) = exchange(&database, &query("OBEX", "IrDA:TinyTP:LsapSel"), 64);
    assert_eq!(
        answer,
        IasResponse::Success(vec![IasEntry {
            object_id: 1,
            value: IasValue::Integer(5)
        }])
    );
    assert_eq!(frames, 2);
    let (answer, _) = exchange(&database, &query("Nope", "x"), 64);
    assert_eq!(answer, IasResponse::NoSuchClass);
}

#[test]
fn sessions_split_long_messages_and_acknowledge_each_frame() {
    let mut database = IasDatabase::new();
    for lsap in 1..=20 {
        let object = database.add_object("Printer").unwrap();
        database
            .set_attribute(
                object,
                "Info",
                IasValue::ascii(&format!("printer number {lsap}")),
            )
            .unwrap();
    }
    let request = query(&"P".repeat(40), "Info");
    database.add_object(&"P".repeat(40)).unwrap();
    // a request of 47 bytes and frames of 16: the request itself goes in 4 frames
    let (answer, frames) = exchange(&database, &request, 16);
    assert_eq!(answer, IasResponse::NoSuchAttribute);
    assert_eq!(frames, 4 + 3 + 1);
    let (answer, frames) = exchange(&database, &query("Printer", "Info"), 16);
    let IasResponse::Success(entries) = answer else {
        panic!("expected values");
    };
    assert_eq!(entries.len(), 20);
    assert_eq!(entries[19].value, IasValue::ascii("printer number 20"));
    assert!(frames > 40, "{frames} frames");
}

#[test]
fn sessions_refuse_frames_out_of_turn() {
    let database = database();
    let mut client = ClientSession::new();
    assert_eq!(
        client
            .handle_frame(&[0x84, 0x00, 0x00, 0x00])
            .unwrap_err()
            .kind,
        IasDecodeErrorKind::UnexpectedFrame { control: 0x84 }
    );
    client.start(&query("OBEX", "x"), 64);
    assert_eq!(
        client.handle_frame(&[0x83, 0x00]).unwrap_err().kind,
        IasDecodeErrorKind::UnexpectedOpcode { opcode: 3 }
    );
    assert!(client.is_idle());
    assert_eq!(
        client.handle_frame(&[]).unwrap_err().kind,
        IasDecodeErrorKind::EmptyFrame
    );

    // a server asked for an operation it does not do answers "unsupported"
    let mut server = ServerSession::new();
    let frames = server.handle_frame(&database, &[0x81], 64).unwrap();
    assert_eq!(frames, vec![vec![0x81, 0xFF]]);
    // a new request while a long answer is still going out is refused
    let mut big = IasDatabase::new();
    let object = big.add_object("C").unwrap();
    big.set_attribute(object, "A", IasValue::OctetSequence(vec![7; 100]))
        .unwrap();
    let request = [vec![0x84], query("C", "A").encode()].concat();
    let first = server.handle_frame(&big, &request, 32).unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0][0] & LAST_FRAME, 0);
    assert_eq!(
        server.handle_frame(&big, &request, 32).unwrap_err().kind,
        IasDecodeErrorKind::RequestWhileAnswering
    );
}

#[test]
fn sessions_bound_reassembly() {
    let mut client = ClientSession::new();
    client.start(&query("C", "A"), 64);
    let mut frame = vec![GET_VALUE_BY_CLASS];
    frame.extend_from_slice(&[0u8; 63]);
    let mut result = Ok(());
    for _ in 0..100 {
        match client.handle_frame(&frame) {
            Ok(step) => assert_eq!(step.send, Some(ack_frame(GET_VALUE_BY_CLASS))),
            Err(error) => {
                result = Err(error.kind);
                break;
            }
        }
    }
    assert_eq!(
        result,
        Err(IasDecodeErrorKind::MessageTooLong {
            limit: MAX_MESSAGE_LEN
        })
    );
    let mut server = ServerSession::new();
    let database = database();
    let mut result = Ok(());
    for _ in 0..100 {
        if let Err(error) = server.handle_frame(&database, &frame, 64) {
            result = Err(error.kind);
            break;
        }
    }
    assert_eq!(
        result,
        Err(IasDecodeErrorKind::MessageTooLong {
            limit: MAX_MESSAGE_LEN
        })
    );
}

proptest::proptest! {
    #[test]
    fn no_bytes_make_the_ias_decoders_panic(
        bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
    ) {
        let _ = GetValueByClass::decode(&bytes);
        if let Ok(response) = IasResponse::decode(&bytes) {
            proptest::prop_assert_eq!(IasResponse::decode(&response.encode()), Ok(response));
        }
        let database = database();
        let mut server = ServerSession::new();
        let mut client = ClientSession::new();
        client.start(&query("OBEX", "IrDA:TinyTP:LsapSel"), 20);
        for frame in bytes.chunks(7) {
            let _ = server.handle_frame(&database, frame, 20);
            let _ = client.handle_frame(frame);
        }
    }

    #[test]
    fn requests_round_trip(class in "[ -~]{0,60}", attribute in "[ -~]{0,60}") {
        let request = query(&class, &attribute);
        proptest::prop_assert_eq!(GetValueByClass::decode(&request.encode()), Ok(request));
    }
}
