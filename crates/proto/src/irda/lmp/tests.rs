use std::time::{Duration, Instant};

use super::*;
use crate::irda::ias::{names, IasEntry, IasError, IasValue};
use crate::irda::ttp::{Ttp, TtpConfig};

const LINK_DATA_SIZE: usize = 64;

fn lmp_with(database: IasDatabase, max_connections: usize) -> Lmp {
    Lmp::new(LmpConfig {
        max_connections,
        ..LmpConfig::new(database)
    })
}

/// A phone-like station: device "phone", OBEX over TinyTP on LSAP 0x05.
fn phone_database() -> IasDatabase {
    let mut database = IasDatabase::with_device("phone");
    database
        .add_tinytp_service(names::OBEX_CLASS, 0x05)
        .unwrap();
    database
}

/// Two LM-MUXes over one link, PDUs passed by hand.
struct Pair {
    now: Instant,
    a: Lmp,
    b: Lmp,
    a_events: Vec<LmpEvent>,
    b_events: Vec<LmpEvent>,
}

impl Pair {
    fn new(a: Lmp, b: Lmp) -> Pair {
        let now = Instant::now();
        let mut pair = Pair {
            now,
            a,
            b,
            a_events: Vec::new(),
            b_events: Vec::new(),
        };
        pair.a.link_up(now, LINK_DATA_SIZE);
        pair.b.link_up(now, LINK_DATA_SIZE);
        pair
    }

    fn standard() -> Pair {
        Pair::new(
            lmp_with(IasDatabase::with_device("pc"), 8),
            lmp_with(phone_database(), 8),
        )
    }

    /// Moves PDUs both ways until neither side has any; collects events.
    fn pump(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some(pdu) = self.a.poll_pdu() {
                assert!(pdu.len() <= LINK_DATA_SIZE);
                self.b.handle_pdu(self.now, &pdu).unwrap();
                moved = true;
            }
            while let Some(pdu) = self.b.poll_pdu() {
                assert!(pdu.len() <= LINK_DATA_SIZE);
                self.a.handle_pdu(self.now, &pdu).unwrap();
                moved = true;
            }
            self.a_events
                .extend(std::iter::from_fn(|| self.a.poll_event()));
            self.b_events
                .extend(std::iter::from_fn(|| self.b.poll_event()));
            if !moved {
                return;
            }
        }
        panic!("the two sides never went quiet");
    }
}

#[test]
fn pdus_encode_as_the_spec_lays_them_out() {
    let connect = LmPdu::Connect {
        destination: Lsap(0x05),
        source: Lsap(0x12),
        user_data: &[0x0e],
    };
    assert_eq!(connect.encode(), vec![0x85, 0x12, 0x01, 0x00, 0x0e]);
    let disconnect = LmPdu::Disconnect {
        destination: Lsap(0x12),
        source: Lsap(0x05),
        reason: DisconnectReason::UserRequest,
        user_data: &[],
    };
    assert_eq!(disconnect.encode(), vec![0x92, 0x05, 0x02, 0x01]);
    let data = LmPdu::Data {
        destination: Lsap(0x00),
        source: Lsap(0x6F),
        data: b"hi",
    };
    assert_eq!(data.encode(), vec![0x00, 0x6F, b'h', b'i']);
    let access = LmPdu::AccessModeConfirm {
        destination: Lsap(1),
        source: Lsap(2),
        status: access_status::UNSUPPORTED,
        mode: access_mode::MULTIPLEXED,
    };
    assert_eq!(access.encode(), vec![0x81, 0x02, 0x83, 0xFF, 0x00]);
    for pdu in [connect, disconnect, data, access] {
        assert_eq!(LmPdu::decode(&pdu.encode()), Ok(pdu));
    }
    // a connect without its reserved byte, as some stacks send it
    assert_eq!(
        LmPdu::decode(&[0x85, 0x12, 0x01]),
        Ok(LmPdu::Connect {
            destination: Lsap(5),
            source: Lsap(0x12),
            user_data: &[]
        })
    );
}

