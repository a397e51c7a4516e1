//! Small builders and accessors over the SyncML model, so the engine does not depend on how
//! the model stores its optional parts (inline or boxed) and short strings.

use handsync_proto::syncml::{Anchor, Chal, Data, Item, MetInf, Source, Target};

/// The `Meta` of a command, item or header, if any.
pub fn meta(field: &Option<Box<MetInf>>) -> Option<&MetInf> {
    field.as_deref()
}

/// A `Meta` field holding `meta`.
pub fn some_meta(meta: MetInf) -> Option<Box<MetInf>> {
    Some(Box::new(meta))
}

/// A challenge with the given MetInf.
pub fn chal(meta: MetInf) -> Chal {
    Chal {
        meta,
        ..Chal::default()
    }
}

/// An anchor with both values.
pub fn anchor(last: Option<&str>, next: &str) -> Anchor {
    Anchor {
        last: last.map(Into::into),
        next: next.into(),
        ..Anchor::default()
    }
}

/// The `<Item>` a Status of an Alert carries: `<Data>` holding the phone's Next anchor.
pub fn anchor_item(next: &str) -> Item {
    let meta = MetInf {
        anchor: Some(anchor(None, next)),
        ..MetInf::default()
    };
    Item {
        data: Some(Data::MetInf(Box::new(meta))),
        ..Item::default()
    }
}

/// An item addressed to the phone (Target) from us (Source).
pub fn item(target: Option<&str>, source: Option<&str>) -> Item {
    Item {
        target: target.map(Target::new),
        source: source.map(Source::new),
        ..Item::default()
    }
}

/// The text of an optional model string.
pub fn text<S: AsRef<str>>(value: &Option<S>) -> Option<&str> {
    value.as_ref().map(|v| v.as_ref())
}

pub use handsync_proto::ds::set_cmd_id;
