//! DevInf: the device, its datastores and their content-type capabilities in both layouts
//! (1.2, and the flat 1.0/1.1 `CTCap`).

use super::{Ctx, Result};
use crate::markup::{Element, EventReader, Namespace, StartTag, Version};
use crate::syncml::devinf::{
    ContentType, CtCap, DataStore, DevInf, DsMem, Ext, FilterCap, PropParam, Property, SyncCap,
};
use crate::syncml::model::Extensions;

impl<'r, 'a, R: EventReader<'a>> Ctx<'r, 'a, R> {
    pub(super) fn read_devinf_document(&mut self) -> Result<DevInf> {
        self.expect_root("DevInf")?;
        self.read_devinf_after_root()
    }

    fn read_devinf_after_root(&mut self) -> Result<DevInf> {
        self.enter("DevInf")?;
        let devinf = self.read_devinf_body()?;
        self.path.pop();
        self.expect_document_end("DevInf")?;
        Ok(devinf)
    }

    pub(super) fn read_devinf_body(&mut self) -> Result<DevInf> {
        let mut ver_dtd = None;
        let mut d = DevInf::new(Version::V1_2);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "VerDTD" if ver_dtd.is_none() => ver_dtd = Some(ctx.ver_dtd("DevInf")?),
                "Man" if d.man.is_none() => d.man = Some(ctx.scalar()?),
                "Mod" if d.model.is_none() => d.model = Some(ctx.scalar()?),
                "OEM" if d.oem.is_none() => d.oem = Some(ctx.scalar()?),
                "FwV" if d.fw_v.is_none() => d.fw_v = Some(ctx.scalar()?),
                "SwV" if d.sw_v.is_none() => d.sw_v = Some(ctx.scalar()?),
                "HwV" if d.hw_v.is_none() => d.hw_v = Some(ctx.scalar()?),
                "DevID" if d.dev_id.is_none() => d.dev_id = Some(ctx.scalar()?),
                "DevTyp" if d.dev_typ.is_none() => d.dev_typ = Some(ctx.scalar()?),
                "UTC" if !d.utc => d.utc = ctx.flag()?,
                "SupportLargeObjs" if !d.support_large_objs => d.support_large_objs = ctx.flag()?,
                "SupportNumberOfChanges" if !d.support_number_of_changes => {
                    d.support_number_of_changes = ctx.flag()?
                }
                "DataStore" => d.data_stores.push(ctx.read_data_store()?),
                "CTCap" => {
                    let caps = ctx.read_ct_cap()?;
                    d.ct_caps.extend(caps);
                }
                "Ext" => d.exts.push(ctx.read_ext()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        d.ver_dtd = match ver_dtd.or_else(|| self.context_version()) {
            Some(version) => version,
            None => return Err(self.error("cannot tell the DevInf version: no <VerDTD>")),
        };
        d.extensions = extensions;
        Ok(d)
    }

    fn read_data_store(&mut self) -> Result<DataStore> {
        let mut s = DataStore::default();
        let mut source_ref = None;
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "SourceRef" if source_ref.is_none() => source_ref = Some(ctx.scalar()?),
                "DisplayName" if s.display_name.is_none() => s.display_name = Some(ctx.scalar()?),
                "MaxGUIDSize" if s.max_guid_size.is_none() => s.max_guid_size = Some(ctx.number()?),
                "Rx-Pref" => s.rx_pref.push(ctx.read_content_type()?),
                "Rx" => s.rx.push(ctx.read_content_type()?),
                "Tx-Pref" => s.tx_pref.push(ctx.read_content_type()?),
                "Tx" => s.tx.push(ctx.read_content_type()?),
                "CTCap" => {
                    let caps = ctx.read_ct_cap()?;
                    s.ct_caps.extend(caps);
                }
                "DSMem" if s.ds_mem.is_none() => s.ds_mem = Some(ctx.read_ds_mem()?),
                "SupportHierarchicalSync" if !s.support_hierarchical_sync => {
                    s.support_hierarchical_sync = ctx.flag()?
                }
                "SyncCap" if s.sync_cap.is_none() => s.sync_cap = Some(ctx.read_sync_cap()?),
                "Filter-Rx" => s.filter_rx.push(ctx.read_content_type()?),
                "FilterCap" => s.filter_caps.push(ctx.read_filter_cap()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        s.source_ref = self.required(source_ref, "SourceRef")?;
        s.extensions = extensions;
        Ok(s)
    }

    fn read_content_type(&mut self) -> Result<ContentType> {
        let (mut ct_type, mut ver_ct) = (None, None);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CTType" if ct_type.is_none() => ct_type = Some(ctx.scalar()?),
                "VerCT" if ver_ct.is_none() => ver_ct = Some(ctx.scalar()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(ContentType {
            ct_type: self.required(ct_type, "CTType")?,
            ver_ct,
            extensions,
        })
    }

    fn read_ds_mem(&mut self) -> Result<DsMem> {
        let mut mem = DsMem::default();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "SharedMem" if !mem.shared_mem => mem.shared_mem = ctx.flag()?,
                "MaxMem" if mem.max_mem.is_none() => mem.max_mem = Some(ctx.number()?),
                "MaxID" if mem.max_id.is_none() => mem.max_id = Some(ctx.number()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        mem.extensions = extensions;
        Ok(mem)
    }

    fn read_sync_cap(&mut self) -> Result<SyncCap> {
        let mut cap = SyncCap::default();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            if tag.name == "SyncType" {
                cap.sync_types.push(ctx.number()?);
                return Ok(true);
            }
            Ok(false)
        })?;
        cap.extensions = extensions;
        Ok(cap)
    }

    fn read_filter_cap(&mut self) -> Result<FilterCap> {
        let mut cap = FilterCap::default();
        let mut ct_type = None;
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CTType" if ct_type.is_none() => ct_type = Some(ctx.scalar()?),
                "VerCT" if cap.ver_ct.is_none() => cap.ver_ct = Some(ctx.scalar()?),
                "FilterKeyword" => cap.filter_keywords.push(ctx.scalar()?),
                "PropName" => cap.prop_names.push(ctx.scalar()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        cap.ct_type = self.required(ct_type, "CTType")?;
        cap.extensions = extensions;
        Ok(cap)
    }

    fn read_ext(&mut self) -> Result<Ext> {
        let mut ext = Ext::default();
        let mut xnam = None;
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "XNam" if xnam.is_none() => xnam = Some(ctx.scalar()?),
                "XVal" => ext.xvals.push(ctx.scalar()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        ext.xnam = self.required(xnam, "XNam")?;
        ext.extensions = extensions;
        Ok(ext)
    }

    /// One `CTCap` element, in either layout: 1.2 (`CTType`, `VerCT`, `Property`...) holds one
    /// content type; 1.0/1.1 holds a flat sequence where each `CTType` starts a content type,
    /// each `PropName` a property, each `ParamName` a parameter of the last property, and
    /// `ValEnum`, `DataType`, `Size` and `DisplayName` describe the last of these.
    fn read_ct_cap(&mut self) -> Result<Vec<CtCap>> {
        let mut caps: Vec<CtCap> = Vec::new();
        let mut in_param = false;
        // The last capability was opened by an element before any CTType: the next CTType
        // names it instead of opening another.
        let mut typeless_open = false;
        // Stray elements before any CTType: kept with the first capability.
        let mut leading = Extensions::new();
        self.children_of_any_namespace(&mut leading, true, |ctx, tag| {
            let name = if tag.namespace == Namespace::Other {
                ""
            } else {
                tag.name.as_ref()
            };
            if name == "CTType" {
                let ct_type = ctx.scalar()?;
                in_param = false;
                match caps.last_mut() {
                    Some(cap) if typeless_open => cap.ct_type = ct_type,
                    _ => caps.push(CtCap {
                        ct_type,
                        ..CtCap::default()
                    }),
                }
                typeless_open = false;
                return Ok(true);
            }
            // A capability element before any CTType opens a capability without a type.
            if caps.is_empty() && !name.is_empty() {
                caps.push(CtCap::default());
                typeless_open = true;
            }
            // Vendor elements stay with the capability they follow.
            let Some(cap) = caps.last_mut() else {
                return Ok(false);
            };
            match name {
                "VerCT" if cap.ver_ct.is_none() => cap.ver_ct = Some(ctx.scalar()?),
                "FieldLevel" if !cap.field_level => cap.field_level = ctx.flag()?,
                "Property" => {
                    cap.properties.push(ctx.read_property()?);
                    in_param = false;
                }
                "PropName" => {
                    cap.properties.push(Property {
                        name: ctx.scalar()?,
                        ..Property::default()
                    });
                    in_param = false;
                }
                "ParamName" => {
                    let param = PropParam {
                        name: ctx.scalar()?,
                        ..PropParam::default()
                    };
                    match cap.properties.last_mut() {
                        Some(property) => {
                            property.params.push(param);
                            in_param = true;
                        }
                        None => cap.extensions.push(text_element(tag, param.name)),
                    }
                }
                "ValEnum" | "DataType" | "Size" | "MaxSize" | "MaxOccur" | "NoTruncate"
                | "DisplayName" => {
                    let slot = match cap.properties.last_mut() {
                        Some(property) if in_param && !property.params.is_empty() => {
                            property.params.last_mut().map(CapSlot::Param)
                        }
                        Some(property) => Some(CapSlot::Property(property)),
                        None => None,
                    };
                    let kept = match slot {
                        Some(slot) => ctx.read_cap_detail(tag, slot)?,
                        None => false,
                    };
                    if !kept {
                        let element = ctx.keep_raw(tag.clone())?;
                        cap.extensions.push(element);
                    }
                }
                _ => {
                    let element = ctx.keep_raw(tag.clone())?;
                    cap.extensions.push(element);
                }
            }
            Ok(true)
        })?;
        if let Some(first) = caps.first_mut() {
            first.extensions.prepend(leading);
        } else if !leading.is_empty() {
            caps.push(CtCap {
                extensions: leading,
                ..CtCap::default()
            });
        }
        Ok(caps)
    }

    /// A `ValEnum`, `DataType`, `Size`/`MaxSize`, `MaxOccur`, `NoTruncate` or `DisplayName` of a
    /// property or a parameter, in either layout. Returns false, without reading, when the
    /// element is none of these or the slot has no room for it.
    fn read_cap_detail(&mut self, tag: &StartTag<'_>, slot: CapSlot<'_>) -> Result<bool> {
        match slot {
            CapSlot::Property(p) => match tag.name.as_ref() {
                "ValEnum" => p.val_enums.push(self.scalar()?),
                "DataType" if p.data_type.is_none() => p.data_type = Some(self.scalar()?),
                "Size" | "MaxSize" if p.max_size.is_none() => p.max_size = Some(self.number()?),
                "MaxOccur" if p.max_occur.is_none() => p.max_occur = Some(self.number()?),
                "NoTruncate" if !p.no_truncate => p.no_truncate = self.flag()?,
                "DisplayName" if p.display_name.is_none() => p.display_name = Some(self.scalar()?),
                _ => return Ok(false),
            },
            CapSlot::Param(p) => match tag.name.as_ref() {
                "ValEnum" => p.val_enums.push(self.scalar()?),
                "DataType" if p.data_type.is_none() => p.data_type = Some(self.scalar()?),
                "Size" | "MaxSize" if p.max_size.is_none() => p.max_size = Some(self.number()?),
                "DisplayName" if p.display_name.is_none() => p.display_name = Some(self.scalar()?),
                _ => return Ok(false),
            },
        }
        Ok(true)
    }

    /// A 1.2 `Property`.
    fn read_property(&mut self) -> Result<Property> {
        let mut p = Property::default();
        let mut name = None;
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "PropName" if name.is_none() => name = Some(ctx.scalar()?),
                "PropParam" => p.params.push(ctx.read_prop_param()?),
                _ => return ctx.read_cap_detail(tag, CapSlot::Property(&mut p)),
            }
            Ok(true)
        })?;
        p.name = self.required(name, "PropName")?;
        p.extensions = extensions;
        Ok(p)
    }

    /// A 1.2 `PropParam`.
    fn read_prop_param(&mut self) -> Result<PropParam> {
        let mut p = PropParam::default();
        let mut name = None;
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            if tag.name == "ParamName" && name.is_none() {
                name = Some(ctx.scalar()?);
                return Ok(true);
            }
            ctx.read_cap_detail(tag, CapSlot::Param(&mut p))
        })?;
        p.name = self.required(name, "ParamName")?;
        p.extensions = extensions;
        Ok(p)
    }
}

/// What a `ValEnum`, `DataType`, `Size` or `DisplayName` describes: a property or one of its
/// parameters (in the flat 1.0/1.1 `CTCap`, the last one opened).
enum CapSlot<'c> {
    Property(&'c mut Property),
    Param(&'c mut PropParam),
}

/// An element of text rebuilt from a tag whose text was read already.
fn text_element(tag: &StartTag<'_>, text: String) -> Element {
    Element::new(tag.namespace, tag.name.as_ref()).with_text(text)
}
