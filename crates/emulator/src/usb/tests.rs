//! The USB/IP device driven the way `usbip attach` and vhci-hcd drive it, from raw bytes.

use std::time::Instant;

use handsync_proto::machine::Machine;
use handsync_proto::usb::{string_text, syncml_rank, Configuration, DeviceDescriptor};

use super::usbip::*;
use super::*;

struct Host {
    device: UsbipDevice,
    seqnum: u32,
    /// Sequence numbers of IN transfers (their replies carry data).
    reads: Vec<u32>,
    /// Replies parsed but not yet looked at.
    backlog: Vec<Reply>,
}

#[derive(Debug)]
struct Reply {
    seqnum: u32,
    status: i32,
    data: Vec<u8>,
}

impl Host {
    fn attached(model: &str) -> Host {
        let mut device = UsbipDevice::new(UsbLayout::for_model(model).unwrap(), "1-1");
        let mut import = Vec::new();
        import.extend(VERSION.to_be_bytes());
        import.extend(OP_REQ_IMPORT.to_be_bytes());
        import.extend([0, 0, 0, 0]);
        let mut busid = [0u8; 32];
        busid[..3].copy_from_slice(b"1-1");
        import.extend(busid);
        device.handle_input(Instant::now(), &import);
        let reply = device.poll_transmit().unwrap();
        assert_eq!(reply.len(), OP_HEADER_LEN + DEVICE_BLOCK_LEN);
        assert_eq!(&reply[4..8], &[0, 0, 0, 0], "import accepted");
        assert_eq!(device.poll_event(), Some(UsbEvent::Attached));
        Host {
            device,
            seqnum: 0,
            reads: Vec::new(),
            backlog: Vec::new(),
        }
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
        // Split in two, as a TCP stream may.
        let (a, b) = bytes.split_at(bytes.len() / 2);
        self.device.handle_input(Instant::now(), a);
        self.device.handle_input(Instant::now(), b);
        self.seqnum
    }

    fn replies(&mut self) -> Vec<Reply> {
        let mut out = std::mem::take(&mut self.backlog);
        let Some(bytes) = self.device.poll_transmit() else {
            return out;
        };
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let word = |at: usize| u32::from_be_bytes(rest[at..at + 4].try_into().unwrap());
            let command = word(0);
            let seqnum = word(4);
            let status = word(20) as i32;
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
            let data = rest[HEADER_LEN..HEADER_LEN + data_len].to_vec();
            out.push(Reply {
                seqnum,
                status,
                data,
            });
            rest = &rest[HEADER_LEN + data_len..];
        }
        out
    }

    fn control_in(
        &mut self,
        request_type: u8,
        request: u8,
        value: u16,
        index: u16,
        length: u16,
    ) -> Reply {
        let [v0, v1] = value.to_le_bytes();
        let [i0, i1] = index.to_le_bytes();
        let [l0, l1] = length.to_le_bytes();
        let seqnum = self.submit(
            0,
            true,
            length as usize,
            [request_type, request, v0, v1, i0, i1, l0, l1],
            &[],
        );
        self.reply_to(seqnum)
    }

    fn control_out(&mut self, request_type: u8, request: u8, value: u16, index: u16) -> i32 {
        let [v0, v1] = value.to_le_bytes();
        let [i0, i1] = index.to_le_bytes();
        let seqnum = self.submit(
            0,
            false,
            0,
            [request_type, request, v0, v1, i0, i1, 0, 0],
            &[],
        );
        self.reply_to(seqnum).status
    }

    /// The reply to `seqnum`; the others stay for [`Host::replies`].
    fn reply_to(&mut self, seqnum: u32) -> Reply {
        let mut replies = self.replies();
        let at = replies.iter().position(|r| r.seqnum == seqnum).unwrap();
        let reply = replies.remove(at);
        self.backlog = replies;
        reply
    }

    fn string(&mut self, index: u8) -> Option<String> {
        if index == 0 {
            return None;
        }
        string_text(
            &self
                .control_in(0x80, 6, 0x0300 | u16::from(index), 0x0409, 255)
                .data,
        )
    }

    fn configuration(&mut self) -> Configuration {
        let head = self.control_in(0x80, 6, 0x0200, 0, 9).data;
        let total = u16::from_le_bytes([head[2], head[3]]);
        Configuration::parse(&self.control_in(0x80, 6, 0x0200, 0, total).data).unwrap()
    }
}

/// An OBEX CONNECT with target SYNCML-SYNC, as handsync's client sends it.
fn syncml_connect() -> Vec<u8> {
    let target = b"SYNCML-SYNC";
    let length = 7 + 3 + target.len();
    let mut packet = vec![0x80, 0, 0, 0x10, 0, 0x04, 0x00];
    packet[1..3].copy_from_slice(&(length as u16).to_be_bytes());
    packet.push(0x46);
    packet.extend(((3 + target.len()) as u16).to_be_bytes());
    packet.extend(target);
    packet
}

