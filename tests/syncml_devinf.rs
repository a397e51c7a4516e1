//! DevInf in the SyncML model: both CTCap layouts (1.1 flat, 1.2 inside the datastore), the
//! move from one to the other when written for another version, and the version a DevInf
//! without VerDTD takes.

mod common;

use common::syncml_trees::*;
use handsync::markup::{Element, Node, TreeBuilder, Version};
use handsync::syncml::*;

// ----- DevInf -----

fn devinf_1_1() -> Element {
    d("DevInf")
        .with_child(dt("VerDTD", "1.1"))
        .with_child(dt("Man", "Nokia"))
        .with_child(dt("Mod", "6230i"))
        .with_child(dt("DevID", "IMEI:3569"))
        .with_child(dt("DevTyp", "phone"))
        .with_child(d("SupportLargeObjs"))
        .with_child(
            d("DataStore")
                .with_child(dt("SourceRef", "./C\\Contacts.cdb"))
                .with_child(dt("MaxGUIDSize", "8"))
                .with_child(
                    d("Rx-Pref")
                        .with_child(dt("CTType", "text/x-vcard"))
                        .with_child(dt("VerCT", "2.1")),
                )
                .with_child(
                    d("Tx-Pref")
                        .with_child(dt("CTType", "text/x-vcard"))
                        .with_child(dt("VerCT", "2.1")),
                )
                .with_child(
                    d("SyncCap")
                        .with_child(dt("SyncType", "1"))
                        .with_child(dt("SyncType", "2")),
                ),
        )
        .with_child(
            d("CTCap")
                .with_child(dt("CTType", "text/x-vcard"))
                .with_child(dt("PropName", "BEGIN"))
                .with_child(dt("ValEnum", "VCARD"))
                .with_child(dt("PropName", "N"))
                .with_child(dt("Size", "64"))
                .with_child(dt("PropName", "TEL"))
                .with_child(dt("ParamName", "TYPE"))
                .with_child(dt("ValEnum", "CELL"))
                .with_child(dt("ValEnum", "HOME"))
                .with_child(dt("ParamName", "PREF"))
                .with_child(dt("CTType", "text/plain"))
                .with_child(dt("PropName", "BODY")),
        )
        .with_child(
            d("Ext")
                .with_child(dt("XNam", "X-NOKIA-FOO"))
                .with_child(dt("XVal", "1")),
        )
}

fn results_with(devinf: Element) -> Element {
    let version = devinf
        .child("VerDTD")
        .map(Element::text)
        .unwrap_or_default();
    message(
        &version,
        vec![s("Results")
            .with_child(st("CmdID", "2"))
            .with_child(st("MsgRef", "1"))
            .with_child(st("CmdRef", "5"))
            .with_child(meta_type("application/vnd.syncml-devinf+xml"))
            .with_child(
                s("Item")
                    .with_child(loc("Source", "./devinf11"))
                    .with_child(s("Data").with_child(devinf)),
            )],
    )
}

fn devinf_of(message: &Message) -> &DevInf {
    let Command::Results(results) = &commands(message)[0] else {
        panic!("expected Results")
    };
    match &results.items[0].data {
        Some(Data::DevInf(devinf)) => devinf,
        other => panic!("expected a DevInf: {other:?}"),
    }
}

#[test]
fn results_with_devinf_1_1_structures_the_flat_ctcap() {
    let tree = results_with(devinf_1_1());
    let message = round_trip(&tree);
    let devinf = devinf_of(&message);
    assert_eq!(devinf.ver_dtd, Version::V1_1);
    assert_eq!(devinf.model.as_deref(), Some("6230i"));
    assert!(devinf.support_large_objs && !devinf.utc);
    assert_eq!(
        devinf.data_stores[0]
            .sync_cap
            .as_ref()
            .map(|c| c.sync_types.clone()),
        Some(vec![1, 2])
    );
    assert_eq!(devinf.ct_caps.len(), 2);
    let vcard = &devinf.ct_caps[0];
    assert_eq!(vcard.ct_type, "text/x-vcard");
    let names: Vec<&str> = vcard.properties.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["BEGIN", "N", "TEL"]);
    assert_eq!(vcard.properties[0].val_enums, ["VCARD"]);
    assert_eq!(vcard.properties[1].max_size, Some(64));
    let tel = &vcard.properties[2];
    assert_eq!(tel.params.len(), 2);
    assert_eq!(tel.params[0].name, "TYPE");
    // ValEnums after a ParamName belong to the parameter, not the property.
    assert_eq!(tel.params[0].val_enums, ["CELL", "HOME"]);
    assert!(tel.val_enums.is_empty());
    assert_eq!(devinf.ct_caps[1].properties[0].name, "BODY");
    assert_eq!(devinf.exts[0].xvals, ["1"]);
    // Written back in the 1.1 layout, element for element.
    assert_eq!(write_tree(&message).normalized(), tree.normalized());
    // The capabilities apply to the datastore that sends vCards.
    let store = &devinf.data_stores[0];
    assert_eq!(devinf.ct_caps_for(store).len(), 1);
}

