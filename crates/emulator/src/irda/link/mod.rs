//! The infrared air between two stations, A and B, in virtual time: what each end's
//! transceiver puts out takes its SIR air time, frames of both ends overlapping in time
//! collide, a receiver set to another speed sees only noise, a transceiver is blind for a
//! moment after its own transmission, bit errors and lost frames come from a seeded
//! generator so that a run can be replayed.
//!
//! Sans-IO in the quinn-proto style: [`Air::transmit`] and [`Air::set_receive_speed`] take
//! the time; [`Air::handle_timeout`] moves it on to deliver frames whose last bit has
//! arrived; [`Air::poll_receive`] hands them out as the dongle driver would
//! ([`Received::Frame`] or [`Received::Activity`]).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use handsync_proto::irda::{sir, Received, Transmit, CONTACT_SPEED};

/// One of the two stations.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum End {
    A,
    B,
}

impl End {
    pub fn other(self) -> End {
        match self {
            End::A => End::B,
            End::B => End::A,
        }
    }

    fn index(self) -> usize {
        match self {
            End::A => 0,
            End::B => 1,
        }
    }
}

/// How the air behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct AirConfig {
    /// Seeds the bit errors and frame losses: the same seed and the same calls give the
    /// same deliveries.
    pub seed: u64,
    /// Chance of each bit on the air arriving flipped (0 for a clean link).
    pub bit_error_rate: f64,
    /// Chance of a whole frame vanishing (someone's hand in the beam).
    pub frame_loss: f64,
    /// How long a transceiver stays blind after its own transmission ends (the IrDA
    /// physical layer allows up to 10 ms; the peer's minimum turnaround time covers it).
    pub recovery: Duration,
}

impl Default for AirConfig {
    fn default() -> Self {
        AirConfig {
            seed: 1,
            bit_error_rate: 0.0,
            frame_loss: 0.0,
            recovery: Duration::ZERO,
        }
    }
}

/// Frames one end may have waiting for the air; more is a runaway sender.
pub const MAX_QUEUED_PER_END: usize = 256;

/// What happened on the air so far.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct AirStats {
    /// Frames put on the air.
    pub frames: u64,
    /// SIR bytes those frames took (BOFs, escapes, FCS and EOF included).
    pub bytes_on_air: u64,
    /// Frames that arrived intact.
    pub delivered: u64,
    /// Frames that vanished ([`AirConfig::frame_loss`]).
    pub lost: u64,
    /// Frames that arrived with bit errors.
    pub damaged: u64,
    /// Frames destroyed by a frame of the other end overlapping them.
    pub collisions: u64,
    /// Frames the receiver heard at another speed than it listened at.
    pub wrong_speed: u64,
    /// Frames the receiver missed while blind after its own transmission.
    pub blinded: u64,
    /// Frames sent while the stations were out of range of each other.
    pub out_of_range: u64,
    /// Frames refused because their end already had [`MAX_QUEUED_PER_END`] waiting.
    pub overflowed: u64,
}

/// How long `tx` occupies the air: its SIR bytes, 10 bits each (start, 8 data, stop).
pub fn air_time(tx: &Transmit) -> Duration {
    let bytes = sir::encoded_len(&tx.frame, tx.extra_bofs) as u64;
    bits_time(bytes * 10, tx.speed)
}

fn bits_time(bits: u64, speed: u32) -> Duration {
    let speed = u64::from(speed.max(1));
    Duration::from_nanos(bits.saturating_mul(1_000_000_000) / speed)
}

/// What a frame turns into at its receiver, decided when it goes on the air (except
/// collisions, which a later transmission of the other end can still cause).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fate {
    Intact,
    Damaged,
    Lost,
    OutOfRange,
}

#[derive(Debug)]
struct Flight {
    from: End,
    start: Instant,
    end: Instant,
    speed: u32,
    frame: Vec<u8>,
    fate: Fate,
    collided: bool,
}

/// The air between two ends.
#[derive(Debug)]
pub struct Air {
    config: AirConfig,
    rng: SplitMix64,
    in_range: bool,
    receive_speed: [u32; 2],
    /// Frames on the air or waiting for it, in order of their start.
    flights: Vec<Flight>,
    /// When each end's last transmission (queued ones included) ends.
    transmitting_until: [Option<Instant>; 2],
    /// When each end's last transmission that has actually ended did.
    last_transmission_end: [Option<Instant>; 2],
    delivered: [VecDeque<Received>; 2],
    now: Option<Instant>,
    stats: AirStats,
}

impl Air {
    pub fn new(config: AirConfig) -> Air {
        Air {
            rng: SplitMix64(config.seed),
            config,
            in_range: true,
            receive_speed: [CONTACT_SPEED; 2],
            flights: Vec::new(),
            transmitting_until: [None; 2],
            last_transmission_end: [None; 2],
            delivered: [VecDeque::new(), VecDeque::new()],
            now: None,
            stats: AirStats::default(),
        }
    }

