use super::cdc::*;
use super::descriptors::*;
use super::*;

/// A DKU-2 era Nokia's configuration, byte by byte: WHCM master (0), an ACM modem (1, 2),
/// two CDC OBEX functions (3/4 unnamed in the data interface, 5/6), the second with an OBEX
/// service identifier.
fn nokia_like() -> Vec<u8> {
    let mut body: Vec<u8> = Vec::new();
    // WHCM control interface 0, header, WHCM, union 0 -> 1..6
    body.extend([9, 4, 0, 0, 0, 2, 8, 1, 0]);
    body.extend([5, 0x24, 0x00, 0x10, 0x01]);
    body.extend([5, 0x24, 0x11, 0x00, 0x01]);
    body.extend([9, 0x24, 0x06, 0, 1, 2, 3, 4, 5]);
    // ACM modem: control 1 (interrupt IN), data 2 (bulk pair)
    body.extend([9, 4, 1, 0, 1, 2, 2, 0xff, 7]);
    body.extend([5, 0x24, 0x00, 0x10, 0x01]);
    body.extend([4, 0x24, 0x02, 0x0f]);
    body.extend([5, 0x24, 0x06, 1, 2]);
    body.extend([7, 5, 0x81, 3, 16, 0, 32]);
    body.extend([9, 4, 2, 0, 2, 0x0a, 0, 0, 0]);
    body.extend([7, 5, 0x82, 2, 64, 0, 0]);
    body.extend([7, 5, 0x02, 2, 64, 0, 0]);
    // OBEX "PC Suite Services": control 3, data 4 (alt 0 idle, alt 1 bulk)
    body.extend([9, 4, 3, 0, 0, 2, 0x0b, 0, 8]);
    body.extend([5, 0x24, 0x00, 0x10, 0x01]);
    body.extend([5, 0x24, 0x15, 0x00, 0x01]);
    body.extend([5, 0x24, 0x06, 3, 4]);
    body.extend([9, 4, 4, 0, 0, 0x0a, 0, 0, 0]);
    body.extend([9, 4, 4, 1, 2, 0x0a, 0, 0, 0]);
    body.extend([7, 5, 0x83, 2, 64, 0, 0]);
    body.extend([7, 5, 0x03, 2, 64, 0, 0]);
    // OBEX "SYNCML-SYNC": control 5 with a service identifier, data 6 (active setting first)
    body.extend([9, 4, 5, 0, 0, 2, 0x0b, 0, 9]);
    body.extend([5, 0x24, 0x00, 0x10, 0x01]);
    body.extend([5, 0x24, 0x15, 0x00, 0x01]);
    body.extend([5, 0x24, 0x06, 5, 6]);
    let mut service = vec![22, 0x24, 0x19, 0x00];
    service.extend(0x10..0x20u8);
    service.extend([0x00, 0x01]);
    body.extend(service);
    body.extend([9, 4, 6, 1, 2, 0x0a, 0, 0, 0]);
    body.extend([7, 5, 0x84, 2, 64, 0, 0]);
    body.extend([7, 5, 0x04, 2, 0x40, 0x18, 0]); // multiplier bits set: size stays 64
    body.extend([9, 4, 6, 0, 0, 0x0a, 0, 0, 0]);
    let total = (9 + body.len()) as u16;
    let mut out = vec![9, 2];
    out.extend(total.to_le_bytes());
    out.extend([7, 1, 0, 0xc0, 50]);
    out.extend(body);
    out
}

#[test]
fn the_obex_functions_of_a_nokia_are_found_with_their_pipes_and_settings() {
    let configuration = Configuration::parse(&nokia_like()).unwrap();
    assert_eq!(configuration.value, 1);
    let (functions, unusable) = configuration.obex_functions();
    assert!(unusable.is_empty(), "{unusable:?}");
    assert_eq!(functions.len(), 2);
    let pc_suite = &functions[0];
    assert_eq!(
        (pc_suite.control_interface, pc_suite.data_interface),
        (3, 4)
    );
    assert_eq!((pc_suite.idle_setting, pc_suite.active_setting), (0, 1));
    assert_eq!(pc_suite.bulk_in.address, 0x83);
    assert_eq!(pc_suite.bulk_out.address, 0x03);
    assert_eq!(pc_suite.string_index, 8);
    assert_eq!(pc_suite.service, None);
    let syncml = &functions[1];
    assert_eq!((syncml.control_interface, syncml.data_interface), (5, 6));
    assert_eq!((syncml.idle_setting, syncml.active_setting), (0, 1));
    assert_eq!(syncml.bulk_out.max_packet_size, 64);
    let service = syncml.service.unwrap();
    assert_eq!(service.uuid[0], 0x10);
    assert_eq!(service.uuid[15], 0x1f);
    assert_eq!(service.version, 0x0100);
}

