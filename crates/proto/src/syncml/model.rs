//! The SyncML message: header, body and every SyncML 1.2 command.
//!
//! Conventions, for all structs here:
//! - `CmdID` and the references to it (`CmdRef`) are kept as the trimmed string the phone sent
//!   (`"-1"`, `"0012"`, ...): the engine only ever echoes them back. `MsgID` and `MsgRef` are
//!   numbers; a non-numeric one is a read error.
//! - `cmd_id` is an `Option`: the specification requires it, but fragments such as the libwbxml
//!   test messages omit it inside `Sync`, and the model must be able to say so.
//! - Scalars are trimmed; item payloads ([`Data::Text`]) are kept exactly.
//! - Elements the model does not know (vendor extensions, elements where the specification puts
//!   none, a second copy of a single element) are kept verbatim in `extensions` and written
//!   back after the known children of the same element.

use super::devinf::DevInf;
use super::metinf::MetInf;
use super::status::{AlertCode, StatusCode};
use crate::markup::{Element, Node, Version};
pub use compact_str::CompactString;

/// Elements kept verbatim in a struct's `extensions` (see the module documentation).
///
/// Nearly always empty: then it is one null pointer and no allocation, which matters for
/// structure-heavy messages (a `MapItem` has three). Reads as a slice of elements.
// One pointer where a `Vec` is three: the extra allocation is only made when there are
// elements, which is rare.
#[allow(clippy::box_collection)]
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Extensions(Option<Box<Vec<Element>>>);

impl Extensions {
    /// No elements.
    pub const fn new() -> Extensions {
        Extensions(None)
    }

    pub fn push(&mut self, element: Element) {
        self.0.get_or_insert_with(Box::default).push(element);
    }

    pub fn as_slice(&self) -> &[Element] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }

    pub fn as_mut_slice(&mut self) -> &mut [Element] {
        self.0.as_deref_mut().map_or(&mut [], Vec::as_mut_slice)
    }

    /// Moves the elements of `other` to the end, leaving `other` empty.
    pub fn append(&mut self, other: &mut Extensions) {
        match (&mut self.0, other.0.take()) {
            (Some(mine), Some(mut theirs)) => mine.append(&mut theirs),
            (mine @ None, theirs) => *mine = theirs,
            (_, None) => {}
        }
    }

    /// Puts `leading` before the elements there are.
    pub fn prepend(&mut self, mut leading: Extensions) {
        std::mem::swap(self, &mut leading);
        self.append(&mut leading);
    }

    /// The elements, as a vector.
    pub fn into_vec(self) -> Vec<Element> {
        self.0.map_or_else(Vec::new, |elements| *elements)
    }
}

impl std::ops::Deref for Extensions {
    type Target = [Element];
    fn deref(&self) -> &[Element] {
        self.as_slice()
    }
}

impl std::ops::DerefMut for Extensions {
    fn deref_mut(&mut self) -> &mut [Element] {
        self.as_mut_slice()
    }
}

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_slice().fmt(f)
    }
}

impl From<Vec<Element>> for Extensions {
    fn from(elements: Vec<Element>) -> Extensions {
        // Never an empty vector inside: the derived equality relies on it.
        Extensions((!elements.is_empty()).then(|| Box::new(elements)))
    }
}

impl From<Extensions> for Vec<Element> {
    fn from(extensions: Extensions) -> Vec<Element> {
        extensions.into_vec()
    }
}