    pub fn stats(&self) -> AirStats {
        self.stats
    }

    /// Puts `tx` on the air from `from`, right after `from`'s earlier frames. Returns when
    /// its last bit will be out (the sender's turnaround starts there), or `None` if the
    /// end's queue is full and the frame was dropped.
    pub fn transmit(&mut self, now: Instant, from: End, tx: Transmit) -> Option<Instant> {
        self.handle_timeout(now);
        let queued = self.flights.iter().filter(|f| f.from == from).count();
        if queued >= MAX_QUEUED_PER_END {
            self.stats.overflowed += 1;
            return None;
        }
        let start = match self.transmitting_until[from.index()] {
            Some(busy) if busy > now => busy,
            _ => now,
        };
        let end = start + air_time(&tx);
        self.transmitting_until[from.index()] = Some(end);
        self.stats.frames += 1;
        self.stats.bytes_on_air += sir::encoded_len(&tx.frame, tx.extra_bofs) as u64;

        let fate = if !self.in_range {
            Fate::OutOfRange
        } else if self.rng.chance(self.config.frame_loss) {
            Fate::Lost
        } else {
            let bits = sir::encoded_len(&tx.frame, tx.extra_bofs) as f64 * 10.0;
            let intact = (1.0 - self.config.bit_error_rate.clamp(0.0, 1.0)).powf(bits);
            if self.rng.chance(1.0 - intact) {
                Fate::Damaged
            } else {
                Fate::Intact
            }
        };
        // Any frame of the other end sharing air time with this one ruins both.
        let mut collided = false;
        for other in self.flights.iter_mut().filter(|f| f.from != from) {
            if other.start < end && start < other.end {
                other.collided = true;
                collided = true;
            }
        }
        self.flights.push(Flight {
            from,
            start,
            end,
            speed: tx.speed,
            frame: tx.frame,
            fate,
            collided,
        });
        Some(end)
    }

    /// The speed `end`'s receiver listens at (its dongle's speed).
    pub fn set_receive_speed(&mut self, end: End, speed: u32) {
        self.receive_speed[end.index()] = speed;
    }

    /// Out of range, frames sent reach nobody.
    pub fn set_in_range(&mut self, in_range: bool) {
        self.in_range = in_range;
    }

    /// When `end`'s queued frames will all be out, if it is transmitting at all.
    pub fn transmitting_until(&self, end: End) -> Option<Instant> {
        self.transmitting_until[end.index()].filter(|&t| self.now.is_none_or(|now| t > now))
    }

    /// When the next frame's last bit arrives.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.flights.iter().map(|f| f.end).min()
    }

    /// Moves the air to `now`: frames whose last bit arrived by then are delivered, in
    /// the order they ended.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.now.is_some_and(|before| now < before) {
            return; // time does not run backwards
        }
        self.now = Some(now);
        loop {
            let due = self
                .flights
                .iter()
                .enumerate()
                .filter(|(_, f)| f.end <= now)
                .min_by_key(|(_, f)| f.end)
                .map(|(i, _)| i);
            let Some(index) = due else { break };
            let flight = self.flights.remove(index);
            self.land(flight);
        }
    }

    /// Same as [`Air::handle_timeout`].
    pub fn advance(&mut self, now: Instant) {
        self.handle_timeout(now);
    }

    /// The next thing `end`'s dongle driver would hand its stack.
    pub fn poll_receive(&mut self, end: End) -> Option<Received> {
        self.delivered[end.index()].pop_front()
    }

    fn land(&mut self, flight: Flight) {
        let receiver = flight.from.other();
        let blind = self.last_transmission_end[receiver.index()]
            .is_some_and(|own_end| flight.start < own_end + self.config.recovery);
        self.last_transmission_end[flight.from.index()] = Some(flight.end);
        let received = match flight.fate {
            Fate::OutOfRange => {
                self.stats.out_of_range += 1;
                None
            }
            Fate::Lost => {
                self.stats.lost += 1;
                None
            }
            _ if flight.collided => {
                self.stats.collisions += 1;
                Some(Received::Activity)
            }
            _ if blind => {
                self.stats.blinded += 1;
                None
            }
            _ if flight.speed != self.receive_speed[receiver.index()] => {
                self.stats.wrong_speed += 1;
                Some(Received::Activity)
            }
            Fate::Damaged => {
                self.stats.damaged += 1;
                Some(Received::Activity)
            }
            Fate::Intact => {
                self.stats.delivered += 1;
                Some(Received::Frame(flight.frame))
            }
        };
        if let Some(received) = received {
            self.delivered[receiver.index()].push_back(received);
        }
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast and good enough to draw losses from.
#[derive(Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// True with probability `p`; draws a number even for 0 and 1 so that the sequence of
    /// draws does not depend on the configuration.
    fn chance(&mut self, p: f64) -> bool {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        unit < p
    }
}

#[cfg(test)]
mod tests;
