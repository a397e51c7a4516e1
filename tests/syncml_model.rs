//! The model's one mapping to and from markup: read, write and read again, for messages with
//! every command, nesting, large objects, vendor elements, opaque text; errors with their
//! element path; and a property test over random messages (DevInf: `syncml_devinf.rs`).

mod common;
mod support;

use common::syncml_strategy::arb_message;
use common::syncml_trees::*;
use handsync::markup::{
    DocumentType, Element, Event, EventReader, MarkupError, Namespace, Node, Position, TreeBuilder,
    TreeReader, Version,
};
use handsync::syncml::*;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

// ----- messages -----

#[test]
fn a_message_with_every_command_reads_writes_and_reads_the_same() {
    let item = |uri: &str, data: &str| {
        s("Item")
            .with_child(loc("Source", uri))
            .with_child(st("Data", data))
    };
    let tree = message(
        "1.2",
        vec![
            s("Status")
                .with_child(st("CmdID", "1"))
                .with_child(st("MsgRef", "1"))
                .with_child(st("CmdRef", "0"))
                .with_child(st("Cmd", "SyncHdr"))
                .with_child(st("TargetRef", "PC Suite"))
                .with_child(st("SourceRef", "IMEI:1"))
                .with_child(
                    s("Chal").with_child(
                        s("Meta")
                            .with_child(mt("Format", "b64"))
                            .with_child(mt("Type", "syncml:auth-md5"))
                            .with_child(mt("NextNonce", "Tm9uY2U=")),
                    ),
                )
                .with_child(st("Data", "407")),
            s("Alert")
                .with_child(st("CmdID", "2"))
                .with_child(st("Data", "200"))
                .with_child(st("Correlator", "c1"))
                .with_child(
                    s("Item")
                        .with_child(loc("Target", "./contacts"))
                        .with_child(loc("Source", "Contacts"))
                        .with_child(
                            s("Meta").with_child(
                                Element::new(Namespace::MetInf, "Anchor")
                                    .with_child(mt("Last", "20240101T000000Z"))
                                    .with_child(mt("Next", "20240102T000000Z")),
                            ),
                        ),
                ),
            s("Add")
                .with_child(st("CmdID", "3"))
                .with_child(meta_type("text/x-vcard"))
                .with_child(item("1", "BEGIN:VCARD\r\nEND:VCARD\r\n")),
            s("Copy")
                .with_child(st("CmdID", "4"))
                .with_child(item("2", "x")),
            s("Delete")
                .with_child(st("CmdID", "5"))
                .with_child(s("Archive"))
                .with_child(s("SftDel"))
                .with_child(s("Item").with_child(loc("Target", "7"))),
            s("Exec")
                .with_child(st("CmdID", "6"))
                .with_child(st("Correlator", "x"))
                .with_child(s("Item").with_child(loc("Target", "./app"))),
            s("Get")
                .with_child(st("CmdID", "7"))
                .with_child(st("Lang", "en"))
                .with_child(meta_type("application/vnd.syncml-devinf+wbxml"))
                .with_child(s("Item").with_child(loc("Target", "./devinf12"))),
            s("Map")
                .with_child(st("CmdID", "8"))
                .with_child(loc("Target", "./contacts"))
                .with_child(loc("Source", "Contacts"))
                .with_child(
                    s("MapItem")
                        .with_child(loc("Target", "1001"))
                        .with_child(loc("Source", "17")),
                ),
            s("Move").with_child(st("CmdID", "9")).with_child(
                s("Item")
                    .with_child(loc("Source", "3"))
                    .with_child(loc("TargetParent", "folder-2")),
            ),
            s("Put")
                .with_child(st("CmdID", "10"))
                .with_child(s("NoResp"))
                .with_child(item("./devinf12", "")),
            s("Replace")
                .with_child(st("CmdID", "11"))
                .with_child(item("4", "new")),
            s("Results")
                .with_child(st("CmdID", "12"))
                .with_child(st("MsgRef", "1"))
                .with_child(st("CmdRef", "7"))
                .with_child(st("TargetRef", "./devinf12"))
                .with_child(item("./devinf12", "")),
            s("Search")
                .with_child(st("CmdID", "13"))
                .with_child(s("NoResults"))
                .with_child(loc("Target", "./contacts"))
                .with_child(loc("Source", "./mine"))
                .with_child(meta_type("application/x-query"))
                .with_child(st("Data", "N=Doe")),
            s("Sequence").with_child(st("CmdID", "14")).with_child(
                s("Add")
                    .with_child(st("CmdID", "15"))
                    .with_child(item("5", "a")),
            ),
            s("Atomic").with_child(st("CmdID", "16")).with_child(
                s("Replace")
                    .with_child(st("CmdID", "17"))
                    .with_child(item("6", "b")),
            ),
            s("Sync")
                .with_child(st("CmdID", "18"))
                .with_child(loc("Target", "./contacts"))
                .with_child(loc("Source", "Contacts"))
                .with_child(st("NumberOfChanges", "2"))
                .with_child(
                    s("Add")
                        .with_child(st("CmdID", "19"))
                        .with_child(item("8", "c")),
                ),
        ],
    );
    let message = round_trip(&tree);
    let names: Vec<&str> = commands(&message).iter().map(Command::name).collect();
    assert_eq!(
        names,
        [
            "Status", "Alert", "Add", "Copy", "Delete", "Exec", "Get", "Map", "Move", "Put",
            "Replace", "Results", "Search", "Sequence", "Atomic", "Sync"
        ]
    );
    // Written in the specification's order, the tree comes out as it went in.
    assert_eq!(write_tree(&message).normalized(), tree.normalized());

    let Command::Status(status) = &commands(&message)[0] else {
        unreachable!()
    };
    assert_eq!(status.data, StatusCode::MissingCredentials);
    let chal = status.chal.as_ref().expect("Chal");
    assert_eq!(chal.meta.next_nonce.as_deref(), Some("Tm9uY2U="));
    let Command::Alert(alert) = &commands(&message)[1] else {
        unreachable!()
    };
    assert_eq!(alert.data, Some(AlertCode::TwoWay));
    assert_eq!(alert.correlator.as_deref(), Some("c1"));
    let anchor = alert.items[0].meta.as_ref().and_then(|m| m.anchor.clone());
    assert_eq!(
        anchor.map(|a| a.last),
        Some(Some("20240101T000000Z".into()))
    );
    let Command::Sync(sync) = &commands(&message)[15] else {
        unreachable!()
    };
    assert_eq!(sync.number_of_changes, Some(2));
    assert_eq!(sync.commands[0].cmd_id(), Some("19"));
    let Command::Move(moved) = &commands(&message)[8] else {
        unreachable!()
    };
    assert_eq!(moved.items[0].target_parent.as_deref(), Some("folder-2"));
}