#[test]
fn malformed_pdus_are_typed_errors_with_offsets() {
    assert_eq!(
        LmPdu::decode(&[0x85]).unwrap_err(),
        LmpDecodeError {
            offset: 1,
            kind: LmpDecodeErrorKind::Truncated {
                what: "LM-PDU header"
            }
        }
    );
    assert_eq!(LmPdu::decode(&[0x85, 0x01]).unwrap_err().offset, 2);
    assert_eq!(
        LmPdu::decode(&[0x85, 0x01, 0x07]).unwrap_err(),
        LmpDecodeError {
            offset: 2,
            kind: LmpDecodeErrorKind::UnknownOpcode { opcode: 7 }
        }
    );
    assert_eq!(
        LmPdu::decode(&[0x85, 0x01, 0x02]).unwrap_err(),
        LmpDecodeError {
            offset: 3,
            kind: LmpDecodeErrorKind::Truncated {
                what: "disconnect reason"
            }
        }
    );
    let mut pair = Pair::standard();
    assert_eq!(
        pair.a.handle_pdu(pair.now, &[0x85, 0x01, 0x09]),
        Err(LmpError::Malformed(LmpDecodeError {
            offset: 2,
            kind: LmpDecodeErrorKind::UnknownOpcode { opcode: 9 }
        }))
    );
    assert_eq!(pair.a.poll_pdu(), None);
}

#[test]
fn connect_accept_data_disconnect() {
    let mut pair = Pair::standard();
    pair.b.listen(Lsap(0x05)).unwrap();
    let conn = pair.a.connect(pair.now, Lsap(0x05), vec![1, 2, 3]).unwrap();
    pair.pump();
    let [LmpEvent::ConnectIndication {
        conn: incoming,
        local,
        remote,
        user_data,
    }] = pair.b_events.as_slice()
    else {
        panic!("{:?}", pair.b_events);
    };
    assert_eq!((*local, remote.is_user()), (Lsap(0x05), true));
    assert_eq!(user_data, &vec![1, 2, 3]);
    let incoming = *incoming;
    pair.b_events.clear();
    assert!(pair.a_events.is_empty(), "no answer before accept");

    pair.b.accept(incoming, vec![9]).unwrap();
    pair.pump();
    assert_eq!(
        pair.a_events,
        vec![LmpEvent::Connected {
            conn,
            user_data: vec![9]
        }]
    );
    pair.a_events.clear();

    pair.a.send(conn, b"ping".to_vec()).unwrap();
    pair.b.send(incoming, b"pong".to_vec()).unwrap();
    pair.pump();
    assert_eq!(
        pair.b_events,
        vec![LmpEvent::Data {
            conn: incoming,
            data: b"ping".to_vec()
        }]
    );
    assert_eq!(
        pair.a_events,
        vec![LmpEvent::Data {
            conn,
            data: b"pong".to_vec()
        }]
    );
    pair.a_events.clear();
    pair.b_events.clear();

    pair.a
        .disconnect(conn, DisconnectReason::UserRequest)
        .unwrap();
    pair.pump();
    assert_eq!(
        pair.b_events,
        vec![LmpEvent::Disconnected {
            conn: incoming,
            reason: DisconnectReason::UserRequest
        }]
    );
    assert!(pair.a_events.is_empty());
    assert_eq!(pair.a.connection_count(), 0);
    assert_eq!(pair.b.connection_count(), 0);
    assert_eq!(pair.a.send(conn, vec![1]), Err(LmpError::UnknownConnection));
}

#[test]
fn refusing_a_connection_tells_the_caller() {
    let mut pair = Pair::standard();
    pair.b.listen(Lsap(0x05)).unwrap();
    let conn = pair.a.connect(pair.now, Lsap(0x05), vec![]).unwrap();
    pair.pump();
    let LmpEvent::ConnectIndication { conn: incoming, .. } = pair.b_events[0] else {
        panic!();
    };
    pair.b
        .disconnect(incoming, DisconnectReason::NoAvailableClient)
        .unwrap();
    pair.pump();
    assert_eq!(
        pair.a_events,
        vec![LmpEvent::Disconnected {
            conn,
            reason: DisconnectReason::NoAvailableClient
        }]
    );
}

