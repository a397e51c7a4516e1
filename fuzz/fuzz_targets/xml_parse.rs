//! Any text into the XML reader and on into the SyncML model.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = handsync_proto::syncml::xml::xml_text(data) {
        let _ = handsync_proto::syncml::xml::decode_tree(&text);
    }
    let _ = handsync_proto::syncml::decode(data);
});