impl FromIterator<Element> for Extensions {
    fn from_iter<I: IntoIterator<Item = Element>>(iter: I) -> Extensions {
        Extensions::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl Extend<Element> for Extensions {
    fn extend<I: IntoIterator<Item = Element>>(&mut self, iter: I) {
        for element in iter {
            self.push(element);
        }
    }
}

impl<'e> IntoIterator for &'e Extensions {
    type Item = &'e Element;
    type IntoIter = std::slice::Iter<'e, Element>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl IntoIterator for Extensions {
    type Item = Element;
    type IntoIter = std::vec::IntoIter<Element>;
    fn into_iter(self) -> Self::IntoIter {
        self.into_vec().into_iter()
    }
}

impl PartialEq<[Element]> for Extensions {
    fn eq(&self, other: &[Element]) -> bool {
        self.as_slice() == other
    }
}

impl<const N: usize> PartialEq<[Element; N]> for Extensions {
    fn eq(&self, other: &[Element; N]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<Vec<Element>> for Extensions {
    fn eq(&self, other: &Vec<Element>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

/// One SyncML message.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// From `VerDTD` (else from the document type the reader found).
    pub version: Version,
    /// `None` only for fragments without a `SyncHdr`, which the reader accepts; a server
    /// cannot answer such a message.
    pub header: Option<SyncHdr>,
    pub body: SyncBody,
    /// Unknown elements directly under `<SyncML>`.
    pub extensions: Extensions,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SyncHdr {
    /// `VerProto`: `SyncML/1.1`, `SyncML/1.2`... (`DM/1.1` for device management).
    pub ver_proto: CompactString,
    /// Possibly empty (`<SessionID/>`).
    pub session_id: CompactString,
    pub msg_id: u32,
    pub target: Target,
    pub source: Source,
    pub resp_uri: Option<CompactString>,
    pub no_resp: bool,
    pub cred: Option<Box<Cred>>,
    pub meta: Option<Box<MetInf>>,
    pub extensions: Extensions,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncBody {
    pub commands: Vec<Command>,
    /// `<Final/>`: the last message of the package.
    pub final_: bool,
    pub extensions: Extensions,
}

/// `Target (LocURI, LocName?, Filter?)`. The filter is SyncML 1.2.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Target {
    pub loc_uri: CompactString,
    pub loc_name: Option<CompactString>,
    pub filter: Option<Box<Filter>>,
    pub extensions: Extensions,
}

/// `Source (LocURI, LocName?)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Source {
    pub loc_uri: CompactString,
    pub loc_name: Option<CompactString>,
    pub extensions: Extensions,
}

impl Target {
    pub fn new(loc_uri: impl Into<CompactString>) -> Target {
        Target {
            loc_uri: loc_uri.into(),
            ..Target::default()
        }
    }
}

impl Source {
    pub fn new(loc_uri: impl Into<CompactString>) -> Source {
        Source {
            loc_uri: loc_uri.into(),
            ..Source::default()
        }
    }
}

/// `Cred (Meta?, Data)`: credentials; `data` is trimmed (base64 or plain).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cred {
    pub meta: Option<Box<MetInf>>,
    pub data: String,
    pub extensions: Extensions,
}

/// `Chal (Meta)`: an authentication challenge.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Chal {
    pub meta: MetInf,
    pub extensions: Extensions,
}

/// `Filter (Meta, Field?, Record?, FilterType?)`, SyncML 1.2, inside a `Target`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub meta: MetInf,
    /// `Field (Item)`.
    pub field: Option<Item>,
    /// `Record (Item)`.
    pub record: Option<Item>,
    pub filter_type: Option<CompactString>,
    pub extensions: Extensions,
}

/// `Item (Target?, Source?, SourceParent?, TargetParent?, Meta?, Data?, MoreData?)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Item {
    pub target: Option<Target>,
    pub source: Option<Source>,
    /// The `LocURI` of `SourceParent` (1.2; Nokia sends it under 1.1 too).
    pub source_parent: Option<CompactString>,
    /// The `LocURI` of `TargetParent` (1.2; Nokia sends it under 1.1 too).
    pub target_parent: Option<CompactString>,
    pub meta: Option<Box<MetInf>>,
    pub data: Option<Data>,
    /// `<MoreData/>`: a chunk of a large object follows (1.1 and later).
    pub more_data: bool,
    pub extensions: Extensions,
}

/// What an item's `<Data>` holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// Text: vCard/vCalendar payloads, kept exactly as sent (never trimmed).
    Text(String),
    /// Bytes that are not UTF-8 (WBXML OPAQUE): binary data, or text in another charset
    /// (Latin-1 vCards); the PIM layer decides.
    Binary(Vec<u8>),
    /// A device information document (`Put`/`Results` of `./devinf11`...).
    DevInf(Box<DevInf>),
    /// MetInf elements, such as the `Anchor` in the `Status` of an `Alert`.
    MetInf(Box<MetInf>),
    /// Anything else (unknown elements, or elements mixed with text), kept as it came.
    Markup(Vec<Node>),
}

