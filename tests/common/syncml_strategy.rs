//! Proptest strategies for random valid SyncML messages of all three versions.
//!
//! "Valid" means: what the writer writes for the message's version reads back to the same
//! model. So a version only gets the elements it has (no `NumberOfChanges` in 1.0, no `Move`
//! or `Correlator` below 1.2...), DevInf capabilities sit where their version's layout puts
//! them, strings that the reader trims have no outer whitespace, and unknown elements never
//! carry a name the model knows at that place.
#![allow(dead_code)] // each test binary uses its own subset

use handsync::markup::{Element, Namespace, Node, Version};
use handsync::syncml::*;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

/// Any message, of any of the three versions.
pub fn arb_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        Just(Version::V1_0),
        Just(Version::V1_1),
        Just(Version::V1_2)
    ]
    .prop_flat_map(arb_message_of)
}

/// A message of one version.
pub fn arb_message_of(version: Version) -> impl Strategy<Value = Message> {
    (
        prop::bool::weighted(0.9),
        arb_header(version),
        vec(arb_command(version), 0..5),
        any::<bool>(),
        extensions(),
        extensions(),
    )
        .prop_map(
            move |(has_header, header, commands, final_, body_extensions, extensions)| Message {
                version,
                header: has_header.then_some(header),
                body: SyncBody {
                    commands,
                    final_,
                    extensions: body_extensions,
                },
                extensions,
            },
        )
}

/// A trimmed scalar (what the reader keeps of `CmdID`, `LocURI`, `Type`...), possibly empty.
pub fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[A-Za-z0-9./:?=_-]{1,16}",
        "[a-z]{1,6}( [a-zé€]{1,6}){0,2}",
    ]
}

/// A trimmed short scalar, as the model keeps it.
pub fn short() -> impl Strategy<Value = CompactString> {
    scalar().prop_map(CompactString::from)
}

/// An optional boxed `Meta`.
fn opt_meta(version: Version) -> impl Strategy<Value = Option<Box<MetInf>>> {
    of(arb_metinf(version).prop_map(Box::new))
}

/// Optional boxed credentials.
fn opt_cred(version: Version) -> impl Strategy<Value = Option<Box<Cred>>> {
    of(arb_cred(version).prop_map(Box::new))
}

/// An item payload: any text, outer whitespace and line breaks included.
pub fn payload() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~\r\n\té€]{0,40}",
        Just("BEGIN:VCARD\r\nVERSION:2.1\r\nN:Doe;John\r\nEND:VCARD\r\n".to_string()),
        Just("\n  indented and trailing  \n".to_string()),
    ]
}

/// Vendor elements, which the model keeps verbatim.
pub fn extensions() -> impl Strategy<Value = Extensions> {
    prop_oneof![
        4 => Just(Vec::new()),
        1 => vec(vendor_element(), 1..3),
    ]
    .prop_map(Extensions::from)
}

pub fn vendor_element() -> impl Strategy<Value = Element> {
    (
        prop_oneof![
            Just("X-Nokia-Sync"),
            Just("XVendorFlag"),
            Just("SonyEricssonExt")
        ],
        any::<bool>(),
        "[a-z0-9]{1,8}",
        any::<bool>(),
    )
        .prop_map(|(name, foreign, text, nested)| {
            let mut element = if foreign {
                let mut e = Element::new(Namespace::Other, name);
                e.attributes
                    .push(("xmlns".to_string(), "urn:vendor:ext".to_string()));
                e
            } else {
                Element::new(Namespace::SyncMl, name)
            };
            if nested {
                let namespace = element.namespace;
                element = element.with_child(Element::new(namespace, "Value").with_text(text));
            } else {
                element = element.with_text(text);
            }
            element
        })
}

