//! The dongle driven as `usbip attach` and vhci-hcd drive it, from raw USB/IP bytes.

use std::time::Instant;

use handsync_proto::irda::usb_dongle::{
    get_class_descriptor, parse_inbound, ClassDescriptor, OutboundHeader, SetupPacket,
    CLASS_DESCRIPTOR_LENGTH,
};
use handsync_proto::irda::{Received, Transmit};
use handsync_proto::machine::Machine;
use handsync_proto::usb::{string_text, Configuration, DeviceDescriptor};

use super::*;
use crate::usb::usbip::{
    CMD_SUBMIT, CMD_UNLINK, DEVICE_BLOCK_LEN, EPIPE, HEADER_LEN, OP_HEADER_LEN, OP_REQ_IMPORT,
    RET_SUBMIT, RET_UNLINK, VERSION,
};

struct Host {
    dongle: UsbDongle,
    seqnum: u32,
    reads: Vec<u32>,
    backlog: Vec<Reply>,
}

#[derive(Debug)]
struct Reply {
    seqnum: u32,
    status: i32,
    data: Vec<u8>,
}

impl Host {
    fn attached(model: DongleModel) -> Host {
        let mut dongle = UsbDongle::new(model, "1-1");
        let mut import = Vec::new();
        import.extend(VERSION.to_be_bytes());
        import.extend(OP_REQ_IMPORT.to_be_bytes());
        import.extend([0, 0, 0, 0]);
        let mut busid = [0u8; 32];
        busid[..3].copy_from_slice(b"1-1");
        import.extend(busid);
        dongle.handle_input(Instant::now(), &import);
        let reply = dongle.poll_transmit().unwrap();
        assert_eq!(reply.len(), OP_HEADER_LEN + DEVICE_BLOCK_LEN);
        assert_eq!(&reply[4..8], &[0, 0, 0, 0], "import accepted");
        assert_eq!(dongle.poll_event(), Some(DongleEvent::Attached));
        Host {
            dongle,
            seqnum: 0,
            reads: Vec::new(),
            backlog: Vec::new(),
        }
    }

    /// Attached and configured, as the kernel leaves a device before a driver opens it.
    fn ready() -> Host {
        let mut host = Host::attached(DongleModel::act_ir2000u());
        assert_eq!(host.control_out(0x00, 9, 1, 0, &[]), 0);
        assert_eq!(host.dongle.poll_event(), Some(DongleEvent::Configured));
        host
    }

    fn submit(
        &mut self,
        endpoint: u8,
        direction_in: bool,
        length: usize,
        setup: [u8; 8],
        data: &[u8],
    ) -> u32 {
        self.seqnum += 1;
        if direction_in {
            self.reads.push(self.seqnum);
        }
        let mut bytes = Vec::new();
        for field in [
            CMD_SUBMIT,
            self.seqnum,
            0x0001_0002,
            direction_in as u32,
            endpoint as u32,
            0,
            length as u32,
            0,
            0,
            0,
        ] {
            bytes.extend(field.to_be_bytes());
        }
        bytes.extend(setup);
        bytes.extend(data);
        let (a, b) = bytes.split_at(bytes.len() / 2);
        self.dongle.handle_input(Instant::now(), a);
        self.dongle.handle_input(Instant::now(), b);
        self.seqnum
    }

    fn unlink(&mut self, victim: u32) -> u32 {
        self.seqnum += 1;
        let mut bytes = Vec::new();
        for field in [CMD_UNLINK, self.seqnum, 0x0001_0002, 0, 0, victim] {
            bytes.extend(field.to_be_bytes());
        }
        bytes.extend([0u8; 24]);
        self.dongle.handle_input(Instant::now(), &bytes);
        self.seqnum
    }

