//! The writer: the model to a markup [`Sink`].
//!
//! Elements are written in the order of the specification, and only what the model holds.
//! Each version gets its own element set: an element the version being written does not have
//! is left out with a debug log, with these exceptions:
//! - `SourceParent`/`TargetParent` are written under 1.1 too (Nokia phones use them there);
//! - a `Move` command cannot be left out silently, so writing one below 1.2 is an error.
//!
//! What is left out (SyncML message version): `MoreData`, `NumberOfChanges` and `MaxObjSize`
//! below 1.1; `Correlator`, `Filter`, `FieldLevel` below 1.2; `SourceParent`/`TargetParent` in
//! 1.0. (DevInf version): `UTC`, `SupportLargeObjs`, `SupportNumberOfChanges` in 1.0;
//! `SupportHierarchicalSync`, `Filter-Rx`, `FilterCap`, and in `CTCap` `VerCT`, `FieldLevel`,
//! `MaxOccur`, `NoTruncate` below 1.2; a parameter's `Size` in 1.2.
//!
//! `CTCap` is written in the layout of the DevInf version: below 1.2 one `CTCap` at DevInf
//! level holding every capability flat (DevInf-level ones first, then those of the
//! datastores); in 1.2 one `CTCap` per capability inside a datastore, DevInf-level ones going
//! to each datastore that sends or receives their content type (else to the first one; with
//! no datastore at all, they stay at DevInf level, in the 1.2 layout).

use super::devinf::{ContentType, CtCap, DataStore, DevInf, PropParam, Property};
use super::error::SyncMlError;
use super::metinf::MetInf;
use super::model::{
    Alert, Chal, Command, Container, Cred, Data, Delete, Exec, Filter, GetPut, Item, ItemCommand,
    Map, Message, Results, Search, Source, Status, Sync, SyncHdr, Target,
};
use super::read::DataPart;
use crate::markup::{
    DocumentType, Element, MarkupError, Namespace, Node, Sink, TreeBuilder, Version,
};
use compact_str::ToCompactString;

type Result<T> = std::result::Result<T, SyncMlError>;

const S: Namespace = Namespace::SyncMl;
const M: Namespace = Namespace::MetInf;
const D: Namespace = Namespace::DevInf;

impl Message {
    /// Writes the message to a sink (the XML writer, the WBXML encoder, a [`TreeBuilder`]).
    pub fn write(&self, sink: &mut impl Sink) -> std::result::Result<(), SyncMlError> {
        let mut w = Writer::new(sink, self.version);
        w.start(S, "SyncML")?;
        if let Some(header) = &self.header {
            w.header(header)?;
        }
        w.start(S, "SyncBody")?;
        for command in &self.body.commands {
            w.command(command)?;
        }
        w.flag(S, "Final", self.body.final_)?;
        w.raw(&self.body.extensions)?;
        w.end()?;
        w.raw(&self.extensions)?;
        w.end()
    }
}

impl DevInf {
    /// Writes a standalone DevInf document, in the layout of [`DevInf::ver_dtd`].
    pub fn write(&self, sink: &mut impl Sink) -> std::result::Result<(), SyncMlError> {
        Writer::new(sink, self.ver_dtd).devinf(self)
    }
}

struct Writer<'s, K: Sink> {
    sink: &'s mut K,
    /// The version of the document being written (message, or DevInf inside `devinf`).
    version: Version,
    path: Vec<&'static str>,
}

impl<'s, K: Sink> Writer<'s, K> {
    fn new(sink: &'s mut K, version: Version) -> Self {
        Writer {
            sink,
            version,
            path: Vec::new(),
        }
    }

    fn error(&self, error: MarkupError) -> SyncMlError {
        let mut e = SyncMlError::from_markup(self.path.join("/"), error);
        // The sink's position says nothing about the model.
        e.position = None;
        e
    }

    fn start(&mut self, namespace: Namespace, name: &'static str) -> Result<()> {
        self.path.push(name);
        self.sink
            .start(namespace, name, &[])
            .map_err(|e| self.error(e))
    }