pub fn arb_header(version: Version) -> impl Strategy<Value = SyncHdr> {
    (
        (
            short(),
            short(),
            any::<u32>(),
            arb_target(version),
            arb_source(),
        ),
        (
            of(short()),
            any::<bool>(),
            opt_cred(version),
            opt_meta(version),
            extensions(),
        ),
    )
        .prop_map(
            |(
                (ver_proto, session_id, msg_id, target, source),
                (resp_uri, no_resp, cred, meta, extensions),
            )| {
                SyncHdr {
                    ver_proto,
                    session_id,
                    msg_id,
                    target,
                    source,
                    resp_uri,
                    no_resp,
                    cred,
                    meta,
                    extensions,
                }
            },
        )
}

pub fn arb_source() -> impl Strategy<Value = Source> {
    (short(), of(short()), extensions()).prop_map(|(loc_uri, loc_name, extensions)| Source {
        loc_uri,
        loc_name,
        extensions,
    })
}

/// A target; with a filter (and its items) only in 1.2, one level deep.
pub fn arb_target(version: Version) -> impl Strategy<Value = Target> {
    let filter = if version >= Version::V1_2 {
        of(arb_filter(version).prop_map(Box::new)).boxed()
    } else {
        Just(None).boxed()
    };
    (short(), of(short()), filter, extensions()).prop_map(
        |(loc_uri, loc_name, filter, extensions)| Target {
            loc_uri,
            loc_name,
            filter,
            extensions,
        },
    )
}

fn arb_plain_target() -> impl Strategy<Value = Target> {
    (short(), of(short())).prop_map(|(loc_uri, loc_name)| Target {
        loc_uri,
        loc_name,
        ..Target::default()
    })
}

pub fn arb_filter(version: Version) -> impl Strategy<Value = Filter> {
    let simple_item = (opt_meta(version), of(payload()))
        .prop_map(|(meta, data)| Item {
            meta,
            data: data.map(Data::Text),
            ..Item::default()
        })
        .boxed();
    (
        arb_metinf(version),
        of(simple_item.clone()),
        of(simple_item),
        of(short()),
        extensions(),
    )
        .prop_map(|(meta, field, record, filter_type, extensions)| Filter {
            meta,
            field,
            record,
            filter_type,
            extensions,
        })
}

pub fn arb_cred(version: Version) -> impl Strategy<Value = Cred> {
    (opt_meta(version), scalar(), extensions()).prop_map(|(meta, data, extensions)| Cred {
        meta,
        data,
        extensions,
    })
}

pub fn arb_anchor() -> impl Strategy<Value = Anchor> {
    (of(short()), short()).prop_map(|(last, next)| Anchor {
        last,
        next,
        extensions: Extensions::new(),
    })
}

pub fn arb_mem() -> impl Strategy<Value = Mem> {
    (any::<bool>(), of(any::<u64>()), of(any::<u64>())).prop_map(
        |(shared_mem, free_mem, free_id)| Mem {
            shared_mem,
            free_mem,
            free_id,
            extensions: Extensions::new(),
        },
    )
}

/// Meta information with the elements of the version.
pub fn arb_metinf(version: Version) -> impl Strategy<Value = MetInf> {
    (
        (
            of(short()),
            of(short()),
            of(short()),
            of(any::<u64>()),
            of(arb_anchor()),
            of(short()),
        ),
        (
            of(short()),
            of(any::<u64>()),
            of(any::<u64>()),
            vec(short(), 0..2),
            of(arb_mem()),
            any::<bool>(),
            extensions(),
        ),
    )
        .prop_map(
            move |(
                (format, type_, mark, size, anchor, meta_version),
                (next_nonce, max_msg_size, max_obj_size, emi, mem, field_level, extensions),
            )| MetInf {
                format,
                type_,
                mark,
                size,
                anchor,
                version: meta_version,
                next_nonce,
                max_msg_size,
                max_obj_size: max_obj_size.filter(|_| version >= Version::V1_1),
                emi,
                mem,
                field_level: field_level && version >= Version::V1_2,
                extensions,
            },
        )
}