    fn replies(&mut self) -> Vec<Reply> {
        let mut out = std::mem::take(&mut self.backlog);
        let Some(bytes) = self.dongle.poll_transmit() else {
            return out;
        };
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let word = |at: usize| u32::from_be_bytes(rest[at..at + 4].try_into().unwrap());
            let (command, seqnum, status) = (word(0), word(4), word(20) as i32);
            if command == RET_UNLINK {
                out.push(Reply {
                    seqnum,
                    status,
                    data: Vec::new(),
                });
                rest = &rest[HEADER_LEN..];
                continue;
            }
            assert_eq!(command, RET_SUBMIT);
            let actual = word(24) as usize;
            let data_len = if self.reads.contains(&seqnum) {
                actual
            } else {
                0
            };
            out.push(Reply {
                seqnum,
                status,
                data: rest[HEADER_LEN..HEADER_LEN + data_len].to_vec(),
            });
            rest = &rest[HEADER_LEN + data_len..];
        }
        out
    }

    fn reply_to(&mut self, seqnum: u32) -> Reply {
        let mut replies = self.replies();
        let at = replies.iter().position(|r| r.seqnum == seqnum).unwrap();
        let reply = replies.remove(at);
        self.backlog = replies;
        reply
    }

    fn control(&mut self, setup: SetupPacket, data: &[u8]) -> Reply {
        let seqnum = self.submit(
            0,
            setup.is_in(),
            usize::from(setup.length),
            setup.to_bytes(),
            data,
        );
        self.reply_to(seqnum)
    }

    fn control_in(&mut self, request_type: u8, request: u8, value: u16, length: u16) -> Reply {
        self.control(
            SetupPacket {
                request_type,
                request,
                value,
                index: 0,
                length,
            },
            &[],
        )
    }

    fn control_out(
        &mut self,
        request_type: u8,
        request: u8,
        value: u16,
        index: u16,
        data: &[u8],
    ) -> i32 {
        self.control(
            SetupPacket {
                request_type,
                request,
                value,
                index,
                length: data.len() as u16,
            },
            data,
        )
        .status
    }

    fn send(&mut self, header: OutboundHeader, frame: &[u8]) -> i32 {
        let transfer = header.transfer(frame).unwrap();
        let seqnum = self.submit(BULK_OUT, false, transfer.len(), [0; 8], &transfer);
        self.reply_to(seqnum).status
    }

    fn read(&mut self, length: usize) -> u32 {
        self.submit(BULK_IN, true, length, [0; 8], &[])
    }
}

#[test]
fn the_host_enumerates_the_dongle_and_reads_its_class_descriptor() {
    let mut host = Host::attached(DongleModel::act_ir2000u());
    let device = DeviceDescriptor::parse(&host.control_in(0x80, 6, 0x0100, 18).data).unwrap();
    assert_eq!((device.vendor_id, device.product_id), (0x09c4, 0x0011));
    let product = host.control_in(0x80, 6, 0x0300 | u16::from(device.product_string), 255);
    assert_eq!(
        string_text(&product.data).as_deref(),
        Some("ACT-IR2000U FIR-USB Adapter")
    );
    let head = host.control_in(0x80, 6, 0x0200, 9).data;
    let total = u16::from_le_bytes([head[2], head[3]]);
    let raw = host.control_in(0x80, 6, 0x0200, total).data;
    let configuration = Configuration::parse(&raw).unwrap();
    let interface = handsync_proto::irda::usb_dongle::find_interface(&configuration, &raw).unwrap();
    assert_eq!(interface.bulk_in.address, 0x80 | BULK_IN);
    assert_eq!(interface.bulk_out.address, BULK_OUT);

    let reply = host.control(get_class_descriptor(interface.number), &[]);
    assert_eq!(reply.status, 0);
    assert_eq!(reply.data.len(), CLASS_DESCRIPTOR_LENGTH);
    let capabilities = ClassDescriptor::parse(&reply.data).unwrap().capabilities();
    assert!(capabilities.supports_speed(4_000_000));
    assert_eq!(capabilities.window_sizes.len(), 7);
    // No qualifier: a full-speed device.
    assert_eq!(host.control_in(0x80, 6, 0x0600, 10).status, -EPIPE);
}