#[test]
fn connecting_to_an_lsap_nobody_listens_on_is_refused() {
    let mut pair = Pair::standard();
    let conn = pair.a.connect(pair.now, Lsap(0x22), vec![]).unwrap();
    pair.pump();
    assert!(pair.b_events.is_empty());
    assert_eq!(
        pair.a_events,
        vec![LmpEvent::Disconnected {
            conn,
            reason: DisconnectReason::NoAvailableClient
        }]
    );
}

#[test]
fn data_on_an_unconnected_lsap_is_answered_with_a_disconnect() {
    let mut pair = Pair::standard();
    pair.b.handle_pdu(pair.now, &[0x05, 0x12, b'x']).unwrap();
    assert_eq!(pair.b.poll_pdu(), Some(vec![0x92, 0x05, 0x02, 0x06]));
    // connectionless data has no user here: dropped quietly
    pair.b.handle_pdu(pair.now, &[0x70, 0x70, b'x']).unwrap();
    assert_eq!(pair.b.poll_pdu(), None);
    assert_eq!(pair.b.dropped_pdus(), 1);
    // exclusive access mode is not offered
    pair.b
        .handle_pdu(pair.now, &[0x85, 0x12, 0x03, 0x00, 0x01])
        .unwrap();
    assert_eq!(pair.b.poll_pdu(), Some(vec![0x92, 0x05, 0x83, 0xFF, 0x00]));
}

#[test]
fn link_down_ends_every_connection_and_query() {
    let mut pair = Pair::standard();
    pair.b.listen(Lsap(0x05)).unwrap();
    pair.b.listen(Lsap(0x06)).unwrap();
    let first = pair.a.connect(pair.now, Lsap(0x05), vec![]).unwrap();
    let second = pair.a.connect(pair.now, Lsap(0x06), vec![]).unwrap();
    pair.pump();
    for event in std::mem::take(&mut pair.b_events) {
        let LmpEvent::ConnectIndication { conn, .. } = event else {
            panic!("{event:?}");
        };
        pair.b.accept(conn, vec![]).unwrap();
    }
    pair.pump();
    pair.a_events.clear();
    let pending = pair.a.connect(pair.now, Lsap(0x05), vec![]).unwrap();
    let query = pair
        .a
        .ias_query(pair.now, "OBEX", "IrDA:TinyTP:LsapSel")
        .unwrap();
    pair.a.link_down(pair.now);
    let events: Vec<LmpEvent> = std::iter::from_fn(|| pair.a.poll_event()).collect();
    let reason = DisconnectReason::UnexpectedLinkDisconnect;
    for conn in [first, second, pending] {
        assert!(events.contains(&LmpEvent::Disconnected { conn, reason }));
    }
    assert!(events.contains(&LmpEvent::IasAnswer {
        query,
        result: Err(IasError::Disconnected(reason))
    }));
    assert_eq!(events.len(), 4);
    assert_eq!(pair.a.connection_count(), 0);
    assert_eq!(pair.a.poll_pdu(), None);
    assert_eq!(pair.a.send(first, vec![1]), Err(LmpError::LinkDown));
    assert_eq!(
        pair.a.connect(pair.now, Lsap(5), vec![]),
        Err(LmpError::LinkDown)
    );
    assert_eq!(pair.a.poll_timeout(), None);
}