impl Data {
    /// The text, if this is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Data::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The payload as bytes, for text and binary data.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Data::Text(t) => Some(t.as_bytes()),
            Data::Binary(b) => Some(b),
            _ => None,
        }
    }
}

/// `MapItem (Target, Source)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MapItem {
    pub target: Target,
    pub source: Source,
    pub extensions: Extensions,
}

/// A SyncML command.
// Structure-heavy messages hold thousands of commands, so the enum is kept small: the large,
// rare variants (`Exec`, `Search`, and `Sync`, `Map`, `Results`, of which a message holds a
// few) are boxed; the common ones (`Status`, `Add`, `Replace`, `Delete`...) stay inline.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Add(ItemCommand),
    Alert(Alert),
    Atomic(Container),
    Copy(ItemCommand),
    Delete(Delete),
    Exec(Box<Exec>),
    Get(GetPut),
    Map(Box<Map>),
    /// SyncML 1.2 only.
    Move(ItemCommand),
    Put(GetPut),
    Replace(ItemCommand),
    Results(Box<Results>),
    Search(Box<Search>),
    Sequence(Container),
    Status(Status),
    Sync(Box<Sync>),
}

impl Command {
    /// The items the command carries directly (an `Exec`'s one item; none for `Map`, whose
    /// map items are not items, and for containers).
    pub fn items(&self) -> &[Item] {
        match self {
            Command::Add(c) | Command::Copy(c) | Command::Move(c) | Command::Replace(c) => &c.items,
            Command::Alert(c) => &c.items,
            Command::Delete(c) => &c.items,
            Command::Exec(c) => std::slice::from_ref(&c.item),
            Command::Get(c) | Command::Put(c) => &c.items,
            Command::Results(c) => &c.items,
            Command::Status(c) => &c.items,
            Command::Atomic(_)
            | Command::Sequence(_)
            | Command::Sync(_)
            | Command::Map(_)
            | Command::Search(_) => &[],
        }
    }

    /// The commands nested in an `Atomic`, `Sequence` or `Sync`.
    pub fn commands(&self) -> &[Command] {
        match self {
            Command::Atomic(c) | Command::Sequence(c) => &c.commands,
            Command::Sync(c) => &c.commands,
            _ => &[],
        }
    }