#[test]
fn a_frame_goes_to_the_air_and_a_header_only_transfer_changes_the_speed() {
    let mut host = Host::ready();
    // Bulk pipes do not exist before the configuration: checked on a fresh dongle below.
    let xid = [0xff, 0x3f, 0x01, 0x02];
    assert_eq!(host.send(OutboundHeader::UNCHANGED, &xid), 0);
    assert_eq!(
        host.dongle.poll_ir_transmit(),
        Some(Transmit {
            frame: xid.to_vec(),
            speed: 9600,
            extra_bofs: 0
        })
    );
    let change = OutboundHeader {
        speed: Some(115_200),
        additional_bofs: Some(12),
    };
    assert_eq!(host.send(change, &[]), 0);
    assert_eq!(
        host.dongle.poll_ir_transmit(),
        None,
        "nothing goes to the air"
    );
    assert_eq!(
        host.dongle.poll_event(),
        Some(DongleEvent::SettingsChanged {
            speed: 115_200,
            extra_bofs: 12
        })
    );
    assert_eq!(host.send(OutboundHeader::UNCHANGED, &[0x01, 0x11]), 0);
    let sent = host.dongle.poll_ir_transmit().unwrap();
    assert_eq!((sent.speed, sent.extra_bofs), (115_200, 12));
}

#[test]
fn a_change_that_comes_with_a_frame_applies_after_it_unless_the_dongle_has_the_speed_bug() {
    let ua = [0x02, 0x73, 0xaa];
    let change = OutboundHeader {
        speed: Some(57600),
        additional_bofs: None,
    };
    let mut host = Host::ready();
    assert_eq!(host.send(change, &ua), 0);
    assert_eq!(host.dongle.poll_ir_transmit().unwrap().speed, 9600);
    assert_eq!(host.dongle.speed(), 57600);

    let mut buggy = DongleModel::act_ir2000u();
    buggy.settings_before_frame = true;
    let mut host = Host::attached(buggy);
    assert_eq!(host.control_out(0x00, 9, 1, 0, &[]), 0);
    assert_eq!(host.send(change, &ua), 0);
    assert_eq!(host.dongle.poll_ir_transmit().unwrap().speed, 57600);
}

#[test]
fn frames_from_the_air_complete_in_transfers_with_the_media_busy_header() {
    let mut host = Host::ready();
    let read = host.read(4096);
    assert!(
        host.replies().is_empty(),
        "an IN transfer waits for the air"
    );
    host.dongle
        .ir_receive(Received::Frame(vec![0xfe, 0x3f, 0x01]));
    let reply = host.reply_to(read);
    assert_eq!(reply.status, 0);
    let inbound = parse_inbound(&reply.data).unwrap();
    assert!(inbound.header.media_busy);
    assert_eq!(inbound.header.speed, Some(9600));
    assert_eq!(inbound.frame, Some(&[0xfe, 0x3f, 0x01][..]));

    // Frames wait for transfers, in order; a full buffer loses the newest.
    for n in 0..20u8 {
        host.dongle.ir_receive(Received::Frame(vec![0x01, n]));
    }
    assert_eq!(host.dongle.frames_lost(), 4);
    let first = host.read(4096);
    let reply = host.reply_to(first);
    let inbound = parse_inbound(&reply.data).unwrap();
    assert_eq!(inbound.frame, Some(&[0x01, 0][..]));
    assert!(inbound.header.media_busy, "the frames made the media busy");
    let second = host.read(4096);
    let reply = host.reply_to(second);
    let inbound = parse_inbound(&reply.data).unwrap();
    assert_eq!(inbound.frame, Some(&[0x01, 1][..]));
    assert!(!inbound.header.media_busy, "busy was reported already");

    // A transfer too short for the frame overflows, as on a real bus.
    let short = host.read(2);
    assert_eq!(host.reply_to(short).status, -EOVERFLOW);
}

#[test]
fn check_media_busy_is_answered_by_a_status_only_transfer() {
    let mut host = Host::ready();
    let read = host.read(64);
    host.dongle.ir_receive(Received::Activity);
    assert!(host.replies().is_empty(), "activity alone is not a frame");
    let check = handsync_proto::irda::usb_dongle::check_media_busy(INTERFACE);
    assert_eq!(host.control(check, &[]).status, 0);
    let reply = host.reply_to(read);
    assert_eq!(reply.data, vec![0x80 | 0x02], "busy, at 9600");
    let read = host.read(64);
    assert_eq!(host.control(check, &[]).status, 0);
    assert_eq!(host.reply_to(read).data, vec![0x02], "quiet since");
}

