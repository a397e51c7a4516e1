//! Two stations back to back through a small simulated half-duplex link in virtual time.

use super::*;
use crate::irda::frame::Hints;
use crate::irda::qos::{baud, THRESHOLD_3S};

const A: usize = 0;
const B: usize = 1;

type DropRule = Box<dyn FnMut(usize, &Frame, Instant) -> bool>;

/// Each Transmit reaches the other station when its air time is over, as a frame when
/// that station listens at the frame's speed, as mere activity otherwise.
struct Sim {
    laps: [Lap; 2],
    start: Instant,
    now: Instant,
    air_end: [Instant; 2],
    in_flight: Vec<(Instant, usize, Transmit)>,
    events: [Vec<LapEvent>; 2],
    received: [Vec<Vec<u8>>; 2],
    sent_frames: [usize; 2],
    /// Every frame put on the air: sender, start, end.
    air_log: Vec<(usize, Instant, Instant)>,
    drop: DropRule,
}

fn config(address: u32, nickname: &str, discoverable: bool) -> LapConfig {
    LapConfig {
        address: DeviceAddress(address),
        info: DiscoveryInfo {
            hints: Hints::COMPUTER | Hints::OBEX,
            charset: 0,
            nickname: nickname.as_bytes().to_vec(),
        },
        capabilities: Capabilities::default(),
        discoverable,
        seed: u64::from(address),
    }
}

impl Sim {
    fn new(a: LapConfig, b: LapConfig) -> Sim {
        let start = Instant::now();
        Sim {
            laps: [Lap::new(a), Lap::new(b)],
            start,
            now: start,
            air_end: [start; 2],
            in_flight: Vec::new(),
            events: [Vec::new(), Vec::new()],
            received: [Vec::new(), Vec::new()],
            sent_frames: [0; 2],
            air_log: Vec::new(),
            drop: Box::new(|_, _, _| false),
        }
    }

    fn pair() -> Sim {
        Sim::new(
            config(0x1111_1111, "pc", true),
            config(0x2222_2222, "Nokia 6230", true),
        )
    }

    fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    fn flush(&mut self) {
        for side in [A, B] {
            while let Some(transmit) = self.laps[side].poll_transmit() {
                let start = self.air_end[side].max(self.now);
                let end = start + air_time(&transmit.frame, transmit.speed, transmit.extra_bofs);
                self.air_end[side] = end;
                self.sent_frames[side] += 1;
                self.air_log.push((side, start, end));
                let frame = Frame::decode(&transmit.frame).expect("we send valid frames");
                if !(self.drop)(side, &frame, self.now) {
                    self.in_flight.push((end, 1 - side, transmit));
                }
            }
            while let Some(event) = self.laps[side].poll_event() {
                match event {
                    LapEvent::Data(data) => self.received[side].push(data),
                    other => self.events[side].push(other),
                }
            }
        }
    }