#[test]
fn results_with_devinf_1_2_reads_ctcap_inside_the_datastore() {
    let tree = results_with(
        d("DevInf")
            .with_child(dt("VerDTD", "1.2"))
            .with_child(dt("Man", "SonyEricsson"))
            .with_child(dt("DevID", "IMEI:1"))
            .with_child(dt("DevTyp", "phone"))
            .with_child(d("UTC"))
            .with_child(
                d("DataStore")
                    .with_child(dt("SourceRef", "Contacts"))
                    .with_child(
                        d("Rx-Pref")
                            .with_child(dt("CTType", "text/vcard"))
                            .with_child(dt("VerCT", "3.0")),
                    )
                    .with_child(
                        d("Tx-Pref")
                            .with_child(dt("CTType", "text/vcard"))
                            .with_child(dt("VerCT", "3.0")),
                    )
                    .with_child(
                        d("CTCap")
                            .with_child(dt("CTType", "text/vcard"))
                            .with_child(dt("VerCT", "3.0"))
                            .with_child(
                                d("Property")
                                    .with_child(dt("PropName", "TEL"))
                                    .with_child(dt("MaxOccur", "5"))
                                    .with_child(dt("MaxSize", "40"))
                                    .with_child(d("NoTruncate"))
                                    .with_child(
                                        d("PropParam")
                                            .with_child(dt("ParamName", "TYPE"))
                                            .with_child(dt("ValEnum", "CELL"))
                                            .with_child(dt("ValEnum", "WORK")),
                                    ),
                            )
                            .with_child(
                                d("Property")
                                    .with_child(dt("PropName", "N"))
                                    .with_child(dt("DisplayName", "Name")),
                            ),
                    )
                    .with_child(
                        d("DSMem")
                            .with_child(dt("MaxMem", "100000"))
                            .with_child(dt("MaxID", "500")),
                    )
                    .with_child(d("SupportHierarchicalSync"))
                    .with_child(d("SyncCap").with_child(dt("SyncType", "7"))),
            ),
    );
    let message = round_trip(&tree);
    let devinf = devinf_of(&message);
    assert_eq!(devinf.ver_dtd, Version::V1_2);
    assert!(devinf.ct_caps.is_empty());
    let store = &devinf.data_stores[0];
    assert!(store.support_hierarchical_sync);
    assert_eq!(store.ds_mem.as_ref().and_then(|m| m.max_id), Some(500));
    let cap = &store.ct_caps[0];
    assert_eq!(cap.ver_ct.as_deref(), Some("3.0"));
    let tel = &cap.properties[0];
    assert_eq!(
        (tel.max_occur, tel.max_size, tel.no_truncate),
        (Some(5), Some(40), true)
    );
    assert_eq!(tel.params[0].val_enums, ["CELL", "WORK"]);
    assert_eq!(cap.properties[1].display_name.as_deref(), Some("Name"));
    assert_eq!(write_tree(&message).normalized(), tree.normalized());
}

#[test]
fn a_devinf_1_1_written_as_1_2_moves_its_ctcap_into_the_datastore() {
    let message = round_trip(&results_with(devinf_1_1()));
    let mut devinf = devinf_of(&message).clone();
    devinf.ver_dtd = Version::V1_2;
    let mut builder = TreeBuilder::new();
    devinf.write(&mut builder).expect("write");
    let tree = builder.finish().expect("tree");
    assert!(
        tree.child("CTCap").is_none(),
        "no DevInf-level CTCap in 1.2"
    );
    let store = tree.child("DataStore").expect("DataStore");
    let cap = store.child("CTCap").expect("CTCap inside the datastore");
    assert_eq!(cap.elements().filter(|e| e.name == "Property").count(), 3);
    let again = DevInf::read(&mut tree.events()).expect("re-read");
    // The vCard capability went to the datastore that sends vCards; text/plain, handled by
    // no datastore, to the first one.
    assert_eq!(again.data_stores[0].ct_caps.len(), 2);
    assert_eq!(
        again.data_stores[0].ct_caps[0].properties[2].params[0].val_enums,
        ["CELL", "HOME"]
    );
    // And back to 1.1: one flat CTCap at DevInf level again.
    let mut back = again.clone();
    back.ver_dtd = Version::V1_1;
    let mut builder = TreeBuilder::new();
    back.write(&mut builder).expect("write");
    let flat = DevInf::read(&mut builder.finish().expect("tree").events()).expect("re-read");
    assert_eq!(flat.ct_caps, devinf.ct_caps);
}

#[test]
fn a_devinf_without_verdtd_takes_the_message_version() {
    let tree = results_with(
        d("DevInf")
            .with_child(dt("Man", "Big Factory"))
            .with_child(d("DataStore").with_child(dt("SourceRef", "./contacts"))),
    );
    // results_with() found no VerDTD: give the message one.
    let tree = {
        let mut t = tree;
        if let Some(Node::Element(hdr)) = t.children.first_mut() {
            *hdr = header("1.1", "1");
        }
        t
    };
    let message = read_tree(&tree).expect("read");
    assert_eq!(devinf_of(&message).ver_dtd, Version::V1_1);
}