/// What `<Data>` of an item holds.
pub fn arb_data() -> impl Strategy<Value = Data> {
    let devinf_version = prop_oneof![
        Just(Version::V1_0),
        Just(Version::V1_1),
        Just(Version::V1_2)
    ];
    prop_oneof![
        6 => payload().prop_map(Data::Text),
        // Not UTF-8: Latin-1 text or binary.
        1 => (prop_oneof![Just(b"N:M\xfcller".to_vec()), vec(any::<u8>(), 0..20)])
            .prop_map(|mut bytes| {
                // 0xFF never occurs in UTF-8, nor starts a WBXML document.
                bytes.insert(0, 0xFF);
                Data::Binary(bytes)
            }),
        1 => devinf_version.prop_flat_map(arb_devinf).prop_map(|d| Data::DevInf(Box::new(d))),
        // MetInf elements in Data: at least an anchor, and no unknown element.
        1 => (arb_anchor(), of(arb_mem())).prop_map(|(anchor, mem)| {
            Data::MetInf(Box::new(MetInf {
                anchor: Some(anchor),
                mem,
                ..MetInf::default()
            }))
        }),
        1 => vendor_element().prop_map(|e| Data::Markup(vec![Node::Element(e)])),
    ]
}

pub fn arb_item(version: Version) -> impl Strategy<Value = Item> {
    let parents = version >= Version::V1_1;
    let more = version >= Version::V1_1;
    (
        of(arb_target(version)),
        of(arb_source()),
        of(short()),
        of(short()),
        opt_meta(version),
        of(arb_data()),
        any::<bool>(),
        extensions(),
    )
        .prop_map(
            move |(
                target,
                source,
                source_parent,
                target_parent,
                meta,
                data,
                more_data,
                extensions,
            )| {
                Item {
                    target,
                    source,
                    source_parent: source_parent.filter(|_| parents),
                    target_parent: target_parent.filter(|_| parents),
                    meta,
                    data,
                    more_data: more_data && more,
                    extensions,
                }
            },
        )
}

fn items(version: Version) -> impl Strategy<Value = Vec<Item>> {
    vec(arb_item(version), 0..3)
}

/// A command of the version; `Atomic`, `Sequence` and `Sync` nest up to three deep.
pub fn arb_command(version: Version) -> impl Strategy<Value = Command> {
    let leaf = arb_leaf_command(version);
    leaf.prop_recursive(3, 12, 3, move |inner| {
        let commands = vec(inner, 0..3);
        prop_oneof![
            (
                of(short()),
                any::<bool>(),
                opt_meta(version),
                commands.clone(),
                extensions()
            )
                .prop_map(|(cmd_id, no_resp, meta, commands, extensions)| {
                    Command::Atomic(Container {
                        cmd_id,
                        no_resp,
                        meta,
                        commands,
                        extensions,
                    })
                }),
            (
                of(short()),
                any::<bool>(),
                opt_meta(version),
                commands.clone(),
                extensions()
            )
                .prop_map(|(cmd_id, no_resp, meta, commands, extensions)| {
                    Command::Sequence(Container {
                        cmd_id,
                        no_resp,
                        meta,
                        commands,
                        extensions,
                    })
                }),
            (
                (of(short()), any::<bool>(), opt_cred(version)),
                (of(arb_target(version)), of(arb_source()), opt_meta(version)),
                (of(any::<u32>()), commands, extensions()),
            )
                .prop_map(
                    move |(
                        (cmd_id, no_resp, cred),
                        (target, source, meta),
                        (number_of_changes, commands, extensions),
                    )| {
                        Command::Sync(Box::new(Sync {
                            cmd_id,
                            no_resp,
                            cred,
                            target,
                            source,
                            meta,
                            number_of_changes: number_of_changes
                                .filter(|_| version >= Version::V1_1),
                            commands,
                            extensions,
                        }))
                    },
                ),
        ]
    })
}

fn arb_item_command(version: Version) -> impl Strategy<Value = ItemCommand> {
    (
        of(short()),
        any::<bool>(),
        opt_cred(version),
        opt_meta(version),
        items(version),
        extensions(),
    )
        .prop_map(
            |(cmd_id, no_resp, cred, meta, items, extensions)| ItemCommand {
                cmd_id,
                no_resp,
                cred,
                meta,
                items,
                extensions,
            },
        )
}

