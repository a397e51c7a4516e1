//! WBXML global tokens and the SyncML, MetInf and DevInf tag code pages.
//!
//! Token numbers come from the SyncML Representation Protocol 1.0/1.1/1.2, MetInf 1.0/1.1/1.2
//! and DevInf 1.0/1.1/1.2 specifications, cross-checked against libwbxml's tables (the `wbxml2xml`
//! oracle). Each entry records the first version that defines it, so a document is decoded with
//! its own version's table, and an encoder never emits a token the peer's version lacks.

use crate::markup::{DocumentType, Namespace, Version};

/// Global tokens (WBXML 1.3, section 7.1). They mean the same on every code page.
pub mod global {
    pub const SWITCH_PAGE: u8 = 0x00;
    pub const END: u8 = 0x01;
    pub const ENTITY: u8 = 0x02;
    pub const STR_I: u8 = 0x03;
    pub const LITERAL: u8 = 0x04;
    pub const EXT_I_0: u8 = 0x40;
    pub const EXT_I_1: u8 = 0x41;
    pub const EXT_I_2: u8 = 0x42;
    pub const PI: u8 = 0x43;
    pub const LITERAL_C: u8 = 0x44;
    pub const EXT_T_0: u8 = 0x80;
    pub const EXT_T_1: u8 = 0x81;
    pub const EXT_T_2: u8 = 0x82;
    pub const STR_T: u8 = 0x83;
    pub const LITERAL_A: u8 = 0x84;
    pub const EXT_0: u8 = 0xC0;
    pub const EXT_1: u8 = 0xC1;
    pub const EXT_2: u8 = 0xC2;
    pub const OPAQUE: u8 = 0xC3;
    pub const LITERAL_AC: u8 = 0xC4;
}

/// Bit 7 of a tag token: an attribute list follows the tag.
pub const TAG_HAS_ATTRIBUTES: u8 = 0x80;
/// Bit 6 of a tag token: the element has content, closed by END.
pub const TAG_HAS_CONTENT: u8 = 0x40;
/// The identity part of a tag token; 0x00..=0x04 are global tokens, not tags.
pub const TAG_ID_MASK: u8 = 0x3F;
/// The first tag identity a code page may define.
pub const FIRST_TAG_ID: u8 = 0x05;

/// Public identifiers assigned by the WAP/OMA registry to the SyncML DTDs.
pub mod public_id {
    pub const SYNCML_1_0: u32 = 0x0FD1;
    pub const DEVINF_1_0: u32 = 0x0FD2;
    pub const SYNCML_1_1: u32 = 0x0FD3;
    pub const DEVINF_1_1: u32 = 0x0FD4;
    pub const SYNCML_1_2: u32 = 0x1201;
    // OMNA's registry (and libwbxml, Wireshark): MetInf before DevInf in 1.2.
    pub const METINF_1_2: u32 = 0x1202;
    pub const DEVINF_1_2: u32 = 0x1203;
}

/// The registered numeric public id of a document type.
pub fn numeric_public_id(doc: DocumentType) -> u32 {
    match doc {
        DocumentType::SyncMl(Version::V1_0) => public_id::SYNCML_1_0,
        DocumentType::SyncMl(Version::V1_1) => public_id::SYNCML_1_1,
        DocumentType::SyncMl(Version::V1_2) => public_id::SYNCML_1_2,
        DocumentType::DevInf(Version::V1_0) => public_id::DEVINF_1_0,
        DocumentType::DevInf(Version::V1_1) => public_id::DEVINF_1_1,
        DocumentType::DevInf(Version::V1_2) => public_id::DEVINF_1_2,
        DocumentType::MetInf => public_id::METINF_1_2,
    }
}