    /// Advances to the next delivery or timer; false when nothing is left to happen.
    fn step(&mut self) -> bool {
        self.flush();
        let next = self
            .in_flight
            .iter()
            .map(|(at, ..)| *at)
            .chain(self.laps.iter().filter_map(Lap::poll_timeout))
            .min();
        let Some(next) = next else {
            return false;
        };
        self.now = self.now.max(next);
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) =
            self.in_flight.drain(..).partition(|(at, ..)| *at <= now);
        self.in_flight = later;
        for (_, to, transmit) in due {
            if self.laps[to].speed() == transmit.speed {
                self.laps[to].handle_frame(now, &transmit.frame);
            } else {
                self.laps[to].handle_activity(now);
            }
        }
        for lap in &mut self.laps {
            if lap.poll_timeout().is_some_and(|at| at <= now) {
                lap.handle_timeout(now);
            }
        }
        self.flush();
        true
    }

    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Sim) -> bool) {
        while !done(self) {
            assert!(
                self.elapsed() < limit,
                "not done after {limit:?} of virtual time"
            );
            assert!(
                self.step(),
                "nothing left to happen at {:?}",
                self.elapsed()
            );
        }
    }

    fn run_for(&mut self, span: Duration) {
        let until = self.now + span;
        while self.now < until && self.step() {}
    }

    fn connect(&mut self) {
        self.laps[A].connect(self.now, self.laps[B].config.address);
        self.run_until(Duration::from_secs(5), |sim| {
            sim.events[A]
                .iter()
                .any(|e| matches!(e, LapEvent::Connected { .. }))
                && sim.events[B]
                    .iter()
                    .any(|e| matches!(e, LapEvent::Connected { .. }))
        });
    }

    fn disconnected(&self, side: usize) -> Option<&DisconnectReason> {
        self.events[side].iter().find_map(|e| match e {
            LapEvent::Disconnected(reason) => Some(reason),
            _ => None,
        })
    }

    /// Feeds `pdus` into `side` as fast as its queue takes them, while stepping.
    fn transfer(&mut self, pdus: [Vec<Vec<u8>>; 2], limit: Duration) {
        let expected = [pdus[B].len(), pdus[A].len()];
        let mut pending = pdus.map(VecDeque::from);
        while self.received[A].len() < expected[A] || self.received[B].len() < expected[B] {
            for side in [A, B] {
                while self.laps[side].send_window_free() > 0 {
                    let Some(pdu) = pending[side].pop_front() else {
                        break;
                    };
                    self.laps[side].send(pdu).unwrap();
                }
            }
            assert!(self.elapsed() < limit, "transfer not done after {limit:?}");
            assert!(self.step(), "transfer stalled");
        }
    }
}

fn pdus(seed: u8, total: usize, size: usize) -> Vec<Vec<u8>> {
    (0..total.div_ceil(size))
        .map(|i| {
            let len = size.min(total - i * size);
            (0..len).map(|j| (i * 31 + j) as u8 ^ seed).collect()
        })
        .collect()
}

#[test]
fn discovery_finds_the_other_station_with_its_nickname_and_hints() {
    let mut sim = Sim::pair();
    sim.laps[A].discover(sim.now, 6);
    sim.run_until(Duration::from_secs(3), |sim| {
        sim.events[A]
            .iter()
            .any(|e| matches!(e, LapEvent::Discovered(_)))
            && sim.events[B]
                .iter()
                .any(|e| matches!(e, LapEvent::DiscoveredBy(_)))
    });
    let LapEvent::Discovered(found) = &sim.events[A][0] else {
        panic!("{:?}", sim.events[A]);
    };
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].address, DeviceAddress(0x2222_2222));
    assert_eq!(found[0].info.nickname_text(), "Nokia 6230");
    assert!(found[0].info.hints.contains(Hints::OBEX));
    let LapEvent::DiscoveredBy(by) = &sim.events[B][0] else {
        panic!("{:?}", sim.events[B]);
    };
    assert_eq!(
        (by.address, by.info.nickname_text().as_str()),
        (DeviceAddress(0x1111_1111), "pc")
    );
    // 500 ms of listening, six 80-ms slots, the final XID.
    assert!(
        sim.elapsed() >= MEDIA_SENSE + 6 * SLOT_TIME,
        "{:?}",
        sim.elapsed()
    );
    assert!(!sim.laps[A].is_connected());
}

#[test]
fn discovery_waits_for_a_busy_medium_and_skips_silent_stations() {
    let mut sim = Sim::new(config(1, "pc", true), config(2, "hidden", false));
    sim.laps[A].handle_activity(sim.now);
    sim.run_for(Duration::from_millis(300));
    // Someone else's traffic at 300 ms pushes the first XID to 800 ms.
    sim.laps[A].handle_activity(sim.now);
    sim.laps[A].discover(sim.now, 1);
    sim.flush();
    assert!(sim.laps[A].poll_timeout().unwrap() >= sim.now + MEDIA_SENSE);
    sim.run_until(Duration::from_secs(3), |sim| !sim.events[A].is_empty());
    assert_eq!(sim.events[A], vec![LapEvent::Discovered(Vec::new())]);
    assert_eq!(sim.sent_frames[B], 0);
}

