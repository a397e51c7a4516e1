//! Any bytes from a peer into the OBEX packet decoders and the server machine, in pieces as a
//! stream delivers them: errors and refusals are fine, panics and hangs are not.
#![no_main]
use std::time::{Duration, Instant};

use handsync_proto::machine::Machine;
use handsync_proto::obex::packet::{Request, Response, ResponseTo};
use handsync_proto::obex::server::{ObexServer, ObexServerConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Request::decode(data);
    let _ = Response::decode(data, ResponseTo::Connect);
    let _ = Response::decode(data, ResponseTo::Other);
    let _ = handsync_proto::obex::header::decode_headers(data, 0);
    let mut server = ObexServer::new(ObexServerConfig::default());
    let start = Instant::now();
    // The first byte says how the stream is cut into reads.
    let step = usize::from(data.first().copied().unwrap_or(1)).max(1);
    for (n, piece) in data.chunks(step).enumerate() {
        let now = start + Duration::from_millis(n as u64 * 10);
        server.handle_input(now, piece);
        while server.poll_transmit().is_some() {}
        while server.poll_event().is_some() {}
        if let Some(deadline) = server.poll_timeout() {
            server.handle_timeout(deadline);
        }
    }
});