#[test]
fn ias_queries_are_answered_from_the_peer_database() {
    let mut pair = Pair::standard();
    let obex = pair
        .a
        .ias_query(pair.now, "OBEX", "IrDA:TinyTP:LsapSel")
        .unwrap();
    let name = pair.a.ias_query(pair.now, "Device", "DeviceName").unwrap();
    let no_class = pair
        .a
        .ias_query(pair.now, "IrLAN", "IrDA:TinyTP:LsapSel")
        .unwrap();
    let no_attribute = pair.a.ias_query(pair.now, "Device", "Colour").unwrap();
    pair.pump();
    assert_eq!(
        pair.a_events,
        vec![
            LmpEvent::IasAnswer {
                query: obex,
                result: Ok(vec![IasEntry {
                    object_id: 1,
                    value: IasValue::Integer(5)
                }])
            },
            LmpEvent::IasAnswer {
                query: name,
                result: Ok(vec![IasEntry {
                    object_id: 0,
                    value: IasValue::ascii("phone")
                }])
            },
            LmpEvent::IasAnswer {
                query: no_class,
                result: Err(IasError::NoSuchClass)
            },
            LmpEvent::IasAnswer {
                query: no_attribute,
                result: Err(IasError::NoSuchAttribute)
            },
        ]
    );
    // the IAS connection closed after the last answer; the server user heard nothing
    assert!(pair.b_events.is_empty());
    assert_eq!(pair.a.connection_count(), 0);
    assert_eq!(pair.b.connection_count(), 0);
}

#[test]
fn ias_answers_longer_than_a_frame_arrive_whole() {
    let mut database = phone_database();
    for index in 0..12 {
        let object = database.add_object("Printer").unwrap();
        database
            .set_attribute(
                object,
                "Info",
                IasValue::ascii(&format!("a printer of the office, number {index}")),
            )
            .unwrap();
    }
    let mut pair = Pair::new(lmp_with(IasDatabase::new(), 8), lmp_with(database, 8));
    let query = pair.a.ias_query(pair.now, "Printer", "Info").unwrap();
    pair.pump();
    let [LmpEvent::IasAnswer {
        query: answered,
        result: Ok(entries),
    }] = pair.a_events.as_slice()
    else {
        panic!("{:?}", pair.a_events);
    };
    assert_eq!(*answered, query);
    assert_eq!(entries.len(), 12);
    assert_eq!(
        entries[11].value,
        IasValue::ascii("a printer of the office, number 11")
    );
}

#[test]
fn an_ias_query_without_answer_times_out() {
    let mut pair = Pair::standard();
    let query = pair
        .a
        .ias_query(pair.now, "OBEX", "IrDA:TinyTP:LsapSel")
        .unwrap();
    // the connect goes nowhere
    assert!(pair.a.poll_pdu().is_some());
    let deadline = pair.a.poll_timeout().unwrap();
    assert_eq!(deadline, pair.now + Duration::from_secs(5));
    pair.a.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(pair.a.poll_event(), None);
    pair.a.handle_timeout(deadline);
    assert_eq!(
        pair.a.poll_event(),
        Some(LmpEvent::IasAnswer {
            query,
            result: Err(IasError::Timeout)
        })
    );
    // the peer hears the give-up, so a late confirm leaves nothing half open
    assert_eq!(
        LmPdu::decode(&pair.a.poll_pdu().unwrap()).unwrap(),
        LmPdu::Disconnect {
            destination: Lsap::IAS,
            source: Lsap(1),
            reason: DisconnectReason::NonResponsiveClient,
            user_data: &[]
        }
    );
    assert_eq!(pair.a.poll_timeout(), None);

    // connected but the answer never comes
    let query = pair
        .a
        .ias_query(pair.now, "OBEX", "IrDA:TinyTP:LsapSel")
        .unwrap();
    let connect = pair.a.poll_pdu().unwrap();
    pair.b.handle_pdu(pair.now, &connect).unwrap();
    let confirm = pair.b.poll_pdu().unwrap();
    pair.a.handle_pdu(pair.now, &confirm).unwrap();
    assert!(pair.a.poll_pdu().is_some(), "the query goes out");
    let later = pair.now + Duration::from_secs(5);
    assert_eq!(pair.a.poll_timeout(), Some(later));
    pair.a.handle_timeout(later);
    assert_eq!(
        pair.a.poll_event(),
        Some(LmpEvent::IasAnswer {
            query,
            result: Err(IasError::Timeout)
        })
    );
}