#[test]
fn connection_negotiates_115200_window_7_data_2048_and_switches_after_ua() {
    let mut sim = Sim::pair();
    sim.connect();
    for side in [A, B] {
        let n = sim.laps[side].negotiated().unwrap();
        assert_eq!((n.speed, n.window, n.data_size), (115_200, 7, 2048));
        assert_eq!(n.disconnect_threshold, Duration::from_secs(40));
        assert_eq!(sim.laps[side].speed(), 115_200);
        assert!(sim.laps[side].is_connected());
    }
    assert!(sim.events[A].contains(&LapEvent::Connected {
        peer: DeviceAddress(0x2222_2222),
        primary: true
    }));
    assert_eq!(
        sim.events[B][0],
        LapEvent::ConnectIndication(DeviceAddress(0x1111_1111))
    );
    assert!(sim.events[B].contains(&LapEvent::Connected {
        peer: DeviceAddress(0x1111_1111),
        primary: false
    }));
    // The link keeps itself alive with polls, at a modest rate.
    let before = sim.sent_frames;
    sim.run_for(Duration::from_secs(10));
    assert!(sim.laps[A].is_connected() && sim.laps[B].is_connected());
    let polls = sim.sent_frames[A] - before[A];
    assert!((50..=200).contains(&polls), "{polls} polls in 10 s");
    // Each poll is answered (the last answer may still be on its way).
    assert!(polls - (sim.sent_frames[B] - before[B]) <= 1);
}

#[test]
fn restricted_capabilities_are_respected() {
    let mut a = config(1, "pc", true);
    a.capabilities.baud_rates = baud::B9600 | baud::B57600;
    let mut b = config(2, "phone", true);
    b.capabilities.window = 2;
    b.capabilities.data_size = 256;
    let mut sim = Sim::new(a, b);
    sim.connect();
    let at_a = sim.laps[A].negotiated().unwrap();
    assert_eq!((at_a.speed, at_a.window, at_a.data_size), (57_600, 2, 256));
    let at_b = sim.laps[B].negotiated().unwrap();
    assert_eq!((at_b.speed, at_b.window, at_b.data_size), (57_600, 7, 2048));
    assert_eq!(
        sim.laps[A].send(vec![0; 257]),
        Err(LapError::TooLong {
            len: 257,
            limit: 256
        })
    );
    sim.transfer(
        [pdus(1, 5000, 256), pdus(2, 9000, 2048)],
        Duration::from_secs(20),
    );
    assert_eq!(sim.received[B].concat(), pdus(1, 5000, 256).concat());
    assert_eq!(sim.received[A].concat(), pdus(2, 9000, 2048).concat());
}

#[test]
fn bulk_transfer_both_ways_arrives_intact_and_in_order() {
    let mut sim = Sim::pair();
    sim.connect();
    let size = 200 * 1024;
    let (to_b, to_a) = (pdus(7, size, 2048), pdus(9, size, 2048));
    sim.transfer([to_b.clone(), to_a.clone()], Duration::from_secs(120));
    assert_eq!(sim.received[B], to_b);
    assert_eq!(sim.received[A], to_a);
}

#[test]
fn one_way_bulk_transfer_time_is_close_to_the_line_rate() {
    let mut sim = Sim::pair();
    sim.connect();
    let size = 200 * 1024;
    let began = sim.now;
    sim.transfer([pdus(3, size, 2048), Vec::new()], Duration::from_secs(60));
    let took = (sim.now - began).as_secs_f64();
    // SIR: 10 bits a byte.
    let ideal = size as f64 * 10.0 / 115_200.0;
    eprintln!(
        "200 KiB at 115200: {took:.2} s virtual, line rate alone {ideal:.2} s, efficiency {:.0}%",
        100.0 * ideal / took
    );
    assert!(took >= ideal);
    assert!(took < ideal * 1.25, "{took} s against {ideal} s");
}

