//! A PC's station behind raw USB/IP transfers, as the kernel carries a driver's: it finds the
//! phone through the dongle, opens its OBEX service and trades bytes with it.

use std::time::{Duration, Instant};

use handsync_proto::irda::frame::Hints;
use handsync_proto::irda::qos::{baud, Capabilities};
use handsync_proto::irda::station::{Station, StationConfig, StationEvent};
use handsync_proto::irda::usb_dongle::{parse_inbound, OutboundHeader};
use handsync_proto::irda::{DeviceAddress, Received};

use super::*;
use crate::irda::phone::phone_station;
use crate::irda::usb_dongle::{DongleModel, BULK_IN, BULK_OUT};
use crate::usb::usbip::{CMD_SUBMIT, HEADER_LEN, OP_REQ_IMPORT, RET_SUBMIT, VERSION};

/// The host: a PC station whose frames go out in OUT transfers and come in through two IN
/// transfers kept waiting, as the handsync driver keeps them.
struct Host {
    pc: Station,
    seqnum: u32,
    reads_pending: usize,
    reads: Vec<u32>,
}

impl Host {
    fn submit(
        &mut self,
        phone: &mut UsbIrPhone,
        now: Instant,
        (endpoint, direction_in): (u8, bool),
        length: usize,
        setup: [u8; 8],
        data: &[u8],
    ) {
        self.seqnum += 1;
        if direction_in && endpoint != 0 {
            self.reads.push(self.seqnum);
            self.reads_pending += 1;
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
        phone.handle_usbip(now, &bytes);
    }

    /// Takes the dongle's replies: completed reads go to the PC's station.
    fn collect(&mut self, phone: &mut UsbIrPhone, now: Instant) {
        while let Some(bytes) = phone.poll_usbip() {
            let mut rest = &bytes[..];
            while !rest.is_empty() {
                let word = |at: usize| u32::from_be_bytes(rest[at..at + 4].try_into().unwrap());
                assert_eq!(word(0), RET_SUBMIT);
                let (seqnum, status, actual) = (word(4), word(20), word(24) as usize);
                assert_eq!(status, 0, "transfer {seqnum} failed");
                let data_len = if self.reads.contains(&seqnum) {
                    actual
                } else {
                    0
                };
                if data_len > 0 || self.reads.contains(&seqnum) {
                    self.reads_pending -= 1;
                    let inbound = parse_inbound(&rest[HEADER_LEN..HEADER_LEN + data_len]).unwrap();
                    let received = match inbound.frame {
                        Some(frame) => Received::Frame(frame.to_vec()),
                        None => Received::Activity,
                    };
                    self.pc.handle_received(now, received);
                }
                rest = &rest[HEADER_LEN + data_len..];
            }
        }
    }

    fn pump(&mut self, phone: &mut UsbIrPhone, now: Instant) {
        for _ in 0..8 {
            while self.reads_pending < 2 {
                self.submit(phone, now, (BULK_IN, true), 2112, [0; 8], &[]);
            }
            while let Some(transmit) = self.pc.poll_transmit() {
                let header = OutboundHeader {
                    speed: Some(transmit.speed),
                    additional_bofs: None,
                };
                let transfer = header.transfer(&transmit.frame).unwrap();
                self.submit(
                    phone,
                    now,
                    (BULK_OUT, false),
                    transfer.len(),
                    [0; 8],
                    &transfer,
                );
            }
            self.collect(phone, now);
        }
    }
}

#[test]
fn a_pc_behind_the_dongle_finds_the_phone_and_trades_obex_bytes() {
    let station = phone_station("Nokia 6230i", DeviceAddress(0x4E4F_4B01), 7, false);
    let mut phone = UsbIrPhone::new(
        UsbDongle::new(DongleModel::act_ir2000u(), "1-1"),
        station,
        AirConfig::default(),
    );
    let mut now = Instant::now();
    // usbip attach, then the kernel sets configuration 1.
    let mut import = Vec::new();
    import.extend(VERSION.to_be_bytes());
    import.extend(OP_REQ_IMPORT.to_be_bytes());
    import.extend([0u8; 4]);
    let mut busid = [0u8; 32];
    busid[..3].copy_from_slice(b"1-1");
    import.extend(busid);
    phone.handle_usbip(now, &import);
    assert!(phone.poll_usbip().is_some());
    assert_eq!(phone.poll_dongle_event(), Some(DongleEvent::Attached));
    let mut host = Host {
        pc: Station::new(StationConfig {
            address: DeviceAddress(0x1234_5678),
            nickname: "PC Suite".into(),
            hints: Hints::COMPUTER | Hints::OBEX,
            capabilities: Capabilities {
                baud_rates: baud::SIR,
                ..Capabilities::default()
            },
            discoverable: false,
            obex_server: false,
            seed: 3,
        }),
        seqnum: 0,
        reads_pending: 0,
        reads: Vec::new(),
    };
    host.submit(
        &mut phone,
        now,
        (0, false),
        0,
        [0x00, 9, 1, 0, 0, 0, 0, 0],
        &[],
    );
    host.collect(&mut phone, now);
    assert_eq!(phone.poll_dongle_event(), Some(DongleEvent::Configured));

    host.pc.discover(now);
    let mut found = None;
    let mut opened = false;
    let mut echoed = Vec::new();
    let give_up = now + Duration::from_secs(60);
    while now < give_up && echoed.len() < 5 {
        host.pump(&mut phone, now);
        while let Some(event) = host.pc.poll_event() {
            match event {
                StationEvent::Discovered(list) => {
                    let nokia = list
                        .into_iter()
                        .find(|d| d.info.nickname_text() == "Nokia 6230i")
                        .expect("the phone answers discovery");
                    host.pc.open_obex(now, nokia.address);
                    found = Some(nokia.address);
                }
                StationEvent::ObexOpened { .. } => {
                    opened = true;
                    host.pc.write_obex(b"hello");
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        while let Some(bytes) = phone.station_mut().read_obex() {
            phone.station_mut().write_obex(&bytes);
        }
        while let Some(bytes) = host.pc.read_obex() {
            echoed.extend(bytes);
        }
        let next = [phone.poll_timeout(), host.pc.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now + Duration::from_millis(10));
        now = next.max(now + Duration::from_micros(100));
        phone.handle_timeout(now);
        host.pc.handle_timeout(now);
    }
    assert_eq!(found, Some(DeviceAddress(0x4E4F_4B01)));
    assert!(opened);
    assert_eq!(echoed, b"hello");
    assert_eq!(phone.dongle().frames_lost(), 0);
    assert!(phone.air().stats().delivered > 6);
}