/// The document type a numeric public id names, if it is one of the SyncML DTDs.
pub fn document_type_of_numeric(id: u32) -> Option<DocumentType> {
    Some(match id {
        public_id::SYNCML_1_0 => DocumentType::SyncMl(Version::V1_0),
        public_id::SYNCML_1_1 => DocumentType::SyncMl(Version::V1_1),
        public_id::SYNCML_1_2 => DocumentType::SyncMl(Version::V1_2),
        public_id::DEVINF_1_0 => DocumentType::DevInf(Version::V1_0),
        public_id::DEVINF_1_1 => DocumentType::DevInf(Version::V1_1),
        public_id::DEVINF_1_2 => DocumentType::DevInf(Version::V1_2),
        public_id::METINF_1_2 => DocumentType::MetInf,
        _ => return None,
    })
}

/// The formal public identifier of a document type, as written in a DOCTYPE or, by Sony
/// Ericsson phones, in the WBXML string table.
pub fn text_public_id(doc: DocumentType) -> &'static str {
    match doc {
        DocumentType::SyncMl(Version::V1_0) => "-//SYNCML//DTD SyncML 1.0//EN",
        DocumentType::SyncMl(Version::V1_1) => "-//SYNCML//DTD SyncML 1.1//EN",
        DocumentType::SyncMl(Version::V1_2) => "-//SYNCML//DTD SyncML 1.2//EN",
        DocumentType::DevInf(Version::V1_0) => "-//SYNCML//DTD DevInf 1.0//EN",
        DocumentType::DevInf(Version::V1_1) => "-//SYNCML//DTD DevInf 1.1//EN",
        DocumentType::DevInf(Version::V1_2) => "-//SYNCML//DTD DevInf 1.2//EN",
        DocumentType::MetInf => "-//SYNCML//DTD MetInf 1.2//EN",
    }
}

/// The document type a formal public identifier names. Case-insensitive and tolerant of the
/// variants seen in the wild: owner `SYNCML` or `OMA`, `SyncML v1.0` for `SyncML 1.0`,
/// `MetaInf` (OMNA's registry spelling) for `MetInf`, surrounding whitespace.
pub fn document_type_of_text(id: &str) -> Option<DocumentType> {
    let id = id.trim();
    let rest = strip_prefix_ignore_case(id, "-//SYNCML//DTD ")
        .or_else(|| strip_prefix_ignore_case(id, "-//OMA//DTD "))?;
    let body = strip_suffix_ignore_case(rest, "//EN")?;
    let (kind, version) = body.trim().rsplit_once(' ')?;
    let version = version.strip_prefix(['v', 'V']).unwrap_or(version);
    let version = Version::parse(version)?;
    let kind = kind.trim();
    let kind = strip_suffix_ignore_case(kind, " v").unwrap_or(kind);
    if kind.eq_ignore_ascii_case("SyncML") {
        Some(DocumentType::SyncMl(version))
    } else if kind.eq_ignore_ascii_case("DevInf") {
        Some(DocumentType::DevInf(version))
    } else if kind.eq_ignore_ascii_case("MetInf") || kind.eq_ignore_ascii_case("MetaInf") {
        Some(DocumentType::MetInf)
    } else {
        None
    }
}

fn strip_prefix_ignore_case<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn strip_suffix_ignore_case<'s>(s: &'s str, suffix: &str) -> Option<&'s str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let tail = s.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &s[..cut])
}

/// One tag of a code page: its token, its name, and the versions that define it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TagToken {
    pub token: u8,
    pub name: &'static str,
    /// The first version whose table has this entry.
    pub since: Version,
    /// The last version whose table has this entry, when a later version gave the token another
    /// name (DevInf `Size` became `MaxSize` in 1.2).
    pub until: Option<Version>,
}

impl TagToken {
    fn in_version(&self, version: Version) -> bool {
        self.since <= version && self.until.is_none_or(|last| version <= last)
    }
}

/// A tag code page: which namespace its elements belong to and their tokens.
#[derive(Debug)]
pub struct CodePage {
    pub namespace: Namespace,
    /// The page number inside the documents that use it.
    pub number: u8,
    /// Sorted by token.
    pub tags: &'static [TagToken],
    /// For each tag identity, 1 + the index of its first entry in `tags`; 0 if none.
    first_entry: [u8; 64],
}

