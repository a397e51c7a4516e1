//! Any bytes as a Server Alerted Notification, an SDP data element or answer, and a Siemens
//! BFB stream: errors are fine, panics and hangs are not.
#![no_main]
use handsync_proto::cable::bfb::BfbCodec;
use handsync_proto::sdp::{read_element, ServiceSearch, Uuid128};
use handsync_proto::syncml::san::San;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = San::decode(data);
    let _ = read_element(data);
    let mut search = ServiceSearch::new(Uuid128::from_short(0x1101), 1);
    let _ = search.handle_response(data);
    let mut codec = BfbCodec::new(512);
    for piece in data.chunks(7) {
        let _ = codec.decode(piece);
    }
});
