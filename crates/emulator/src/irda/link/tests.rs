use super::*;

fn tx(frame: &[u8], speed: u32) -> Transmit {
    Transmit {
        frame: frame.to_vec(),
        speed,
        extra_bofs: 0,
    }
}

/// A 64-byte I-frame-like payload without bytes that need escaping.
fn payload(fill: u8) -> Vec<u8> {
    let mut frame = vec![0xb5, 0x10];
    frame.extend(std::iter::repeat_n(fill, 62));
    frame
}

fn drain(air: &mut Air, end: End) -> Vec<Received> {
    std::iter::from_fn(|| air.poll_receive(end)).collect()
}

#[test]
fn air_time_counts_bofs_escapes_fcs_and_eof_at_ten_bits_a_byte() {
    let frame = [0xff, 0x93, 0x01];
    let plain = tx(&frame, 9600);
    let bytes = sir::encoded_len(&frame, 0);
    assert!(bytes >= 7, "BOF + 3 + FCS + EOF");
    assert_eq!(
        air_time(&plain),
        Duration::from_nanos(bytes as u64 * 10 * 1_000_000_000 / 9600)
    );
    let with_bofs = Transmit {
        extra_bofs: 10,
        ..plain.clone()
    };
    let ten_bofs = Duration::from_nanos(100 * 1_000_000_000 / 9600);
    let difference = air_time(&with_bofs) - air_time(&plain);
    assert!(
        difference.abs_diff(ten_bofs) <= Duration::from_nanos(1),
        "{difference:?}"
    );
    // A byte that has to be escaped (0x7d) costs a second byte on the air.
    let escaped = tx(&[0xff, 0x93, 0x7d], 9600);
    assert!(sir::encoded_len(&escaped.frame, 0) > sir::encoded_len(&[0xff, 0x93, 0x00], 0));
    assert!(air_time(&tx(&frame, 115_200)) < air_time(&plain) / 10);
}

#[test]
fn a_frame_arrives_at_the_other_end_once_its_last_bit_is_through() {
    let t0 = Instant::now();
    let mut air = Air::new(AirConfig::default());
    let frame = payload(0x42);
    let out = air.transmit(t0, End::A, tx(&frame, 9600)).unwrap();
    assert_eq!(out, t0 + air_time(&tx(&frame, 9600)));
    assert_eq!(air.poll_timeout(), Some(out));
    assert_eq!(air.transmitting_until(End::A), Some(out));
    air.handle_timeout(out - Duration::from_micros(1));
    assert_eq!(air.poll_receive(End::B), None, "not before its end");
    air.handle_timeout(out);
    assert_eq!(air.poll_receive(End::B), Some(Received::Frame(frame)));
    assert_eq!(
        air.poll_receive(End::A),
        None,
        "a sender does not hear itself"
    );
    assert_eq!(air.poll_timeout(), None);
    let stats = air.stats();
    assert_eq!((stats.frames, stats.delivered), (1, 1));
    assert_eq!(
        stats.bytes_on_air,
        sir::encoded_len(&payload(0x42), 0) as u64
    );
}

#[test]
fn frames_of_one_end_queue_behind_each_other() {
    let t0 = Instant::now();
    let mut air = Air::new(AirConfig::default());
    let first = air.transmit(t0, End::A, tx(&payload(1), 9600)).unwrap();
    let second = air.transmit(t0, End::A, tx(&payload(2), 9600)).unwrap();
    assert_eq!(
        second - first,
        first - t0,
        "the second starts when the first ends"
    );
    air.handle_timeout(first);
    assert_eq!(drain(&mut air, End::B), [Received::Frame(payload(1))]);
    assert_eq!(air.poll_timeout(), Some(second));
    air.handle_timeout(second);
    assert_eq!(drain(&mut air, End::B), [Received::Frame(payload(2))]);
}

#[test]
fn overlapping_frames_of_both_ends_collide_and_arrive_as_activity() {
    let t0 = Instant::now();
    let mut air = Air::new(AirConfig::default());
    let a_end = air.transmit(t0, End::A, tx(&payload(1), 9600)).unwrap();
    let halfway = t0 + (a_end - t0) / 2;
    let b_end = air
        .transmit(halfway, End::B, tx(&payload(2), 9600))
        .unwrap();
    air.handle_timeout(b_end);
    assert_eq!(drain(&mut air, End::A), [Received::Activity]);
    assert_eq!(drain(&mut air, End::B), [Received::Activity]);
    assert_eq!(air.stats().collisions, 2);
    assert_eq!(air.stats().delivered, 0);
    // Taking turns does not collide.
    let next = air.transmit(b_end, End::A, tx(&payload(3), 9600)).unwrap();
    air.handle_timeout(next);
    assert_eq!(drain(&mut air, End::B), [Received::Frame(payload(3))]);
}