    /// The element name (`"Add"`, `"Status"`...), as a `Status`' `Cmd` names it.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Add(_) => "Add",
            Command::Alert(_) => "Alert",
            Command::Atomic(_) => "Atomic",
            Command::Copy(_) => "Copy",
            Command::Delete(_) => "Delete",
            Command::Exec(_) => "Exec",
            Command::Get(_) => "Get",
            Command::Map(_) => "Map",
            Command::Move(_) => "Move",
            Command::Put(_) => "Put",
            Command::Replace(_) => "Replace",
            Command::Results(_) => "Results",
            Command::Search(_) => "Search",
            Command::Sequence(_) => "Sequence",
            Command::Status(_) => "Status",
            Command::Sync(_) => "Sync",
        }
    }

    pub fn cmd_id(&self) -> Option<&str> {
        match self {
            Command::Add(c) | Command::Copy(c) | Command::Move(c) | Command::Replace(c) => {
                c.cmd_id.as_deref()
            }
            Command::Alert(c) => c.cmd_id.as_deref(),
            Command::Atomic(c) | Command::Sequence(c) => c.cmd_id.as_deref(),
            Command::Delete(c) => c.cmd_id.as_deref(),
            Command::Exec(c) => c.cmd_id.as_deref(),
            Command::Get(c) | Command::Put(c) => c.cmd_id.as_deref(),
            Command::Map(c) => c.cmd_id.as_deref(),
            Command::Results(c) => c.cmd_id.as_deref(),
            Command::Search(c) => c.cmd_id.as_deref(),
            Command::Status(c) => c.cmd_id.as_deref(),
            Command::Sync(c) => c.cmd_id.as_deref(),
        }
    }

    /// Whether the command asked for no status (`<NoResp/>`).
    pub fn no_resp(&self) -> bool {
        match self {
            Command::Add(c) | Command::Copy(c) | Command::Move(c) | Command::Replace(c) => {
                c.no_resp
            }
            Command::Alert(c) => c.no_resp,
            Command::Atomic(c) | Command::Sequence(c) => c.no_resp,
            Command::Delete(c) => c.no_resp,
            Command::Exec(c) => c.no_resp,
            Command::Get(c) | Command::Put(c) => c.no_resp,
            Command::Search(c) => c.no_resp,
            Command::Sync(c) => c.no_resp,
            Command::Map(_) | Command::Results(_) | Command::Status(_) => false,
        }
    }
}

/// `Add`, `Copy`, `Move`, `Replace`: `(CmdID, NoResp?, Cred?, Meta?, Item+)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ItemCommand {
    pub cmd_id: Option<CompactString>,
    pub no_resp: bool,
    pub cred: Option<Box<Cred>>,
    pub meta: Option<Box<MetInf>>,
    pub items: Vec<Item>,
    pub extensions: Extensions,
}

/// `Delete (CmdID, NoResp?, Archive?, SftDel?, Cred?, Meta?, Item+)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Delete {
    pub cmd_id: Option<CompactString>,
    pub no_resp: bool,
    pub archive: bool,
    /// Soft delete.
    pub sft_del: bool,
    pub cred: Option<Box<Cred>>,
    pub meta: Option<Box<MetInf>>,
    pub items: Vec<Item>,
    pub extensions: Extensions,
}

/// `Get` and `Put`: `(CmdID, NoResp?, Lang?, Cred?, Meta?, Item+)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GetPut {
    pub cmd_id: Option<CompactString>,
    pub no_resp: bool,
    pub lang: Option<CompactString>,
    pub cred: Option<Box<Cred>>,
    pub meta: Option<Box<MetInf>>,
    pub items: Vec<Item>,
    pub extensions: Extensions,
}

/// `Alert (CmdID, NoResp?, Cred?, Data?, Correlator?, Item*)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Alert {
    pub cmd_id: Option<CompactString>,
    pub no_resp: bool,
    pub cred: Option<Box<Cred>>,
    /// The alert code in `Data`.
    pub data: Option<AlertCode>,
    /// SyncML 1.2.
    pub correlator: Option<CompactString>,
    pub items: Vec<Item>,
    pub extensions: Extensions,
}

/// `Atomic` and `Sequence`: `(CmdID, NoResp?, Meta?, commands+)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Container {
    pub cmd_id: Option<CompactString>,
    pub no_resp: bool,
    pub meta: Option<Box<MetInf>>,
    pub commands: Vec<Command>,
    pub extensions: Extensions,
}

/// `Exec (CmdID, NoResp?, Cred?, Meta?, Correlator?, Item)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Exec {
    pub cmd_id: Option<CompactString>,
    pub no_resp: bool,
    pub cred: Option<Box<Cred>>,
    pub meta: Option<Box<MetInf>>,
    /// SyncML 1.2.
    pub correlator: Option<CompactString>,
    pub item: Item,
    pub extensions: Extensions,
}