#[test]
fn dropped_information_frames_are_sent_again() {
    let mut sim = Sim::pair();
    sim.connect();
    let mut count = [0usize; 2];
    sim.drop = Box::new(move |side, frame, _| {
        if let FrameKind::Information { .. } = frame.kind {
            count[side] += 1;
            // Every 5th from A (some carry the P bit), every 7th from B.
            return count[side] % [5, 7][side] == 0;
        }
        false
    });
    let (to_b, to_a) = (pdus(1, 60_000, 2048), pdus(2, 60_000, 1000));
    sim.transfer([to_b.clone(), to_a.clone()], Duration::from_secs(60));
    assert_eq!(sim.received[B], to_b);
    assert_eq!(sim.received[A], to_a);
}

#[test]
fn dropped_polls_and_finals_are_recovered() {
    let mut sim = Sim::pair();
    sim.connect();
    let mut count = 0;
    sim.drop = Box::new(move |_, frame, _| {
        if frame.poll_final {
            count += 1;
            return count % 4 == 0;
        }
        false
    });
    let (to_b, to_a) = (pdus(3, 40_000, 2048), pdus(4, 40_000, 2048));
    sim.transfer([to_b.clone(), to_a.clone()], Duration::from_secs(60));
    assert_eq!(sim.received[B], to_b);
    assert_eq!(sim.received[A], to_a);
    assert!(sim.laps[A].is_connected() && sim.laps[B].is_connected());
}

#[test]
fn silence_past_the_disconnect_threshold_loses_the_link_on_both_sides() {
    let mut a = config(1, "pc", true);
    a.capabilities.disconnect_thresholds = THRESHOLD_3S;
    let mut sim = Sim::new(a, config(2, "phone", true));
    sim.connect();
    assert_eq!(
        sim.laps[B].negotiated().unwrap().disconnect_threshold,
        Duration::from_secs(3)
    );
    sim.run_for(Duration::from_secs(1));
    let cut = sim.now;
    sim.drop = Box::new(|_, _, _| true);
    sim.run_until(Duration::from_secs(20), |sim| {
        sim.disconnected(A).is_some() && sim.disconnected(B).is_some()
    });
    assert_eq!(sim.disconnected(A), Some(&DisconnectReason::LinkLost));
    assert_eq!(sim.disconnected(B), Some(&DisconnectReason::LinkLost));
    let took = sim.now - cut;
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(6),
        "{took:?}"
    );
    for lap in &sim.laps {
        assert_eq!(lap.speed(), CONTACT_SPEED);
        assert!(!lap.is_connected());
    }
}

#[test]
fn disc_from_the_primary_gives_requested_and_by_peer() {
    let mut sim = Sim::pair();
    sim.connect();
    sim.run_for(Duration::from_millis(500));
    sim.laps[A].disconnect(sim.now);
    sim.run_until(Duration::from_secs(5), |sim| {
        sim.disconnected(A).is_some() && sim.disconnected(B).is_some()
    });
    assert_eq!(sim.disconnected(A), Some(&DisconnectReason::Requested));
    assert_eq!(sim.disconnected(B), Some(&DisconnectReason::ByPeer));
    // Both back at the contact speed; they can connect again.
    sim.run_for(Duration::from_millis(100));
    assert_eq!(
        [sim.laps[A].speed(), sim.laps[B].speed()],
        [CONTACT_SPEED; 2]
    );
    sim.events = [Vec::new(), Vec::new()];
    sim.connect();
}

#[test]
fn secondary_disconnect_asks_with_rd() {
    let mut sim = Sim::pair();
    sim.connect();
    sim.run_for(Duration::from_millis(300));
    sim.laps[B].disconnect(sim.now);
    sim.run_until(Duration::from_secs(5), |sim| {
        sim.disconnected(A).is_some() && sim.disconnected(B).is_some()
    });
    assert_eq!(sim.disconnected(A), Some(&DisconnectReason::ByPeer));
    assert_eq!(sim.disconnected(B), Some(&DisconnectReason::Requested));
}

