//! Any frames from the air at a whole IrDA station (the PC's, discoverable, offering OBEX, as
//! `serve --irda` runs it) and at a SIR decoder: the first byte of each record is its length,
//! then the frame; time moves on between frames. Errors are fine; panics, hangs and unbounded
//! queues are not.
#![no_main]
use std::time::{Duration, Instant};

use handsync_proto::irda::frame::Hints;
use handsync_proto::irda::qos::Capabilities;
use handsync_proto::irda::sir::SirDecoder;
use handsync_proto::irda::station::{Station, StationConfig};
use handsync_proto::irda::{DeviceAddress, Received};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut decoder = SirDecoder::new(2100);
    let _ = decoder.push(data);

    let mut now = Instant::now();
    let mut station = Station::new(StationConfig {
        address: DeviceAddress(0x0102_0304),
        nickname: "PC Suite".to_string(),
        hints: Hints::COMPUTER | Hints::OBEX,
        capabilities: Capabilities::default(),
        discoverable: true,
        obex_server: true,
        seed: 7,
    });
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let (frame, tail) = tail.split_at(len);
        rest = tail;
        now += Duration::from_millis(7);
        let received = if frame.is_empty() {
            Received::Activity
        } else {
            Received::Frame(frame.to_vec())
        };
        station.handle_received(now, received);
        if let Some(deadline) = station.poll_timeout() {
            if deadline <= now + Duration::from_millis(50) {
                station.handle_timeout(deadline.max(now));
            }
        }
        // What an OBEX server would do: read, and answer.
        let mut taken = 0;
        while let Some(bytes) = station.read_obex() {
            taken += bytes.len();
        }
        if taken > 0 {
            station.write_obex(&[0xA0, 0x00, 0x03]);
        }
        let mut sent = 0;
        while station.poll_transmit().is_some() {
            sent += 1;
            assert!(sent < 10_000, "a station that never stops sending");
        }
        while station.poll_event().is_some() {}
    }
});
