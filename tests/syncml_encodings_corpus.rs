//! Every real message in the corpus goes through the typed model, both encodings, both ways:
//! XML -> model -> WBXML -> model and WBXML -> model -> WBXML -> model give the same model.

mod support;

use handsync::syncml::{self, Document, Encoding};
use handsync::wbxml;
use support::*;

fn reencode_both_ways(name: &str, document: &Document) {
    let options = wbxml::WriterOptions::default();
    let wbxml_bytes = syncml::document_to_wbxml(document, &options)
        .unwrap_or_else(|e| panic!("{name}: model -> WBXML: {e}"));
    let (from_wbxml, encoding) = syncml::decode_document(&wbxml_bytes)
        .unwrap_or_else(|e| panic!("{name}: our WBXML does not decode: {e}"));
    assert_eq!(encoding, Encoding::Wbxml);
    assert_eq!(
        &from_wbxml, document,
        "{name}: model -> WBXML -> model differs"
    );

    let xml = syncml::document_to_xml(document, syncml::xml::XmlOptions::default())
        .unwrap_or_else(|e| panic!("{name}: model -> XML: {e}"));
    let (from_xml, encoding) = syncml::decode_document(xml.as_bytes())
        .unwrap_or_else(|e| panic!("{name}: our XML does not decode: {e}\n{xml}"));
    assert_eq!(encoding, Encoding::Xml);
    assert_eq!(&from_xml, document, "{name}: model -> XML -> model differs");
}

#[test]
fn every_corpus_wbxml_message_decodes_and_round_trips() {
    for file in corpus_files("wbxml", ".wbxml") {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&file).unwrap();
        let (document, encoding) =
            syncml::decode_document(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(encoding, Encoding::Wbxml);
        reencode_both_ways(&name, &document);
    }
}

#[test]
fn every_corpus_xml_message_parses_and_round_trips() {
    for file in corpus_files("wbxml", ".xml") {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&file).unwrap();
        let (document, encoding) =
            syncml::decode_document(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(encoding, Encoding::Xml);
        reencode_both_ways(&name, &document);
    }
}

#[test]
fn real_phone_messages_carry_what_the_phone_sent() {
    let corpus = corpus_dir();
    let bytes = std::fs::read(corpus.join("wbxml/horde-z600_client_0.wbxml")).unwrap();
    let (document, _) = syncml::decode_document(&bytes).unwrap();
    let Document::Message(message) = document else {
        panic!("the Z600 capture is a SyncML message");
    };
    assert_eq!(message.version, handsync::markup::Version::V1_0);
    let devinf = message
        .devinfs()
        .next()
        .expect("the Z600 puts its DevInf in its first message");
    assert_eq!(devinf.man.as_deref(), Some("SonyEricsson"));
    assert!(devinf.data_stores.iter().any(|d| d.source_ref == "EriPBDB"));

    let bytes = std::fs::read(corpus.join("wbxml/horde-devinf.wbxml")).unwrap();
    let (document, _) = syncml::decode_document(&bytes).unwrap();
    assert!(matches!(document, Document::DevInf(_)));
}

#[test]
fn buteo_session_messages_decode_and_invalid_ones_are_refused_precisely() {
    let must_decode = [
        "basicbasetransport.txt",
        "basicbasetransport2.txt",
        "cmdhandler_get.txt",
        "cmdhandler_put.txt",
        "devinf01.txt",
        "devinf02.txt",
        "resp.txt",
        "subcommands01.txt",
        "syncml_init.txt",
        "syncml_resp.txt",
        "syncml_resp2.txt",
        "syncml_resp3.txt",
        "syncml_resp4.txt",
        "syncml_resp5.txt",
        "testURI.txt",
        "transport_initrequest_nohdr.txt",
    ];
    let corpus = corpus_dir().join("sessions/buteo");
    for name in must_decode {
        let bytes = std::fs::read(corpus.join(name)).unwrap();
        let (document, _) =
            syncml::decode_document(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        reencode_both_ways(name, &document);
    }
    // (file, words the error must contain)
    let must_fail = [
        ("respinvalid1.txt", "root"),
        ("respinvalid2.txt", "SyncHdr"),
        ("respinvalid3.txt", "SyncBody"),
        ("respinvalid4.txt", "SyncHdr"),
        ("respinvalid5.txt", "SyncHdr"),
        ("respinvalid6.txt", "SyncBody"),
        ("testAdd.txt", "Add"),
        ("transport_initrequest.txt", "POST"),
    ];
    for (name, words) in must_fail {
        let bytes = std::fs::read(corpus.join(name)).unwrap();
        let error = syncml::decode_document(&bytes)
            .err()
            .unwrap_or_else(|| panic!("{name} is invalid but decoded"));
        let text = error.to_string();
        assert!(
            text.contains(words),
            "{name}: error '{text}' should mention {words}"
        );
    }
}
