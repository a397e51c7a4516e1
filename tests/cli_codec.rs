//! `handsync decode` and `handsync encode` as a user runs them: files and standard input,
//! exit statuses, and error messages that say where and what.

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use support::*;

fn handsync(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("handsync runs");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(bytes) = stdin {
        input.write_all(bytes).expect("write stdin");
    }
    drop(input);
    child.wait_with_output().expect("handsync finishes")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn decode_prints_every_corpus_wbxml_as_xml_that_reads_back_to_the_same_message() {
    for file in corpus_files("wbxml", ".wbxml") {
        let path = file.to_str().unwrap();
        let output = handsync(&["decode", path], None);
        assert!(output.status.success(), "{path}: {}", stderr(&output));
        let shown = handsync::syncml::decode_document(&output.stdout)
            .unwrap_or_else(|e| panic!("{path}: decode's XML does not read back: {e}"));
        let original = handsync::syncml::decode_document(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(shown.0, original.0, "{path}");
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.contains("\n  <"), "{path}: decode indents its output");
    }
}

#[test]
fn decode_reads_standard_input_and_raw_mode_shows_the_tree() {
    let bytes = std::fs::read(corpus_dir().join("wbxml/horde-k500i_client_0.wbxml")).unwrap();
    let output = handsync(&["decode", "-"], Some(&bytes));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("<LocURI>354416005739727</LocURI>"));
    let raw = handsync(&["decode", "--raw"], Some(&bytes));
    assert!(raw.status.success(), "{}", stderr(&raw));
    let tree = handsync::syncml::xml::decode_tree(&String::from_utf8(raw.stdout).unwrap()).unwrap();
    let original = handsync::wbxml::decode_tree(&bytes).unwrap();
    assert_eq!(tree.normalized(), original.normalized());
}

#[test]
fn encode_writes_wbxml_that_decodes_to_the_same_message() {
    for file in corpus_files("wbxml", ".xml") {
        let path = file.to_str().unwrap();
        let original = handsync::syncml::decode_document(&std::fs::read(&file).unwrap()).unwrap();
        let output = handsync(&["encode", path], None);
        assert!(output.status.success(), "{path}: {}", stderr(&output));
        assert_ne!(output.stdout.first(), Some(&b'<'), "{path}: WBXML expected");
        let (again, encoding) = handsync::syncml::decode_document(&output.stdout).unwrap();
        assert_eq!(encoding, handsync::syncml::Encoding::Wbxml);
        assert_eq!(again, original.0, "{path}");
    }
}

#[test]
fn encode_with_latin1_strings_keeps_the_text() {
    let xml = "<SyncML xmlns='SYNCML:SYNCML1.1'><SyncHdr><VerDTD>1.1</VerDTD>\
        <VerProto>SyncML/1.1</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>\
        <Target><LocURI>PC Suite</LocURI></Target><Source><LocURI>Müller's K750i</LocURI>\
        </Source></SyncHdr><SyncBody><Final/></SyncBody></SyncML>";
    let output = handsync(
        &["encode", "--syncml", "1.1", "--charset", "iso-8859-1"],
        Some(xml.as_bytes()),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        output.stdout.windows(7).any(|w| w == b"M\xfcller'"),
        "the name is stored in ISO-8859-1"
    );
    let message = handsync::syncml::decode(&output.stdout).unwrap();
    assert_eq!(
        message.header.unwrap().source.loc_uri,
        "Müller's K750i".to_string()
    );
}

#[test]
fn bad_input_exits_2_naming_the_byte_or_line_and_what_was_expected() {
    let bytes = std::fs::read(corpus_dir().join("wbxml/horde-k500i_client_0.wbxml")).unwrap();
    let output = handsync(&["decode", "-"], Some(&bytes[..100]));
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("<stdin>") && message.contains("byte"),
        "{message}"
    );

    let xml = b"<SyncML><SyncHdr><VerDTD>1.1</VerDTD>\n<MsgID>x</MsgID></SyncHdr></SyncML>";
    let output = handsync(&["decode", "-"], Some(xml));
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("line 2, column"), "{message}");
    assert!(message.contains("MsgID"), "{message}");

    let output = handsync(&["decode", "-"], Some(b"BEGIN:VCARD\r\nEND:VCARD\r\n"));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("BEGIN:VCARD"));

    let file = corpus_dir().join("wbxml/libwbxml-syncml-004.xml");
    let output = handsync(&["encode", "--syncml", "1.2", file.to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("VerDTD 1.1"),
        "{}",
        stderr(&output)
    );

    let output = handsync(&["encode", "-"], Some(&bytes));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("WBXML already"),
        "{}",
        stderr(&output)
    );

    let output = handsync(&["decode", "/nonexistent/message.wbxml"], None);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("/nonexistent/message.wbxml"));
}

#[test]
fn decode_reads_obex_streams_and_sans() {
    let corpus = corpus_dir().join("obex");
    let output = handsync(
        &[
            "decode",
            corpus.join("buteo-obexresp01.bin").to_str().unwrap(),
        ],
        None,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("(to CONNECT)"), "{text}");
    assert!(text.contains("\"SYNCML-SYNC\""), "{text}");
    assert!(text.contains("0x00000001"), "{text}");

    for san in ["buteo-SAN01.bin", "buteo-SAN02.bin"] {
        let output = handsync(&["decode", corpus.join(san).to_str().unwrap()], None);
        assert!(output.status.success(), "{}", stderr(&output));
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("\"PC Suite Data Sync\""), "{san}: {text}");
        assert!(text.contains("206"), "{san}: {text}");
    }

    // A phone's PUTs as a capture holds them: CONNECT, then a SyncML message over several
    // packets; the message inside is decoded too.
    use handsync::machine::Machine;
    use handsync::obex::{ObexClientConfig, SyncmlClient, SyncmlContentType, SyncmlMessage};
    let message = corpus_file("wbxml/horde-k500i_client_0.wbxml");
    let mut client = SyncmlClient::new(ObexClientConfig {
        max_packet_length: 255,
        ..ObexClientConfig::default()
    });
    let now = std::time::Instant::now();
    client.connect(now).unwrap();
    let mut stream = client.poll_transmit().unwrap();
    // The phone's CONNECT answer (packets of at most 255 bytes, Connection ID 1).
    client.handle_input(
        now,
        &[0xA0, 0x00, 0x0C, 0x10, 0x00, 0x00, 0xFF, 0xCB, 0, 0, 0, 1],
    );
    client
        .send(
            now,
            SyncmlMessage::new(SyncmlContentType::Wbxml, message.clone()),
            false,
        )
        .unwrap();
    let mut puts = 0;
    while let Some(packet) = client.poll_transmit() {
        stream.extend_from_slice(&packet);
        puts += 1;
        // Continue, so that the next PUT packet goes out.
        client.handle_input(now, &[0x90, 0x00, 0x03]);
    }
    assert!(puts > 1, "several PUT packets");
    let output = handsync(&["decode", "-"], Some(&stream));
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("request CONNECT"), "{text}");
    assert!(text.contains("request PUT"), "{text}");
    assert!(
        text.contains(&format!("{} bytes ---", message.len())),
        "{text}"
    );
    assert!(text.contains("<SyncML"), "{text}");
    assert!(
        text.contains("354416005739727"),
        "the message's device: {text}"
    );

    // Forced kinds, and what is not one.
    let output = handsync(&["decode", "--as", "san", "-"], Some(b"\x01\x02"));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("not a SAN 1.2"),
        "{}",
        stderr(&output)
    );
}