#[test]
fn snrm_to_a_station_that_is_not_discoverable_gets_no_answer() {
    let mut sim = Sim::new(config(1, "pc", true), config(2, "hidden", false));
    sim.laps[A].connect(sim.now, DeviceAddress(2));
    sim.run_until(Duration::from_secs(10), |sim| sim.disconnected(A).is_some());
    assert_eq!(sim.disconnected(A), Some(&DisconnectReason::NoAnswer));
    assert_eq!(sim.sent_frames, [1 + usize::from(SNRM_RETRIES), 0]);
    // The hidden station saw every attempt.
    assert_eq!(
        sim.events[B],
        vec![LapEvent::ConnectIndication(DeviceAddress(1)); 1 + usize::from(SNRM_RETRIES)]
    );
}

#[test]
fn dm_to_snrm_is_refused() {
    let mut sim = Sim::new(config(1, "pc", true), config(2, "phone", false));
    sim.laps[A].connect(sim.now, DeviceAddress(2));
    sim.run_until(Duration::from_secs(2), |sim| !sim.in_flight.is_empty());
    let (_, _, snrm) = sim.in_flight.pop().unwrap();
    let connection = Frame::decode(&snrm.frame).map(|f| match f.kind {
        FrameKind::Snrm(Some(info)) => info.connection,
        other => panic!("{other:?}"),
    });
    let dm = Frame {
        connection: connection.unwrap(),
        command: false,
        poll_final: true,
        kind: FrameKind::Dm,
    };
    sim.laps[A].handle_frame(sim.now, &dm.encode());
    sim.flush();
    assert_eq!(sim.disconnected(A), Some(&DisconnectReason::Refused));
}

#[test]
fn local_busy_holds_the_peer_back_until_cleared() {
    let mut sim = Sim::pair();
    sim.connect();
    sim.laps[B].set_local_busy(true);
    sim.run_for(Duration::from_millis(200));
    for pdu in pdus(5, 8192, 1024) {
        sim.laps[A].send(pdu).unwrap();
    }
    sim.run_for(Duration::from_secs(2));
    assert!(sim.received[B].is_empty());
    sim.laps[B].set_local_busy(false);
    sim.run_until(Duration::from_secs(10), |sim| sim.received[B].len() == 8);
    assert_eq!(sim.received[B], pdus(5, 8192, 1024));
}

#[test]
fn send_limits_and_queue_bound() {
    let mut sim = Sim::pair();
    assert_eq!(sim.laps[A].send(vec![1]), Err(LapError::NotConnected));
    assert_eq!(sim.laps[A].send_window_free(), 0);
    sim.connect();
    assert_eq!(sim.laps[A].send_window_free(), SEND_QUEUE_LIMIT);
    for _ in 0..SEND_QUEUE_LIMIT {
        sim.laps[A].send(vec![0; 10]).unwrap();
    }
    assert_eq!(sim.laps[A].send(vec![0; 10]), Err(LapError::QueueFull));
    assert_eq!(
        sim.laps[A].send(vec![0; 2049]),
        Err(LapError::TooLong {
            len: 2049,
            limit: 2048
        })
    );
}

#[test]
fn min_turnaround_is_kept_after_every_received_frame() {
    let mut b = config(2, "phone", true);
    b.capabilities.min_turnaround_us = 10_000;
    let mut sim = Sim::new(config(1, "pc", true), b);
    sim.connect();
    for pdu in pdus(1, 20_000, 2048) {
        sim.laps[A].send(pdu).unwrap();
    }
    sim.run_for(Duration::from_secs(3));
    assert_eq!(sim.received[B].len(), 10);
    // Each of A's turns starts at least 10 ms after the end of B's last frame before it.
    let mut turns = 0;
    for pair in sim.air_log.windows(2) {
        let [(from, _, b_end), (to, a_start, _)] = pair else {
            unreachable!()
        };
        if (*from, *to) == (B, A) {
            turns += 1;
            assert!(
                *a_start >= *b_end + Duration::from_millis(10),
                "turn {turns}"
            );
        }
    }
    assert!(turns >= 10, "{turns}");
    assert_eq!(
        sim.laps[A].negotiated().unwrap().min_turnaround,
        Duration::from_millis(10)
    );
}

