//! The model reads every message of the shared corpus (XML and WBXML), and what it writes
//! reads back to the same model.

mod support;

use handsync::markup::{DocumentType, EventReader, TreeBuilder};
use handsync::syncml::xml::XmlReader;
use handsync::syncml::{DevInf, Message};
use handsync::wbxml;
use std::path::Path;

/// Writes a message to a tree and reads the tree back.
fn reread(message: &Message) -> Message {
    let mut builder = TreeBuilder::new();
    message.write(&mut builder).expect("write");
    let tree = builder.finish().expect("finished tree");
    // A message without a header carries its version in the document type only.
    let mut events = tree
        .events()
        .with_document_type(DocumentType::SyncMl(message.version));
    Message::read(&mut events).unwrap_or_else(|e| panic!("re-read: {e}\n{tree:#?}"))
}

/// The name of an XML document's root element.
fn root_name(text: &str) -> &str {
    let mut rest = text;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        if !rest.starts_with('?') && !rest.starts_with('!') {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .unwrap_or(rest.len());
            return &rest[..end];
        }
    }
    ""
}

/// Reads a message, or a standalone DevInf (checked to round-trip here, as there is no message).
fn read_any<'a>(reader: &mut impl EventReader<'a>, devinf: bool, file: &Path) -> Option<Message> {
    match devinf {
        true => {
            let devinf = DevInf::read(reader).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let mut builder = TreeBuilder::new();
            devinf.write(&mut builder).expect("write devinf");
            let tree = builder.finish().expect("tree");
            assert_eq!(DevInf::read(&mut tree.events()).expect("re-read"), devinf);
            None
        }
        false => Some(Message::read(reader).unwrap_or_else(|e| panic!("{}: {e}", file.display()))),
    }
}

#[test]
fn every_xml_message_of_the_wbxml_corpus_reads_and_round_trips() {
    for file in support::corpus_files("wbxml", ".xml") {
        let text = std::fs::read_to_string(&file).expect("read file");
        let devinf = root_name(&text) == "DevInf";
        if let Some(message) = read_any(&mut XmlReader::new(&text), devinf, &file) {
            assert_eq!(reread(&message), message, "{}", file.display());
        }
    }
}

#[test]
fn every_wbxml_message_of_the_corpus_reads_and_round_trips() {
    for file in support::corpus_files("wbxml", ".wbxml") {
        let bytes = std::fs::read(&file).expect("read file");
        let devinf = matches!(wbxml::sniff_document(&bytes), Some(DocumentType::DevInf(_)));
        let mut reader = wbxml::Reader::new(&bytes).expect("WBXML header");
        if let Some(message) = read_any(&mut reader, devinf, &file) {
            assert_eq!(reread(&message), message, "{}", file.display());
        }
    }
}

#[test]
fn buteo_messages_read_or_fail_with_a_path() {
    let mut read = 0;
    for file in support::corpus_files("sessions/buteo", ".txt") {
        let text = std::fs::read_to_string(&file).expect("read file");
        if root_name(&text) == "DevInf" {
            read_any(&mut XmlReader::new(&text), true, &file);
            read += 1;
            continue;
        }
        match Message::read(&mut XmlReader::new(&text)) {
            Ok(message) => {
                read += 1;
                assert_eq!(reread(&message), message, "{}", file.display());
            }
            // Fragments (a lone SyncHdr or Item), and messages broken on purpose.
            Err(e) => {
                assert!(!e.message.is_empty() && e.position.is_some(), "{e:?}");
                eprintln!("{}: {e}", file.display());
            }
        }
    }
    assert!(read >= 15, "only {read} buteo messages read");
}

fn read_wbxml(name: &str) -> Message {
    let bytes = std::fs::read(support::corpus_dir().join("wbxml").join(name)).expect("read file");
    let mut reader = wbxml::Reader::new(&bytes).expect("WBXML header");
    Message::read(&mut reader).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn sony_ericsson_z600_devinf_nested_in_opaque_is_read_as_devinf_1_0() {
    use handsync::markup::Version;
    use handsync::syncml::{Command, Data};
    let message = read_wbxml("horde-z600_client_0.wbxml");
    assert_eq!(message.version, Version::V1_0);
    let Some(Command::Put(put)) = message.body.commands.first() else {
        panic!("expected a Put first: {:?}", message.body.commands);
    };
    let Some(Data::DevInf(devinf)) = &put.items[0].data else {
        panic!("expected a DevInf: {:?}", put.items[0].data);
    };
    assert_eq!(devinf.ver_dtd, Version::V1_0);
    assert_eq!(devinf.man.as_deref(), Some("SonyEricsson"));
    // MaxGUIDSize comes before SourceRef in this phone's DataStore: read all the same.
    assert_eq!(devinf.data_stores.len(), 3);
    assert_eq!(devinf.data_stores[0].source_ref, "EriPBDB");
    assert_eq!(devinf.data_stores[0].max_guid_size, Some(40));
    let types: Vec<&str> = devinf.ct_caps.iter().map(|c| c.ct_type.as_str()).collect();
    assert_eq!(types, ["text/x-vcard", "text/vcard", "text/x-vcalendar"]);
    let tel = &devinf.ct_caps[0].properties[6];
    assert_eq!(tel.name, "TEL");
    let params: Vec<&str> = tel.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(params, ["WORK", "FAX", "CELL", "HOME"]);
    let class = devinf.ct_caps[2]
        .properties
        .iter()
        .find(|p| p.name == "CLASS")
        .expect("CLASS");
    assert_eq!(class.val_enums, ["PUBLIC", "PRIVATE"]);
    let phonebook = &devinf.data_stores[0];
    assert_eq!(devinf.ct_caps_for(phonebook).len(), 2);
}

#[test]
fn sony_ericsson_k500i_opaque_text_is_read_as_text() {
    use handsync::syncml::{AlertCode, Command};
    let message = read_wbxml("horde-k500i_client_0.wbxml");
    let header = message.header.as_ref().expect("header");
    assert_eq!(header.source.loc_uri, "354416005739727");
    assert_eq!(
        header.meta.as_ref().and_then(|m| m.max_msg_size),
        Some(2700)
    );
    let Some(Command::Alert(alert)) = message.body.commands.first() else {
        panic!("expected an Alert");
    };
    assert_eq!(alert.data, Some(AlertCode::SlowSync));
    let anchor = alert.items[0].meta.as_ref().and_then(|m| m.anchor.as_ref());
    assert_eq!(anchor.map(|a| a.next.as_str()), Some("51"));
    assert!(message.body.final_);
}