#[test]
fn a_receiver_at_another_speed_hears_only_activity() {
    let t0 = Instant::now();
    let mut air = Air::new(AirConfig::default());
    air.set_receive_speed(End::B, 115_200);
    let end = air.transmit(t0, End::A, tx(&payload(1), 9600)).unwrap();
    air.handle_timeout(end);
    assert_eq!(drain(&mut air, End::B), [Received::Activity]);
    assert_eq!(air.stats().wrong_speed, 1);
    let end = air.transmit(end, End::A, tx(&payload(2), 115_200)).unwrap();
    air.handle_timeout(end);
    assert_eq!(drain(&mut air, End::B), [Received::Frame(payload(2))]);
}

#[test]
fn a_transceiver_is_blind_for_its_recovery_time_after_transmitting() {
    let recovery = Duration::from_millis(5);
    let t0 = Instant::now();
    let mut air = Air::new(AirConfig {
        recovery,
        ..AirConfig::default()
    });
    let b_done = air.transmit(t0, End::B, tx(&payload(1), 9600)).unwrap();
    air.handle_timeout(b_done);
    assert_eq!(drain(&mut air, End::A), [Received::Frame(payload(1))]);
    // A answers too soon: B is still blind.
    let too_soon = air
        .transmit(b_done + recovery / 2, End::A, tx(&payload(2), 9600))
        .unwrap();
    air.handle_timeout(too_soon);
    assert_eq!(drain(&mut air, End::B), []);
    assert_eq!(air.stats().blinded, 1);
    // B sends again once A's own recovery is over; A waits out B's before answering.
    let b_again = air
        .transmit(too_soon + recovery, End::B, tx(&payload(3), 9600))
        .unwrap();
    air.handle_timeout(b_again);
    assert_eq!(drain(&mut air, End::A), [Received::Frame(payload(3))]);
    let in_time = air
        .transmit(b_again + recovery, End::A, tx(&payload(4), 9600))
        .unwrap();
    air.handle_timeout(in_time);
    assert_eq!(drain(&mut air, End::B), [Received::Frame(payload(4))]);
}

#[test]
fn out_of_range_nothing_arrives() {
    let t0 = Instant::now();
    let mut air = Air::new(AirConfig::default());
    air.set_in_range(false);
    let end = air.transmit(t0, End::A, tx(&payload(1), 9600)).unwrap();
    air.handle_timeout(end);
    assert_eq!(drain(&mut air, End::B), []);
    assert_eq!(air.stats().out_of_range, 1);
    air.set_in_range(true);
    let end = air.transmit(end, End::A, tx(&payload(2), 9600)).unwrap();
    air.handle_timeout(end);
    assert_eq!(drain(&mut air, End::B), [Received::Frame(payload(2))]);
}

#[test]
fn lost_frames_vanish_without_a_trace() {
    let t0 = Instant::now();
    let mut air = Air::new(AirConfig {
        frame_loss: 1.0,
        ..AirConfig::default()
    });
    let end = air.transmit(t0, End::A, tx(&payload(1), 9600)).unwrap();
    air.handle_timeout(end);
    assert_eq!(drain(&mut air, End::B), []);
    assert_eq!(air.stats().lost, 1);
}

/// 200 frames A to B on a noisy link, taking turns with nothing else going on.
fn noisy_run(seed: u64) -> (Vec<Received>, AirStats) {
    let mut air = Air::new(AirConfig {
        seed,
        bit_error_rate: 1e-3,
        frame_loss: 0.05,
        recovery: Duration::ZERO,
    });
    air.set_receive_speed(End::B, 115_200);
    let mut now = Instant::now();
    let mut received = Vec::new();
    for i in 0..200u8 {
        now = air.transmit(now, End::A, tx(&payload(i), 115_200)).unwrap();
        air.handle_timeout(now);
        received.extend(drain(&mut air, End::B));
    }
    (received, air.stats())
}

#[test]
fn bit_errors_damage_frames_at_the_rate_they_should() {
    let (received, stats) = noisy_run(7);
    // A 64-byte frame is about 70 SIR bytes, 700 bits: at 1e-3 half of them are hit.
    let damaged = received
        .iter()
        .filter(|r| **r == Received::Activity)
        .count();
    assert_eq!(damaged as u64, stats.damaged);
    assert!((60..=140).contains(&damaged), "{damaged} of 200 damaged");
    assert!((2..=25).contains(&stats.lost), "{} lost", stats.lost);
    assert_eq!(stats.delivered + stats.damaged + stats.lost, 200);
}

#[test]
fn the_same_seed_replays_the_same_run_and_another_seed_does_not() {
    let (first, first_stats) = noisy_run(42);
    let (again, again_stats) = noisy_run(42);
    assert_eq!(first, again);
    assert_eq!(first_stats, again_stats);
    let (other, _) = noisy_run(43);
    assert_ne!(first, other);
}

#[test]
fn a_runaway_sender_is_cut_off_at_the_queue_limit() {
    let t0 = Instant::now();
    let mut air = Air::new(AirConfig::default());
    for _ in 0..MAX_QUEUED_PER_END {
        assert!(air.transmit(t0, End::A, tx(&payload(1), 9600)).is_some());
    }
    assert_eq!(air.transmit(t0, End::A, tx(&payload(1), 9600)), None);
    assert_eq!(air.stats().overflowed, 1);
    assert!(
        air.transmit(t0, End::B, tx(&payload(1), 9600)).is_some(),
        "B has its own queue"
    );
}
