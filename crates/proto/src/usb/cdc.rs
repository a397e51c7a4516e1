//! The phone functions a configuration offers, found the way the CDC 1.1 and WMC 1.1
//! specifications lay them out:
//!
//! - **CDC OBEX** (WMC 1.1 chapter 7): a control interface of class 0x02 subclass 0x0B with no
//!   endpoints, whose functional descriptors (type 0x24) are a header (0x00), an OBEX
//!   descriptor (0x15), a union (0x06) naming the data interface, and sometimes an OBEX service
//!   identifier (0x19). The data interface (class 0x0A) has an idle alternate setting without
//!   endpoints and an active one with a bulk IN and a bulk OUT endpoint.
//! - **CDC ACM** modems (CDC 1.1, PSTN 1.1): a control interface of class 0x02 subclass 0x02;
//!   the union (or the call management descriptor) names its data interface. The serial
//!   transport takes these through the kernel's cdc_acm driver.

use super::descriptors::{Configuration, Endpoint, InterfaceSetting, TransferType};

pub const CLASS_COMMUNICATIONS: u8 = 0x02;
pub const CLASS_CDC_DATA: u8 = 0x0A;
pub const SUBCLASS_ACM: u8 = 0x02;
pub const SUBCLASS_WHCM: u8 = 0x08;
pub const SUBCLASS_OBEX: u8 = 0x0B;

pub const FUNCTIONAL_HEADER: u8 = 0x00;
pub const FUNCTIONAL_CALL_MANAGEMENT: u8 = 0x01;
pub const FUNCTIONAL_ACM: u8 = 0x02;
pub const FUNCTIONAL_UNION: u8 = 0x06;
pub const FUNCTIONAL_OBEX: u8 = 0x15;
pub const FUNCTIONAL_OBEX_SERVICE: u8 = 0x19;

/// The OBEX service identifier functional descriptor (WMC 1.1 section 6.2.2.x): which OBEX
/// service the function offers, by UUID, and in which role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObexService {
    /// bmOBEXRole: bit 0 clear when the phone is the OBEX server (target) of the service.
    pub role: u8,
    pub uuid: [u8; 16],
    pub version: u16,
}

/// One CDC OBEX function: what a host claims and drives to speak OBEX with the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObexFunction {
    pub control_interface: u8,
    pub data_interface: u8,
    /// iInterface of the control interface ("SYNCML-SYNC", "PC Suite Services"...; 0 when the
    /// phone gives none).
    pub string_index: u8,
    pub service: Option<ObexService>,
    /// The data interface's setting without endpoints (selected while the function is unused).
    pub idle_setting: u8,
    /// The data interface's setting with the bulk pipes.
    pub active_setting: u8,
    pub bulk_in: Endpoint,
    pub bulk_out: Endpoint,
}

/// One CDC ACM modem function (the kernel binds cdc_acm to it: /dev/ttyACM*).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmFunction {
    pub control_interface: u8,
    pub data_interface: Option<u8>,
    pub string_index: u8,
    /// bInterfaceProtocol: 0x01 for V.25ter AT commands; Nokia's PC Suite modems say 0xFF.
    pub protocol: u8,
}

/// Why an interface that says it is CDC OBEX cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    pub control_interface: u8,
    pub problem: &'static str,
}

/// The data interface a union descriptor names (its first subordinate interface).
fn union_data_interface(control: &InterfaceSetting) -> Option<u8> {
    control
        .functional(FUNCTIONAL_UNION)
        .filter(|union| union.len() >= 5)
        .map(|union| union[4])
}

fn obex_service(control: &InterfaceSetting) -> Option<ObexService> {
    let descriptor = control.functional(FUNCTIONAL_OBEX_SERVICE)?;
    let uuid: [u8; 16] = descriptor.get(4..20)?.try_into().ok()?;
    let version = descriptor
        .get(20..22)
        .map(|v| u16::from_le_bytes([v[0], v[1]]))
        .unwrap_or(0);
    Some(ObexService {
        role: descriptor[3],
        uuid,
        version,
    })
}

fn bulk_pair(setting: &InterfaceSetting) -> Option<(Endpoint, Endpoint)> {
    let bulk = |want_in: bool| {
        setting
            .endpoints
            .iter()
            .find(|e| e.transfer == TransferType::Bulk && e.is_in() == want_in)
            .copied()
    };
    Some((bulk(true)?, bulk(false)?))
}

impl Configuration {
    /// Every CDC OBEX function of this configuration, in interface order, and the ones that say
    /// they are but break the layout (with why).
    pub fn obex_functions(&self) -> (Vec<ObexFunction>, Vec<Unusable>) {
        let mut found = Vec::new();
        let mut unusable = Vec::new();
        let controls = self.settings.iter().filter(|s| {
            s.alternate == 0 && s.class == CLASS_COMMUNICATIONS && s.subclass == SUBCLASS_OBEX
        });
        for control in controls {
            let refuse = |problem| Unusable {
                control_interface: control.number,
                problem,
            };
            let Some(data_interface) = union_data_interface(control) else {
                unusable.push(refuse("no union descriptor names its data interface"));
                continue;
            };
            let settings: Vec<&InterfaceSetting> = self.interface(data_interface).collect();
            if settings.is_empty() {
                unusable.push(refuse("its union names a data interface that is not there"));
                continue;
            }
            let idle = settings.iter().find(|s| s.endpoints.is_empty());
            let active = settings
                .iter()
                .find_map(|s| bulk_pair(s).map(|pair| (s, pair)));
            let Some((active, (bulk_in, bulk_out))) = active else {
                unusable.push(refuse(
                    "its data interface has no setting with bulk IN and OUT",
                ));
                continue;
            };
            found.push(ObexFunction {
                control_interface: control.number,
                data_interface,
                string_index: control.string_index,
                service: obex_service(control),
                // A data interface without an idle setting is idle in its only one.
                idle_setting: idle.map_or(active.alternate, |s| s.alternate),
                active_setting: active.alternate,
                bulk_in,
                bulk_out,
            });
        }
        (found, unusable)
    }

    /// Every CDC ACM modem function, in interface order.
    pub fn acm_functions(&self) -> Vec<AcmFunction> {
        self.settings
            .iter()
            .filter(|s| {
                s.alternate == 0 && s.class == CLASS_COMMUNICATIONS && s.subclass == SUBCLASS_ACM
            })
            .map(|control| AcmFunction {
                control_interface: control.number,
                data_interface: union_data_interface(control).or_else(|| {
                    control
                        .functional(FUNCTIONAL_CALL_MANAGEMENT)
                        .filter(|d| d.len() >= 5)
                        .map(|d| d[4])
                }),
                string_index: control.string_index,
                protocol: control.protocol,
            })
            .collect()
    }
}

/// How well an OBEX function's name says it carries SyncML DS: lower is tried first. Phones
/// name the function for the OBEX target it serves ("SYNCML-SYNC"), some for PC Suite's
/// channel; file transfer and device management come last; a function without a name in
/// between, since some Nokia models name none.
pub fn syncml_rank(name: Option<&str>) -> u8 {
    let Some(name) = name.map(|n| n.trim().to_ascii_uppercase()) else {
        return 3;
    };
    if name == "SYNCML-SYNC" {
        0
    } else if name.contains("SYNCML") && !name.contains("DM") {
        1
    } else if name.contains("PC SUITE") {
        2
    } else if name.is_empty() {
        3
    } else {
        4
    }
}
