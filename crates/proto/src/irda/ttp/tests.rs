use super::*;

fn config(initial_credit: u8, max_sdu_size: u32, max_segment_size: usize) -> TtpConfig {
    TtpConfig {
        initial_credit,
        max_sdu_size,
        max_segment_size,
        max_queued_sdus: 4,
    }
}

/// Two TinyTP ends connected to each other (the LM-connect exchange done by hand).
fn pair(a: TtpConfig, b: TtpConfig) -> (Ttp, Ttp) {
    let mut a = Ttp::new(a);
    let mut b = Ttp::new(b);
    let a_parameters = a.connect_parameters();
    let b_parameters = b.connect_parameters();
    assert_eq!(b.handle_connect_parameters(&a_parameters), Ok(&[][..]));
    assert_eq!(a.handle_connect_parameters(&b_parameters), Ok(&[][..]));
    (a, b)
}

#[test]
fn connect_parameters_carry_credit_and_max_sdu_size() {
    assert_eq!(Ttp::new(config(14, 0, 60)).connect_parameters(), vec![0x0E]);
    assert_eq!(
        Ttp::new(config(1, 0x1000, 60)).connect_parameters(),
        vec![0x81, 0x04, 0x01, 0x02, 0x10, 0x00]
    );
    assert_eq!(
        Ttp::new(config(127, 0x0001_0000, 60)).connect_parameters(),
        vec![0xFF, 0x06, 0x01, 0x04, 0x00, 0x01, 0x00, 0x00]
    );
    // credit is clamped to what the header holds (and at least 1)
    assert_eq!(
        Ttp::new(config(200, 0, 60)).connect_parameters(),
        vec![0x7F]
    );
    assert_eq!(Ttp::new(config(0, 0, 60)).connect_parameters(), vec![0x01]);
}

#[test]
fn peer_parameters_are_parsed_skipping_unknown_ones() {
    let mut ttp = Ttp::new(config(4, 0, 10));
    // credit 3, an unknown parameter 0x7E, MaxSduSize 0x0200 in 3 bytes, then user data
    let data = [
        0x83, 0x09, 0x7E, 0x02, 0xAA, 0xBB, 0x01, 0x03, 0x00, 0x02, 0x00, b'u',
    ];
    assert_eq!(ttp.handle_connect_parameters(&data), Ok(&b"u"[..]));
    assert_eq!(ttp.send_credit(), 3);
    assert_eq!(ttp.max_send_sdu_size(), Some(0x200));
    assert_eq!(
        ttp.handle_connect_parameters(&data),
        Err(TtpError::AlreadyConnected)
    );
    // no parameters: the peer does not reassemble, an SDU is one PDU
    let mut ttp = Ttp::new(config(4, 0, 10));
    ttp.handle_connect_parameters(&[0x05]).unwrap();
    assert_eq!(ttp.max_send_sdu_size(), Some(10));
    assert_eq!(
        ttp.send_sdu(vec![0; 11]),
        Err(TtpError::SduTooLarge { len: 11, max: 10 })
    );
}

#[test]
fn malformed_connect_parameters_are_typed_errors() {
    let parse = |data: &[u8]| {
        Ttp::new(config(1, 0, 10))
            .handle_connect_parameters(data)
            .map(<[u8]>::to_vec)
    };
    assert_eq!(
        parse(&[]),
        Err(TtpError::Truncated {
            offset: 0,
            what: "initial credit"
        })
    );
    assert_eq!(
        parse(&[0x81]),
        Err(TtpError::Truncated {
            offset: 1,
            what: "parameters length"
        })
    );
    assert_eq!(
        parse(&[0x81, 0x04, 0x01]),
        Err(TtpError::Truncated {
            offset: 2,
            what: "parameters"
        })
    );
    assert_eq!(
        parse(&[0x81, 0x03, 0x01, 0x02, 0x00]),
        Err(TtpError::Truncated {
            offset: 4,
            what: "parameter value"
        })
    );
    assert_eq!(
        parse(&[0x81, 0x07, 0x01, 0x05, 0, 0, 0, 0, 1]),
        Err(TtpError::InvalidParameter {
            offset: 2,
            pi: 1,
            len: 5
        })
    );
}

