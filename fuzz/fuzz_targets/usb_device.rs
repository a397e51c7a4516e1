//! Any bytes as a phone's USB descriptors (what a device plugged in makes the host parse), and
//! as the USB/IP traffic the emulated phone's device takes once attached (URB commands, OBEX
//! data on its pipes): errors are fine, panics, hangs and unbounded buffers are not.
#![no_main]
use std::time::Instant;

use handsync::emulator::usb::{FunctionId, UsbLayout, UsbipDevice};
use handsync::machine::Machine;
use handsync_proto::usb::{string_text, Configuration, DeviceDescriptor};
use libfuzzer_sys::fuzz_target;

/// OP_REQ_IMPORT of bus id 1-1: the device is attached before the fuzzed bytes.
fn import() -> Vec<u8> {
    let mut bytes = vec![0x01, 0x11, 0x80, 0x03, 0, 0, 0, 0];
    let mut busid = [0u8; 32];
    busid[..3].copy_from_slice(b"1-1");
    bytes.extend(busid);
    bytes
}

fuzz_target!(|data: &[u8]| {
    if let Ok(configuration) = Configuration::parse(data) {
        let _ = configuration.obex_functions();
        let _ = configuration.acm_functions();
    }
    let _ = DeviceDescriptor::parse(data);
    let _ = string_text(data);

    let Some(layout) = UsbLayout::for_model(if data.first().is_some_and(|b| b & 1 == 1) {
        "nokia-e51"
    } else {
        "nokia-6230i"
    }) else {
        return;
    };
    let mut device = UsbipDevice::new(layout, "1-1");
    let now = Instant::now();
    device.handle_input(now, &import());
    for (i, piece) in data.chunks(61).enumerate() {
        device.handle_input(now, piece);
        // The phone answers now and then, whole packets or not.
        if i % 3 == 0 {
            device.send_to_host(FunctionId::Syncml, piece);
        }
        let _ = device.take_from_host(FunctionId::Syncml);
        while device.poll_transmit().is_some() {}
        while device.poll_event().is_some() {}
    }
});