fn arb_leaf_command(version: Version) -> BoxedStrategy<Command> {
    let v = version;
    let get_put = (
        of(short()),
        any::<bool>(),
        of(short()),
        opt_cred(v),
        opt_meta(v),
        items(v),
        extensions(),
    )
        .prop_map(
            |(cmd_id, no_resp, lang, cred, meta, items, extensions)| GetPut {
                cmd_id,
                no_resp,
                lang,
                cred,
                meta,
                items,
                extensions,
            },
        )
        .boxed();
    let delete = (
        (of(short()), any::<bool>(), any::<bool>(), any::<bool>()),
        (opt_cred(v), opt_meta(v), items(v), extensions()),
    )
        .prop_map(
            |((cmd_id, no_resp, archive, sft_del), (cred, meta, items, extensions))| Delete {
                cmd_id,
                no_resp,
                archive,
                sft_del,
                cred,
                meta,
                items,
                extensions,
            },
        );
    let alert = (
        (of(short()), any::<bool>(), opt_cred(v)),
        (of(any::<u16>()), of(short()), items(v), extensions()),
    )
        .prop_map(
            move |((cmd_id, no_resp, cred), (code, correlator, items, extensions))| Alert {
                cmd_id,
                no_resp,
                cred,
                data: code.map(AlertCode::from_code),
                correlator: correlator.filter(|_| v >= Version::V1_2),
                items,
                extensions,
            },
        );
    let exec = (
        (of(short()), any::<bool>(), opt_cred(v), opt_meta(v)),
        (of(short()), arb_item(v), extensions()),
    )
        .prop_map(
            move |((cmd_id, no_resp, cred, meta), (correlator, item, extensions))| Exec {
                cmd_id,
                no_resp,
                cred,
                meta,
                correlator: correlator.filter(|_| v >= Version::V1_2),
                item,
                extensions,
            },
        );
    let map_item = (arb_plain_target(), arb_source(), extensions()).prop_map(
        |(target, source, extensions)| MapItem {
            target,
            source,
            extensions,
        },
    );
    let map = (
        (of(short()), arb_target(v), arb_source()),
        (opt_cred(v), opt_meta(v), vec(map_item, 0..3), extensions()),
    )
        .prop_map(
            |((cmd_id, target, source), (cred, meta, map_items, extensions))| Map {
                cmd_id,
                target,
                source,
                cred,
                meta,
                map_items,
                extensions,
            },
        );
    let results = (
        (of(short()), of(any::<u32>()), of(short()), opt_meta(v)),
        (
            vec(short(), 0..2),
            vec(short(), 0..2),
            items(v),
            extensions(),
        ),
    )
        .prop_map(
            |((cmd_id, msg_ref, cmd_ref, meta), (target_refs, source_refs, items, extensions))| {
                Results {
                    cmd_id,
                    msg_ref,
                    cmd_ref,
                    meta,
                    target_refs,
                    source_refs,
                    items,
                    extensions,
                }
            },
        );
    let search = (
        (of(short()), any::<bool>(), any::<bool>(), opt_cred(v)),
        (of(arb_target(v)), vec(arb_source(), 1..3), of(short())),
        (arb_metinf(v), payload(), extensions()),
    )
        .prop_map(
            |(
                (cmd_id, no_resp, no_results, cred),
                (target, sources, lang),
                (meta, query, extensions),
            )| Search {
                cmd_id,
                no_resp,
                no_results,
                cred,
                target,
                sources,
                lang,
                meta,
                data: Data::Text(query),
                extensions,
            },
        );
    let chal =
        (arb_metinf(v), extensions()).prop_map(|(meta, extensions)| Chal { meta, extensions });
    let status = (
        (of(short()), any::<u32>(), short(), short()),
        (
            vec(short(), 0..2),
            vec(short(), 0..2),
            opt_cred(v),
            of(chal.prop_map(Box::new)),
        ),
        (100u16..600, items(v), extensions()),
    )
        .prop_map(
            |(
                (cmd_id, msg_ref, cmd_ref, cmd),
                (target_refs, source_refs, cred, chal),
                (code, items, extensions),
            )| Status {
                cmd_id,
                msg_ref,
                cmd_ref,
                cmd,
                target_refs,
                source_refs,
                cred,
                chal,
                data: StatusCode::from_code(code),
                items,
                extensions,
            },
        );
    let mut choices: Vec<BoxedStrategy<Command>> = vec![
        arb_item_command(v).prop_map(Command::Add).boxed(),
        arb_item_command(v).prop_map(Command::Copy).boxed(),
        arb_item_command(v).prop_map(Command::Replace).boxed(),
        delete.prop_map(Command::Delete).boxed(),
        get_put.clone().prop_map(Command::Get).boxed(),
        get_put.prop_map(Command::Put).boxed(),
        alert.prop_map(Command::Alert).boxed(),
        exec.prop_map(|c| Command::Exec(Box::new(c))).boxed(),
        map.prop_map(|c| Command::Map(Box::new(c))).boxed(),
        results.prop_map(|c| Command::Results(Box::new(c))).boxed(),
        search.prop_map(|c| Command::Search(Box::new(c))).boxed(),
        status.prop_map(Command::Status).boxed(),
    ];
    if v >= Version::V1_2 {
        choices.push(arb_item_command(v).prop_map(Command::Move).boxed());
    }
    proptest::strategy::Union::new(choices).boxed()
}

