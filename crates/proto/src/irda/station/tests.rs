//! Two whole stacks back to back over a small half-duplex link in virtual time: the IrOBEX
//! flow from discovery to a closed link, both ways of starting.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::*;
use crate::irda::lap::air_time;

/// Frames in flight: each arrives at the other station when its air time has passed.
struct Link {
    now: Instant,
    a: Station,
    b: Station,
    /// (arrival, to_b, frame, speed)
    flight: VecDeque<(Instant, bool, Vec<u8>, u32)>,
    /// When each side's transmitter is free again.
    a_free: Instant,
    b_free: Instant,
    /// Drop every n-th frame (0: none).
    drop_every: usize,
    sent: usize,
    in_range: bool,
}

impl Link {
    fn new(a: Station, b: Station) -> Link {
        let now = Instant::now();
        Link {
            now,
            a,
            b,
            flight: VecDeque::new(),
            a_free: now,
            b_free: now,
            drop_every: 0,
            sent: 0,
            in_range: true,
        }
    }

    /// Moves frames and time until `done` holds or `limit` of virtual time passed.
    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&mut Link) -> bool) -> bool {
        let end = self.now + limit;
        while self.now < end {
            if done(self) {
                return true;
            }
            for to_b in [true, false] {
                let (sender, free) = if to_b {
                    (&mut self.a, &mut self.a_free)
                } else {
                    (&mut self.b, &mut self.b_free)
                };
                while let Some(tx) = sender.poll_transmit() {
                    let start = (*free).max(self.now);
                    let arrival = start + air_time(&tx.frame, tx.speed, tx.extra_bofs);
                    *free = arrival;
                    self.sent += 1;
                    let dropped = self.drop_every > 0 && self.sent % self.drop_every == 0;
                    if self.in_range && !dropped {
                        self.flight.push_back((arrival, to_b, tx.frame, tx.speed));
                    }
                }
            }
            // The next thing that happens: an arrival or a timer.
            let next_arrival = self.flight.iter().map(|f| f.0).min();
            let next_timer = [self.a.poll_timeout(), self.b.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let next = [next_arrival, next_timer]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(self.now + Duration::from_millis(10))
                .max(self.now);
            self.now = next;
            let (due, later): (Vec<_>, Vec<_>) =
                self.flight.drain(..).partition(|f| f.0 <= self.now);
            self.flight = later.into();
            for (_, to_b, frame, speed) in due {
                let receiver = if to_b { &mut self.b } else { &mut self.a };
                let received = if speed == receiver.speed() {
                    Received::Frame(frame)
                } else {
                    Received::Activity
                };
                receiver.handle_received(self.now, received);
            }
            self.a.handle_timeout(self.now);
            self.b.handle_timeout(self.now);
        }
        done(self)
    }
}

fn station(name: &str, address: u32, serves: bool) -> Station {
    Station::new(StationConfig {
        address: DeviceAddress(address),
        nickname: name.to_string(),
        hints: if serves {
            Hints::TELEPHONY | Hints::OBEX
        } else {
            Hints::COMPUTER | Hints::OBEX
        },
        capabilities: Capabilities::default(),
        discoverable: serves,
        obex_server: serves,
        seed: u64::from(address),
    })
}

fn events(station: &mut Station) -> Vec<StationEvent> {
    std::iter::from_fn(|| station.poll_event()).collect()
}

/// PC (a) discovers and opens the phone's (b) OBEX service.
fn opened_pair() -> Link {
    let mut link = Link::new(
        station("PC Suite", 0x1111_2222, false),
        station("Nokia 6230i", 0x3333_4444, true),
    );
    link.a.discover(link.now);
    let mut found = Vec::new();
    assert!(link.run_until(Duration::from_secs(10), |l| {
        for event in events(&mut l.a) {
            if let StationEvent::Discovered(list) = event {
                found = list;
                return true;
            }
        }
        false
    }));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].info.nickname_text(), "Nokia 6230i");
    assert!(found[0].info.hints.contains(Hints::OBEX));
    let now = link.now;
    link.a.open_obex(now, found[0].address);
    let mut a_open = false;
    let mut b_open = false;
    assert!(link.run_until(Duration::from_secs(10), |l| {
        for event in events(&mut l.a) {
            assert!(!matches!(event, StationEvent::ObexClosed(_)), "{event:?}");
            a_open |= matches!(event, StationEvent::ObexOpened { .. });
        }
        for event in events(&mut l.b) {
            b_open |= matches!(event, StationEvent::ObexOpened { .. });
        }
        a_open && b_open
    }));
    assert_eq!(link.a.speed(), 115_200);
    assert_eq!(link.b.speed(), 115_200);
    link
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