#[test]
fn atomic_and_sequence_nest_inside_sync_and_each_other() {
    let add = |id: &str| {
        s("Add")
            .with_child(st("CmdID", id))
            .with_child(s("Item").with_child(st("Data", id)))
    };
    let tree = message(
        "1.1",
        vec![s("Sync").with_child(st("CmdID", "1")).with_child(
            s("Atomic")
                .with_child(st("CmdID", "2"))
                .with_child(s("NoResp"))
                .with_child(add("3"))
                .with_child(
                    s("Sequence")
                        .with_child(st("CmdID", "4"))
                        .with_child(add("5"))
                        .with_child(add("6")),
                ),
        )],
    );
    let message = round_trip(&tree);
    let Command::Sync(sync) = &commands(&message)[0] else {
        panic!("expected a Sync")
    };
    let Command::Atomic(atomic) = &sync.commands[0] else {
        panic!("expected an Atomic")
    };
    assert!(atomic.no_resp);
    let Command::Sequence(sequence) = &atomic.commands[1] else {
        panic!("expected a Sequence")
    };
    let ids: Vec<_> = sequence
        .commands
        .iter()
        .filter_map(Command::cmd_id)
        .collect();
    assert_eq!(ids, ["5", "6"]);
}

#[test]
fn large_object_chunks_keep_more_data_size_and_exact_text() {
    let chunk = "BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE:part one ";
    let tree = message(
        "1.2",
        vec![s("Sync").with_child(st("CmdID", "1")).with_child(
            s("Replace").with_child(st("CmdID", "2")).with_child(
                s("Item")
                    .with_child(loc("Source", "12"))
                    .with_child(
                        s("Meta")
                            .with_child(mt("Type", "text/x-vcard"))
                            .with_child(mt("Size", "4096")),
                    )
                    .with_child(st("Data", chunk))
                    .with_child(s("MoreData")),
            ),
        )],
    );
    let message = round_trip(&tree);
    let Command::Sync(sync) = &commands(&message)[0] else {
        panic!("expected a Sync")
    };
    let Command::Replace(replace) = &sync.commands[0] else {
        panic!("expected a Replace")
    };
    let item = &replace.items[0];
    assert!(item.more_data);
    assert_eq!(item.meta.as_ref().and_then(|m| m.size), Some(4096));
    // The payload keeps its trailing space and CRLFs.
    assert_eq!(item.data, Some(Data::Text(chunk.to_string())));
}

