//! Any bytes into the WBXML decoder and on into the SyncML model: errors are fine, panics and
//! hangs are not.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = handsync_proto::wbxml::decode_tree(data);
    let _ = handsync_proto::syncml::decode(data);
});