/// Writes `a_data` at a and `b_data` at b, reads both ends until each has the other's.
fn exchange(link: &mut Link, a_data: &[u8], b_data: &[u8]) {
    let (mut a_sent, mut b_sent) = (0, 0);
    let (mut at_a, mut at_b) = (Vec::new(), Vec::new());
    let done = link.run_until(Duration::from_secs(120), |l| {
        if a_sent < a_data.len() {
            let n = l.a.obex_room().min(a_data.len() - a_sent);
            l.a.write_obex(&a_data[a_sent..a_sent + n]);
            a_sent += n;
        }
        if b_sent < b_data.len() {
            let n = l.b.obex_room().min(b_data.len() - b_sent);
            l.b.write_obex(&b_data[b_sent..b_sent + n]);
            b_sent += n;
        }
        while let Some(bytes) = l.a.read_obex() {
            at_a.extend(bytes);
        }
        while let Some(bytes) = l.b.read_obex() {
            at_b.extend(bytes);
        }
        at_a.len() >= b_data.len() && at_b.len() >= a_data.len()
    });
    assert!(
        done,
        "a got {} of {}, b got {} of {}",
        at_a.len(),
        b_data.len(),
        at_b.len(),
        a_data.len()
    );
    assert_eq!(at_b, a_data);
    assert_eq!(at_a, b_data);
}

#[test]
fn the_pc_discovers_the_phone_and_obex_flows_both_ways() {
    let mut link = opened_pair();
    exchange(&mut link, &pattern(70_000, 1), &pattern(90_000, 2));
    let now = link.now;
    link.a.close_obex(now);
    let mut a_closed = None;
    let mut b_closed = None;
    assert!(link.run_until(Duration::from_secs(10), |l| {
        for event in events(&mut l.a) {
            if let StationEvent::ObexClosed(reason) = event {
                a_closed = Some(reason);
            }
        }
        for event in events(&mut l.b) {
            if let StationEvent::ObexClosed(reason) = event {
                b_closed = Some(reason);
            }
        }
        a_closed.is_some() && b_closed.is_some()
    }));
    assert_eq!(a_closed, Some(CloseReason::Requested));
    assert_eq!(b_closed, Some(CloseReason::ByPeer));
    assert!(!link.a.is_linked() && !link.b.is_linked());
}

#[test]
fn lost_frames_cost_time_not_bytes() {
    let mut link = opened_pair();
    link.drop_every = 9;
    exchange(&mut link, &pattern(40_000, 3), &pattern(40_000, 4));
}

#[test]
fn a_peer_out_of_range_ends_the_link_as_out_of_range() {
    let mut link = opened_pair();
    link.in_range = false;
    let mut a_closed = None;
    assert!(link.run_until(Duration::from_secs(60), |l| {
        l.a.write_obex(b"still there?");
        for event in events(&mut l.a) {
            if let StationEvent::ObexClosed(reason) = event {
                a_closed = Some(reason);
            }
        }
        a_closed.is_some()
    }));
    assert_eq!(a_closed, Some(CloseReason::OutOfRange));
}

#[test]
fn a_station_without_obex_is_said_so() {
    let mut link = Link::new(
        station("PC Suite", 0x1111_2222, false),
        Station::new(StationConfig {
            obex_server: false,
            ..station("Printer", 0x5555_6666, true).config().clone()
        }),
    );
    let now = link.now;
    link.a.open_obex(now, DeviceAddress(0x5555_6666));
    let mut closed = None;
    assert!(link.run_until(Duration::from_secs(20), |l| {
        for event in events(&mut l.a) {
            if let StationEvent::ObexClosed(reason) = event {
                closed = Some(reason);
            }
        }
        closed.is_some()
    }));
    assert_eq!(closed, Some(CloseReason::NoObexService));
}

#[test]
fn nobody_answering_the_connection_is_no_answer() {
    let mut link = Link::new(
        station("PC Suite", 0x1111_2222, false),
        station("Nokia 6230i", 0x3333_4444, true),
    );
    link.in_range = false;
    let now = link.now;
    link.a.open_obex(now, DeviceAddress(0x3333_4444));
    let mut closed = None;
    assert!(link.run_until(Duration::from_secs(30), |l| {
        for event in events(&mut l.a) {
            if let StationEvent::ObexClosed(reason) = event {
                closed = Some(reason);
            }
        }
        closed.is_some()
    }));
    assert_eq!(closed, Some(CloseReason::NoAnswer));
}