#[test]
fn garbage_on_a_link_never_panics_and_bad_frames_end_it() {
    let mut sim = Sim::pair();
    sim.connect();
    let connection = match &sim.laps[B].state {
        State::Connected(link) => link.connection,
        _ => unreachable!(),
    };
    // To the secondary: an undefined command with the P bit gets FRMR, which ends the link.
    sim.laps[B].handle_frame(sim.now, &[(connection << 1) | 1, 0x77]);
    for junk in [
        &[][..],
        &[0xFF],
        &[(connection << 1) | 1],
        &[(connection << 1) | 1, 0x00],
    ] {
        sim.laps[B].handle_frame(sim.now, junk);
    }
    sim.run_until(Duration::from_secs(5), |sim| sim.disconnected(A).is_some());
    assert!(matches!(
        sim.disconnected(A),
        Some(DisconnectReason::ProtocolError(ProtocolError::Rejected(
            FrameReject {
                rejected_control: 0x77,
                undefined_control: true,
                ..
            }
        )))
    ));
}

#[test]
fn connect_during_discovery_starts_when_it_ends() {
    let mut sim = Sim::pair();
    sim.laps[A].discover(sim.now, 1);
    sim.laps[A].connect(sim.now, DeviceAddress(0x2222_2222));
    sim.run_until(Duration::from_secs(5), |sim| {
        sim.laps[A].is_connected() && sim.laps[B].is_connected()
    });
    assert!(matches!(sim.events[A][0], LapEvent::Discovered(ref found) if found.len() == 1));
    // A second discovery by the same station is answered again.
    sim.laps[A].disconnect(sim.now);
    sim.run_until(Duration::from_secs(5), |sim| sim.disconnected(B).is_some());
    sim.run_for(Duration::from_millis(50));
    sim.events = [Vec::new(), Vec::new()];
    sim.laps[A].discover(sim.now, 1);
    sim.run_until(Duration::from_secs(5), |sim| !sim.events[A].is_empty());
    assert!(matches!(sim.events[A][0], LapEvent::Discovered(ref found) if found.len() == 1));
}

#[test]
fn undecodable_response_makes_the_primary_disconnect() {
    let mut sim = Sim::pair();
    sim.connect();
    let connection = match &sim.laps[A].state {
        State::Connected(link) => link.connection,
        _ => unreachable!(),
    };
    // A response with an unknown control field and the F bit.
    sim.laps[A].handle_frame(sim.now, &[connection << 1, 0x7F]);
    sim.run_until(Duration::from_secs(5), |sim| {
        sim.disconnected(A).is_some() && sim.disconnected(B).is_some()
    });
    assert!(matches!(
        sim.disconnected(A),
        Some(DisconnectReason::ProtocolError(ProtocolError::BadFrame(
            FrameError::UnknownControl {
                control: 0x7F,
                command: false
            }
        )))
    ));
    assert_eq!(sim.disconnected(B), Some(&DisconnectReason::ByPeer));
}

proptest::proptest! {
    #[test]
    fn arbitrary_frames_in_any_state_never_panic(
        frames in proptest::collection::vec(
            (proptest::prelude::any::<bool>(), proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)),
            0..40,
        ),
        connected in proptest::prelude::any::<bool>(),
    ) {
        let mut sim = Sim::pair();
        if connected {
            sim.connect();
        } else {
            sim.laps[A].discover(sim.now, 6);
        }
        let connection = match &sim.laps[B].state {
            State::Connected(link) => link.connection,
            _ => BROADCAST_CONNECTION,
        };
        for (to_our_link, mut bytes) in frames {
            if to_our_link && !bytes.is_empty() {
                // Aim at the link's address, either direction.
                bytes[0] = (connection << 1) | (bytes[0] & 1);
            }
            for lap in &mut sim.laps {
                lap.handle_frame(sim.now, &bytes);
            }
            sim.run_for(Duration::from_millis(7));
        }
        sim.run_for(Duration::from_secs(2));
    }
}
