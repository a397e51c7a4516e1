//! SyncML 1.2 suspend (Alert 224) and resume (Alert 225).

use crate::engine_phone::*;
use handsync_engine::storage::SessionResult;
use handsync_engine::{ServerConfig, Session};
use handsync_proto::markup::Version;
use handsync_proto::syncml::{
    Alert, AlertCode, Anchor, Command, Encoding, Message, MetInf, Source, StatusCode, Sync, Target,
};

fn alert(phone: &Phone, code: AlertCode, last: Option<&str>, next: &str) -> Command {
    let mut alert_item = item(Some(&phone.remote_uri), Some(&phone.local_uri));
    alert_item.meta = meta(MetInf {
        anchor: Some(Anchor {
            last: last.map(Into::into),
            next: next.into(),
            ..Anchor::default()
        }),
        ..MetInf::default()
    });
    Command::Alert(Alert {
        data: Some(code),
        items: vec![alert_item],
        ..Alert::default()
    })
}

fn sync_with(phone: &Phone, luids: std::ops::Range<usize>) -> Command {
    Command::Sync(
        Sync {
            target: Some(Target::new(phone.remote_uri.clone())),
            source: Some(Source::new(phone.local_uri.clone())),
            commands: luids
                .map(|n| item_command(true, &n.to_string(), &vcard(n), "text/x-vcard"))
                .collect(),
            ..Sync::default()
        }
        .into(),
    )
}

fn send(server: &mut Server, session: &mut Session, message: &Message) -> handsync_engine::Reply {
    server
        .exchange(session, &encode(message, Encoding::Wbxml))
        .unwrap()
}

fn alert_status(reply: &handsync_engine::Reply) -> StatusCode {
    statuses(&reply.message)
        .into_iter()
        .find(|s| s.cmd == "Alert")
        .map(|s| s.data)
        .unwrap()
}

fn server_alert(reply: &handsync_engine::Reply) -> Option<AlertCode> {
    reply.message.body.commands.iter().find_map(|c| match c {
        Command::Alert(a) if a.data.is_some_and(|d| d.is_sync_type()) => a.data,
        _ => None,
    })
}

#[test]
fn a_suspended_slow_sync_resumes_where_it_stopped() {
    let mut server = Server::new(ServerConfig::default());
    server.add_contact(&vcard(0));
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    phone.send_devinf = false;

    // Session 1: a slow sync, suspended after the phone sent contacts 1..4 of 1..7.
    let mut session = server.session();
    let message = phone.message(
        vec![alert(&phone, AlertCode::SlowSync, None, "n1")],
        true,
        false,
    );
    let reply = send(&mut server, &mut session, &message);
    assert_eq!(server_alert(&reply), Some(AlertCode::SlowSync));
    let message = phone.message(vec![sync_with(&phone, 1..4)], false, false);
    send(&mut server, &mut session, &message);
    let suspend = Command::Alert(Alert {
        data: Some(AlertCode::Suspend),
        items: vec![item(Some("PC Suite"), Some(&phone.device_uri.clone()))],
        ..Alert::default()
    });
    let message = phone.message(vec![suspend], true, false);
    let reply = send(&mut server, &mut session, &message);
    assert_eq!(alert_status(&reply), StatusCode::Ok);
    assert!(reply.session_finished && reply.is_final);
    let record = server.sessions().remove(0);
    assert_eq!(record.result, SessionResult::Suspended);
    assert!(record.has_resume_state);
    assert_eq!(server.contacts().len(), 4);

    // Session 2: resume with the same anchors; the phone sends the rest.
    let mut session = server.session();
    let message = phone.message(
        vec![alert(&phone, AlertCode::Resume, None, "n1")],
        true,
        false,
    );
    let reply = send(&mut server, &mut session, &message);
    assert_eq!(alert_status(&reply), StatusCode::Ok);
    assert_eq!(server_alert(&reply), Some(AlertCode::SlowSync));
    let message = phone.message(vec![sync_with(&phone, 4..8)], true, false);
    let reply = send(&mut server, &mut session, &message);
    // Only contact 0, which the phone lacks, comes back: 1..3 (sent before the suspend)
    // are still known to be on the phone.
    let adds = all_commands(&reply.message)
        .into_iter()
        .filter(|c| matches!(c, Command::Add(_)))
        .count();
    assert_eq!(adds, 1);
    assert_eq!(server.contacts().len(), 8);
}

#[test]
fn a_resume_without_a_suspended_session_becomes_a_slow_sync() {
    let mut server = Server::new(ServerConfig::default());
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    phone.send_devinf = false;
    let mut session = server.session();
    let message = phone.message(
        vec![alert(&phone, AlertCode::Resume, Some("x"), "y")],
        true,
        false,
    );
    let reply = send(&mut server, &mut session, &message);
    assert_eq!(alert_status(&reply), StatusCode::RefreshRequired);
    assert_eq!(server_alert(&reply), Some(AlertCode::SlowSync));
}
