//! Random element trees over the SyncML, MetInf and DevInf vocabulary, mostly invalid: the
//! reader never panics, and what the writer makes of whatever the reader accepts is a fixed
//! point: read, write, read gives the model that writing and reading it again gives. (The
//! first pass may move things: an element a version lacks is left out, `CTCap` takes the
//! layout of the DevInf version.)

use handsync::markup::{DocumentType, Element, Namespace, Node, TreeBuilder, Version};
use handsync::syncml::Message;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

const NAMES: &[&str] = &[
    "SyncHdr",
    "SyncBody",
    "VerDTD",
    "VerProto",
    "SessionID",
    "MsgID",
    "Target",
    "Source",
    "LocURI",
    "LocName",
    "Cred",
    "Meta",
    "Data",
    "Final",
    "Add",
    "Alert",
    "Atomic",
    "Sync",
    "Sequence",
    "Status",
    "Results",
    "Map",
    "MapItem",
    "Put",
    "Get",
    "Delete",
    "Exec",
    "Search",
    "Item",
    "CmdID",
    "MsgRef",
    "CmdRef",
    "Cmd",
    "TargetRef",
    "SourceRef",
    "NoResp",
    "MoreData",
    "SourceParent",
    "TargetParent",
    "Filter",
    "Field",
    "Record",
    "Chal",
    "NumberOfChanges",
    "Type",
    "Format",
    "Anchor",
    "Last",
    "Next",
    "Mem",
    "FreeMem",
    "EMI",
    "MaxMsgSize",
    "DevInf",
    "DataStore",
    "SourceRef",
    "CTCap",
    "CTType",
    "PropName",
    "ParamName",
    "ValEnum",
    "Property",
    "PropParam",
    "Size",
    "DataType",
    "SyncCap",
    "SyncType",
    "Ext",
    "XNam",
    "X-Vendor",
];

fn arb_name() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(NAMES)
}

fn arb_namespace() -> impl Strategy<Value = Namespace> {
    prop_oneof![
        6 => Just(Namespace::SyncMl),
        2 => Just(Namespace::MetInf),
        2 => Just(Namespace::DevInf),
        1 => Just(Namespace::Other),
    ]
}

fn arb_leaf() -> impl Strategy<Value = Node> {
    prop_oneof![
        "[0-9]{1,3}".prop_map(Node::Text),
        "[ a-z./\n]{0,8}".prop_map(Node::Text),
        proptest::collection::vec(any::<u8>(), 0..6).prop_map(Node::Opaque),
        (arb_namespace(), arb_name()).prop_map(|(ns, name)| Node::Element(Element::new(ns, name))),
    ]
}

fn arb_node() -> impl Strategy<Value = Node> {
    arb_leaf().prop_recursive(6, 64, 5, |inner| {
        (
            arb_namespace(),
            arb_name(),
            proptest::collection::vec(inner, 0..5),
        )
            .prop_map(|(ns, name, children)| {
                let mut element = Element::new(ns, name);
                element.children = children;
                Node::Element(element)
            })
    })
}

/// `children` inside nested elements named by `path` (the first outermost).
fn wrap(path: &[&str], children: Vec<Node>) -> Node {
    let mut node: Option<Element> = None;
    for name in path.iter().rev() {
        let namespace = match *name {
            "DevInf" | "CTCap" => Namespace::DevInf,
            _ => Namespace::SyncMl,
        };
        let mut element = Element::new(namespace, *name);
        match node.take() {
            Some(inner) => element.children.push(Node::Element(inner)),
            None => element.children = children.clone(),
        }
        node = Some(element);
    }
    Node::Element(node.unwrap_or_else(|| Element::new(Namespace::SyncMl, "Empty")))
}

fn header() -> Element {
    let s = |name: &str| Element::new(Namespace::SyncMl, name);
    s("SyncHdr")
        .with_child(s("VerDTD").with_text("1.2"))
        .with_child(s("VerProto").with_text("SyncML/1.2"))
        .with_child(s("SessionID").with_text("1"))
        .with_child(s("MsgID").with_text("1"))
        .with_child(s("Target").with_child(s("LocURI").with_text("a")))
        .with_child(s("Source").with_child(s("LocURI").with_text("b")))
}

/// Writes a message to a tree and reads it back.
fn rewrite(message: &Message) -> Result<Message, TestCaseError> {
    let mut builder = TreeBuilder::new();
    message
        .write(&mut builder)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let written = builder
        .finish()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut events = written
        .events()
        .with_document_type(DocumentType::SyncMl(Version::V1_2));
    Message::read(&mut events).map_err(|e| TestCaseError::fail(format!("re-read: {e}")))
}

#[test]
fn random_trees_never_panic_and_what_is_accepted_round_trips() {
    let runner = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            let mut runner = TestRunner::new(ProptestConfig {
                cases: 2000,
                failure_persistence: None,
                ..ProptestConfig::default()
            });
            let nodes = || proptest::collection::vec(arb_node(), 0..6);
            // Random content anywhere in the body, inside an item's Data, or inside a DevInf
            // (where the flat CTCap layout and MetInf-in-Data merging live).
            let bodies = prop_oneof![
                nodes(),
                nodes().prop_map(|children| vec![wrap(&["Put", "Item", "Data"], children)]),
                nodes().prop_map(|children| {
                    vec![wrap(
                        &["Results", "Item", "Data", "DevInf", "CTCap"],
                        children,
                    )]
                }),
                nodes().prop_map(|children| vec![wrap(&["Status", "Item", "Data"], children)]),
            ];
            let accepted = std::sync::atomic::AtomicUsize::new(0);
            let outcome = runner
                .run(&bodies, |children| {
                    let mut body = Element::new(Namespace::SyncMl, "SyncBody");
                    body.children = children;
                    let tree = Element::new(Namespace::SyncMl, "SyncML")
                        .with_child(header())
                        .with_child(body);
                    let Ok(message) = Message::read(&mut tree.events()) else {
                        return Ok(());
                    };
                    accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let once = rewrite(&message)?;
                    let twice = rewrite(&once)?;
                    prop_assert_eq!(twice, once);
                    Ok(())
                })
                .map_err(|failure| failure.to_string());
            outcome.map(|()| accepted.into_inner())
        })
        .expect("spawn the property test");
    match runner.join().expect("property test thread") {
        // Most random trees are accepted (unknown structure is kept verbatim), so the
        // round trip is exercised on many odd shapes.
        Ok(accepted) => assert!(accepted >= 200, "only {accepted} trees were accepted"),
        Err(failure) => panic!("{failure}"),
    }
}