#[test]
fn optional_requests_are_refused_when_the_descriptor_does_not_offer_them() {
    let mut host = Host::ready();
    let sniff = handsync_proto::irda::usb_dongle::set_rate_sniff(INTERFACE, true);
    assert_eq!(host.control(sniff, &[]).status, -EPIPE);
    let (setup, data) = handsync_proto::irda::usb_dongle::set_unicast_list(INTERFACE, &[7]);
    assert_eq!(host.control(setup, &data).status, -EPIPE);

    let mut model = DongleModel::act_ir2000u();
    model.descriptor.rate_sniff = true;
    model.descriptor.max_unicast_list = 2;
    let mut host = Host::attached(model);
    assert_eq!(host.control_out(0x00, 9, 1, 0, &[]), 0);
    assert_eq!(host.control(sniff, &[]).status, 0);
    assert!(host.dongle.rate_sniff());
    let (setup, data) =
        handsync_proto::irda::usb_dongle::set_unicast_list(INTERFACE, &[0x1234_5678, 9]);
    assert_eq!(host.control(setup, &data).status, 0);
    assert_eq!(host.dongle.unicast_list(), &[0x1234_5678, 9]);
    let (setup, data) = handsync_proto::irda::usb_dongle::set_unicast_list(INTERFACE, &[1, 2, 3]);
    assert_eq!(
        host.control(setup, &data).status,
        -EPIPE,
        "more than it holds"
    );
}

#[test]
fn bad_transfers_stall_and_pipes_need_a_configuration() {
    let mut host = Host::attached(DongleModel::act_ir2000u());
    let frame = [0x02, 0xff, 0x3f];
    let before = host.submit(BULK_OUT, false, 3, [0; 8], &frame);
    assert_eq!(host.reply_to(before).status, -EPIPE, "not configured");
    host.dongle.ir_receive(Received::Frame(vec![1, 2]));
    assert_eq!(host.control_out(0x00, 9, 1, 0, &[]), 0);
    let read = host.read(64);
    assert!(
        host.replies().iter().all(|r| r.seqnum != read),
        "an unconfigured dongle heard nothing"
    );
    // Reserved speed code 0xb, then a speed above the dongle's 4 Mbps.
    let reserved = host.submit(BULK_OUT, false, 2, [0; 8], &[0x0b, 0xff]);
    assert_eq!(host.reply_to(reserved).status, -EPIPE);
    let vfir = host.submit(BULK_OUT, false, 1, [0; 8], &[0x0a]);
    assert_eq!(host.reply_to(vfir).status, -EPIPE);
    assert_eq!(host.dongle.speed(), 9600);
    // A waiting IN transfer can be taken back.
    let unlink = host.unlink(read);
    let reply = host.reply_to(unlink);
    assert_eq!(reply.status, -crate::usb::usbip::ECONNRESET);
    // Going unconfigured resets the link to the contact speed.
    assert_eq!(
        host.send(
            OutboundHeader {
                speed: Some(115_200),
                additional_bofs: None
            },
            &[]
        ),
        0
    );
    assert_eq!(host.control_out(0x00, 9, 0, 0, &[]), 0);
    assert_eq!(host.dongle.speed(), 9600);
}

#[test]
fn the_air_backs_up_into_waiting_out_transfers() {
    let mut host = Host::ready();
    let mut pending = Vec::new();
    for n in 0..(TO_AIR_LIMIT as u8 + 2) {
        let transfer = [0x00, 0x01, n];
        pending.push(host.submit(BULK_OUT, false, 3, [0; 8], &transfer));
    }
    let done = host.replies();
    assert_eq!(done.len(), TO_AIR_LIMIT, "the last two wait for the air");
    let mut sent = Vec::new();
    while let Some(frame) = host.dongle.poll_ir_transmit() {
        sent.push(frame.frame[1]);
    }
    assert_eq!(sent, (0..TO_AIR_LIMIT as u8 + 2).collect::<Vec<_>>());
    assert_eq!(host.replies().len(), 2);
}

#[test]
fn garbage_from_the_peer_breaks_the_connection_without_a_panic() {
    let mut dongle = UsbDongle::new(DongleModel::act_ir2000u(), "1-1");
    dongle.handle_input(Instant::now(), &[0x99; 64]);
    assert!(matches!(dongle.poll_event(), Some(DongleEvent::Broken(_))));
}
