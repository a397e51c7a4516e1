//! The model through the XML codec: model -> XML text -> model is the identity, compact and
//! indented, for random messages of all versions (binary data excepted: XML cannot carry it).

mod common;

use common::syncml_strategy::arb_message;
use handsync::syncml::xml::{XmlOptions, XmlReader, XmlWriter};
use handsync::syncml::{Data, Message};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

/// Whether the message holds bytes that are not text, anywhere. (The debug form names the
/// variant; the strategy's strings never contain a parenthesis.)
fn has_binary(message: &Message) -> bool {
    format!("{message:?}").contains("Binary(")
}

#[test]
fn model_to_xml_to_model_is_identity() {
    // The strategy's value trees need more stack than a test thread has in debug builds.
    let runner = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            let mut runner = TestRunner::new(ProptestConfig {
                cases: 200,
                failure_persistence: None,
                ..ProptestConfig::default()
            });
            let messages =
                arb_message().prop_filter("XML carries no binary data", |m| !has_binary(m));
            runner
                .run(&messages, |message| {
                    for options in [XmlOptions::default(), XmlOptions::pretty()] {
                        let mut writer = XmlWriter::new(message.version, options);
                        message
                            .write(&mut writer)
                            .map_err(|e| TestCaseError::fail(e.to_string()))?;
                        let xml = writer
                            .finish()
                            .map_err(|e| TestCaseError::fail(e.to_string()))?;
                        let again = Message::read(&mut XmlReader::new(&xml));
                        prop_assert_eq!(again, Ok(message.clone()), "{}", xml);
                    }
                    Ok(())
                })
                .map_err(|failure| failure.to_string())
        })
        .expect("spawn the property test");
    if let Err(failure) = runner.join().expect("property test thread") {
        panic!("{failure}");
    }
}

#[test]
fn binary_data_cannot_be_written_as_xml() {
    let text = "<SyncML><SyncHdr><VerDTD>1.1</VerDTD><VerProto>SyncML/1.1</VerProto>\
        <SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>a</LocURI></Target>\
        <Source><LocURI>b</LocURI></Source></SyncHdr><SyncBody><Add><CmdID>1</CmdID>\
        <Item><Data>x</Data></Item></Add></SyncBody></SyncML>";
    let mut message = Message::read(&mut XmlReader::new(text)).expect("read");
    if let Some(handsync::syncml::Command::Add(add)) = message.body.commands.first_mut() {
        add.items[0].data = Some(Data::Binary(b"M\xfcller".to_vec()));
    }
    let mut writer = XmlWriter::new(message.version, XmlOptions::default());
    let error = message.write(&mut writer).expect_err("binary in XML");
    assert_eq!(error.path, "SyncML/SyncBody/Add/Item/Data");
    assert!(error.markup.is_some());
}
