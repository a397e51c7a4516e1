//! What real phones send, read through the model: the fields that matter come out right.

mod support;

use handsync::syncml::Message;
use handsync::wbxml;

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