#[test]
fn scalars_are_trimmed_but_payloads_are_not() {
    let tree = message(
        "1.1",
        vec![s("Add").with_child(st("CmdID", "\n  7 \n")).with_child(
            s("Item")
                .with_child(loc("Source", "  ./contacts\n"))
                .with_child(st("Data", "\n  payload  \n")),
        )],
    );
    let message = round_trip(&tree);
    let Command::Add(add) = &commands(&message)[0] else {
        panic!("expected an Add")
    };
    assert_eq!(add.cmd_id.as_deref(), Some("7"));
    let item = &add.items[0];
    assert_eq!(
        item.source.as_ref().map(|s| s.loc_uri.as_str()),
        Some("./contacts")
    );
    assert_eq!(
        item.data.as_ref().and_then(Data::as_text),
        Some("\n  payload  \n")
    );
}

#[test]
fn a_status_anchor_in_data_is_read_as_metinf() {
    let tree = message(
        "1.1",
        vec![s("Status")
            .with_child(st("CmdID", "2"))
            .with_child(st("MsgRef", "1"))
            .with_child(st("CmdRef", "1"))
            .with_child(st("Cmd", "Alert"))
            .with_child(st("Data", "200"))
            .with_child(s("Item").with_child(s("Data").with_child(
                Element::new(Namespace::MetInf, "Anchor").with_child(mt("Next", "276")),
            )))],
    );
    let message = round_trip(&tree);
    let Command::Status(status) = &commands(&message)[0] else {
        panic!("expected a Status")
    };
    let Some(Data::MetInf(metinf)) = &status.items[0].data else {
        panic!("expected MetInf data: {:?}", status.items[0].data)
    };
    assert_eq!(metinf.anchor.as_ref().map(|a| a.next.as_str()), Some("276"));
    assert_eq!(write_tree(&message).normalized(), tree.normalized());
}

// ----- vendor elements, opaque text -----

#[test]
fn unknown_vendor_elements_are_kept_in_their_element_and_written_back() {
    let vendor = Element::new(Namespace::Other, "SonyEricssonX")
        .with_child(Element::new(Namespace::Other, "Flag").with_text("1"));
    let mut foreign = vendor.clone();
    foreign
        .attributes
        .push(("xmlns".into(), "urn:se:ext".into()));
    let tree = message(
        "1.1",
        vec![s("Add")
            .with_child(st("CmdID", "1"))
            .with_child(
                s("Item")
                    .with_child(loc("Source", "1"))
                    .with_child(st("Data", "x"))
                    .with_child(st("X-Nokia-Hint", "keep me")),
            )
            .with_child(foreign.clone())],
    );
    let message = round_trip(&tree);
    let Command::Add(add) = &commands(&message)[0] else {
        panic!("expected an Add")
    };
    assert_eq!(add.extensions, [foreign]);
    assert_eq!(add.items[0].extensions, [st("X-Nokia-Hint", "keep me")]);
    assert_eq!(write_tree(&message).normalized(), tree.normalized());
}