/// How a token was found by [`CodePage::tag_name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// In the table of the document's own version.
    InVersion(&'static str),
    /// Only in the table of a later version (given): phones use newer tags early.
    InLaterVersion(&'static str, Version),
}

impl CodePage {
    /// The element name of a tag identity (token without its content/attribute bits) in a
    /// document of this version, falling back to the earliest later version that defines it.
    pub fn tag_name(&self, token: u8, version: Version) -> Option<Found> {
        let mut later: Option<&TagToken> = None;
        let first = match self.first_entry.get(usize::from(token)) {
            Some(&entry) if entry > 0 => usize::from(entry - 1),
            _ => return None,
        };
        for tag in self.tags[first..].iter().take_while(|t| t.token == token) {
            if tag.in_version(version) {
                return Some(Found::InVersion(tag.name));
            }
            if tag.since > version && later.is_none_or(|l| tag.since < l.since) {
                later = Some(tag);
            }
        }
        later.map(|t| Found::InLaterVersion(t.name, t.since))
    }

    /// The token of an element name in this version's table.
    pub fn tag_token(&self, name: &str, version: Version) -> Option<u8> {
        self.tags
            .iter()
            .find(|t| t.name == name && t.in_version(version))
            .map(|t| t.token)
    }

    /// Whether any version of this page defines the name.
    pub fn knows_name(&self, name: &str) -> bool {
        self.tags.iter().any(|t| t.name == name)
    }
}

impl CodePage {
    const fn new(namespace: Namespace, number: u8, tags: &'static [TagToken]) -> CodePage {
        let mut first_entry = [0u8; 64];
        let mut i = tags.len();
        // Backwards, so the first entry of each token is the one kept.
        while i > 0 {
            i -= 1;
            first_entry[(tags[i].token & TAG_ID_MASK) as usize] = (i + 1) as u8;
        }
        CodePage {
            namespace,
            number,
            tags,
            first_entry,
        }
    }
}

const fn tag(token: u8, name: &'static str, since: Version) -> TagToken {
    TagToken {
        token,
        name,
        since,
        until: None,
    }
}

const fn tag_until(token: u8, name: &'static str, since: Version, until: Version) -> TagToken {
    TagToken {
        token,
        name,
        since,
        until: Some(until),
    }
}

use Version::{V1_0, V1_1, V1_2};

/// SyncML representation protocol, code page 0 of a SyncML document. 0x30 is reserved.
pub static SYNCML: CodePage = CodePage::new(Namespace::SyncMl, 0, SYNCML_TAGS);

const SYNCML_TAGS: &[TagToken] = &[
    tag(0x05, "Add", V1_0),
    tag(0x06, "Alert", V1_0),
    tag(0x07, "Archive", V1_0),
    tag(0x08, "Atomic", V1_0),
    tag(0x09, "Chal", V1_0),
    tag(0x0A, "Cmd", V1_0),
    tag(0x0B, "CmdID", V1_0),
    tag(0x0C, "CmdRef", V1_0),
    tag(0x0D, "Copy", V1_0),
    tag(0x0E, "Cred", V1_0),
    tag(0x0F, "Data", V1_0),
    tag(0x10, "Delete", V1_0),
    tag(0x11, "Exec", V1_0),
    tag(0x12, "Final", V1_0),
    tag(0x13, "Get", V1_0),
    tag(0x14, "Item", V1_0),
    tag(0x15, "Lang", V1_0),
    tag(0x16, "LocName", V1_0),
    tag(0x17, "LocURI", V1_0),
    tag(0x18, "Map", V1_0),
    tag(0x19, "MapItem", V1_0),
    tag(0x1A, "Meta", V1_0),
    tag(0x1B, "MsgID", V1_0),
    tag(0x1C, "MsgRef", V1_0),
    tag(0x1D, "NoResp", V1_0),
    tag(0x1E, "NoResults", V1_0),
    tag(0x1F, "Put", V1_0),
    tag(0x20, "Replace", V1_0),
    tag(0x21, "RespURI", V1_0),
    tag(0x22, "Results", V1_0),
    tag(0x23, "Search", V1_0),
    tag(0x24, "Sequence", V1_0),
    tag(0x25, "SessionID", V1_0),
    tag(0x26, "SftDel", V1_0),
    tag(0x27, "Source", V1_0),
    tag(0x28, "SourceRef", V1_0),
    tag(0x29, "Status", V1_0),
    tag(0x2A, "Sync", V1_0),
    tag(0x2B, "SyncBody", V1_0),
    tag(0x2C, "SyncHdr", V1_0),
    tag(0x2D, "SyncML", V1_0),
    tag(0x2E, "Target", V1_0),
    tag(0x2F, "TargetRef", V1_0),
    tag(0x31, "VerDTD", V1_0),
    tag(0x32, "VerProto", V1_0),
    tag(0x33, "NumberOfChanges", V1_1),
    tag(0x34, "MoreData", V1_1),
    tag(0x35, "Field", V1_2),
    tag(0x36, "Filter", V1_2),
    tag(0x37, "Record", V1_2),
    tag(0x38, "FilterType", V1_2),
    tag(0x39, "SourceParent", V1_2),
    tag(0x3A, "TargetParent", V1_2),
    tag(0x3B, "Move", V1_2),
    tag(0x3C, "Correlator", V1_2),
];

/// Meta information, code page 1 of a SyncML document (and of a standalone MetInf document).
pub static METINF: CodePage = CodePage::new(Namespace::MetInf, 1, METINF_TAGS);

const METINF_TAGS: &[TagToken] = &[
    tag(0x05, "Anchor", V1_0),
    tag(0x06, "EMI", V1_0),
    tag(0x07, "Format", V1_0),
    tag(0x08, "FreeID", V1_0),
    tag(0x09, "FreeMem", V1_0),
    tag(0x0A, "Last", V1_0),
    tag(0x0B, "Mark", V1_0),
    tag(0x0C, "MaxMsgSize", V1_0),
    tag(0x0D, "Mem", V1_0),
    tag(0x0E, "MetInf", V1_0),
    tag(0x0F, "Next", V1_0),
    tag(0x10, "NextNonce", V1_0),
    tag(0x11, "SharedMem", V1_0),
    tag(0x12, "Size", V1_0),
    tag(0x13, "Type", V1_0),
    tag(0x14, "Version", V1_0),
    tag(0x15, "MaxObjSize", V1_1),
    tag(0x16, "FieldLevel", V1_2),
];

/// Device information, code page 0 of a DevInf document. 0x2F is unassigned.
pub static DEVINF: CodePage = CodePage::new(Namespace::DevInf, 0, DEVINF_TAGS);

const DEVINF_TAGS: &[TagToken] = &[
    tag(0x05, "CTCap", V1_0),
    tag(0x06, "CTType", V1_0),
    tag(0x07, "DataStore", V1_0),
    tag(0x08, "DataType", V1_0),
    tag(0x09, "DevID", V1_0),
    tag(0x0A, "DevInf", V1_0),
    tag(0x0B, "DevTyp", V1_0),
    tag(0x0C, "DisplayName", V1_0),
    tag(0x0D, "DSMem", V1_0),
    tag(0x0E, "Ext", V1_0),
    tag(0x0F, "FwV", V1_0),
    tag(0x10, "HwV", V1_0),
    tag(0x11, "Man", V1_0),
    tag(0x12, "MaxGUIDSize", V1_0),
    tag(0x13, "MaxID", V1_0),
    tag(0x14, "MaxMem", V1_0),
    tag(0x15, "Mod", V1_0),
    tag(0x16, "OEM", V1_0),
    tag(0x17, "ParamName", V1_0),
    tag(0x18, "PropName", V1_0),
    tag(0x19, "Rx", V1_0),
    tag(0x1A, "Rx-Pref", V1_0),
    tag(0x1B, "SharedMem", V1_0),
    tag_until(0x1C, "Size", V1_0, V1_1),
    tag(0x1C, "MaxSize", V1_2),
    tag(0x1D, "SourceRef", V1_0),
    tag(0x1E, "SwV", V1_0),
    tag(0x1F, "SyncCap", V1_0),
    tag(0x20, "SyncType", V1_0),
    tag(0x21, "Tx", V1_0),
    tag(0x22, "Tx-Pref", V1_0),
    tag(0x23, "ValEnum", V1_0),
    tag(0x24, "VerCT", V1_0),
    tag(0x25, "VerDTD", V1_0),
    tag(0x26, "XNam", V1_0),
    tag(0x27, "XVal", V1_0),
    tag(0x28, "UTC", V1_1),
    tag(0x29, "SupportNumberOfChanges", V1_1),
    tag(0x2A, "SupportLargeObjs", V1_1),
    tag(0x2B, "Property", V1_2),
    tag(0x2C, "PropParam", V1_2),
    tag(0x2D, "MaxOccur", V1_2),
    tag(0x2E, "NoTruncate", V1_2),
    tag(0x30, "Filter-Rx", V1_2),
    tag(0x31, "FilterCap", V1_2),
    tag(0x32, "FilterKeyword", V1_2),
    tag(0x33, "FieldLevel", V1_2),
    tag(0x34, "SupportHierarchicalSync", V1_2),
];

/// The code page with this number in a document of this type.
pub fn code_page(doc: DocumentType, number: u8) -> Option<&'static CodePage> {
    match (doc, number) {
        (DocumentType::SyncMl(_), 0) => Some(&SYNCML),
        (DocumentType::SyncMl(_) | DocumentType::MetInf, 1) => Some(&METINF),
        (DocumentType::DevInf(_), 0) => Some(&DEVINF),
        _ => None,
    }
}