    fn end(&mut self) -> Result<()> {
        self.sink.end().map_err(|e| self.error(e))?;
        self.path.pop();
        Ok(())
    }

    fn text(&mut self, text: &str) -> Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        self.sink.text(text).map_err(|e| self.error(e))
    }

    fn text_element(&mut self, namespace: Namespace, name: &'static str, text: &str) -> Result<()> {
        self.start(namespace, name)?;
        self.text(text)?;
        self.end()
    }

    fn opt_text(&mut self, ns: Namespace, name: &'static str, text: Option<&str>) -> Result<()> {
        match text {
            Some(text) => self.text_element(ns, name, text),
            None => Ok(()),
        }
    }

    fn number(
        &mut self,
        ns: Namespace,
        name: &'static str,
        value: Option<impl std::fmt::Display>,
    ) -> Result<()> {
        match value {
            Some(value) => self.text_element(ns, name, &value.to_compact_string()),
            None => Ok(()),
        }
    }

    fn flag(&mut self, ns: Namespace, name: &'static str, set: bool) -> Result<()> {
        if set {
            self.start(ns, name)?;
            self.end()?;
        }
        Ok(())
    }

    fn raw(&mut self, elements: &[Element]) -> Result<()> {
        for element in elements {
            element.write(self.sink).map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    /// Whether `what` exists in the version being written; logs when it is left out.
    fn supports(&self, since: Version, what: &str, present: bool) -> bool {
        if self.version >= since {
            return true;
        }
        if present {
            tracing::debug!(
                path = %self.path.join("/"),
                "{what} does not exist in version {}, left out",
                self.version
            );
        }
        false
    }

    // ----- header and common elements -----

    fn header(&mut self, h: &SyncHdr) -> Result<()> {
        self.start(S, "SyncHdr")?;
        self.text_element(S, "VerDTD", self.version.as_str())?;
        self.text_element(S, "VerProto", &h.ver_proto)?;
        self.text_element(S, "SessionID", &h.session_id)?;
        self.text_element(S, "MsgID", &h.msg_id.to_compact_string())?;
        self.target("Target", &h.target)?;
        self.source("Source", &h.source)?;
        self.opt_text(S, "RespURI", h.resp_uri.as_deref())?;
        self.flag(S, "NoResp", h.no_resp)?;
        self.opt_cred(h.cred.as_deref())?;
        self.opt_meta(h.meta.as_deref())?;
        self.raw(&h.extensions)?;
        self.end()
    }

    fn target(&mut self, name: &'static str, t: &Target) -> Result<()> {
        self.start(S, name)?;
        self.text_element(S, "LocURI", &t.loc_uri)?;
        self.opt_text(S, "LocName", t.loc_name.as_deref())?;
        if let Some(filter) = &t.filter {
            if self.supports(Version::V1_2, "Filter", true) {
                self.filter(filter)?;
            }
        }
        self.raw(&t.extensions)?;
        self.end()
    }

    fn source(&mut self, name: &'static str, s: &Source) -> Result<()> {
        self.start(S, name)?;
        self.text_element(S, "LocURI", &s.loc_uri)?;
        self.opt_text(S, "LocName", s.loc_name.as_deref())?;
        self.raw(&s.extensions)?;
        self.end()
    }

    fn filter(&mut self, f: &Filter) -> Result<()> {
        self.start(S, "Filter")?;
        self.meta(&f.meta)?;
        if let Some(item) = &f.field {
            self.start(S, "Field")?;
            self.item(item)?;
            self.end()?;
        }
        if let Some(item) = &f.record {
            self.start(S, "Record")?;
            self.item(item)?;
            self.end()?;
        }
        self.opt_text(S, "FilterType", f.filter_type.as_deref())?;
        self.raw(&f.extensions)?;
        self.end()
    }

    fn opt_cred(&mut self, cred: Option<&Cred>) -> Result<()> {
        let Some(c) = cred else { return Ok(()) };
        self.start(S, "Cred")?;
        self.opt_meta(c.meta.as_deref())?;
        self.text_element(S, "Data", &c.data)?;
        self.raw(&c.extensions)?;
        self.end()
    }

    fn chal(&mut self, c: &Chal) -> Result<()> {
        self.start(S, "Chal")?;
        self.meta(&c.meta)?;
        self.raw(&c.extensions)?;
        self.end()
    }

    fn opt_meta(&mut self, meta: Option<&MetInf>) -> Result<()> {
        match meta {
            Some(meta) => self.meta(meta),
            None => Ok(()),
        }
    }

    fn meta(&mut self, m: &MetInf) -> Result<()> {
        self.start(S, "Meta")?;
        self.metinf_fields(m)?;
        self.end()
    }

    /// The MetInf elements themselves (inside `<Meta>`, or inside `<Data>`).
    fn metinf_fields(&mut self, m: &MetInf) -> Result<()> {
        self.opt_text(M, "Format", m.format.as_deref())?;
        self.opt_text(M, "Type", m.type_.as_deref())?;
        self.opt_text(M, "Mark", m.mark.as_deref())?;
        self.number(M, "Size", m.size)?;
        if let Some(anchor) = &m.anchor {
            self.start(M, "Anchor")?;
            self.opt_text(M, "Last", anchor.last.as_deref())?;
            self.text_element(M, "Next", &anchor.next)?;
            self.raw(&anchor.extensions)?;
            self.end()?;
        }
        self.opt_text(M, "Version", m.version.as_deref())?;
        self.opt_text(M, "NextNonce", m.next_nonce.as_deref())?;
        self.number(M, "MaxMsgSize", m.max_msg_size)?;
        if self.supports(Version::V1_1, "MaxObjSize", m.max_obj_size.is_some()) {
            self.number(M, "MaxObjSize", m.max_obj_size)?;
        }
        for emi in &m.emi {
            self.text_element(M, "EMI", emi)?;
        }
        if let Some(mem) = &m.mem {
            self.start(M, "Mem")?;
            self.flag(M, "SharedMem", mem.shared_mem)?;
            self.number(M, "FreeMem", mem.free_mem)?;
            self.number(M, "FreeID", mem.free_id)?;
            self.raw(&mem.extensions)?;
            self.end()?;
        }
        if self.supports(Version::V1_2, "FieldLevel", m.field_level) {
            self.flag(M, "FieldLevel", m.field_level)?;
        }
        self.raw(&m.extensions)
    }

    fn item(&mut self, i: &Item) -> Result<()> {
        self.start(S, "Item")?;
        if let Some(target) = &i.target {
            self.target("Target", target)?;
        }
        if let Some(source) = &i.source {
            self.source("Source", source)?;
        }
        let parents = i.source_parent.is_some() || i.target_parent.is_some();
        if self.supports(Version::V1_1, "SourceParent/TargetParent", parents) {
            if let Some(parent) = &i.source_parent {
                self.start(S, "SourceParent")?;
                self.text_element(S, "LocURI", parent)?;
                self.end()?;
            }
            if let Some(parent) = &i.target_parent {
                self.start(S, "TargetParent")?;
                self.text_element(S, "LocURI", parent)?;
                self.end()?;
            }
        }
        self.opt_meta(i.meta.as_deref())?;
        if let Some(data) = &i.data {
            self.data(data)?;
        }
        if self.supports(Version::V1_1, "MoreData", i.more_data) {
            self.flag(S, "MoreData", i.more_data)?;
        }
        self.raw(&i.extensions)?;
        self.end()
    }

    fn items(&mut self, items: &[Item]) -> Result<()> {
        for item in items {
            self.item(item)?;
        }
        Ok(())
    }

    fn data(&mut self, data: &Data) -> Result<()> {
        self.start(S, "Data")?;
        match data {
            Data::Text(text) => self.text(text)?,
            Data::Binary(bytes) => self.sink.opaque(bytes).map_err(|e| self.error(e))?,
            Data::DevInf(devinf) => self.embedded_devinf(devinf)?,
            Data::MetInf(metinf) => self.metinf_fields(metinf)?,
            Data::Markup(nodes) => {
                for node in nodes {
                    self.node(node)?;
                }
            }
        }
        self.end()
    }

    fn node(&mut self, node: &Node) -> Result<()> {
        match node {
            Node::Element(element) => element.write(self.sink).map_err(|e| self.error(e)),
            Node::Text(text) => self.text(text),
            Node::Opaque(bytes) => self.sink.opaque(bytes).map_err(|e| self.error(e)),
            Node::Embedded(doc, root) => {
                self.sink.begin_embedded(*doc).map_err(|e| self.error(e))?;
                root.write(self.sink).map_err(|e| self.error(e))?;
                self.sink.end_embedded().map_err(|e| self.error(e))
            }
        }
    }

    fn embedded_devinf(&mut self, devinf: &DevInf) -> Result<()> {
        self.sink
            .begin_embedded(DocumentType::DevInf(devinf.ver_dtd))
            .map_err(|e| self.error(e))?;
        let message_version = std::mem::replace(&mut self.version, devinf.ver_dtd);
        let written = self.devinf(devinf);
        self.version = message_version;
        written?;
        self.sink.end_embedded().map_err(|e| self.error(e))
    }

    // ----- commands -----

    fn command(&mut self, command: &Command) -> Result<()> {
        match command {
            Command::Add(c) => self.item_command("Add", c),
            Command::Copy(c) => self.item_command("Copy", c),
            Command::Replace(c) => self.item_command("Replace", c),
            Command::Move(c) => {
                if self.version < Version::V1_2 {
                    return Err(SyncMlError::new(
                        self.path.join("/"),
                        None,
                        format!("Move does not exist in SyncML {}", self.version),
                    ));
                }
                self.item_command("Move", c)
            }
            Command::Delete(c) => self.delete(c),
            Command::Get(c) => self.get_put("Get", c),
            Command::Put(c) => self.get_put("Put", c),
            Command::Alert(c) => self.alert(c),
            Command::Atomic(c) => self.container("Atomic", c),
            Command::Sequence(c) => self.container("Sequence", c),
            Command::Exec(c) => self.exec(c),
            Command::Map(c) => self.map(c),
            Command::Results(c) => self.results(c),
            Command::Search(c) => self.search(c),
            Command::Status(c) => self.status(c),
            Command::Sync(c) => self.sync(c),
        }
    }

    fn cmd_id(&mut self, cmd_id: Option<&str>) -> Result<()> {
        self.opt_text(S, "CmdID", cmd_id)
    }

    fn item_command(&mut self, name: &'static str, c: &ItemCommand) -> Result<()> {
        self.start(S, name)?;
        self.cmd_id(c.cmd_id.as_deref())?;
        self.flag(S, "NoResp", c.no_resp)?;
        self.opt_cred(c.cred.as_deref())?;
        self.opt_meta(c.meta.as_deref())?;
        self.items(&c.items)?;
        self.raw(&c.extensions)?;
        self.end()
    }

    fn delete(&mut self, c: &Delete) -> Result<()> {
        self.start(S, "Delete")?;
        self.cmd_id(c.cmd_id.as_deref())?;
        self.flag(S, "NoResp", c.no_resp)?;
        self.flag(S, "Archive", c.archive)?;
        self.flag(S, "SftDel", c.sft_del)?;
        self.opt_cred(c.cred.as_deref())?;
        self.opt_meta(c.meta.as_deref())?;
        self.items(&c.items)?;
        self.raw(&c.extensions)?;
        self.end()
    }

    fn get_put(&mut self, name: &'static str, c: &GetPut) -> Result<()> {
        self.start(S, name)?;
        self.cmd_id(c.cmd_id.as_deref())?;
        self.flag(S, "NoResp", c.no_resp)?;
        self.opt_text(S, "Lang", c.lang.as_deref())?;
        self.opt_cred(c.cred.as_deref())?;
        self.opt_meta(c.meta.as_deref())?;
        self.items(&c.items)?;
        self.raw(&c.extensions)?;
        self.end()
    }

    fn alert(&mut self, c: &Alert) -> Result<()> {
        self.start(S, "Alert")?;
        self.cmd_id(c.cmd_id.as_deref())?;
        self.flag(S, "NoResp", c.no_resp)?;
        self.opt_cred(c.cred.as_deref())?;
        self.number(S, "Data", c.data.map(|code| code.code()))?;
        if self.supports(Version::V1_2, "Correlator", c.correlator.is_some()) {
            self.opt_text(S, "Correlator", c.correlator.as_deref())?;
        }
        self.items(&c.items)?;
        self.raw(&c.extensions)?;
        self.end()
    }

    fn container(&mut self, name: &'static str, c: &Container) -> Result<()> {
        self.start(S, name)?;
        self.cmd_id(c.cmd_id.as_deref())?;
        self.flag(S, "NoResp", c.no_resp)?;
        self.opt_meta(c.meta.as_deref())?;
        for command in &c.commands {
            self.command(command)?;
        }
        self.raw(&c.extensions)?;
        self.end()
    }

    fn exec(&mut self, c: &Exec) -> Result<()> {
        self.start(S, "Exec")?;
        self.cmd_id(c.cmd_id.as_deref())?;
        self.flag(S, "NoResp", c.no_resp)?;
        self.opt_cred(c.cred.as_deref())?;
        self.opt_meta(c.meta.as_deref())?;
        if self.supports(Version::V1_2, "Correlator", c.correlator.is_some()) {
            self.opt_text(S, "Correlator", c.correlator.as_deref())?;
        }
        self.item(&c.item)?;
        self.raw(&c.extensions)?;
        self.end()
    }

    fn map(&mut self, c: &Map) -> Result<()> {
        self.start(S, "Map")?;
        self.cmd_id(c.cmd_id.as_deref())?;
        self.target("Target", &c.target)?;
        self.source("Source", &c.source)?;
        self.opt_cred(c.cred.as_deref())?;
        self.opt_meta(c.meta.as_deref())?;
        for map_item in &c.map_items {
            self.start(S, "MapItem")?;
            self.target("Target", &map_item.target)?;
            self.source("Source", &map_item.source)?;
            self.raw(&map_item.extensions)?;
            self.end()?;
        }
        self.raw(&c.extensions)?;
        self.end()
    }

    fn results(&mut self, c: &Results) -> Result<()> {
        self.start(S, "Results")?;
        self.cmd_id(c.cmd_id.as_deref())?;
        self.number(S, "MsgRef", c.msg_ref)?;
        self.opt_text(S, "CmdRef", c.cmd_ref.as_deref())?;
        self.opt_meta(c.meta.as_deref())?;
        for target_ref in &c.target_refs {
            self.text_element(S, "TargetRef", target_ref)?;
        }
        for source_ref in &c.source_refs {
            self.text_element(S, "SourceRef", source_ref)?;
        }
        self.items(&c.items)?;
        self.raw(&c.extensions)?;
        self.end()
    }

    fn search(&mut self, c: &Search) -> Result<()> {
        self.start(S, "Search")?;
        self.cmd_id(c.cmd_id.as_deref())?;
        self.flag(S, "NoResp", c.no_resp)?;
        self.flag(S, "NoResults", c.no_results)?;
        self.opt_cred(c.cred.as_deref())?;
        if let Some(target) = &c.target {
            self.target("Target", target)?;
        }
        for source in &c.sources {
            self.source("Source", source)?;
        }
        self.opt_text(S, "Lang", c.lang.as_deref())?;
        self.meta(&c.meta)?;
        self.data(&c.data)?;
        self.raw(&c.extensions)?;
        self.end()
    }

    fn status(&mut self, c: &Status) -> Result<()> {
        self.start(S, "Status")?;
        self.cmd_id(c.cmd_id.as_deref())?;
        self.text_element(S, "MsgRef", &c.msg_ref.to_compact_string())?;
        self.text_element(S, "CmdRef", &c.cmd_ref)?;
        self.text_element(S, "Cmd", &c.cmd)?;
        for target_ref in &c.target_refs {
            self.text_element(S, "TargetRef", target_ref)?;
        }
        for source_ref in &c.source_refs {
            self.text_element(S, "SourceRef", source_ref)?;
        }
        self.opt_cred(c.cred.as_deref())?;
        if let Some(chal) = &c.chal {
            self.chal(chal)?;
        }
        self.text_element(S, "Data", &c.data.code().to_compact_string())?;
        self.items(&c.items)?;
        self.raw(&c.extensions)?;
        self.end()
    }

    fn sync(&mut self, c: &Sync) -> Result<()> {
        self.start(S, "Sync")?;
        self.cmd_id(c.cmd_id.as_deref())?;
        self.flag(S, "NoResp", c.no_resp)?;
        self.opt_cred(c.cred.as_deref())?;
        if let Some(target) = &c.target {
            self.target("Target", target)?;
        }
        if let Some(source) = &c.source {
            self.source("Source", source)?;
        }
        self.opt_meta(c.meta.as_deref())?;
        if self.supports(
            Version::V1_1,
            "NumberOfChanges",
            c.number_of_changes.is_some(),
        ) {
            self.number(S, "NumberOfChanges", c.number_of_changes)?;
        }
        for command in &c.commands {
            self.command(command)?;
        }
        self.raw(&c.extensions)?;
        self.end()
    }

    // ----- DevInf (self.version is the DevInf version here) -----

    fn devinf(&mut self, d: &DevInf) -> Result<()> {
        self.start(D, "DevInf")?;
        self.text_element(D, "VerDTD", d.ver_dtd.as_str())?;
        self.opt_text(D, "Man", d.man.as_deref())?;
        self.opt_text(D, "Mod", d.model.as_deref())?;
        self.opt_text(D, "OEM", d.oem.as_deref())?;
        self.opt_text(D, "FwV", d.fw_v.as_deref())?;
        self.opt_text(D, "SwV", d.sw_v.as_deref())?;
        self.opt_text(D, "HwV", d.hw_v.as_deref())?;
        self.opt_text(D, "DevID", d.dev_id.as_deref())?;
        self.opt_text(D, "DevTyp", d.dev_typ.as_deref())?;
        let flags = d.utc || d.support_large_objs || d.support_number_of_changes;
        if self.supports(
            Version::V1_1,
            "UTC/SupportLargeObjs/SupportNumberOfChanges",
            flags,
        ) {
            self.flag(D, "UTC", d.utc)?;
            self.flag(D, "SupportLargeObjs", d.support_large_objs)?;
            self.flag(D, "SupportNumberOfChanges", d.support_number_of_changes)?;
        }
        let layout_1_2 = self.version >= Version::V1_2;
        for (index, store) in d.data_stores.iter().enumerate() {
            let moved: Vec<&CtCap> = if layout_1_2 {
                d.ct_caps
                    .iter()
                    .filter(|cap| {
                        store.handles_content_type(&cap.ct_type)
                            || (index == 0
                                && !d
                                    .data_stores
                                    .iter()
                                    .any(|s| s.handles_content_type(&cap.ct_type)))
                    })
                    .collect()
            } else {
                Vec::new()
            };
            self.data_store(store, &moved)?;
        }
        if layout_1_2 {
            if d.data_stores.is_empty() {
                // No datastore to hold them: at DevInf level rather than lost.
                for cap in &d.ct_caps {
                    tracing::debug!("DevInf 1.2 without a datastore: CTCap kept at DevInf level");
                    self.ct_cap_1_2(cap)?;
                }
            }
        } else {
            let from_stores = d.data_stores.iter().flat_map(|s| s.ct_caps.iter());
            let all: Vec<&CtCap> = d.ct_caps.iter().chain(from_stores).collect();
            if !all.is_empty() {
                self.flat_ct_cap(&all)?;
            }
        }
        for ext in &d.exts {
            self.start(D, "Ext")?;
            self.text_element(D, "XNam", &ext.xnam)?;
            for xval in &ext.xvals {
                self.text_element(D, "XVal", xval)?;
            }
            self.raw(&ext.extensions)?;
            self.end()?;
        }
        self.raw(&d.extensions)?;
        self.end()
    }

    fn data_store(&mut self, s: &DataStore, caps_from_devinf: &[&CtCap]) -> Result<()> {
        self.start(D, "DataStore")?;
        self.text_element(D, "SourceRef", &s.source_ref)?;
        self.opt_text(D, "DisplayName", s.display_name.as_deref())?;
        self.number(D, "MaxGUIDSize", s.max_guid_size)?;
        self.content_types("Rx-Pref", &s.rx_pref)?;
        self.content_types("Rx", &s.rx)?;
        self.content_types("Tx-Pref", &s.tx_pref)?;
        self.content_types("Tx", &s.tx)?;
        if self.version >= Version::V1_2 {
            for cap in s.ct_caps.iter().chain(caps_from_devinf.iter().copied()) {
                self.ct_cap_1_2(cap)?;
            }
        }
        if let Some(mem) = &s.ds_mem {
            self.start(D, "DSMem")?;
            self.flag(D, "SharedMem", mem.shared_mem)?;
            self.number(D, "MaxMem", mem.max_mem)?;
            self.number(D, "MaxID", mem.max_id)?;
            self.raw(&mem.extensions)?;
            self.end()?;
        }
        let hierarchical = s.support_hierarchical_sync;
        if self.supports(Version::V1_2, "SupportHierarchicalSync", hierarchical) {
            self.flag(D, "SupportHierarchicalSync", hierarchical)?;
        }
        if let Some(cap) = &s.sync_cap {
            self.start(D, "SyncCap")?;
            for sync_type in &cap.sync_types {
                self.text_element(D, "SyncType", &sync_type.to_compact_string())?;
            }
            self.raw(&cap.extensions)?;
            self.end()?;
        }
        let filters = !s.filter_rx.is_empty() || !s.filter_caps.is_empty();
        if self.supports(Version::V1_2, "Filter-Rx/FilterCap", filters) {
            self.content_types("Filter-Rx", &s.filter_rx)?;
            for cap in &s.filter_caps {
                self.start(D, "FilterCap")?;
                self.text_element(D, "CTType", &cap.ct_type)?;
                self.opt_text(D, "VerCT", cap.ver_ct.as_deref())?;
                for keyword in &cap.filter_keywords {
                    self.text_element(D, "FilterKeyword", keyword)?;
                }
                for name in &cap.prop_names {
                    self.text_element(D, "PropName", name)?;
                }
                self.raw(&cap.extensions)?;
                self.end()?;
            }
        }
        self.raw(&s.extensions)?;
        self.end()
    }

    fn content_types(&mut self, name: &'static str, types: &[ContentType]) -> Result<()> {
        for t in types {
            self.start(D, name)?;
            self.text_element(D, "CTType", &t.ct_type)?;
            self.opt_text(D, "VerCT", t.ver_ct.as_deref())?;
            self.raw(&t.extensions)?;
            self.end()?;
        }
        Ok(())
    }

    fn ct_cap_1_2(&mut self, cap: &CtCap) -> Result<()> {
        self.start(D, "CTCap")?;
        self.text_element(D, "CTType", &cap.ct_type)?;
        self.opt_text(D, "VerCT", cap.ver_ct.as_deref())?;
        self.flag(D, "FieldLevel", cap.field_level)?;
        // Before the properties: kept elements such as a stray `ValEnum` must not be read
        // back as a property's.
        self.raw(&cap.extensions)?;
        for p in &cap.properties {
            self.property_1_2(p)?;
        }
        self.end()
    }

    fn property_1_2(&mut self, p: &Property) -> Result<()> {
        self.start(D, "Property")?;
        self.text_element(D, "PropName", &p.name)?;
        self.opt_text(D, "DataType", p.data_type.as_deref())?;
        self.number(D, "MaxOccur", p.max_occur)?;
        self.number(D, "MaxSize", p.max_size)?;
        self.flag(D, "NoTruncate", p.no_truncate)?;
        for value in &p.val_enums {
            self.text_element(D, "ValEnum", value)?;
        }
        self.opt_text(D, "DisplayName", p.display_name.as_deref())?;
        for param in &p.params {
            self.prop_param_1_2(param)?;
        }
        self.raw(&p.extensions)?;
        self.end()
    }

    fn prop_param_1_2(&mut self, p: &PropParam) -> Result<()> {
        self.start(D, "PropParam")?;
        self.text_element(D, "ParamName", &p.name)?;
        self.opt_text(D, "DataType", p.data_type.as_deref())?;
        if p.max_size.is_some() {
            tracing::debug!("a parameter's Size does not exist in DevInf 1.2, left out");
        }
        for value in &p.val_enums {
            self.text_element(D, "ValEnum", value)?;
        }
        self.opt_text(D, "DisplayName", p.display_name.as_deref())?;
        self.raw(&p.extensions)?;
        self.end()
    }

    /// One DevInf-level `CTCap` in the flat 1.0/1.1 layout. Unknown elements of properties
    /// and parameters follow them (a reader puts them in the capability's `extensions`); the
    /// capability's own come right after its `CTType`, where no property can claim them.
    fn flat_ct_cap(&mut self, caps: &[&CtCap]) -> Result<()> {
        self.start(D, "CTCap")?;
        for cap in caps {
            self.text_element(D, "CTType", &cap.ct_type)?;
            self.supports(Version::V1_2, "VerCT in CTCap", cap.ver_ct.is_some());
            self.supports(Version::V1_2, "FieldLevel in CTCap", cap.field_level);
            self.raw(&cap.extensions)?;
            for p in &cap.properties {
                self.text_element(D, "PropName", &p.name)?;
                for value in &p.val_enums {
                    self.text_element(D, "ValEnum", value)?;
                }
                self.opt_text(D, "DataType", p.data_type.as_deref())?;
                self.number(D, "Size", p.max_size)?;
                self.supports(Version::V1_2, "MaxOccur", p.max_occur.is_some());
                self.supports(Version::V1_2, "NoTruncate", p.no_truncate);
                self.opt_text(D, "DisplayName", p.display_name.as_deref())?;
                self.raw(&p.extensions)?;
                for param in &p.params {
                    self.text_element(D, "ParamName", &param.name)?;
                    for value in &param.val_enums {
                        self.text_element(D, "ValEnum", value)?;
                    }
                    self.opt_text(D, "DataType", param.data_type.as_deref())?;
                    self.number(D, "Size", param.max_size)?;
                    self.opt_text(D, "DisplayName", param.display_name.as_deref())?;
                    self.raw(&param.extensions)?;
                }
            }
        }
        self.end()
    }
}

/// The nodes of a `<Data>` whose content does not fit one of the typed variants: typed parts
/// the reader recognised are turned back into elements.
pub(crate) fn markup_of_data_parts(
    parts: Vec<DataPart>,
    version: Version,
) -> std::result::Result<Vec<Node>, SyncMlError> {
    let mut nodes = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            DataPart::Text(text) => nodes.push(Node::Text(text)),
            DataPart::Opaque(bytes) => nodes.push(Node::Opaque(bytes)),
            DataPart::Element(element) => nodes.push(Node::Element(element)),
            DataPart::DevInf(devinf) => {
                let mut builder = TreeBuilder::new();
                devinf.write(&mut builder)?;
                let root = builder
                    .finish()
                    .map_err(|e| SyncMlError::from_markup(String::new(), e))?;
                nodes.push(Node::Embedded(DocumentType::DevInf(devinf.ver_dtd), root));
            }
            DataPart::MetInf(metinf) => {
                // Written inside a scratch element, whose children are the MetInf elements.
                let mut builder = TreeBuilder::new();
                let mut w = Writer::new(&mut builder, version);
                w.start(S, "Data")?;
                w.metinf_fields(&metinf)?;
                w.end()?;
                let scratch = builder
                    .finish()
                    .map_err(|e| SyncMlError::from_markup(String::new(), e))?;
                nodes.extend(scratch.children);
            }
        }
    }
    Ok(nodes)
}