// ----- DevInf -----

pub fn arb_content_type() -> impl Strategy<Value = ContentType> {
    ("[a-z]{1,6}/[a-z-]{1,8}", of("[0-9]\\.[0-9]"), extensions()).prop_map(
        |(ct_type, ver_ct, extensions)| ContentType {
            ct_type,
            ver_ct,
            extensions,
        },
    )
}

fn arb_prop_param(devinf: Version) -> impl Strategy<Value = PropParam> {
    let flat = devinf < Version::V1_2;
    (
        "[A-Z]{1,6}",
        of(scalar()),
        of(any::<u64>()),
        vec("[A-Z0-9]{1,5}", 0..3),
        of(scalar()),
        extensions(),
    )
        .prop_map(
            move |(name, data_type, max_size, val_enums, display_name, extensions)| PropParam {
                name,
                data_type,
                max_size: max_size.filter(|_| flat),
                val_enums,
                display_name,
                // The flat layout has no place for them but the capability.
                extensions: if flat { Extensions::new() } else { extensions },
            },
        )
}

fn arb_property(devinf: Version) -> impl Strategy<Value = Property> {
    let full = devinf >= Version::V1_2;
    (
        (
            "[A-Z-]{1,8}",
            of(scalar()),
            of(any::<u32>()),
            of(any::<u64>()),
            any::<bool>(),
        ),
        (
            vec("[A-Z0-9.]{1,6}", 0..3),
            of(scalar()),
            vec(arb_prop_param(devinf), 0..3),
            extensions(),
        ),
    )
        .prop_map(
            move |(
                (name, data_type, max_occur, max_size, no_truncate),
                (val_enums, display_name, params, extensions),
            )| Property {
                name,
                data_type,
                max_occur: max_occur.filter(|_| full),
                max_size,
                no_truncate: no_truncate && full,
                val_enums,
                display_name,
                params,
                extensions: if full { extensions } else { Extensions::new() },
            },
        )
}

/// A capability in the layout of the DevInf version.
pub fn arb_ct_cap(devinf: Version) -> impl Strategy<Value = CtCap> {
    let full = devinf >= Version::V1_2;
    (
        "[a-z]{1,6}/[a-z-]{1,8}",
        of("[0-9]\\.[0-9]"),
        any::<bool>(),
        vec(arb_property(devinf), 0..4),
        extensions(),
    )
        .prop_map(
            move |(ct_type, ver_ct, field_level, properties, extensions)| CtCap {
                ct_type,
                ver_ct: ver_ct.filter(|_| full),
                field_level: field_level && full,
                properties,
                extensions,
            },
        )
}