#[test]
fn opaque_text_is_text_when_utf8_and_bytes_otherwise() {
    let mut utf8 = s("Data");
    utf8.children
        .push(Node::Opaque("Grüße €".as_bytes().to_vec()));
    let mut latin1 = s("Data");
    latin1
        .children
        .push(Node::Opaque(b"N:M\xfcller\r\n".to_vec()));
    let mut split = s("Data");
    split.children.push(Node::Text("BEGIN:".into()));
    split.children.push(Node::Opaque(b"VCARD".to_vec()));
    let mut uri = s("LocURI");
    uri.children.push(Node::Opaque(b"./contacts".to_vec()));
    let item = |data: Element| s("Item").with_child(data);
    let tree = message(
        "1.1",
        vec![s("Replace")
            .with_child(st("CmdID", "1"))
            .with_child(item(utf8))
            .with_child(item(latin1))
            .with_child(item(split))
            .with_child(s("Item").with_child(s("Source").with_child(uri)))],
    );
    let message = round_trip(&tree);
    let Command::Replace(replace) = &commands(&message)[0] else {
        panic!("expected a Replace")
    };
    let data: Vec<Option<&Data>> = replace.items.iter().map(|i| i.data.as_ref()).collect();
    assert_eq!(data[0], Some(&Data::Text("Grüße €".into())));
    assert_eq!(data[1], Some(&Data::Binary(b"N:M\xfcller\r\n".to_vec())));
    assert_eq!(data[2], Some(&Data::Text("BEGIN:VCARD".into())));
    assert_eq!(
        replace.items[3].source.as_ref().map(|s| s.loc_uri.as_str()),
        Some("./contacts")
    );
}

#[test]
fn a_wbxml_devinf_nested_in_opaque_is_read_and_its_errors_are_nested() {
    let devinf_bytes = std::fs::read(support::corpus_dir().join("wbxml/horde-devinf.wbxml"))
        .expect("corpus DevInf");
    let with_data = |bytes: Vec<u8>| {
        let mut data = s("Data");
        data.children.push(Node::Opaque(bytes));
        message(
            "1.0",
            vec![s("Put").with_child(st("CmdID", "1")).with_child(
                s("Item")
                    .with_child(loc("Source", "./devinf10"))
                    .with_child(data),
            )],
        )
    };
    let message = read_tree(&with_data(devinf_bytes.clone())).expect("read");
    let Command::Put(put) = &commands(&message)[0] else {
        panic!("expected a Put")
    };
    let Some(Data::DevInf(devinf)) = &put.items[0].data else {
        panic!("expected a DevInf: {:?}", put.items[0].data)
    };
    assert_eq!(devinf.ver_dtd, Version::V1_0);
    assert_eq!(devinf.man.as_deref(), Some("Synthesis AG"));
    assert_eq!(devinf.data_stores.len(), 3);

    let cut = devinf_bytes[..devinf_bytes.len() / 2].to_vec();
    let error = read_tree(&with_data(cut)).expect_err("a cut nested document");
    assert!(
        matches!(error.position, Some(Position::Nested { .. })),
        "{error:?}"
    );
    assert!(
        error.path.starts_with("SyncML/SyncBody/Put/Item/Data"),
        "{error}"
    );
}

// ----- errors -----

fn error_of(tree: &Element) -> SyncMlError {
    read_tree(tree).expect_err("an error")
}

#[test]
fn a_missing_required_element_is_named_with_its_path() {
    let mut tree = message("1.2", vec![]);
    if let Some(Node::Element(hdr)) = tree.children.first_mut() {
        hdr.children
            .retain(|n| !matches!(n, Node::Element(e) if e.name == "MsgID"));
    }
    let error = error_of(&tree);
    assert_eq!(error.path, "SyncML/SyncHdr");
    assert_eq!(error.message, "expected <MsgID> in <SyncHdr>");
    assert!(error.position.is_some());

    let status = message(
        "1.2",
        vec![s("Sync").with_child(st("CmdID", "1")).with_child(
            s("Status")
                .with_child(st("CmdID", "2"))
                .with_child(st("MsgRef", "1"))
                .with_child(st("Cmd", "Add"))
                .with_child(st("Data", "200")),
        )],
    );
    let error = error_of(&status);
    assert_eq!(error.path, "SyncML/SyncBody/Sync/Status");
    assert_eq!(error.message, "expected <CmdRef> in <Status>");

    let target = message(
        "1.2",
        vec![s("Add")
            .with_child(st("CmdID", "1"))
            .with_child(s("Item").with_child(s("Target").with_child(st("LocName", "no uri"))))],
    );
    let error = error_of(&target);
    assert_eq!(error.path, "SyncML/SyncBody/Add/Item/Target");
    assert_eq!(error.message, "expected <LocURI> in <Target>");
}