#[test]
fn a_connect_without_confirm_times_out() {
    let mut pair = Pair::standard();
    let conn = pair.a.connect(pair.now, Lsap(0x05), vec![]).unwrap();
    pair.a.poll_pdu().unwrap();
    let deadline = pair.a.poll_timeout().unwrap();
    pair.a.handle_timeout(deadline);
    assert_eq!(
        pair.a.poll_event(),
        Some(LmpEvent::Disconnected {
            conn,
            reason: DisconnectReason::NonResponsiveClient
        })
    );
    assert_eq!(pair.a.connection_count(), 0);
}

#[test]
fn limits_refuse_connections_and_sends() {
    let mut pair = Pair::new(
        lmp_with(IasDatabase::new(), 2),
        lmp_with(IasDatabase::new(), 2),
    );
    for lsap in 1..=3 {
        pair.b.listen(Lsap(lsap)).unwrap();
    }
    pair.a.connect(pair.now, Lsap(1), vec![]).unwrap();
    pair.a.connect(pair.now, Lsap(2), vec![]).unwrap();
    assert_eq!(
        pair.a.connect(pair.now, Lsap(3), vec![]),
        Err(LmpError::TooManyConnections)
    );
    pair.pump();
    assert_eq!(pair.b.connection_count(), 2);

    // a third connection from the peer is refused at the limit
    let mut peer = lmp_with(IasDatabase::new(), 8);
    peer.link_up(pair.now, LINK_DATA_SIZE);
    let refused = peer.connect(pair.now, Lsap(3), vec![]).unwrap();
    pair.b
        .handle_pdu(pair.now, &peer.poll_pdu().unwrap())
        .unwrap();
    peer.handle_pdu(pair.now, &pair.b.poll_pdu().unwrap())
        .unwrap();
    assert_eq!(
        peer.poll_event(),
        Some(LmpEvent::Disconnected {
            conn: refused,
            reason: DisconnectReason::NoAvailableClient
        })
    );

    assert_eq!(pair.a.listen(Lsap(0)), Err(LmpError::InvalidLsap(Lsap(0))));
    assert_eq!(
        pair.a.listen(Lsap(0x70)),
        Err(LmpError::InvalidLsap(Lsap(0x70)))
    );
    assert_eq!(pair.b.listen(Lsap(1)), Err(LmpError::LsapInUse(Lsap(1))));
    assert_eq!(
        pair.a.connect(pair.now, Lsap(0x71), vec![]),
        Err(LmpError::InvalidLsap(Lsap(0x71)))
    );
    assert_eq!(
        pair.a.connect(pair.now, Lsap(1), vec![0; 61]),
        Err(LmpError::TooLarge { len: 61, max: 60 })
    );
}

#[test]
fn a_peer_gets_two_ias_connections_at_most() {
    let mut pair = Pair::standard();
    for source in 0x10..0x13u8 {
        pair.b
            .handle_pdu(pair.now, &[0x80, source, 0x01, 0x00])
            .unwrap();
    }
    let pdus: Vec<Vec<u8>> = std::iter::from_fn(|| pair.b.poll_pdu()).collect();
    let replies: Vec<LmPdu> = pdus.iter().map(|pdu| LmPdu::decode(pdu).unwrap()).collect();
    assert!(matches!(replies[0], LmPdu::ConnectConfirm { .. }));
    assert!(matches!(replies[1], LmPdu::ConnectConfirm { .. }));
    assert!(matches!(
        replies[2],
        LmPdu::Disconnect {
            reason: DisconnectReason::NoAvailableClient,
            ..
        }
    ));
    assert_eq!(pair.b.connection_count(), 2);
}

#[test]
fn the_lsap_of_an_answer_is_its_first_user_lsap_integer() {
    let entry = |object_id, value| IasEntry { object_id, value };
    assert_eq!(
        Lsap::from_ias_answer(&[
            entry(0, IasValue::ascii("5")),
            entry(1, IasValue::Integer(0x70)),
            entry(2, IasValue::Integer(-1)),
            entry(3, IasValue::Integer(0x0A)),
        ]),
        Some(Lsap(0x0A))
    );
    assert_eq!(
        Lsap::from_ias_answer(&[entry(0, IasValue::Integer(0))]),
        None
    );
    assert_eq!(Lsap::from_ias_answer(&[]), None);
}

