//! Device information (`syncml:devinf`), versions 1.0, 1.1 and 1.2.
//!
//! Content-type capabilities (`CTCap`) come in two layouts: 1.0/1.1 put one `CTCap` at DevInf
//! level holding a flat sequence (`CTType`, `PropName`, `ValEnum`, `ParamName`...), 1.2 puts
//! one `CTCap` per content type inside each `DataStore`, with `Property` and `PropParam`
//! elements. Both are read into the same structured [`CtCap`]; the model remembers where they
//! were found ([`DevInf::ct_caps`] or [`DataStore::ct_caps`]) and the writer uses the layout
//! of the version it writes (see [`DevInf::ver_dtd`]).

use super::model::Extensions;
use crate::markup::Version;

#[derive(Clone, Debug, PartialEq)]
pub struct DevInf {
    /// The DevInf version: from `VerDTD`, else from the document type (WBXML public id, XML
    /// DOCTYPE), else the version of the SyncML message carrying it. Decides what is written.
    pub ver_dtd: Version,
    pub man: Option<String>,
    /// `Mod`.
    pub model: Option<String>,
    pub oem: Option<String>,
    pub fw_v: Option<String>,
    pub sw_v: Option<String>,
    pub hw_v: Option<String>,
    pub dev_id: Option<String>,
    pub dev_typ: Option<String>,
    /// DevInf 1.1 and later.
    pub utc: bool,
    /// DevInf 1.1 and later.
    pub support_large_objs: bool,
    /// DevInf 1.1 and later.
    pub support_number_of_changes: bool,
    pub data_stores: Vec<DataStore>,
    /// Capabilities sent at DevInf level (the 1.0/1.1 layout).
    pub ct_caps: Vec<CtCap>,
    pub exts: Vec<Ext>,
    pub extensions: Extensions,
}

impl DevInf {
    /// An empty DevInf of a version.
    pub fn new(ver_dtd: Version) -> DevInf {
        DevInf {
            ver_dtd,
            man: None,
            model: None,
            oem: None,
            fw_v: None,
            sw_v: None,
            hw_v: None,
            dev_id: None,
            dev_typ: None,
            utc: false,
            support_large_objs: false,
            support_number_of_changes: false,
            data_stores: Vec::new(),
            ct_caps: Vec::new(),
            exts: Vec::new(),
            extensions: Extensions::new(),
        }
    }

    /// The capabilities that apply to a datastore, whatever the layout they came in: the
    /// datastore's own (1.2), then the DevInf-level ones (1.0/1.1) for a content type the
    /// datastore receives or sends.
    pub fn ct_caps_for<'d>(&'d self, store: &'d DataStore) -> Vec<&'d CtCap> {
        let mut caps: Vec<&CtCap> = store.ct_caps.iter().collect();
        caps.extend(
            self.ct_caps
                .iter()
                .filter(|cap| store.handles_content_type(&cap.ct_type)),
        );
        caps
    }

    /// The DevInf version ([`DevInf::ver_dtd`]).
    pub fn version(&self) -> Version {
        self.ver_dtd
    }

    /// The datastore with this `SourceRef`.
    pub fn data_store(&self, source_ref: &str) -> Option<&DataStore> {
        self.data_stores.iter().find(|d| d.source_ref == source_ref)
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DataStore {
    pub source_ref: String,
    pub display_name: Option<String>,
    pub max_guid_size: Option<u32>,
    /// `Rx-Pref`: the specification wants exactly one; some phones send several or none.
    pub rx_pref: Vec<ContentType>,
    pub rx: Vec<ContentType>,
    pub tx_pref: Vec<ContentType>,
    pub tx: Vec<ContentType>,
    /// Capabilities sent inside the datastore (the 1.2 layout).
    pub ct_caps: Vec<CtCap>,
    pub ds_mem: Option<DsMem>,
    /// DevInf 1.2.
    pub support_hierarchical_sync: bool,
    pub sync_cap: Option<SyncCap>,
    /// `Filter-Rx`, DevInf 1.2.
    pub filter_rx: Vec<ContentType>,
    /// DevInf 1.2.
    pub filter_caps: Vec<FilterCap>,
    pub extensions: Extensions,
}

impl DataStore {
    /// Whether the datastore lists this content type among those it receives or sends.
    pub fn handles_content_type(&self, ct_type: &str) -> bool {
        self.rx_pref
            .iter()
            .chain(&self.rx)
            .chain(&self.tx_pref)
            .chain(&self.tx)
            .any(|c| c.ct_type.eq_ignore_ascii_case(ct_type))
    }
}

/// `CTType` and `VerCT` (the content of `Rx-Pref`, `Rx`, `Tx-Pref`, `Tx`, `Filter-Rx`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContentType {
    pub ct_type: String,
    pub ver_ct: Option<String>,
    pub extensions: Extensions,
}

impl ContentType {
    pub fn new(ct_type: impl Into<String>, ver_ct: impl Into<String>) -> ContentType {
        ContentType {
            ct_type: ct_type.into(),
            ver_ct: Some(ver_ct.into()),
            extensions: Extensions::new(),
        }
    }
}

/// `DSMem (SharedMem?, MaxMem?, MaxID?)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DsMem {
    pub shared_mem: bool,
    pub max_mem: Option<u64>,
    pub max_id: Option<u64>,
    pub extensions: Extensions,
}

/// `SyncCap`: the `SyncType` numbers (1 two-way ... 7 server-alerted), as numbers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncCap {
    pub sync_types: Vec<u32>,
    pub extensions: Extensions,
}

/// The capabilities for one content type.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CtCap {
    pub ct_type: String,
    /// 1.2 only (1.0/1.1 have no `VerCT` in `CTCap`).
    pub ver_ct: Option<String>,
    /// 1.2 only.
    pub field_level: bool,
    pub properties: Vec<Property>,
    pub extensions: Extensions,
}

/// One property of a content type (`Property` in 1.2, a `PropName` and what follows it in the
/// flat 1.0/1.1 layout). Properties may repeat (vCalendar lists `SUMMARY` for events and todos).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Property {
    pub name: String,
    pub data_type: Option<String>,
    /// 1.2 only.
    pub max_occur: Option<u32>,
    /// `MaxSize` in 1.2, `Size` in 1.0/1.1.
    pub max_size: Option<u64>,
    /// 1.2 only.
    pub no_truncate: bool,
    pub val_enums: Vec<String>,
    pub display_name: Option<String>,
    pub params: Vec<PropParam>,
    pub extensions: Extensions,
}

/// One parameter of a property (`PropParam` in 1.2, `ParamName` and what follows in 1.0/1.1).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PropParam {
    pub name: String,
    pub data_type: Option<String>,
    /// `Size` after a `ParamName`, 1.0/1.1 only.
    pub max_size: Option<u64>,
    pub val_enums: Vec<String>,
    pub display_name: Option<String>,
    pub extensions: Extensions,
}

/// `FilterCap (CTType, VerCT, FilterKeyword*, PropName*)`, DevInf 1.2.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FilterCap {
    pub ct_type: String,
    pub ver_ct: Option<String>,
    pub filter_keywords: Vec<String>,
    pub prop_names: Vec<String>,
    pub extensions: Extensions,
}

/// A non-standard extension advertised in DevInf: `Ext (XNam, XVal*)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ext {
    pub xnam: String,
    pub xvals: Vec<String>,
    pub extensions: Extensions,
}
