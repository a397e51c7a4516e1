//! What each phone model shows on USB: its device descriptor, strings and one configuration,
//! laid out as the models of the era did (WMC 1.1: a WHCM master interface, a CDC ACM modem,
//! CDC OBEX functions with an idle and an active data setting).

use handsync_proto::usb::{
    string_descriptor, DeviceDescriptor, VENDOR_NOKIA, VENDOR_SONY_ERICSSON,
};

/// What a CDC OBEX function of the emulated phone answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObexService {
    /// The phone's SyncML: the emulated phone's OBEX machines.
    Syncml,
    /// Another OBEX service (PC Suite's own, file transfer): it refuses a SyncML CONNECT.
    Other,
}

/// A function's interfaces and bulk endpoints (endpoint numbers without the direction bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pipes {
    pub control_interface: u8,
    pub data_interface: u8,
    pub bulk_in: u8,
    pub bulk_out: u8,
}

#[derive(Debug, Clone)]
pub struct UsbLayout {
    pub device: DeviceDescriptor,
    /// String descriptors 1.. (index 0 is the language list).
    pub strings: Vec<String>,
    /// The configuration descriptor set, wTotalLength bytes.
    pub configuration: Vec<u8>,
    pub obex: Vec<(Pipes, ObexService)>,
    pub modem: Option<Pipes>,
    /// (interface, number of alternate settings) for each interface.
    pub interfaces: Vec<(u8, u8)>,
}

/// Bulk packets of a full-speed device.
pub const MAX_PACKET: u16 = 64;

struct Builder {
    body: Vec<u8>,
    strings: Vec<String>,
    interfaces: Vec<(u8, u8)>,
    next_endpoint: u8,
}

impl Builder {
    fn string(&mut self, text: Option<&str>) -> u8 {
        match text {
            None => 0,
            Some(text) => {
                self.strings.push(text.to_string());
                self.strings.len() as u8
            }
        }
    }

    fn interface(
        &mut self,
        number: u8,
        alternate: u8,
        endpoints: u8,
        class: (u8, u8, u8),
        name: u8,
    ) {
        self.body.extend([
            9, 4, number, alternate, endpoints, class.0, class.1, class.2, name,
        ]);
        match self.interfaces.iter_mut().find(|(n, _)| *n == number) {
            Some((_, settings)) => *settings += 1,
            None => self.interfaces.push((number, 1)),
        }
    }

    fn endpoint(&mut self, address: u8, attributes: u8, size: u16, interval: u8) {
        let [low, high] = size.to_le_bytes();
        self.body
            .extend([7, 5, address, attributes, low, high, interval]);
    }

    fn bulk_pair(&mut self) -> (u8, u8) {
        let number = self.next_endpoint;
        self.next_endpoint += 1;
        self.endpoint(0x80 | number, 2, MAX_PACKET, 0);
        self.endpoint(number, 2, MAX_PACKET, 0);
        (number, number)
    }

    fn header(&mut self) {
        self.body.extend([5, 0x24, 0x00, 0x10, 0x01]); // CDC 1.10
    }

    fn modem(&mut self, control: u8, name: Option<&str>, protocol: u8) -> Pipes {
        let name = self.string(name);
        self.interface(control, 0, 1, (2, 2, protocol), name);
        self.header();
        self.body.extend([5, 0x24, 0x01, 0x03, control + 1]); // call management
        self.body.extend([4, 0x24, 0x02, 0x0f]); // ACM capabilities
        self.body.extend([5, 0x24, 0x06, control, control + 1]);
        let interrupt = self.next_endpoint;
        self.next_endpoint += 1;
        self.endpoint(0x80 | interrupt, 3, 16, 32);
        self.interface(control + 1, 0, 2, (0x0a, 0, 0), 0);
        let (bulk_in, bulk_out) = self.bulk_pair();
        Pipes {
            control_interface: control,
            data_interface: control + 1,
            bulk_in,
            bulk_out,
        }
    }

    fn obex(&mut self, control: u8, name: Option<&str>) -> Pipes {
        let name = self.string(name);
        self.interface(control, 0, 0, (2, 0x0b, 0), name);
        self.header();
        self.body.extend([5, 0x24, 0x15, 0x00, 0x01]); // OBEX 1.00
        self.body.extend([5, 0x24, 0x06, control, control + 1]);
        self.interface(control + 1, 0, 0, (0x0a, 0, 0), 0);
        self.interface(control + 1, 1, 2, (0x0a, 0, 0), 0);
        let (bulk_in, bulk_out) = self.bulk_pair();
        Pipes {
            control_interface: control,
            data_interface: control + 1,
            bulk_in,
            bulk_out,
        }
    }
}

struct Identity<'a> {
    vendor: u16,
    product: u16,
    release: u16,
    maker: &'a str,
    model: &'a str,
}

