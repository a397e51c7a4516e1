//! USB standard descriptors as a phone sends them (USB 2.0 chapter 9): the device descriptor and
//! one configuration's descriptor set, walked into interfaces, alternate settings, endpoints and
//! the class-specific descriptors that follow each interface.

use std::fmt;

/// Descriptor types (USB 2.0 table 9-5) and the CDC class-specific interface type.
pub const DEVICE: u8 = 0x01;
pub const CONFIGURATION: u8 = 0x02;
pub const STRING: u8 = 0x03;
pub const INTERFACE: u8 = 0x04;
pub const ENDPOINT: u8 = 0x05;
pub const CS_INTERFACE: u8 = 0x24;

/// A descriptor set that does not follow the layout; `offset` is where in the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescriptorError {
    pub offset: usize,
    pub problem: &'static str,
}

impl fmt::Display for DescriptorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "USB descriptor at byte {}: {}",
            self.offset, self.problem
        )
    }
}

impl std::error::Error for DescriptorError {}

fn broken(offset: usize, problem: &'static str) -> DescriptorError {
    DescriptorError { offset, problem }
}

/// The 18-byte device descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceDescriptor {
    pub usb_version: u16,
    pub class: u8,
    pub subclass: u8,
    pub protocol: u8,
    pub max_packet_size_0: u8,
    pub vendor_id: u16,
    pub product_id: u16,
    pub device_version: u16,
    pub manufacturer_string: u8,
    pub product_string: u8,
    pub serial_string: u8,
    pub configurations: u8,
}

impl DeviceDescriptor {
    pub const LENGTH: usize = 18;

    pub fn parse(bytes: &[u8]) -> Result<DeviceDescriptor, DescriptorError> {
        if bytes.len() < Self::LENGTH || usize::from(bytes[0]) < Self::LENGTH {
            return Err(broken(0, "a device descriptor is 18 bytes"));
        }
        if bytes[1] != DEVICE {
            return Err(broken(1, "not a device descriptor"));
        }
        let word = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        Ok(DeviceDescriptor {
            usb_version: word(2),
            class: bytes[4],
            subclass: bytes[5],
            protocol: bytes[6],
            max_packet_size_0: bytes[7],
            vendor_id: word(8),
            product_id: word(10),
            device_version: word(12),
            manufacturer_string: bytes[14],
            product_string: bytes[15],
            serial_string: bytes[16],
            configurations: bytes[17],
        })
    }

    pub fn to_bytes(&self) -> [u8; 18] {
        let mut out = [0u8; 18];
        out[0] = 18;
        out[1] = DEVICE;
        out[2..4].copy_from_slice(&self.usb_version.to_le_bytes());
        out[4] = self.class;
        out[5] = self.subclass;
        out[6] = self.protocol;
        out[7] = self.max_packet_size_0;
        out[8..10].copy_from_slice(&self.vendor_id.to_le_bytes());
        out[10..12].copy_from_slice(&self.product_id.to_le_bytes());
        out[12..14].copy_from_slice(&self.device_version.to_le_bytes());
        out[14] = self.manufacturer_string;
        out[15] = self.product_string;
        out[16] = self.serial_string;
        out[17] = self.configurations;
        out
    }
}

/// Transfer types (bmAttributes bits 0..1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferType {
    Control,
    Isochronous,
    Bulk,
    Interrupt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// bEndpointAddress: bit 7 set for IN.
    pub address: u8,
    pub transfer: TransferType,
    pub max_packet_size: u16,
    pub interval: u8,
}

impl Endpoint {
    pub fn is_in(&self) -> bool {
        self.address & 0x80 != 0
    }
}

/// One alternate setting of one interface, with what follows its descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceSetting {
    pub number: u8,
    pub alternate: u8,
    pub class: u8,
    pub subclass: u8,
    pub protocol: u8,
    /// iInterface: 0 when the phone names it not.
    pub string_index: u8,
    pub endpoints: Vec<Endpoint>,
    /// Class-specific interface descriptors (type 0x24), whole (length and type bytes included).
    pub class_specific: Vec<Vec<u8>>,
}

impl InterfaceSetting {
    /// The class-specific descriptor of this subtype (its third byte), if present.
    pub fn functional(&self, subtype: u8) -> Option<&[u8]> {
        self.class_specific
            .iter()
            .find(|d| d.len() >= 3 && d[2] == subtype)
            .map(Vec::as_slice)
    }
}

