//! Any text into the XML reader and on into the SyncML model.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = handsync::syncml::xml::xml_text(data) {
        let _ = handsync::syncml::xml::decode_tree(&text);
    }
    let _ = handsync::syncml::decode(data);
});
