//! An item's `<Data>`: text, bytes, a DevInf (inline or a nested WBXML document) or markup.

use super::{Ctx, DataPart, Result};
use crate::markup::{DocumentType, Event, EventReader, Namespace, Position, Version};
use crate::syncml::devinf::DevInf;
use crate::syncml::error::SyncMlError;
use crate::syncml::metinf::{MetInf, METINF_NAMES};
use crate::syncml::model::Data;
use crate::syncml::write::markup_of_data_parts;
use std::borrow::Cow;

impl<'r, 'a, R: EventReader<'a>> Ctx<'r, 'a, R> {
    /// An item's `<Data>`: text kept exactly, bytes, a DevInf (inline, or a WBXML document in
    /// OPAQUE), MetInf elements, or anything else as markup.
    pub(super) fn read_data(&mut self) -> Result<Data> {
        let mut parts: Vec<DataPart> = Vec::new();
        loop {
            match self.next()? {
                Event::Text(text) => match parts.last_mut() {
                    Some(DataPart::Text(previous)) => previous.push_str(&text),
                    _ => parts.push(DataPart::Text(text.into_owned())),
                },
                Event::Opaque(bytes) => {
                    if let Some(devinf) = self.read_nested_devinf(&bytes)? {
                        parts.push(DataPart::DevInf(devinf));
                    } else {
                        match parts.last_mut() {
                            Some(DataPart::Opaque(previous)) => previous.extend_from_slice(&bytes),
                            _ => parts.push(DataPart::Opaque(bytes.into_owned())),
                        }
                    }
                }
                Event::Start(tag) => {
                    self.enter(tag.name.clone())?;
                    let known = tag.namespace != Namespace::Other;
                    let part = if known && tag.name == "DevInf" {
                        DataPart::DevInf(self.read_devinf_body()?)
                    } else if known && METINF_NAMES.contains(&tag.name.as_ref()) {
                        let mut metinf = MetInf::default();
                        // A fresh MetInf takes any MetInf element.
                        self.read_metinf_field(&tag, &mut metinf)?;
                        DataPart::MetInf(metinf)
                    } else {
                        DataPart::Element(self.keep_raw(tag)?)
                    };
                    self.path.pop();
                    parts.push(part);
                }
                Event::End => break,
            }
        }
        self.assemble_data(parts)
    }

    fn assemble_data(&self, parts: Vec<DataPart>) -> Result<Data> {
        let is_markup = |p: &DataPart| {
            matches!(
                p,
                DataPart::DevInf(_) | DataPart::MetInf(_) | DataPart::Element(_)
            )
        };
        if !parts.iter().any(is_markup) {
            if !parts.iter().any(|p| matches!(p, DataPart::Opaque(_))) {
                let mut text = String::new();
                for part in parts {
                    if let DataPart::Text(t) = part {
                        text.push_str(&t);
                    }
                }
                return Ok(Data::Text(text));
            }
            let mut bytes = Vec::new();
            for part in &parts {
                match part {
                    DataPart::Text(t) => bytes.extend_from_slice(t.as_bytes()),
                    DataPart::Opaque(b) => bytes.extend_from_slice(b),
                    _ => {}
                }
            }
            return Ok(match String::from_utf8(bytes) {
                Ok(text) => Data::Text(text),
                Err(e) => Data::Binary(e.into_bytes()),
            });
        }
        let only_blank_text = parts.iter().all(|p| match p {
            DataPart::Text(t) => t.trim().is_empty(),
            DataPart::Opaque(_) => false,
            _ => true,
        });
        if only_blank_text {
            let mut markup = parts.into_iter().filter(|p| is_markup(p));
            let first = markup.next();
            match first {
                Some(DataPart::DevInf(devinf)) => {
                    let rest: Vec<DataPart> = markup.collect();
                    if rest.is_empty() {
                        return Ok(Data::DevInf(Box::new(devinf)));
                    }
                    let mut all = vec![DataPart::DevInf(devinf)];
                    all.extend(rest);
                    return self.data_as_markup(all);
                }
                Some(DataPart::MetInf(mut metinf)) => {
                    let mut rest = Vec::new();
                    for part in markup {
                        match part {
                            DataPart::MetInf(more) if rest.is_empty() => {
                                if let Some(unmerged) = merge_metinf(&mut metinf, more) {
                                    rest.push(DataPart::MetInf(unmerged));
                                }
                            }
                            other => rest.push(other),
                        }
                    }
                    if rest.is_empty() {
                        return Ok(Data::MetInf(Box::new(metinf)));
                    }
                    let mut all = vec![DataPart::MetInf(metinf)];
                    all.extend(rest);
                    return self.data_as_markup(all);
                }
                Some(other) => {
                    let mut all = vec![other];
                    all.extend(markup);
                    return self.data_as_markup(all);
                }
                None => return Ok(Data::Text(String::new())),
            }
        }
        self.data_as_markup(parts)
    }

    fn data_as_markup(&self, parts: Vec<DataPart>) -> Result<Data> {
        let version = self.context_version().unwrap_or(Version::V1_2);
        markup_of_data_parts(parts, version)
            .map(Data::Markup)
            .map_err(|e| SyncMlError::new(self.path.join("/"), Some(self.position()), e.message))
    }

    /// The one byte-level case: in WBXML a DevInf inside `<Data>` is a whole WBXML document in
    /// OPAQUE. Returns `None` when the bytes are not one.
    fn read_nested_devinf(&mut self, bytes: &[u8]) -> Result<Option<DevInf>> {
        let Some(DocumentType::DevInf(version)) = crate::wbxml::sniff_document(bytes) else {
            return Ok(None);
        };
        // The event position is the OPAQUE token; the document follows its length.
        let outer = match self.reader.position() {
            Position::Byte(at) => at + 1 + multi_byte_length(bytes.len()),
            Position::Nested { outer, inner } => outer + inner,
            Position::Text { offset, .. } => offset,
        };
        let mut nested_reader = match crate::wbxml::Reader::new(bytes) {
            Ok(reader) => reader,
            Err(mut e) => {
                if let Position::Byte(inner) = e.position {
                    e.position = Position::Nested { outer, inner };
                }
                return Err(SyncMlError::from_markup(self.path.join("/"), e));
            }
        };
        let mut nested = Ctx::new(&mut nested_reader);
        nested.path = self
            .path
            .iter()
            .map(|name| Cow::Owned(name.to_string()))
            .collect();
        nested.version = Some(version);
        nested.nested_at = Some(outer);
        nested.read_devinf_document().map(Some)
    }
}