/// The code page that carries a namespace's elements in a document of this type.
pub fn page_of_namespace(doc: DocumentType, namespace: Namespace) -> Option<&'static CodePage> {
    match (doc, namespace) {
        (DocumentType::SyncMl(_), Namespace::SyncMl) => Some(&SYNCML),
        (DocumentType::SyncMl(_) | DocumentType::MetInf, Namespace::MetInf) => Some(&METINF),
        (DocumentType::DevInf(_), Namespace::DevInf) => Some(&DEVINF),
        _ => None,
    }
}

/// A readable name for a global token, for error messages.
pub fn global_token_name(token: u8) -> Option<&'static str> {
    use global::*;
    Some(match token {
        SWITCH_PAGE => "SWITCH_PAGE",
        END => "END",
        ENTITY => "ENTITY",
        STR_I => "STR_I",
        LITERAL => "LITERAL",
        EXT_I_0 => "EXT_I_0",
        EXT_I_1 => "EXT_I_1",
        EXT_I_2 => "EXT_I_2",
        PI => "PI",
        LITERAL_C => "LITERAL_C",
        EXT_T_0 => "EXT_T_0",
        EXT_T_1 => "EXT_T_1",
        EXT_T_2 => "EXT_T_2",
        STR_T => "STR_T",
        LITERAL_A => "LITERAL_A",
        EXT_0 => "EXT_0",
        EXT_1 => "EXT_1",
        EXT_2 => "EXT_2",
        OPAQUE => "OPAQUE",
        LITERAL_AC => "LITERAL_AC",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_page_has_unique_tokens_per_version() {
        for page in [&SYNCML, &METINF, &DEVINF] {
            for version in Version::ALL {
                let mut seen = std::collections::HashSet::new();
                for t in page.tags.iter().filter(|t| t.in_version(version)) {
                    assert!(
                        seen.insert(t.token),
                        "{:?} token 0x{:02x}",
                        page.namespace,
                        t.token
                    );
                    assert!((FIRST_TAG_ID..=TAG_ID_MASK).contains(&t.token));
                }
            }
        }
    }

    #[test]
    fn tables_are_sorted_by_token() {
        for page in [&SYNCML, &METINF, &DEVINF] {
            assert!(page.tags.windows(2).all(|w| w[0].token <= w[1].token));
        }
    }

    #[test]
    fn every_entry_is_found_in_its_versions() {
        for page in [&SYNCML, &METINF, &DEVINF] {
            for t in page.tags {
                assert_eq!(
                    page.tag_name(t.token, t.since),
                    Some(Found::InVersion(t.name))
                );
                assert_eq!(page.tag_token(t.name, t.since), Some(t.token));
            }
        }
    }

    #[test]
    fn versions_add_their_tags() {
        assert_eq!(SYNCML.tag_token("NumberOfChanges", V1_0), None);
        assert_eq!(SYNCML.tag_token("NumberOfChanges", V1_1), Some(0x33));
        assert_eq!(SYNCML.tag_token("Correlator", V1_1), None);
        assert_eq!(SYNCML.tag_token("Correlator", V1_2), Some(0x3C));
        assert_eq!(METINF.tag_token("MaxObjSize", V1_0), None);
        assert_eq!(METINF.tag_token("MaxObjSize", V1_1), Some(0x15));
        assert_eq!(METINF.tag_token("FieldLevel", V1_2), Some(0x16));
        assert_eq!(DEVINF.tag_token("UTC", V1_0), None);
        assert_eq!(DEVINF.tag_token("SupportLargeObjs", V1_1), Some(0x2A));
        assert_eq!(DEVINF.tag_token("Filter-Rx", V1_2), Some(0x30));
        assert_eq!(
            DEVINF.tag_token("SupportHierarchicalSync", V1_2),
            Some(0x34)
        );
    }

    #[test]
    fn devinf_size_is_renamed_in_1_2() {
        assert_eq!(DEVINF.tag_name(0x1C, V1_1), Some(Found::InVersion("Size")));
        assert_eq!(
            DEVINF.tag_name(0x1C, V1_2),
            Some(Found::InVersion("MaxSize"))
        );
    }

    #[test]
    fn later_tags_are_found_with_their_version() {
        assert_eq!(
            SYNCML.tag_name(0x39, V1_1),
            Some(Found::InLaterVersion("SourceParent", V1_2))
        );
        assert_eq!(
            SYNCML.tag_name(0x33, V1_0),
            Some(Found::InLaterVersion("NumberOfChanges", V1_1))
        );
        assert_eq!(SYNCML.tag_name(0x30, V1_2), None);
        assert_eq!(SYNCML.tag_name(0x3D, V1_2), None);
    }

    #[test]
    fn public_ids_round_trip() {
        for v in Version::ALL {
            for doc in [DocumentType::SyncMl(v), DocumentType::DevInf(v)] {
                assert_eq!(document_type_of_numeric(numeric_public_id(doc)), Some(doc));
                assert_eq!(document_type_of_text(text_public_id(doc)), Some(doc));
            }
        }
        assert_eq!(document_type_of_numeric(0x1202), Some(DocumentType::MetInf));
        assert_eq!(
            document_type_of_numeric(0x1203),
            Some(DocumentType::DevInf(V1_2))
        );
        assert_eq!(
            document_type_of_text("-//SYNCML//DTD MetaInf 1.2//EN"),
            Some(DocumentType::MetInf)
        );
    }

    #[test]
    fn text_public_ids_are_matched_loosely() {
        assert_eq!(
            document_type_of_text("-//syncml//dtd syncml 1.1//en"),
            Some(DocumentType::SyncMl(V1_1))
        );
        assert_eq!(
            document_type_of_text(" -//SYNCML//DTD SyncML v1.0//EN"),
            Some(DocumentType::SyncMl(V1_0))
        );
        assert_eq!(
            document_type_of_text("-//OMA//DTD DevInf 1.2//EN"),
            Some(DocumentType::DevInf(V1_2))
        );
        assert_eq!(document_type_of_text("-//WAPFORUM//DTD WML 1.3//EN"), None);
        assert_eq!(document_type_of_text("-//SYNCML//DTD SyncML 2.0//EN"), None);
    }
}