#[test]
fn the_host_enumerates_a_nokia_and_finds_its_syncml_function_by_name() {
    let mut host = Host::attached("nokia-6230i");
    let device = DeviceDescriptor::parse(&host.control_in(0x80, 6, 0x0100, 0, 18).data).unwrap();
    assert_eq!((device.vendor_id, device.product_id), (0x0421, 0x0428));
    assert_eq!(
        host.string(device.product_string).as_deref(),
        Some("Nokia 6230i")
    );
    // Strings: a short first read, as Linux does, is cut to its length.
    assert_eq!(host.control_in(0x80, 6, 0x0300, 0, 2).data, vec![4, 3]);
    // No qualifier: a stall, which tells the kernel it is full speed only.
    assert_eq!(host.control_in(0x80, 6, 0x0600, 0, 10).status, -EPIPE);
    let configuration = host.configuration();
    let (functions, unusable) = configuration.obex_functions();
    assert!(unusable.is_empty());
    let names: Vec<Option<String>> = functions
        .iter()
        .map(|f| host.string(f.string_index))
        .collect();
    assert_eq!(
        names,
        vec![
            Some("PC Suite Services".to_string()),
            Some("SYNCML-SYNC".to_string())
        ]
    );
    let best = functions
        .iter()
        .zip(&names)
        .min_by_key(|(_, name)| syncml_rank(name.as_deref()))
        .unwrap()
        .0;
    assert_eq!(best.data_interface, 6);
    assert_eq!(configuration.acm_functions().len(), 1);
}

#[test]
fn syncml_flows_over_the_bulk_pipes_in_whole_obex_packets() {
    let mut host = Host::attached("nokia-6230i");
    let function = host.configuration().obex_functions().0[1].clone();
    let (bulk_in, bulk_out) = (function.bulk_in.address & 0x0f, function.bulk_out.address);
    // Before the active setting the pipes do not exist.
    host.submit(bulk_out, false, 3, [0; 8], &[0x81, 0, 3]);
    assert_eq!(host.replies()[0].status, -EPIPE);
    assert_eq!(host.control_out(0x00, 9, 1, 0), 0);
    assert_eq!(
        host.control_out(0x01, 0x0b, 1, u16::from(function.data_interface)),
        0
    );
    assert_eq!(
        host.device.poll_event(),
        Some(UsbEvent::FunctionActive(FunctionId::Syncml))
    );
    assert!(host.device.is_active(FunctionId::Syncml));

    let read = host.submit(bulk_in, true, 0x8000, [0; 8], &[]);
    assert!(
        host.replies().is_empty(),
        "an IN transfer waits for the phone"
    );
    let connect = syncml_connect();
    host.submit(bulk_out, false, connect.len(), [0; 8], &connect);
    assert_eq!(host.replies()[0].status, 0);
    assert_eq!(host.device.take_from_host(FunctionId::Syncml), connect);

    // The phone's answer arrives in pieces; the transfer completes with the whole packet.
    let answer = [0xa0, 0x00, 0x0a, 0x10, 0x00, 0x10, 0x00, 0xcb, 0, 0];
    host.device.send_to_host(FunctionId::Syncml, &answer[..4]);
    assert!(host.replies().is_empty());
    host.device.send_to_host(FunctionId::Syncml, &answer[4..]);
    let replies = host.replies();
    assert_eq!(replies[0].seqnum, read);
    assert_eq!(replies[0].data, answer);

    // A transfer smaller than the packet takes what fits, the next one the rest.
    let big: Vec<u8> = [0x90, 0x00, 100]
        .into_iter()
        .chain(std::iter::repeat_n(7, 97))
        .collect();
    host.device.send_to_host(FunctionId::Syncml, &big);
    host.submit(bulk_in, true, 64, [0; 8], &[]);
    host.submit(bulk_in, true, 64, [0; 8], &[]);
    let replies = host.replies();
    assert_eq!(replies[0].data.len(), 64);
    assert_eq!(replies[1].data.len(), 36);

    // The host goes idle: the waiting transfer ends, and so does the function.
    let waiting = host.submit(bulk_in, true, 0x8000, [0; 8], &[]);
    assert_eq!(
        host.control_out(0x01, 0x0b, 0, u16::from(function.data_interface)),
        0
    );
    let replies = host.replies();
    assert!(
        replies
            .iter()
            .any(|r| r.seqnum == waiting && r.status == -ESHUTDOWN),
        "{replies:?}"
    );
    assert_eq!(
        host.device.poll_event(),
        Some(UsbEvent::FunctionIdle(FunctionId::Syncml))
    );
}

#[test]
fn an_unnamed_function_of_another_service_refuses_a_syncml_connect() {
    let mut host = Host::attached("nokia-e51");
    let configuration = host.configuration();
    let functions = configuration.obex_functions().0;
    assert!(functions.iter().all(|f| f.string_index == 0));
    let other = &functions[0];
    assert_eq!(host.control_out(0x00, 9, 1, 0), 0);
    assert_eq!(
        host.control_out(0x01, 0x0b, 1, u16::from(other.data_interface)),
        0
    );
    host.submit(other.bulk_in.address & 0x0f, true, 0x8000, [0; 8], &[]);
    let connect = syncml_connect();
    host.submit(
        other.bulk_out.address,
        false,
        connect.len(),
        [0; 8],
        &connect,
    );
    let replies = host.replies();
    let answer = replies.iter().find(|r| !r.data.is_empty()).unwrap();
    assert_eq!(answer.data[0], 0xC4, "Not Found, with CONNECT fields");
    assert_eq!(answer.data.len(), 7);
}

