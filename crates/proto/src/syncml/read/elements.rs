//! The elements shared by header, commands and items: targets, sources, filters,
//! credentials, items, and MetInf.

use super::{Ctx, Result};
use crate::markup::{Element, EventReader, StartTag};
use crate::syncml::metinf::{Anchor, Mem, MetInf};
use crate::syncml::model::{Chal, Cred, Extensions, Filter, Item, Source, Target};
use compact_str::CompactString;

impl<'r, 'a, R: EventReader<'a>> Ctx<'r, 'a, R> {
    pub(super) fn read_target(&mut self) -> Result<Target> {
        let (mut loc_uri, mut loc_name, mut filter) = (None, None, None);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "LocURI" if loc_uri.is_none() => loc_uri = Some(ctx.short()?),
                "LocName" if loc_name.is_none() => loc_name = Some(ctx.short()?),
                "Filter" if filter.is_none() => filter = Some(Box::new(ctx.read_filter()?)),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Target {
            loc_uri: self.required(loc_uri, "LocURI")?,
            loc_name,
            filter,
            extensions,
        })
    }

    pub(super) fn read_source(&mut self) -> Result<Source> {
        let (mut loc_uri, mut loc_name) = (None, None);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "LocURI" if loc_uri.is_none() => loc_uri = Some(ctx.short()?),
                "LocName" if loc_name.is_none() => loc_name = Some(ctx.short()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Source {
            loc_uri: self.required(loc_uri, "LocURI")?,
            loc_name,
            extensions,
        })
    }

    fn read_filter(&mut self) -> Result<Filter> {
        let (mut meta, mut field, mut record, mut filter_type) = (None, None, None, None);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "Meta" if meta.is_none() => meta = Some(ctx.read_metinf()?),
                "Field" if field.is_none() => field = Some(ctx.read_single_item()?),
                "Record" if record.is_none() => record = Some(ctx.read_single_item()?),
                "FilterType" if filter_type.is_none() => filter_type = Some(ctx.short()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Filter {
            meta: self.required(meta, "Meta")?,
            field,
            record,
            filter_type,
            extensions,
        })
    }

    /// `Field (Item)` and `Record (Item)`. Anything besides the one item is an error, as
    /// these wrappers have no place to keep it.
    fn read_single_item(&mut self) -> Result<Item> {
        let mut item = None;
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            if tag.name == "Item" && item.is_none() {
                item = Some(ctx.read_item()?);
                return Ok(true);
            }
            Ok(false)
        })?;
        if let Some(extra) = extensions.first() {
            return Err(self.error(format!(
                "unexpected <{}> in <{}>: expected one <Item>",
                extra.name,
                self.current()
            )));
        }
        self.required(item, "Item")
    }

    pub(super) fn read_cred(&mut self) -> Result<Box<Cred>> {
        let (mut meta, mut data) = (None, None);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "Meta" if meta.is_none() => meta = Some(Box::new(ctx.read_metinf()?)),
                "Data" if data.is_none() => data = Some(ctx.scalar()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Box::new(Cred {
            meta,
            data: self.required(data, "Data")?,
            extensions,
        }))
    }

    pub(super) fn read_chal(&mut self) -> Result<Box<Chal>> {
        let mut meta = None;
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            if tag.name == "Meta" && meta.is_none() {
                meta = Some(ctx.read_metinf()?);
                return Ok(true);
            }
            Ok(false)
        })?;
        Ok(Box::new(Chal {
            meta: self.required(meta, "Meta")?,
            extensions,
        }))
    }

    pub(super) fn read_item(&mut self) -> Result<Item> {
        let mut item = Item::default();
        let mut extensions = Extensions::new();
        // Unknown children of SourceParent/TargetParent, which only keep their LocURI.
        let mut from_parents = Vec::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "Target" if item.target.is_none() => item.target = Some(ctx.read_target()?),
                "Source" if item.source.is_none() => item.source = Some(ctx.read_source()?),
                "SourceParent" if item.source_parent.is_none() => {
                    item.source_parent = Some(ctx.read_parent(tag, &mut from_parents)?);
                }
                "TargetParent" if item.target_parent.is_none() => {
                    item.target_parent = Some(ctx.read_parent(tag, &mut from_parents)?);
                }
                "Meta" if item.meta.is_none() => item.meta = Some(Box::new(ctx.read_metinf()?)),
                "Data" if item.data.is_none() => item.data = Some(ctx.read_data()?),
                "MoreData" if !item.more_data => item.more_data = ctx.flag()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        extensions.extend(from_parents);
        item.extensions = extensions;
        Ok(item)
    }

    /// `SourceParent (LocURI)` or `TargetParent (LocURI)`: the URI. Anything else a phone put
    /// there (a `LocName`, vendor elements) goes to `leftovers`, to be kept by the item.
    fn read_parent(
        &mut self,
        tag: &StartTag<'_>,
        leftovers: &mut Vec<Element>,
    ) -> Result<CompactString> {
        let parent = self.read_source()?;
        if let Some(name) = parent.loc_name {
            leftovers.push(Element::new(tag.namespace, "LocName").with_text(name));
        }
        leftovers.extend(parent.extensions);
        Ok(parent.loc_uri)
    }

    pub(super) fn read_metinf(&mut self) -> Result<MetInf> {
        let mut metinf = MetInf::default();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            ctx.read_metinf_field(tag, &mut metinf)
        })?;
        metinf.extensions = extensions;
        Ok(metinf)
    }

    pub(super) fn read_metinf_field(&mut self, tag: &StartTag<'_>, m: &mut MetInf) -> Result<bool> {
        match tag.name.as_ref() {
            "Format" if m.format.is_none() => m.format = Some(self.short()?),
            "Type" if m.type_.is_none() => m.type_ = Some(self.short()?),
            "Mark" if m.mark.is_none() => m.mark = Some(self.short()?),
            "Size" if m.size.is_none() => m.size = Some(self.number()?),
            "Anchor" if m.anchor.is_none() => m.anchor = Some(self.read_anchor()?),
            "Version" if m.version.is_none() => m.version = Some(self.short()?),
            "NextNonce" if m.next_nonce.is_none() => m.next_nonce = Some(self.short()?),
            "MaxMsgSize" if m.max_msg_size.is_none() => m.max_msg_size = Some(self.number()?),
            "MaxObjSize" if m.max_obj_size.is_none() => m.max_obj_size = Some(self.number()?),
            "EMI" => m.emi.push(self.short()?),
            "Mem" if m.mem.is_none() => m.mem = Some(self.read_mem()?),
            "FieldLevel" if !m.field_level => m.field_level = self.flag()?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn read_anchor(&mut self) -> Result<Anchor> {
        let (mut last, mut next) = (None, None);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "Last" if last.is_none() => last = Some(ctx.short()?),
                "Next" if next.is_none() => next = Some(ctx.short()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Anchor {
            last,
            next: self.required(next, "Next")?,
            extensions,
        })
    }

    fn read_mem(&mut self) -> Result<Mem> {
        let mut mem = Mem::default();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "SharedMem" if !mem.shared_mem => mem.shared_mem = ctx.flag()?,
                "FreeMem" if mem.free_mem.is_none() => mem.free_mem = Some(ctx.number()?),
                "FreeID" if mem.free_id.is_none() => mem.free_id = Some(ctx.number()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        mem.extensions = extensions;
        Ok(mem)
    }
}