fn build(
    identity: Identity<'_>,
    shape: impl FnOnce(&mut Builder) -> (Vec<(Pipes, ObexService)>, Option<Pipes>),
) -> UsbLayout {
    let mut builder = Builder {
        body: Vec::new(),
        strings: Vec::new(),
        interfaces: Vec::new(),
        next_endpoint: 1,
    };
    let manufacturer = builder.string(Some(identity.maker));
    let product = builder.string(Some(identity.model));
    let (obex, modem) = shape(&mut builder);
    let total = 9 + builder.body.len() as u16;
    let mut configuration = vec![9, 2];
    configuration.extend(total.to_le_bytes());
    configuration.extend([builder.interfaces.len() as u8, 1, 0, 0xc0, 50]);
    configuration.extend(&builder.body);
    UsbLayout {
        device: DeviceDescriptor {
            usb_version: 0x0110,
            class: 2,
            subclass: 0,
            protocol: 0,
            max_packet_size_0: 64,
            vendor_id: identity.vendor,
            product_id: identity.product,
            device_version: identity.release,
            manufacturer_string: manufacturer,
            product_string: product,
            serial_string: 0,
            configurations: 1,
        },
        strings: builder.strings,
        configuration,
        obex,
        modem,
        interfaces: builder.interfaces,
    }
}

/// A WHCM master interface over `count` subordinate interfaces 1..=count.
fn whcm(builder: &mut Builder, count: u8) {
    builder.interface(0, 0, 0, (2, 8, 1), 0);
    builder.header();
    builder.body.extend([5, 0x24, 0x11, 0x00, 0x01]); // WHCM 1.00
    let mut union = vec![4 + count, 0x24, 0x06, 0];
    union.extend(1..=count);
    builder.body.extend(union);
}

/// A Nokia in PC Suite mode: the WHCM master, a modem (name, protocol) on interfaces 1/2,
/// another OBEX service on 3/4 and SyncML on 5/6.
fn nokia_pc_suite(
    builder: &mut Builder,
    modem: (Option<&str>, u8),
    other: Option<&str>,
    syncml: Option<&str>,
) -> (Vec<(Pipes, ObexService)>, Option<Pipes>) {
    whcm(builder, 6);
    let modem = builder.modem(1, modem.0, modem.1);
    let other = builder.obex(3, other);
    let syncml = builder.obex(5, syncml);
    (
        vec![(other, ObexService::Other), (syncml, ObexService::Syncml)],
        Some(modem),
    )
}

impl UsbLayout {
    /// The USB face of a built-in model, if it had one (the Siemens S65 used a serial cable
    /// with its own USB-serial chip; the Motorola V3's modem is not modelled).
    pub fn for_model(name: &str) -> Option<UsbLayout> {
        match name {
            // DKU-2: usb.ids names 0421:0428 "6230i Modem"; S40 names its OBEX functions.
            "nokia-6230i" => Some(build(
                Identity {
                    vendor: VENDOR_NOKIA,
                    product: 0x0428,
                    release: 0x0307,
                    maker: "Nokia",
                    model: "Nokia 6230i",
                },
                |b| {
                    nokia_pc_suite(
                        b,
                        (Some("Nokia 6230i USB Modem"), 1),
                        Some("PC Suite Services"),
                        Some("SYNCML-SYNC"),
                    )
                },
            )),
            // S60 3rd edition in PC Suite mode (Linux's cdc-acm lists 0421:0042 as the E51):
            // a vendor-protocol modem and OBEX functions that carry no names.
            "nokia-e51" => Some(build(
                Identity {
                    vendor: VENDOR_NOKIA,
                    product: 0x0042,
                    release: 0x0100,
                    maker: "Nokia",
                    model: "E51",
                },
                |b| nokia_pc_suite(b, (None, 0xff), None, None),
            )),
            // Sony Ericsson: a CDC ACM modem only; SyncML goes over AT*EOBEX on it.
            "sonyericsson-k750i" => Some(build(
                Identity {
                    vendor: VENDOR_SONY_ERICSSON,
                    product: 0xd016,
                    release: 0x0000,
                    maker: "Sony Ericsson",
                    model: "Sony Ericsson K750",
                },
                |b| {
                    whcm(b, 2);
                    let modem = b.modem(1, Some("Sony Ericsson USB WMC Modem"), 1);
                    (Vec::new(), Some(modem))
                },
            )),
            _ => None,
        }
    }

    /// The string descriptor at `index` (0: US English only), if there is one.
    pub fn string_descriptor(&self, index: u8) -> Option<Vec<u8>> {
        if index == 0 {
            return Some(vec![4, 3, 0x09, 0x04]);
        }
        self.strings
            .get(usize::from(index) - 1)
            .map(|text| string_descriptor(text))
    }

    /// (class, subclass, protocol) of each interface, for the USB/IP device list.
    pub fn interface_classes(&self) -> Vec<(u8, u8, u8)> {
        let configuration = handsync_proto::usb::Configuration::parse(&self.configuration);
        configuration
            .map(|c| {
                self.interfaces
                    .iter()
                    .filter_map(|(n, _)| {
                        c.interface(*n)
                            .next()
                            .map(|s| (s.class, s.subclass, s.protocol))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}