/// Merges the fields of `more` into `into`; returns what did not fit (a field set in both).
fn merge_metinf(into: &mut MetInf, more: MetInf) -> Option<MetInf> {
    fn take<T>(slot: &mut Option<T>, value: &mut Option<T>) -> bool {
        match (slot.is_some(), value.is_some()) {
            (false, true) => {
                *slot = value.take();
                true
            }
            (_, false) => true,
            (true, true) => false,
        }
    }
    let mut more = more;
    let fits = take(&mut into.format, &mut more.format)
        & take(&mut into.type_, &mut more.type_)
        & take(&mut into.mark, &mut more.mark)
        & take(&mut into.size, &mut more.size)
        & take(&mut into.anchor, &mut more.anchor)
        & take(&mut into.version, &mut more.version)
        & take(&mut into.next_nonce, &mut more.next_nonce)
        & take(&mut into.max_msg_size, &mut more.max_msg_size)
        & take(&mut into.max_obj_size, &mut more.max_obj_size)
        & take(&mut into.mem, &mut more.mem)
        & !(into.field_level && more.field_level);
    into.field_level |= std::mem::take(&mut more.field_level);
    into.emi.append(&mut more.emi);
    into.extensions.append(&mut more.extensions);
    if fits {
        None
    } else {
        Some(more)
    }
}

/// How many bytes WBXML's mb_u_int32 takes for a length.
fn multi_byte_length(mut value: usize) -> usize {
    let mut bytes = 1;
    while value >= 0x80 {
        value >>= 7;
        bytes += 1;
    }
    bytes
}