#[test]
fn a_non_numeric_msgid_or_size_is_an_error_with_its_path() {
    let tree = s("SyncML")
        .with_child(header("1.1", "abc"))
        .with_child(s("SyncBody"));
    let error = error_of(&tree);
    assert_eq!(error.path, "SyncML/SyncHdr/MsgID");
    assert_eq!(error.message, "MsgID: \"abc\" is not a number");

    let mut hdr = header("1.1", "1");
    hdr.children.push(Node::Element(
        s("Meta").with_child(mt("MaxMsgSize", "lots")),
    ));
    let tree = s("SyncML").with_child(hdr).with_child(s("SyncBody"));
    let error = error_of(&tree);
    assert_eq!(error.path, "SyncML/SyncHdr/Meta/MaxMsgSize");
    assert_eq!(error.message, "MaxMsgSize: \"lots\" is not a number");
}

/// A reader that stops after a number of events, as a truncated input would.
struct Cut<'t>(TreeReader<'t>, usize);

impl<'t> EventReader<'t> for Cut<'t> {
    fn next_event(&mut self) -> Result<Option<Event<'t>>, MarkupError> {
        if self.1 == 0 {
            return Ok(None);
        }
        self.1 -= 1;
        self.0.next_event()
    }
    fn position(&self) -> Position {
        self.0.position()
    }
    fn document_type(&self) -> Option<DocumentType> {
        None
    }
}

#[test]
fn an_input_that_ends_early_is_an_unexpected_end_inside_the_open_element() {
    let tree = message(
        "1.1",
        vec![s("Status")
            .with_child(st("CmdID", "1"))
            .with_child(st("MsgRef", "1"))],
    );
    // SyncML, SyncHdr and its children: 25 events; SyncBody, Status, CmdID (3), MsgRef (3):
    // the Status is still open after 33 events.
    for cut in 0..=33 {
        let error = Message::read(&mut Cut(tree.events(), cut)).expect_err("cut input");
        assert!(
            error.message.starts_with("unexpected end inside <")
                || error.message.starts_with("empty document"),
            "cut at {cut}: {error}"
        );
    }
    let error = Message::read(&mut Cut(tree.events(), 33)).expect_err("cut input");
    assert_eq!(error.message, "unexpected end inside <Status>");
    assert_eq!(error.path, "SyncML/SyncBody/Status");
}

#[test]
fn latin1_opaque_in_a_scalar_is_an_error() {
    let mut uri = s("LocURI");
    uri.children
        .push(Node::Opaque(b"./Kalender-M\xe4rz".to_vec()));
    let tree = message(
        "1.1",
        vec![s("Alert")
            .with_child(st("CmdID", "1"))
            .with_child(s("Item").with_child(s("Target").with_child(uri)))],
    );
    let error = error_of(&tree);
    assert_eq!(error.path, "SyncML/SyncBody/Alert/Item/Target/LocURI");
    assert!(error.message.contains("not UTF-8"), "{error}");
    assert!(error.message.contains("0xe4"), "{error}");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let mut command = s("Add").with_child(st("CmdID", "x"));
    for _ in 0..100_000 {
        command = s("Atomic").with_child(command);
    }
    let tree = message("1.2", vec![command]);
    let error = error_of(&tree);
    assert!(error.message.contains("nested more than"), "{error}");
    // Dropping a tree this deep recursively would overflow: take it apart iteratively.
    let mut stack = vec![tree];
    while let Some(mut element) = stack.pop() {
        for child in element.children.drain(..) {
            if let Node::Element(e) = child {
                stack.push(e);
            }
        }
    }
}

#[test]
fn text_where_elements_belong_and_content_after_the_root_are_errors() {
    let tree = message("1.1", vec![s("Add").with_text("stray")]);
    let error = error_of(&tree);
    assert_eq!(error.path, "SyncML/SyncBody/Add");
    assert!(
        error.message.starts_with("unexpected text \"stray\""),
        "{error}"
    );

    let two_headers = s("SyncML")
        .with_child(header("1.1", "1"))
        .with_child(header("1.1", "2"))
        .with_child(s("SyncBody"));
    assert_eq!(
        error_of(&two_headers).message,
        "a second <SyncHdr> in <SyncML>"
    );

    let not_syncml = s("Add");
    assert!(error_of(&not_syncml).message.contains("expected <SyncML>"));
}