#[test]
fn the_modem_is_an_acm_function_with_its_data_interface() {
    let configuration = Configuration::parse(&nokia_like()).unwrap();
    let modems = configuration.acm_functions();
    assert_eq!(modems.len(), 1);
    assert_eq!(modems[0].control_interface, 1);
    assert_eq!(modems[0].data_interface, Some(2));
    assert_eq!(modems[0].protocol, 0xff);
}

#[test]
fn an_obex_function_without_bulk_pipes_is_reported_not_used() {
    let mut bytes = nokia_like();
    // Turn interface 4's bulk IN (0x83) into an interrupt endpoint.
    let at = bytes.windows(4).position(|w| w == [7, 5, 0x83, 2]).unwrap();
    bytes[at + 3] = 3;
    let (functions, unusable) = Configuration::parse(&bytes).unwrap().obex_functions();
    assert_eq!(functions.len(), 1);
    assert_eq!(unusable[0].control_interface, 3);
    assert!(unusable[0].problem.contains("bulk"), "{:?}", unusable[0]);
}

#[test]
fn a_cut_or_lying_descriptor_set_is_an_error_with_its_offset() {
    let bytes = nokia_like();
    // wTotalLength larger than what was read
    let short = &bytes[..bytes.len() - 5];
    let error = Configuration::parse(short).unwrap_err();
    assert_eq!(error.offset, 2);
    // a descriptor that claims to run past the end
    let mut overrun = bytes.clone();
    let last = overrun.len() - 9;
    overrun[last] = 20;
    let error = Configuration::parse(&overrun).unwrap_err();
    assert_eq!(error.offset, last);
    assert!(error.to_string().contains(&format!("byte {last}")));
    // a zero-length descriptor would loop for ever
    let mut zero = bytes.clone();
    zero[9] = 0;
    assert_eq!(Configuration::parse(&zero).unwrap_err().offset, 9);
    // an endpoint first
    let mut orphan = vec![9, 2, 16, 0, 1, 1, 0, 0x80, 50];
    orphan.extend([7, 5, 0x81, 2, 64, 0, 0]);
    assert!(Configuration::parse(&orphan)
        .unwrap_err()
        .problem
        .contains("before any interface"));
}

#[test]
fn device_and_string_descriptors_round_trip() {
    let device = DeviceDescriptor {
        usb_version: 0x0110,
        class: 2,
        subclass: 0,
        protocol: 0,
        max_packet_size_0: 64,
        vendor_id: VENDOR_NOKIA,
        product_id: 0x0428,
        device_version: 0x0307,
        manufacturer_string: 1,
        product_string: 2,
        serial_string: 0,
        configurations: 1,
    };
    assert_eq!(DeviceDescriptor::parse(&device.to_bytes()), Ok(device));
    assert!(DeviceDescriptor::parse(&device.to_bytes()[..17]).is_err());
    let text = string_descriptor("SYNCML-SYNC");
    assert_eq!(text[0] as usize, text.len());
    assert_eq!(string_text(&text).as_deref(), Some("SYNCML-SYNC"));
    assert_eq!(string_text(&[4, 3, 0x41]), Some(String::new()));
    assert_eq!(string_text(&[4, 2, 0x41, 0]), None);
    assert_eq!(maker(0x0fce), Some("Sony Ericsson"));
}

#[test]
fn syncml_functions_are_tried_before_pc_suite_unnamed_and_file_transfer() {
    let mut names = vec![
        Some("OBEX File Transfer"),
        None,
        Some("PC Suite Services"),
        Some("SyncML-DM"),
        Some("SYNCML-SYNC"),
    ];
    names.sort_by_key(|n| syncml_rank(*n));
    assert_eq!(
        names,
        vec![
            Some("SYNCML-SYNC"),
            Some("PC Suite Services"),
            None,
            Some("OBEX File Transfer"),
            Some("SyncML-DM"),
        ]
    );
}

proptest::proptest! {
    #[test]
    fn no_descriptor_bytes_make_the_parser_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        if let Ok(configuration) = Configuration::parse(&bytes) {
            let _ = configuration.obex_functions();
            let _ = configuration.acm_functions();
        }
        let _ = DeviceDescriptor::parse(&bytes);
        let _ = string_text(&bytes);
    }
}