#[test]
fn data_pdus_carry_the_more_bit_and_delta_credit() {
    let (mut a, mut b) = pair(config(3, 100, 4), config(3, 100, 4));
    a.send_sdu(b"abcdefghij".to_vec()).unwrap();
    let first = a.poll_pdu().unwrap();
    assert_eq!(first, [&[0x80][..], b"abcd"].concat());
    b.handle_pdu(&first).unwrap();
    // b's segment went into reassembly: the credit comes back on b's next PDU
    b.send_sdu(b"xy".to_vec()).unwrap();
    assert_eq!(b.poll_pdu().unwrap(), [&[0x01][..], b"xy"].concat());
    let second = a.poll_pdu().unwrap();
    let third = a.poll_pdu().unwrap();
    assert_eq!(second, [&[0x80][..], b"efgh"].concat());
    assert_eq!(third, [&[0x00][..], b"ij"].concat());
    b.handle_pdu(&second).unwrap();
    b.handle_pdu(&third).unwrap();
    assert_eq!(b.poll_sdu(), Some(b"abcdefghij".to_vec()));
    assert_eq!(b.poll_sdu(), None);
}

#[test]
fn a_sender_out_of_credit_waits_and_a_dataless_pdu_releases_it() {
    let (mut a, mut b) = pair(config(2, 0, 8), config(2, 0, 8));
    for index in 0..4u8 {
        a.send_sdu(vec![index; 8]).unwrap();
    }
    let first = a.poll_pdu().unwrap();
    let second = a.poll_pdu().unwrap();
    assert_eq!(a.send_credit(), 0);
    assert_eq!(a.poll_pdu(), None, "no credit, no data PDU");
    b.handle_pdu(&first).unwrap();
    b.handle_pdu(&second).unwrap();
    // b has nothing to send and its user has not read: nothing to lend yet
    assert_eq!(b.poll_pdu(), None);
    assert_eq!(b.poll_sdu(), Some(vec![0; 8]));
    // one credit freed, the peer has none left: a dataless PDU lends it
    let credit = b.poll_pdu().unwrap();
    assert_eq!(credit, vec![0x01]);
    assert_eq!(b.poll_pdu(), None);
    a.handle_pdu(&credit).unwrap();
    assert_eq!(a.send_credit(), 1);
    assert_eq!(a.poll_pdu(), Some([&[0x00][..], &[2; 8]].concat()));
    assert_eq!(a.poll_pdu(), None);
}

#[test]
fn a_peer_sending_without_credit_is_an_error() {
    let (mut a, mut b) = pair(config(1, 0, 8), config(1, 0, 8));
    a.send_sdu(vec![1]).unwrap();
    let pdu = a.poll_pdu().unwrap();
    b.handle_pdu(&pdu).unwrap();
    assert_eq!(b.handle_pdu(&pdu), Err(TtpError::NoCredit));
    // dataless PDUs cost nothing
    assert_eq!(b.handle_pdu(&[0x00]), Ok(()));
    assert_eq!(b.handle_pdu(&[0x80]), Err(TtpError::MoreWithoutData));
    assert_eq!(
        b.handle_pdu(&[]),
        Err(TtpError::Truncated {
            offset: 0,
            what: "TinyTP header"
        })
    );
}

#[test]
fn reassembly_is_bounded_by_our_max_sdu_size() {
    let (mut a, mut b) = pair(config(8, 0, 4), config(8, 10, 4));
    let _ = &mut a;
    b.handle_pdu(&[0x80, 1, 2, 3, 4]).unwrap();
    b.handle_pdu(&[0x80, 5, 6, 7, 8]).unwrap();
    assert_eq!(
        b.handle_pdu(&[0x80, 9, 10, 11]),
        Err(TtpError::ReassemblyOverflow { limit: 10 })
    );
    // a peer that announced no reassembly gets no segments from us, and sends us none
    let (_, mut c) = pair(config(8, 0, 4), config(8, 0, 4));
    assert_eq!(
        c.handle_pdu(&[0x80, 1]),
        Err(TtpError::SegmentationNotNegotiated)
    );
    // and what we send is bounded by what the peer reassembles
    assert_eq!(
        a.send_sdu(vec![0; 11]),
        Err(TtpError::SduTooLarge { len: 11, max: 10 })
    );
    a.send_sdu(vec![0; 10]).unwrap();
}