pub fn arb_data_store(devinf: Version) -> impl Strategy<Value = DataStore> {
    let full = devinf >= Version::V1_2;
    let caps = if full {
        vec(arb_ct_cap(devinf), 0..3).boxed()
    } else {
        Just(Vec::new()).boxed()
    };
    let ds_mem = (
        any::<bool>(),
        of(any::<u64>()),
        of(any::<u64>()),
        extensions(),
    )
        .prop_map(|(shared_mem, max_mem, max_id, extensions)| DsMem {
            shared_mem,
            max_mem,
            max_id,
            extensions,
        });
    let sync_cap =
        (vec(1u32..8, 0..7), extensions()).prop_map(|(sync_types, extensions)| SyncCap {
            sync_types,
            extensions,
        });
    let filter_cap = (
        "[a-z]{1,6}/[a-z-]{1,8}",
        of("[0-9]\\.[0-9]"),
        vec("[A-Z]{1,6}", 0..3),
        vec("[A-Z]{1,6}", 0..3),
        extensions(),
    )
        .prop_map(
            |(ct_type, ver_ct, filter_keywords, prop_names, extensions)| FilterCap {
                ct_type,
                ver_ct,
                filter_keywords,
                prop_names,
                extensions,
            },
        );
    (
        (
            "[./A-Za-z]{1,12}",
            of(scalar()),
            of(any::<u32>()),
            vec(arb_content_type(), 0..2),
            vec(arb_content_type(), 0..2),
            vec(arb_content_type(), 0..2),
            vec(arb_content_type(), 0..2),
        ),
        (
            caps,
            of(ds_mem),
            any::<bool>(),
            of(sync_cap),
            vec(arb_content_type(), 0..2),
            vec(filter_cap, 0..2),
            extensions(),
        ),
    )
        .prop_map(
            move |(
                (source_ref, display_name, max_guid_size, rx_pref, rx, tx_pref, tx),
                (ct_caps, ds_mem, hierarchical, sync_cap, filter_rx, filter_caps, extensions),
            )| DataStore {
                source_ref,
                display_name,
                max_guid_size,
                rx_pref,
                rx,
                tx_pref,
                tx,
                ct_caps,
                ds_mem,
                support_hierarchical_sync: hierarchical && full,
                sync_cap,
                filter_rx: if full { filter_rx } else { Vec::new() },
                filter_caps: if full { filter_caps } else { Vec::new() },
                extensions,
            },
        )
}

/// A DevInf of a version, capabilities in that version's layout.
pub fn arb_devinf(devinf: Version) -> impl Strategy<Value = DevInf> {
    let flags_exist = devinf >= Version::V1_1;
    let caps = if devinf < Version::V1_2 {
        vec(arb_ct_cap(devinf), 0..3).boxed()
    } else {
        Just(Vec::new()).boxed()
    };
    let ext = ("[A-Za-z-]{1,10}", vec(scalar(), 0..3), extensions()).prop_map(
        |(xnam, xvals, extensions)| Ext {
            xnam,
            xvals,
            extensions,
        },
    );
    (
        vec(of(scalar()), 8),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        vec(arb_data_store(devinf), 0..3),
        caps,
        vec(ext, 0..2),
        extensions(),
    )
        .prop_map(
            move |(texts, (utc, large, changes), data_stores, ct_caps, exts, extensions)| {
                let mut t = texts.into_iter();
                let mut next = || t.next().flatten();
                DevInf {
                    ver_dtd: devinf,
                    man: next(),
                    model: next(),
                    oem: next(),
                    fw_v: next(),
                    sw_v: next(),
                    hw_v: next(),
                    dev_id: next(),
                    dev_typ: next(),
                    utc: utc && flags_exist,
                    support_large_objs: large && flags_exist,
                    support_number_of_changes: changes && flags_exist,
                    data_stores,
                    ct_caps,
                    exts,
                    extensions,
                }
            },
        )
}