#[test]
fn a_peer_closing_the_ias_connection_fails_the_queries_on_it() {
    let mut pair = Pair::standard();
    let first = pair
        .a
        .ias_query(pair.now, "OBEX", "IrDA:TinyTP:LsapSel")
        .unwrap();
    let second = pair.a.ias_query(pair.now, "Device", "DeviceName").unwrap();
    let connect = pair.a.poll_pdu().unwrap();
    pair.b.handle_pdu(pair.now, &connect).unwrap();
    pair.a
        .handle_pdu(pair.now, &pair.b.poll_pdu().unwrap())
        .unwrap();
    // the query went out; the peer hangs up instead of answering
    let query = pair.a.poll_pdu().unwrap();
    let local = LmPdu::decode(&query).unwrap().source();
    pair.a
        .handle_pdu(
            pair.now,
            &LmPdu::Disconnect {
                destination: local,
                source: Lsap::IAS,
                reason: DisconnectReason::LinkManagement,
                user_data: &[],
            }
            .encode(),
        )
        .unwrap();
    let error = Err(IasError::Disconnected(DisconnectReason::LinkManagement));
    assert_eq!(
        std::iter::from_fn(|| pair.a.poll_event()).collect::<Vec<_>>(),
        vec![
            LmpEvent::IasAnswer {
                query: first,
                result: error.clone()
            },
            LmpEvent::IasAnswer {
                query: second,
                result: error
            },
        ]
    );
    assert_eq!(pair.a.connection_count(), 0);
    assert_eq!(pair.a.poll_timeout(), None);
}

#[test]
fn a_connect_from_an_illegal_source_is_refused_and_harms_nothing() {
    let mut pair = Pair::standard();
    pair.b.listen(Lsap(0x05)).unwrap();
    // from the peer's IAS LSAP and from its connectionless LSAP
    for source in [0x00, 0x70] {
        pair.b
            .handle_pdu(pair.now, &[0x85, source, 0x01, 0x00])
            .unwrap();
        assert_eq!(
            pair.b.poll_pdu(),
            Some(vec![0x80 | source, 0x05, 0x02, 0x0A])
        );
    }
    assert_eq!(pair.b.poll_event(), None);
    assert_eq!(pair.b.connection_count(), 0);
}

#[test]
fn the_send_queue_is_bounded() {
    let mut pair = Pair::standard();
    pair.b.listen(Lsap(0x05)).unwrap();
    let conn = pair.a.connect(pair.now, Lsap(0x05), vec![]).unwrap();
    pair.pump();
    let LmpEvent::ConnectIndication { conn: incoming, .. } = pair.b_events[0] else {
        panic!();
    };
    pair.b.accept(incoming, vec![]).unwrap();
    pair.pump();
    assert_eq!(
        pair.a.send(conn, vec![0; 63]),
        Err(LmpError::TooLarge { len: 63, max: 62 })
    );
    for _ in 0..64 {
        pair.a.send(conn, vec![0; 62]).unwrap();
    }
    assert!(!pair.a.can_send());
    assert_eq!(pair.a.send(conn, vec![0]), Err(LmpError::QueueFull));
    pair.a.poll_pdu().unwrap();
    assert!(pair.a.can_send());
}