#[test]
fn queue_and_state_errors() {
    let mut ttp = Ttp::new(config(1, 0, 4));
    assert_eq!(ttp.send_sdu(vec![1]), Err(TtpError::NotConnected));
    assert_eq!(ttp.handle_pdu(&[0x00, 1]), Err(TtpError::NotConnected));
    assert_eq!(ttp.poll_pdu(), None);
    ttp.handle_connect_parameters(&[0x00]).unwrap();
    assert_eq!(ttp.send_sdu(vec![]), Err(TtpError::EmptySdu));
    for _ in 0..4 {
        ttp.send_sdu(vec![1]).unwrap();
    }
    assert!(!ttp.can_send_sdu());
    assert_eq!(ttp.send_sdu(vec![1]), Err(TtpError::QueueFull));
    assert!(ttp.has_pending_output());
}

/// Streams SDUs both ways between two ends, the upper layers reading only every few rounds,
/// and checks every PDU against the credit the sender had.
fn stream(a_config: TtpConfig, b_config: TtpConfig, a_sdus: Vec<Vec<u8>>, b_sdus: Vec<Vec<u8>>) {
    let (mut a, mut b) = pair(a_config, b_config);
    let (mut a_pending, mut b_pending) = (a_sdus.clone(), b_sdus.clone());
    a_pending.reverse();
    b_pending.reverse();
    let (mut a_got, mut b_got) = (Vec::new(), Vec::new());
    for round in 0..1_000_000u32 {
        while a.can_send_sdu() && !a_pending.is_empty() {
            a.send_sdu(a_pending.pop().unwrap()).unwrap();
        }
        while b.can_send_sdu() && !b_pending.is_empty() {
            b.send_sdu(b_pending.pop().unwrap()).unwrap();
        }
        // one PDU each way per round, so credits run out
        if let Some(pdu) = a.poll_pdu() {
            assert!(pdu.len() <= HEADER_LEN + a.max_segment_size());
            b.handle_pdu(&pdu).expect("a sends only with credit");
        }
        if let Some(pdu) = b.poll_pdu() {
            assert!(pdu.len() <= HEADER_LEN + b.max_segment_size());
            a.handle_pdu(&pdu).expect("b sends only with credit");
        }
        if round % 3 == 0 {
            a_got.extend(a.poll_sdu());
        }
        if round % 5 == 0 {
            b_got.extend(b.poll_sdu());
        }
        if a_got.len() == b_sdus.len() && b_got.len() == a_sdus.len() {
            assert_eq!(b_got, a_sdus);
            assert_eq!(a_got, b_sdus);
            return;
        }
    }
    panic!(
        "stalled: a got {} of {}, b got {} of {}",
        a_got.len(),
        b_sdus.len(),
        b_got.len(),
        a_sdus.len()
    );
}

fn sdus(total: usize, size: usize, seed: u8) -> Vec<Vec<u8>> {
    let bytes: Vec<u8> = (0..total)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    bytes.chunks(size).map(<[u8]>::to_vec).collect()
}

#[test]
fn a_100_kb_stream_each_way_with_small_credits_and_pdus_arrives_intact() {
    // segmented: SDUs of 1000 bytes in PDUs of 13, one or two credits
    stream(
        config(1, 1000, 13),
        config(2, 1000, 13),
        sdus(100_000, 1000, 1),
        sdus(100_000, 997, 2),
    );
    // a byte stream: no segmentation, each SDU one PDU of at most 61 bytes
    stream(
        config(1, 0, 61),
        config(3, 0, 61),
        sdus(100_000, 61, 3),
        sdus(100_000, 17, 4),
    );
}

proptest::proptest! {
    #[test]
    fn no_bytes_make_tinytp_panic(
        parameters in proptest::collection::vec(proptest::num::u8::ANY, 0..20),
        pdus in proptest::collection::vec(
            proptest::collection::vec(proptest::num::u8::ANY, 0..20), 0..40),
    ) {
        let mut ttp = Ttp::new(config(4, 50, 8));
        if ttp.handle_connect_parameters(&parameters).is_err() {
            ttp.handle_connect_parameters(&[0x04]).unwrap();
        }
        let _ = ttp.send_sdu(vec![7; 20]);
        for pdu in &pdus {
            let _ = ttp.handle_pdu(pdu);
            while let Some(out) = ttp.poll_pdu() {
                proptest::prop_assert!(out.len() <= 9);
            }
            while let Some(sdu) = ttp.poll_sdu() {
                proptest::prop_assert!(sdu.len() <= 50);
            }
        }
    }
}