#[test]
fn a_waiting_transfer_is_taken_back_and_a_finished_one_is_not() {
    let mut host = Host::attached("nokia-6230i");
    let function = host.configuration().obex_functions().0[1].clone();
    host.control_out(0x00, 9, 1, 0);
    host.control_out(0x01, 0x0b, 1, u16::from(function.data_interface));
    let read = host.submit(function.bulk_in.address & 0x0f, true, 512, [0; 8], &[]);
    let mut unlink = Vec::new();
    for field in [CMD_UNLINK, 99, 0x0001_0002, 0, 0, read] {
        unlink.extend(field.to_be_bytes());
    }
    unlink.extend([0u8; 24]);
    host.device.handle_input(Instant::now(), &unlink);
    let replies = host.replies();
    assert_eq!((replies[0].seqnum, replies[0].status), (99, -ECONNRESET));
    host.device.handle_input(Instant::now(), &unlink);
    assert_eq!(host.replies()[0].status, 0);
    // Halted endpoints stall until cleared.
    let out = u16::from(function.bulk_out.address);
    assert_eq!(host.control_out(0x02, 0x03, 0, out), 0);
    host.submit(function.bulk_out.address, false, 1, [0; 8], &[0]);
    assert_eq!(host.replies()[0].status, -EPIPE);
    assert_eq!(host.control_out(0x02, 0x01, 0, out), 0);
    host.submit(function.bulk_out.address, false, 1, [0; 8], &[0]);
    assert_eq!(host.replies()[0].status, 0);
}

#[test]
fn the_device_list_names_the_phone_and_its_interfaces() {
    let mut device = UsbipDevice::new(UsbLayout::for_model("sonyericsson-k750i").unwrap(), "1-1");
    let mut request = Vec::new();
    request.extend(VERSION.to_be_bytes());
    request.extend(OP_REQ_DEVLIST.to_be_bytes());
    request.extend([0, 0, 0, 0]);
    device.handle_input(Instant::now(), &request);
    let reply = device.poll_transmit().unwrap();
    assert_eq!(u32::from_be_bytes(reply[8..12].try_into().unwrap()), 1);
    let block = &reply[12..];
    assert_eq!(&block[256..259], b"1-1");
    assert_eq!(u16::from_be_bytes([block[300], block[301]]), 0x0fce);
    let interfaces = block[311] as usize;
    assert_eq!(interfaces, 3);
    assert_eq!(&block[312..316], &[2, 8, 1, 0]);
    assert_eq!(reply.len(), 12 + 312 + 4 * interfaces);
    assert!(!device.is_attached());
}

#[test]
fn a_peer_that_is_not_usbip_is_told_apart_and_never_held() {
    let mut device = UsbipDevice::new(UsbLayout::for_model("nokia-6230i").unwrap(), "1-1");
    device.handle_input(Instant::now(), b"GET / HTTP/1.1\r\n\r\n");
    match device.poll_event() {
        Some(UsbEvent::Broken(why)) => assert!(why.contains("version"), "{why}"),
        other => panic!("{other:?}"),
    }
    // A transfer longer than any this device takes.
    let mut host = Host::attached("nokia-6230i");
    let mut huge = Vec::new();
    for field in [CMD_SUBMIT, 1, 0, 0, 1, 0, 10_000_000, 0, 0, 0] {
        huge.extend(u32::to_be_bytes(field));
    }
    huge.extend([0u8; 8]);
    host.device.handle_input(Instant::now(), &huge);
    assert!(matches!(
        host.device.poll_event(),
        Some(UsbEvent::Broken(_))
    ));
    assert!(UsbLayout::for_model("siemens-s65").is_none());
}

#[test]
fn a_peer_that_leaves_more_transfers_waiting_than_a_kernel_does_is_dropped() {
    let mut host = Host::attached("nokia-6230i");
    let function = host.configuration().obex_functions().0[1].clone();
    host.control_out(0x00, 9, 1, 0);
    host.control_out(0x01, 0x0b, 1, u16::from(function.data_interface));
    assert_eq!(
        host.device.poll_event(),
        Some(UsbEvent::FunctionActive(FunctionId::Syncml))
    );
    for _ in 0..1024 {
        host.submit(function.bulk_in.address & 0x0f, true, 64, [0; 8], &[]);
    }
    assert_eq!(host.device.poll_event(), None);
    host.submit(function.bulk_in.address & 0x0f, true, 64, [0; 8], &[]);
    match host.device.poll_event() {
        Some(UsbEvent::Broken(why)) => assert!(why.contains("1024"), "{why}"),
        other => panic!("{other:?}"),
    }
}