#[test]
fn a_user_that_stops_reading_loses_the_connection_not_memory() {
    let mut pair = Pair::standard();
    pair.b.listen(Lsap(0x05)).unwrap();
    let conn = pair.a.connect(pair.now, Lsap(0x05), vec![]).unwrap();
    pair.pump();
    let LmpEvent::ConnectIndication { conn: incoming, .. } = pair.b_events[0] else {
        panic!();
    };
    pair.b.accept(incoming, vec![]).unwrap();
    pair.pump();
    pair.a_events.clear();
    // b's user stops polling events; a keeps sending
    for _ in 0..100 {
        let _ = pair.a.send(conn, vec![1; 10]);
        while let Some(pdu) = pair.a.poll_pdu() {
            pair.b.handle_pdu(pair.now, &pdu).unwrap();
        }
    }
    while let Some(pdu) = pair.b.poll_pdu() {
        pair.a.handle_pdu(pair.now, &pdu).unwrap();
    }
    assert_eq!(
        pair.a.poll_event(),
        Some(LmpEvent::Disconnected {
            conn,
            reason: DisconnectReason::NonResponsiveClient
        })
    );
    let events: Vec<LmpEvent> = std::iter::from_fn(|| pair.b.poll_event()).collect();
    assert_eq!(events.len(), 64 + 1);
    assert_eq!(
        events.last(),
        Some(&LmpEvent::Disconnected {
            conn: incoming,
            reason: DisconnectReason::NonResponsiveClient
        })
    );
}

#[test]
fn a_peer_flooding_ias_requests_is_cut_off() {
    let mut pair = Pair::standard();
    pair.a
        .handle_pdu(pair.now, &[0x80, 0x12, 0x01, 0x00])
        .unwrap();
    assert_eq!(pair.a.poll_pdu(), Some(vec![0x92, 0x00, 0x81, 0x00]));
    let request = [
        vec![0x00, 0x12, 0x84],
        GetValueByClass::new("Device", "DeviceName")
            .unwrap()
            .encode(),
    ]
    .concat();
    pair.a.handle_pdu(pair.now, &request).unwrap();
    // a second request before the first answer left
    pair.a.handle_pdu(pair.now, &request).unwrap();
    assert_eq!(
        pair.a.poll_pdu(),
        Some(vec![0x92, 0x00, 0x02, 0xFF]),
        "the answer is purged and the connection ended"
    );
    assert_eq!(pair.a.connection_count(), 0);
    // unattached refusals stop growing past the queue's room
    for _ in 0..1000 {
        pair.a.handle_pdu(pair.now, &[0x33, 0x12, 0x00]).unwrap();
    }
    assert_eq!(
        std::iter::from_fn(|| pair.a.poll_pdu()).count(),
        64 + UNATTACHED_REPLY_ROOM
    );
}

#[test]
fn a_reconnect_on_a_stale_pair_replaces_it() {
    let mut pair = Pair::standard();
    pair.b.listen(Lsap(0x05)).unwrap();
    pair.a.connect(pair.now, Lsap(0x05), vec![]).unwrap();
    pair.pump();
    let LmpEvent::ConnectIndication { conn: old, .. } = pair.b_events.remove(0) else {
        panic!();
    };
    // the same connect again, as from a peer that rebooted its LM-MUX
    pair.b
        .handle_pdu(pair.now, &[0x85, 0x01, 0x01, 0x00])
        .unwrap();
    let events: Vec<LmpEvent> = std::iter::from_fn(|| pair.b.poll_event()).collect();
    assert_eq!(
        events[0],
        LmpEvent::Disconnected {
            conn: old,
            reason: DisconnectReason::ConnectionHalfOpen
        }
    );
    assert!(matches!(events[1], LmpEvent::ConnectIndication { .. }));
    assert_eq!(pair.b.connection_count(), 1);
}

