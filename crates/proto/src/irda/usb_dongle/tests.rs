use proptest::prelude::*;

use super::*;
use crate::usb::Configuration;

/// A descriptor as a SIR-and-FIR dongle of the era reported it: 2400..4M, data up to 2048,
/// windows 1..7, 0.01 ms turnaround or more, any BOFs.
fn fir_descriptor() -> [u8; 12] {
    [
        12, 0x21, 0x00, 0x01, 0x3f, 0x7f, 0x7f, 0xff, 0x01, 0xff, 0x00, 0x00,
    ]
}

#[test]
fn a_descriptor_turns_into_what_the_dongle_supports() {
    let descriptor = ClassDescriptor::parse(&fir_descriptor()).unwrap();
    assert_eq!(descriptor.spec_revision, 0x0100);
    let capabilities = descriptor.capabilities();
    assert_eq!(capabilities.speeds, SPEEDS.to_vec());
    assert_eq!(capabilities.data_sizes, vec![64, 128, 256, 512, 1024, 2048]);
    assert_eq!(capabilities.window_sizes, vec![1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(
        capabilities.min_turnarounds_us,
        vec![10_000, 5000, 1000, 500, 100, 50, 10]
    );
    assert_eq!(capabilities.min_turnaround_us(), 10);
    assert_eq!(
        capabilities.additional_bofs,
        vec![48, 24, 12, 6, 3, 2, 1, 0]
    );
    assert!(capabilities.supports_speed(4_000_000));
    assert_eq!(descriptor.to_bytes(), fir_descriptor());
}

#[test]
fn a_sir_only_dongle_offers_only_its_speeds() {
    let mut bytes = fir_descriptor();
    // 9600, 19200, 38400, 57600, 115200; data to 256; one frame per window; 1 ms.
    bytes[7] = 0x3e;
    bytes[8] = 0x00;
    bytes[4] = 0x07;
    bytes[5] = 0x01;
    bytes[6] = 0x07;
    let capabilities = ClassDescriptor::parse(&bytes).unwrap().capabilities();
    assert_eq!(
        capabilities.speeds,
        vec![9600, 19200, 38400, 57600, 115_200]
    );
    assert!(!capabilities.supports_speed(4_000_000));
    assert_eq!(capabilities.data_sizes, vec![64, 128, 256]);
    assert_eq!(capabilities.window_sizes, vec![1]);
    assert_eq!(capabilities.min_turnaround_us(), 1000);
}

#[test]
fn a_broken_descriptor_says_which_byte() {
    let cases: [(&[u8], usize, &str); 7] = [
        (&[], 0, "no bytes"),
        (&[9, 0x21, 0, 1, 1, 1, 1, 2, 0], 0, "bLength"),
        (&fir_descriptor()[..7], 7, "cut short"),
        (&[12, 0x24, 0, 1, 1, 1, 1, 2, 0, 0, 0, 0], 1, "0x21"),
        (&[12, 0x21, 0, 1, 0, 1, 1, 2, 0, 0, 0, 0], 4, "data size"),
        (&[12, 0x21, 0, 1, 1, 0x80, 1, 2, 0, 0, 0, 0], 5, "window"),
        (&[12, 0x21, 0, 1, 1, 1, 1, 0, 0xfe, 0, 0, 0], 7, "speed"),
    ];
    for (bytes, offset, words) in cases {
        let error = ClassDescriptor::parse(bytes).unwrap_err();
        assert_eq!(error.offset, offset, "{bytes:?}: {error}");
        assert!(error.to_string().contains(words), "{error}");
    }
    let longer = [
        &fir_descriptor()[..],
        &[0xaa, 0xbb], // a later revision's fields
    ]
    .concat();
    let mut longer = longer;
    longer[0] = 14;
    assert!(ClassDescriptor::parse(&longer).is_ok());
}

#[test]
fn the_out_header_carries_speed_and_bof_codes_per_the_class_table() {
    assert_eq!(OutboundHeader::UNCHANGED.encode(), Ok(0x00));
    let cases = [
        (Some(2400), None, 0x01),
        (Some(9600), None, 0x02),
        (Some(115_200), Some(48), 0x16),
        (Some(57600), Some(12), 0x35),
        (Some(4_000_000), Some(0), 0x89),
        (None, Some(6), 0x40),
        (None, Some(1), 0x70),
        (Some(1_152_000), Some(24), 0x28),
        (Some(576_000), Some(3), 0x57),
        (Some(38400), Some(2), 0x64),
        (Some(19200), None, 0x03),
    ];
    for (speed, additional_bofs, byte) in cases {
        let header = OutboundHeader {
            speed,
            additional_bofs,
        };
        assert_eq!(header.encode(), Ok(byte), "{header:?}");
        assert_eq!(OutboundHeader::decode(byte), Ok(header));
    }
    let bad_speed = OutboundHeader {
        speed: Some(14400),
        additional_bofs: None,
    };
    assert_eq!(bad_speed.encode(), Err(HeaderError::Speed(14400)));
    let bad_bofs = OutboundHeader {
        speed: None,
        additional_bofs: Some(5),
    };
    assert_eq!(bad_bofs.encode(), Err(HeaderError::Bofs(5)));
    assert_eq!(
        OutboundHeader::decode(0x0b),
        Err(OutboundHeaderError::SpeedCode(0xb))
    );
    assert_eq!(
        OutboundHeader::decode(0x92),
        Err(OutboundHeaderError::BofCode(9))
    );
    let transfer = OutboundHeader {
        speed: Some(9600),
        additional_bofs: None,
    }
    .transfer(&[0xff, 0x3f])
    .unwrap();
    assert_eq!(transfer, vec![0x02, 0xff, 0x3f]);
}

#[test]
fn negotiated_bofs_round_up_to_what_the_header_can_say() {
    assert_eq!(bofs_at_least(0), 0);
    assert_eq!(bofs_at_least(5), 6);
    assert_eq!(bofs_at_least(10), 12);
    assert_eq!(bofs_at_least(32), 48);
    assert_eq!(bofs_at_least(400), 48);
}

#[test]
fn the_in_header_reports_media_busy_and_the_link_speed() {
    let inbound = parse_inbound(&[0x86, 0xff, 0x93, 0x01]).unwrap();
    assert!(inbound.header.media_busy);
    assert_eq!(inbound.header.speed, Some(115_200));
    assert_eq!(inbound.frame, Some(&[0xff, 0x93, 0x01][..]));
    let status = parse_inbound(&[0x80]).unwrap();
    assert!(status.header.media_busy);
    assert_eq!(status.header.speed, None);
    assert_eq!(status.frame, None);
    assert_eq!(parse_inbound(&[]), Err(InboundError::Empty));
    let huge = vec![0u8; 2 + MAX_FRAME];
    assert_eq!(
        parse_inbound(&huge),
        Err(InboundError::TooLong {
            offset: 1 + MAX_FRAME
        })
    );
    let header = InboundHeader {
        media_busy: false,
        speed: Some(9600),
    };
    assert_eq!(inbound_transfer(header, &[1, 2]), vec![0x02, 1, 2]);
}

#[test]
fn class_requests_go_to_the_interface() {
    assert_eq!(
        get_class_descriptor(2).to_bytes(),
        [0xa1, 0x06, 0, 0, 2, 0, 12, 0]
    );
    assert_eq!(
        check_media_busy(0).to_bytes(),
        [0x21, 0x03, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(receiving(0).to_bytes(), [0xa1, 0x01, 0, 0, 0, 0, 1, 0]);
    assert_eq!(
        set_rate_sniff(1, true).to_bytes(),
        [0x21, 0x04, 1, 0, 1, 0, 0, 0]
    );
    let (setup, data) = set_unicast_list(0, &[0x1234_5678]);
    assert_eq!(setup.to_bytes(), [0x21, 0x05, 1, 0, 0, 0, 4, 0]);
    assert_eq!(data, vec![0x78, 0x56, 0x34, 0x12]);
    let packet = get_class_descriptor(3);
    assert_eq!(SetupPacket::from_bytes(packet.to_bytes()), packet);
    assert!(packet.is_in());
}

/// A dongle's configuration: one interface FE/02 with bulk IN 0x81 and OUT 0x02, and (when
/// asked) the class descriptor after the interface as the drafts placed it.
fn dongle_configuration(embedded: Option<[u8; 12]>) -> Vec<u8> {
    let mut body = vec![9, 4, 0, 0, 2, 0xfe, 0x02, 0x00, 0];
    if let Some(descriptor) = embedded {
        body.extend(descriptor);
    }
    body.extend([7, 5, 0x81, 2, 64, 0, 0]);
    body.extend([7, 5, 0x02, 2, 64, 0, 0]);
    let total = (9 + body.len()) as u16;
    let mut out = vec![9, 2];
    out.extend(total.to_le_bytes());
    out.extend([1, 1, 0, 0x80, 50]);
    out.extend(body);
    out
}

#[test]
fn the_irda_interface_and_its_pipes_are_found() {
    let raw = dongle_configuration(None);
    let configuration = Configuration::parse(&raw).unwrap();
    let interface = find_interface(&configuration, &raw).unwrap();
    assert_eq!(interface.number, 0);
    assert_eq!(interface.bulk_in.address, 0x81);
    assert_eq!(interface.bulk_out.address, 0x02);
    assert_eq!(interface.embedded_descriptor, None);

    let raw = dongle_configuration(Some(fir_descriptor()));
    let configuration = Configuration::parse(&raw).unwrap();
    let interface = find_interface(&configuration, &raw).unwrap();
    assert_eq!(
        interface.embedded_descriptor,
        Some(Ok(ClassDescriptor::parse(&fir_descriptor()).unwrap()))
    );

    let mut broken = fir_descriptor();
    broken[5] = 0;
    let raw = dongle_configuration(Some(broken));
    let configuration = Configuration::parse(&raw).unwrap();
    let error = find_interface(&configuration, &raw)
        .unwrap()
        .embedded_descriptor
        .unwrap()
        .unwrap_err();
    assert_eq!(error.offset, 18 + 5, "offset within the configuration");
}

#[test]
fn a_device_without_an_irda_interface_or_its_pipes_is_refused() {
    let mut raw = dongle_configuration(None);
    raw[9 + 5] = 0x0a; // a CDC data interface
    let configuration = Configuration::parse(&raw).unwrap();
    assert_eq!(
        find_interface(&configuration, &raw),
        Err(FindError::NoIrdaInterface)
    );
    let mut raw = dongle_configuration(None);
    raw[18 + 7 + 3] = 3; // OUT is an interrupt endpoint
    let configuration = Configuration::parse(&raw).unwrap();
    let error = find_interface(&configuration, &raw).unwrap_err();
    assert_eq!(
        error,
        FindError::MissingEndpoint {
            interface: 0,
            direction: "OUT"
        }
    );
    assert!(error.to_string().contains("bulk OUT"));
}

proptest! {
    #[test]
    fn parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        if let Ok(descriptor) = ClassDescriptor::parse(&bytes) {
            let again = ClassDescriptor::parse(&descriptor.to_bytes()).unwrap();
            prop_assert_eq!(again, descriptor);
            let capabilities = descriptor.capabilities();
            prop_assert!(!capabilities.speeds.is_empty());
        }
        let _ = parse_inbound(&bytes);
        if let Some(&byte) = bytes.first() {
            if let Ok(header) = OutboundHeader::decode(byte) {
                prop_assert_eq!(header.encode(), Ok(byte));
            }
            prop_assert_eq!(InboundHeader::decode(byte).media_busy, byte & 0x80 != 0);
        }
        if let Ok(configuration) = Configuration::parse(&bytes) {
            let _ = find_interface(&configuration, &bytes);
        }
        let _ = embedded_descriptor(&bytes, 0, 0);
    }
}
