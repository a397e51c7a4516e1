//! Meta information (`syncml:metinf`): the content of `<Meta>`, and of `<Data>` when a status
//! carries an anchor.

use super::model::Extensions;
use compact_str::CompactString;

/// The MetInf elements of one `<Meta>` (or of a `<Data>` holding MetInf elements).
///
/// Every field is optional; numbers are parsed (an unparsable number is a read error), strings
/// are trimmed. Elements the model does not know are kept in `extensions` and written back
/// after the known ones.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetInf {
    pub format: Option<CompactString>,
    /// `Type`: a MIME type, or an authentication type such as `syncml:auth-md5`.
    pub type_: Option<CompactString>,
    pub mark: Option<CompactString>,
    pub size: Option<u64>,
    pub anchor: Option<Anchor>,
    pub version: Option<CompactString>,
    pub next_nonce: Option<CompactString>,
    pub max_msg_size: Option<u64>,
    /// SyncML 1.1 and later.
    pub max_obj_size: Option<u64>,
    pub emi: Vec<CompactString>,
    pub mem: Option<Mem>,
    /// SyncML 1.2 only.
    pub field_level: bool,
    pub extensions: Extensions,
}

/// The `Meta` of commands, items and headers is a [`MetInf`].
pub type Meta = MetInf;

impl MetInf {
    /// Whether nothing at all is set (an empty `<Meta/>`).
    pub fn is_empty(&self) -> bool {
        *self == MetInf::default()
    }

    /// A `Meta` holding only a `Type`, the commonest kind.
    pub fn with_type(type_: impl Into<CompactString>) -> MetInf {
        MetInf {
            type_: Some(type_.into()),
            ..MetInf::default()
        }
    }
}

/// Sync anchors: `Last` (optional) and `Next`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Anchor {
    pub last: Option<CompactString>,
    pub next: CompactString,
    pub extensions: Extensions,
}

/// Free memory of a datastore: `Mem (SharedMem?, FreeMem, FreeID)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mem {
    pub shared_mem: bool,
    pub free_mem: Option<u64>,
    pub free_id: Option<u64>,
    pub extensions: Extensions,
}

/// The local names of the MetInf vocabulary, to recognise them where phones forget the
/// `syncml:metinf` namespace.
pub(crate) const METINF_NAMES: &[&str] = &[
    "Format",
    "Type",
    "Mark",
    "Size",
    "Anchor",
    "Version",
    "NextNonce",
    "MaxMsgSize",
    "MaxObjSize",
    "EMI",
    "Mem",
    "FieldLevel",
];