/// The flow of a PC and a phone: IAS lookup of OBEX's LSAP, a TinyTP connection to it, and
/// OBEX packets both ways.
#[test]
fn ias_lookup_then_tinytp_connect_and_data() {
    let mut pair = Pair::standard();
    pair.b.listen(Lsap(0x05)).unwrap();
    let query = pair
        .a
        .ias_query(pair.now, "OBEX", "IrDA:TinyTP:LsapSel")
        .unwrap();
    pair.pump();
    let Some(LmpEvent::IasAnswer {
        query: answered,
        result: Ok(entries),
    }) = pair.a_events.pop()
    else {
        panic!("{:?}", pair.a_events);
    };
    assert_eq!(answered, query);
    let lsap = Lsap::from_ias_answer(&entries).unwrap();

    let segment = TtpConfig::segment_size_for_link(LINK_DATA_SIZE);
    let config = TtpConfig {
        initial_credit: 2,
        max_sdu_size: 1000,
        ..TtpConfig::new(segment)
    };
    let mut pc = Ttp::new(config.clone());
    let mut phone = Ttp::new(config);
    let pc_conn = pair
        .a
        .connect(pair.now, lsap, pc.connect_parameters())
        .unwrap();
    pair.pump();
    let Some(LmpEvent::ConnectIndication {
        conn: phone_conn,
        local,
        user_data,
        ..
    }) = pair.b_events.pop()
    else {
        panic!("{:?}", pair.b_events);
    };
    assert_eq!(local, Lsap(0x05));
    assert_eq!(phone.handle_connect_parameters(&user_data), Ok(&[][..]));
    pair.b
        .accept(phone_conn, phone.connect_parameters())
        .unwrap();
    pair.pump();
    let Some(LmpEvent::Connected { conn, user_data }) = pair.a_events.pop() else {
        panic!("{:?}", pair.a_events);
    };
    assert_eq!(conn, pc_conn);
    pc.handle_connect_parameters(&user_data).unwrap();

    let request: Vec<u8> = (0..700u32).map(|i| i as u8).collect();
    let response: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
    pc.send_sdu(request.clone()).unwrap();
    phone.send_sdu(response.clone()).unwrap();
    let mut phone_got = Vec::new();
    let mut pc_got = Vec::new();
    for _ in 0..1000 {
        while let Some(pdu) = pc.poll_pdu() {
            pair.a.send(pc_conn, pdu).unwrap();
        }
        while let Some(pdu) = phone.poll_pdu() {
            pair.b.send(phone_conn, pdu).unwrap();
        }
        pair.pump();
        for event in pair.a_events.drain(..) {
            let LmpEvent::Data { conn, data } = event else {
                panic!("{event:?}");
            };
            assert_eq!(conn, pc_conn);
            pc.handle_pdu(&data).unwrap();
        }
        for event in pair.b_events.drain(..) {
            let LmpEvent::Data { conn, data } = event else {
                panic!("{event:?}");
            };
            assert_eq!(conn, phone_conn);
            phone.handle_pdu(&data).unwrap();
        }
        pc_got.extend(std::iter::from_fn(|| pc.poll_sdu()));
        phone_got.extend(std::iter::from_fn(|| phone.poll_sdu()));
        if !pc_got.is_empty() && !phone_got.is_empty() {
            break;
        }
    }
    assert_eq!(phone_got, vec![request]);
    assert_eq!(pc_got, vec![response]);
}

proptest::proptest! {
    #[test]
    fn no_bytes_make_lmp_panic(
        pdus in proptest::collection::vec(
            proptest::collection::vec(proptest::num::u8::ANY, 0..40), 0..40),
    ) {
        let now = Instant::now();
        let mut lmp = lmp_with(phone_database(), 4);
        lmp.link_up(now, LINK_DATA_SIZE);
        lmp.listen(Lsap(0x05)).unwrap();
        let _ = lmp.ias_query(now, "OBEX", "IrDA:TinyTP:LsapSel");
        for pdu in &pdus {
            if let Ok(decoded) = LmPdu::decode(pdu) {
                let encoded = decoded.encode();
                proptest::prop_assert_eq!(LmPdu::decode(&encoded), Ok(decoded));
            }
            let _ = lmp.handle_pdu(now, pdu);
            while let Some(event) = lmp.poll_event() {
                if let LmpEvent::ConnectIndication { conn, .. } = event {
                    let _ = lmp.accept(conn, vec![]);
                }
            }
            while let Some(out) = lmp.poll_pdu() {
                proptest::prop_assert!(out.len() <= LINK_DATA_SIZE);
            }
            proptest::prop_assert!(lmp.connection_count() <= 4);
        }
        lmp.handle_timeout(now + Duration::from_secs(60));
        lmp.link_down(now);
        proptest::prop_assert_eq!(lmp.connection_count(), 0);
    }
}
