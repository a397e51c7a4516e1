//! SyncML trees built by hand for the model's tests: the elements by namespace, a header and a
//! message around commands, and the read / write / read-again round trip.

use handsync::markup::{DocumentType, Element, Namespace, TreeBuilder};
use handsync::syncml::{Command, Message, SyncMlError};

pub fn s(name: &str) -> Element {
    Element::new(Namespace::SyncMl, name)
}
pub fn st(name: &str, text: &str) -> Element {
    s(name).with_text(text)
}
pub fn mt(name: &str, text: &str) -> Element {
    Element::new(Namespace::MetInf, name).with_text(text)
}
pub fn d(name: &str) -> Element {
    Element::new(Namespace::DevInf, name)
}
pub fn dt(name: &str, text: &str) -> Element {
    d(name).with_text(text)
}
pub fn loc(name: &str, uri: &str) -> Element {
    s(name).with_child(st("LocURI", uri))
}
pub fn meta_type(type_: &str) -> Element {
    s("Meta").with_child(mt("Type", type_))
}
pub fn header(version: &str, msg_id: &str) -> Element {
    s("SyncHdr")
        .with_child(st("VerDTD", version))
        .with_child(st("VerProto", &format!("SyncML/{version}")))
        .with_child(st("SessionID", "42"))
        .with_child(st("MsgID", msg_id))
        .with_child(loc("Target", "PC Suite"))
        .with_child(loc("Source", "IMEI:351932004600689"))
}
pub fn message(version: &str, commands: Vec<Element>) -> Element {
    let mut body = s("SyncBody");
    for command in commands {
        body = body.with_child(command);
    }
    s("SyncML")
        .with_child(header(version, "1"))
        .with_child(body.with_child(s("Final")))
}

pub fn read_tree(tree: &Element) -> Result<Message, SyncMlError> {
    Message::read(&mut tree.events())
}

pub fn write_tree(message: &Message) -> Element {
    let mut builder = TreeBuilder::new();
    message.write(&mut builder).expect("write");
    builder.finish().expect("a finished tree")
}

/// Reads a tree, writes the model and checks that the written tree reads to the same model.
pub fn round_trip(tree: &Element) -> Message {
    let message = read_tree(tree).unwrap_or_else(|e| panic!("{e}"));
    let written = write_tree(&message);
    let mut events = written
        .events()
        .with_document_type(DocumentType::SyncMl(message.version));
    let again = Message::read(&mut events).unwrap_or_else(|e| panic!("re-read: {e}"));
    assert_eq!(again, message);
    message
}

pub fn commands(message: &Message) -> &[Command] {
    &message.body.commands
}