#[test]
fn a_message_without_header_needs_a_document_type_for_its_version() {
    let tree = s("SyncML").with_child(s("SyncBody").with_child(s("Final")));
    let error = error_of(&tree);
    assert!(
        error.message.starts_with("cannot tell the SyncML version"),
        "{error}"
    );
    let mut events = tree
        .events()
        .with_document_type(DocumentType::SyncMl(Version::V1_1));
    let message = Message::read(&mut events).expect("read");
    assert_eq!(message.version, Version::V1_1);
    assert!(message.header.is_none() && message.body.final_);
}

// ----- version-specific writing -----

#[test]
fn elements_a_version_lacks_are_left_out_and_move_below_1_2_is_refused() {
    let mut message = round_trip(&message(
        "1.2",
        vec![s("Sync")
            .with_child(st("CmdID", "1"))
            .with_child(st("NumberOfChanges", "3"))
            .with_child(
                s("Add").with_child(st("CmdID", "2")).with_child(
                    s("Item")
                        .with_child(
                            s("Meta")
                                .with_child(mt("MaxObjSize", "100"))
                                .with_child(Element::new(Namespace::MetInf, "FieldLevel")),
                        )
                        .with_child(loc("SourceParent", "p"))
                        .with_child(st("Data", "x"))
                        .with_child(s("MoreData")),
                ),
            )],
    ));
    message.version = Version::V1_0;
    let tree = write_tree(&message);
    let sync = tree
        .child("SyncBody")
        .and_then(|b| b.child("Sync"))
        .expect("Sync");
    assert!(sync.child("NumberOfChanges").is_none());
    let item = sync
        .child("Add")
        .and_then(|a| a.child("Item"))
        .expect("Item");
    assert!(item.child("MoreData").is_none());
    assert!(item.child("SourceParent").is_none());
    let meta = item.child("Meta").expect("Meta");
    assert!(meta.child("MaxObjSize").is_none() && meta.child("FieldLevel").is_none());

    // 1.1 keeps SourceParent (Nokia), MoreData and NumberOfChanges, not FieldLevel.
    message.version = Version::V1_1;
    let tree = write_tree(&message);
    let sync = tree
        .child("SyncBody")
        .and_then(|b| b.child("Sync"))
        .expect("Sync");
    assert!(sync.child("NumberOfChanges").is_some());
    let item = sync
        .child("Add")
        .and_then(|a| a.child("Item"))
        .expect("Item");
    assert!(item.child("SourceParent").is_some() && item.child("MoreData").is_some());

    message
        .body
        .commands
        .push(Command::Move(ItemCommand::default()));
    let error = message
        .write(&mut TreeBuilder::new())
        .expect_err("Move in 1.1");
    assert_eq!(error.message, "Move does not exist in SyncML 1.1");
}

#[test]
fn status_for_header_answers_the_header() {
    let message = read_tree(&message("1.1", vec![])).expect("read");
    let header = message.header.as_ref().expect("header");
    let status = Status::for_header("1", header, StatusCode::AuthenticationAccepted);
    assert_eq!(
        (status.msg_ref, status.cmd_ref.as_str(), status.cmd.as_str()),
        (1, "0", "SyncHdr")
    );
    assert_eq!(status.target_refs, ["PC Suite"]);
    assert_eq!(status.source_refs, ["IMEI:351932004600689"]);
}

// ----- property -----

/// Model -> tree -> events -> model is the identity, for random messages of all versions.
#[test]
fn model_to_tree_to_events_to_model_is_identity() {
    // The strategy's value trees nest deeply: in debug builds generating and shrinking them
    // needs more than a test thread's 2 MiB of stack.
    let runner = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            let mut runner = TestRunner::new(ProptestConfig {
                cases: 256,
                // The failing case is printed; nothing to persist beside the source.
                failure_persistence: None,
                ..ProptestConfig::default()
            });
            let cases = std::sync::atomic::AtomicUsize::new(0);
            let outcome = runner
                .run(&arb_message(), |message| {
                    cases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let tree = write_tree(&message);
                    let mut events = tree
                        .events()
                        .with_document_type(DocumentType::SyncMl(message.version));
                    let again = Message::read(&mut events);
                    prop_assert_eq!(again, Ok(message));
                    Ok(())
                })
                .map_err(|failure| failure.to_string());
            outcome.map(|()| cases.into_inner())
        })
        .expect("spawn the property test");
    match runner.join().expect("property test thread") {
        Ok(cases) => assert!(cases >= 256, "only {cases} cases ran"),
        Err(failure) => panic!("{failure}"),
    }
}