/// One configuration's descriptor set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration {
    pub value: u8,
    pub string_index: u8,
    pub attributes: u8,
    /// Every interface's every alternate setting, in the order of the descriptor set.
    pub settings: Vec<InterfaceSetting>,
}

impl Configuration {
    /// Walks the descriptor set of one configuration (as GET_DESCRIPTOR(CONFIGURATION) returns
    /// it, wTotalLength bytes). Descriptors of other types (interface associations, OTG...) are
    /// skipped; a descriptor that overruns the set, or an endpoint before any interface, is an
    /// error.
    pub fn parse(bytes: &[u8]) -> Result<Configuration, DescriptorError> {
        if bytes.len() < 9 || bytes[0] < 9 {
            return Err(broken(0, "a configuration descriptor is 9 bytes"));
        }
        if bytes[1] != CONFIGURATION {
            return Err(broken(1, "not a configuration descriptor"));
        }
        let total = usize::from(u16::from_le_bytes([bytes[2], bytes[3]]));
        if total > bytes.len() {
            return Err(broken(2, "wTotalLength runs past the bytes read"));
        }
        let mut configuration = Configuration {
            value: bytes[5],
            string_index: bytes[6],
            attributes: bytes[7],
            settings: Vec::new(),
        };
        let mut at = usize::from(bytes[0]);
        while at < total {
            let length = usize::from(bytes[at]);
            if length < 2 {
                return Err(broken(at, "a descriptor shorter than 2 bytes"));
            }
            let Some(descriptor) = bytes.get(at..at + length).filter(|_| at + length <= total)
            else {
                return Err(broken(at, "a descriptor runs past wTotalLength"));
            };
            match descriptor[1] {
                INTERFACE => {
                    if length < 9 {
                        return Err(broken(at, "an interface descriptor is 9 bytes"));
                    }
                    configuration.settings.push(InterfaceSetting {
                        number: descriptor[2],
                        alternate: descriptor[3],
                        class: descriptor[5],
                        subclass: descriptor[6],
                        protocol: descriptor[7],
                        string_index: descriptor[8],
                        endpoints: Vec::new(),
                        class_specific: Vec::new(),
                    });
                }
                ENDPOINT => {
                    if length < 7 {
                        return Err(broken(at, "an endpoint descriptor is 7 bytes"));
                    }
                    let Some(setting) = configuration.settings.last_mut() else {
                        return Err(broken(at, "an endpoint before any interface"));
                    };
                    setting.endpoints.push(Endpoint {
                        address: descriptor[2],
                        transfer: match descriptor[3] & 0x03 {
                            0 => TransferType::Control,
                            1 => TransferType::Isochronous,
                            2 => TransferType::Bulk,
                            _ => TransferType::Interrupt,
                        },
                        // Bits 11..12 are high-bandwidth multipliers, not size.
                        max_packet_size: u16::from_le_bytes([descriptor[4], descriptor[5]])
                            & 0x07ff,
                        interval: descriptor[6],
                    });
                }
                CS_INTERFACE => {
                    if length < 3 {
                        return Err(broken(at, "a functional descriptor without its subtype"));
                    }
                    if let Some(setting) = configuration.settings.last_mut() {
                        setting.class_specific.push(descriptor.to_vec());
                    }
                }
                _ => {}
            }
            at += length;
        }
        Ok(configuration)
    }

    /// The alternate settings of interface `number`, in order.
    pub fn interface(&self, number: u8) -> impl Iterator<Item = &InterfaceSetting> {
        self.settings.iter().filter(move |s| s.number == number)
    }
}

/// A string descriptor's text (UTF-16LE after the two header bytes), or `None` when the bytes
/// are not one.
pub fn string_text(bytes: &[u8]) -> Option<String> {
    if bytes.len() < 2 || bytes[1] != STRING {
        return None;
    }
    let end = usize::from(bytes[0]).min(bytes.len());
    let units: Vec<u16> = bytes[2..end.max(2)]
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    Some(String::from_utf16_lossy(&units))
}

/// A string descriptor holding `text` (cut at 126 UTF-16 units, the most one holds).
pub fn string_descriptor(text: &str) -> Vec<u8> {
    let units: Vec<u16> = text.encode_utf16().take(126).collect();
    let mut out = Vec::with_capacity(2 + units.len() * 2);
    out.push((2 + units.len() * 2) as u8);
    out.push(STRING);
    for unit in units {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}