/// `Map (CmdID, Target, Source, Cred?, Meta?, MapItem+)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Map {
    pub cmd_id: Option<CompactString>,
    pub target: Target,
    pub source: Source,
    pub cred: Option<Box<Cred>>,
    pub meta: Option<Box<MetInf>>,
    pub map_items: Vec<MapItem>,
    pub extensions: Extensions,
}

/// `Results (CmdID, MsgRef?, CmdRef, Meta?, TargetRef?, SourceRef?, Item+)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Results {
    pub cmd_id: Option<CompactString>,
    pub msg_ref: Option<u32>,
    /// Required by the specification; optional here as some stacks leave it out (buteo).
    pub cmd_ref: Option<CompactString>,
    pub meta: Option<Box<MetInf>>,
    pub target_refs: Vec<CompactString>,
    pub source_refs: Vec<CompactString>,
    pub items: Vec<Item>,
    pub extensions: Extensions,
}

/// `Search (CmdID, NoResp?, NoResults?, Cred?, Target?, Source+, Lang?, Meta, Data)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Search {
    pub cmd_id: Option<CompactString>,
    pub no_resp: bool,
    pub no_results: bool,
    pub cred: Option<Box<Cred>>,
    pub target: Option<Target>,
    pub sources: Vec<Source>,
    pub lang: Option<CompactString>,
    pub meta: MetInf,
    /// The query, kept exactly.
    pub data: Data,
    pub extensions: Extensions,
}

/// `Status (CmdID, MsgRef, CmdRef, Cmd, TargetRef*, SourceRef*, Cred?, Chal?, Data, Item*)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    pub cmd_id: Option<CompactString>,
    pub msg_ref: u32,
    /// `"0"` for the header.
    pub cmd_ref: CompactString,
    /// The element name of the command (`"SyncHdr"` for the header).
    pub cmd: CompactString,
    pub target_refs: Vec<CompactString>,
    pub source_refs: Vec<CompactString>,
    pub cred: Option<Box<Cred>>,
    pub chal: Option<Box<Chal>>,
    pub data: StatusCode,
    pub items: Vec<Item>,
    pub extensions: Extensions,
}

impl Status {
    /// A status answering a command: `cmd_id` is this status' own id, `msg_ref`/`cmd_ref`/`cmd`
    /// name the command answered.
    pub fn for_command(
        cmd_id: impl Into<CompactString>,
        msg_ref: u32,
        cmd_ref: impl Into<CompactString>,
        cmd: impl Into<CompactString>,
        code: StatusCode,
    ) -> Status {
        Status {
            cmd_id: Some(cmd_id.into()),
            msg_ref,
            cmd_ref: cmd_ref.into(),
            cmd: cmd.into(),
            target_refs: Vec::new(),
            source_refs: Vec::new(),
            cred: None,
            chal: None,
            data: code,
            items: Vec::new(),
            extensions: Extensions::new(),
        }
    }

    /// The status of a message's header (`CmdRef` 0, `Cmd` SyncHdr), with the header's target
    /// and source as references.
    pub fn for_header(
        cmd_id: impl Into<CompactString>,
        header: &SyncHdr,
        code: StatusCode,
    ) -> Status {
        let mut status = Status::for_command(cmd_id, header.msg_id, "0", "SyncHdr", code);
        status.target_refs.push(header.target.loc_uri.clone());
        status.source_refs.push(header.source.loc_uri.clone());
        status
    }
}

/// `Sync (CmdID, NoResp?, Cred?, Target?, Source?, Meta?, NumberOfChanges?, commands*)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sync {
    pub cmd_id: Option<CompactString>,
    pub no_resp: bool,
    pub cred: Option<Box<Cred>>,
    pub target: Option<Target>,
    pub source: Option<Source>,
    pub meta: Option<Box<MetInf>>,
    /// SyncML 1.1 and later.
    pub number_of_changes: Option<u32>,
    pub commands: Vec<Command>,
    pub extensions: Extensions,
}
