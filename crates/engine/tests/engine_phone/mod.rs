//! A scripted phone for the engine tests: a SyncML client holding one datastore of vCards,
//! which builds its messages with the model, talks to an engine [`Session`] through a real
//! store transaction per message, and behaves like the phones do (keeps its anchors until a
//! session completes, remembers what changed, resends Maps after a cut if told to).
// Model strings and optional parts are built with `.into()` so these helpers compile whether
// the model holds `String` or a compact string type, `T` or `Box<T>`.
#![allow(dead_code, clippy::useless_conversion)]

use std::collections::{BTreeMap, BTreeSet};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use handsync_proto::ds::auth;

mod server;

pub use server::*;

use handsync_engine::content;
use handsync_engine::storage::{Datastore, ItemContent, ItemRecord};
use handsync_engine::Reply;
use handsync_proto::markup::Version;
use handsync_proto::syncml::{
    self, xml::XmlOptions, Alert, AlertCode, Anchor, Command, ContentType, Cred, CtCap, Data,
    DataStore, Delete, DevInf, Encoding, GetPut, Item as SyncItem, ItemCommand, Map, MapItem,
    Message, MetInf, Property, Results, Source, Status, StatusCode, Sync, SyncBody, SyncHdr,
    Target,
};
use handsync_proto::wbxml::WriterOptions;

// ----- model helpers (the only place that knows how the model holds optional parts) -----

pub fn meta(m: MetInf) -> Option<Box<MetInf>> {
    Some(Box::new(m))
}

pub fn meta_of(m: &Option<Box<MetInf>>) -> Option<&MetInf> {
    m.as_deref()
}

pub fn item(target: Option<&str>, source: Option<&str>) -> SyncItem {
    SyncItem {
        target: target.map(Target::new),
        source: source.map(Source::new),
        ..SyncItem::default()
    }
}

pub fn encode(message: &Message, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Xml => syncml::to_xml(message, XmlOptions::default())
            .unwrap()
            .into_bytes(),
        Encoding::Wbxml => syncml::to_wbxml(message, &WriterOptions::default()).unwrap(),
    }
}

/// The commands of a message, with those inside Sync, Atomic and Sequence.
pub fn all_commands(message: &Message) -> Vec<&Command> {
    fn walk<'a>(commands: &'a [Command], out: &mut Vec<&'a Command>) {
        for command in commands {
            out.push(command);
            walk(command.commands(), out);
        }
    }
    let mut out = Vec::new();
    walk(&message.body.commands, &mut out);
    out
}

pub fn statuses(message: &Message) -> Vec<&Status> {
    all_commands(message)
        .into_iter()
        .filter_map(|c| match c {
            Command::Status(s) => Some(s),
            _ => None,
        })
        .collect()
}

pub fn header_status(message: &Message) -> &Status {
    match message.body.commands.first() {
        Some(Command::Status(s)) if s.cmd == "SyncHdr" => s,
        other => panic!("the first command is not the header status: {other:?}"),
    }
}

// ----- what the phone sees of the server -----

/// An answer as a client on a binding sees it (it cannot ask the engine): the session is over
/// after a final message of statuses alone, unless its header refused the credentials (which
/// the client answers again).
pub fn reply_from_wire(bytes: Vec<u8>) -> Reply {
    let message = syncml::decode(&bytes).expect("the answer decodes");
    let refused = matches!(
        header_status(&message).data,
        StatusCode::InvalidCredentials | StatusCode::MissingCredentials
    );
    let only_statuses = message
        .body
        .commands
        .iter()
        .all(|c| matches!(c, Command::Status(_)));
    Reply {
        is_final: message.body.final_,
        session_finished: message.body.final_ && only_statuses && !refused,
        encoding: syncml::sniff_encoding(&bytes),
        message,
        bytes,
    }
}

pub fn identity_key(vcard: &str) -> String {
    identity_key_in(Datastore::Contacts, vcard)
}

pub fn identity_key_in(datastore: Datastore, text: &str) -> String {
    let phone = content::phone_for(None, None);
    // SIF is XML; any SIF type has it read as SIF (the root says which kind).
    let content_type = match text.trim_start().starts_with('<') {
        true => "text/x-s4j-sifc",
        false => content::default_content_type(datastore),
    };
    content::from_phone(&phone, datastore, content_type, text.as_bytes())
        .unwrap()
        .identity_key
        .unwrap()
}

/// `content` of a store item, for tests that compare.
pub fn item_content(item: &ItemRecord) -> ItemContent<'_> {
    ItemContent {
        content_type: &item.content_type,
        raw: &item.raw,
        canonical: &item.canonical,
        identity_key: item.identity_key.as_deref(),
    }
}

// ----- the phone -----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    Basic,
    Md5,
}

/// What one session looked like from the phone.
#[derive(Debug, Default)]
pub struct Outcome {
    pub replies: Vec<Reply>,
    /// The status our sync Alert got (200, 508...).
    pub alert_status: Option<StatusCode>,
    /// The sync type of the server's Alert.
    pub server_alert: Option<AlertCode>,
    pub completed: bool,
    /// Changes the server sent us: (command name, status we gave).
    pub received: Vec<(String, u16)>,
    /// Statuses the server gave our changes.
    pub change_statuses: Vec<StatusCode>,
    /// The header statuses of every reply.
    pub header_codes: Vec<StatusCode>,
    pub messages_sent: usize,
    /// The bytes of every message the phone sent, in order.
    pub sent: Vec<Vec<u8>>,
    /// Chunks of large objects received (with 213), not counting the last of each.
    pub chunks_received: usize,
}

pub struct Phone {
    pub version: Version,
    pub encoding: Encoding,
    pub device_uri: String,
    pub server_uri: String,
    /// The phone's name for its contacts, and the server name it syncs it with.
    pub local_uri: String,
    pub remote_uri: String,
    /// What the phone's datastore holds, and the type it sends.
    pub datastore: Datastore,
    pub content_type: String,
    pub max_msg_size: u64,
    /// How many changes the phone puts in one message of its package 3.
    pub items_per_message: usize,
    pub credentials: Option<(String, String, Auth)>,
    pub nonce: Option<Vec<u8>>,
    pub send_devinf: bool,
    /// The MaxGUIDSize of the phone's datastore.
    pub max_guid_size: Option<u32>,
    /// The properties the phone's CTCap lists (`None`: no CTCap).
    pub ctcap: Option<Vec<&'static str>>,
    /// What the CTCap's BEGIN property lists (VEVENT, VTODO), if anything.
    pub ctcap_begin: Vec<&'static str>,
    /// DevInf Man and Mod (the server's quirk profile is matched on them).
    pub maker_model: (&'static str, &'static str),
    /// After a cut, send the Maps still owed at the start of the next session.
    pub resends_maps: bool,
    pub items: BTreeMap<String, String>,
    /// LUIDs the server knows (synced at least once).
    pub known: BTreeSet<String>,
    pub dirty: BTreeSet<String>,
    pub deleted: BTreeSet<String>,
    pub last_anchor: Option<String>,
    pub pending_maps: Vec<(String, String)>,
    /// On a cut, the last reply still reached the phone (the cut came before its next message).
    pub reply_survives_cut: bool,
    /// Answers package 4 with statuses, Alert 222 and Final, and sends its Maps one round
    /// trip later (after the server thought the session complete), as some clients do.
    pub maps_one_round_late: bool,
    /// Sends its items in base64 (Meta Format b64), as Funambol's SIF clients do.
    pub sends_b64: bool,
    /// Meta Type and Format of each item the server sent (Add, Replace), in order.
    pub received_meta: Vec<(String, Option<String>)>,
    /// Chunks of a large object received so far.
    chunks: Option<Vec<u8>>,
    /// Maps owed for Adds received in this session.
    session_maps: Vec<(String, String)>,
    next_luid: u32,
    sessions: u32,
    msg_id: u32,
    server_msg_id: u32,
}

impl Phone {
    pub fn new(version: Version, encoding: Encoding) -> Phone {
        Phone {
            version,
            encoding,
            device_uri: "IMEI:351234567890123".into(),
            server_uri: "PC Suite".into(),
            local_uri: "./contacts".into(),
            remote_uri: "Contacts".into(),
            datastore: Datastore::Contacts,
            content_type: "text/x-vcard".into(),
            max_msg_size: 64 * 1024,
            items_per_message: 25,
            credentials: None,
            nonce: None,
            send_devinf: true,
            ctcap: None,
            ctcap_begin: Vec::new(),
            maker_model: ("Nokia", "6230i"),
            max_guid_size: Some(16),
            resends_maps: true,
            items: BTreeMap::new(),
            known: BTreeSet::new(),
            dirty: BTreeSet::new(),
            deleted: BTreeSet::new(),
            last_anchor: None,
            pending_maps: Vec::new(),
            reply_survives_cut: false,
            maps_one_round_late: false,
            session_maps: Vec::new(),
            sends_b64: false,
            received_meta: Vec::new(),
            chunks: None,
            next_luid: 1,
            sessions: 0,
            msg_id: 0,
            server_msg_id: 0,
        }
    }

    /// The user adds a contact on the phone.
    pub fn add(&mut self, vcard: &str) -> String {
        let luid = self.next_luid.to_string();
        self.next_luid += 1;
        self.items.insert(luid.clone(), vcard.to_string());
        self.dirty.insert(luid.clone());
        luid
    }

    pub fn edit(&mut self, luid: &str, vcard: &str) {
        self.items.insert(luid.to_string(), vcard.to_string());
        self.dirty.insert(luid.to_string());
    }

    pub fn remove(&mut self, luid: &str) {
        self.items.remove(luid);
        self.dirty.remove(luid);
        if self.known.contains(luid) {
            self.deleted.insert(luid.to_string());
        }
    }

    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .items
            .values()
            .map(|v| identity_key_in(self.store_of(v), v))
            .collect();
        keys.sort();
        keys
    }

    /// The server store an item of the phone belongs in: a to-do in a calendar goes to
    /// Tasks when the server keeps the phone's calendar as Calendar and Tasks.
    pub fn store_of(&self, text: &str) -> Datastore {
        if self.datastore == Datastore::Calendar && text.contains("BEGIN:VTODO") {
            Datastore::Tasks
        } else {
            self.datastore
        }
    }

    fn version_str(&self) -> &'static str {
        self.version.as_str()
    }

    fn header(&mut self) -> SyncHdr {
        self.msg_id += 1;
        let mut source = Source::new(self.device_uri.clone());
        if let Some((user, _, _)) = &self.credentials {
            source.loc_name = Some(user.clone().into());
        }
        SyncHdr {
            ver_proto: format!("SyncML/{}", self.version_str()).into(),
            session_id: self.sessions.to_string().into(),
            msg_id: self.msg_id,
            target: Target::new(self.server_uri.clone()),
            source,
            resp_uri: None,
            no_resp: false,
            cred: None,
            meta: meta(MetInf {
                max_msg_size: Some(self.max_msg_size),
                ..MetInf::default()
            }),
            extensions: Default::default(),
        }
    }

    fn cred(&self) -> Option<Cred> {
        let (user, password, auth) = self.credentials.as_ref()?;
        Some(match auth {
            Auth::Basic => auth::cred(auth::BASIC, auth::basic(user, password)),
            Auth::Md5 => {
                let nonce = self.nonce.clone().unwrap_or_default();
                auth::cred(auth::MD5, auth::md5_digest(user, password, &nonce))
            }
        })
    }

    pub fn devinf(&self) -> DevInf {
        let mut devinf = DevInf::new(self.version);
        devinf.man = Some(self.maker_model.0.into());
        devinf.model = Some(self.maker_model.1.into());
        devinf.sw_v = Some("V 03.88".into());
        devinf.dev_id = Some(self.device_uri.clone().into());
        devinf.dev_typ = Some("phone".into());
        devinf.support_large_objs = self.version != Version::V1_0;
        // A SIF client names its SIF type; the others say vCard, as the phones did.
        let preferred = match self.content_type.starts_with("text/x-s4j-") {
            true => ContentType::new(self.content_type.as_str(), "1.0"),
            false if self.content_type == "text/x-vcalendar" => {
                ContentType::new("text/x-vcalendar", "1.0")
            }
            false => ContentType::new("text/x-vcard", "2.1"),
        };
        devinf.data_stores.push(DataStore {
            source_ref: self.local_uri.clone().into(),
            rx_pref: vec![preferred.clone()],
            tx_pref: vec![preferred],
            max_guid_size: self.max_guid_size,
            ..DataStore::default()
        });
        if self.ctcap.is_some() || !self.ctcap_begin.is_empty() {
            let names = self.ctcap.clone().unwrap_or_default();
            let mut properties: Vec<Property> = names
                .iter()
                .map(|name| Property {
                    name: name.to_string().into(),
                    ..Property::default()
                })
                .collect();
            if !self.ctcap_begin.is_empty() {
                properties.push(Property {
                    name: "BEGIN".into(),
                    val_enums: self
                        .ctcap_begin
                        .iter()
                        .map(|v| v.to_string().into())
                        .collect(),
                    ..Property::default()
                });
            }
            let cap = CtCap {
                ct_type: self.content_type.clone().into(),
                properties,
                ..CtCap::default()
            };
            if self.version == Version::V1_2 {
                devinf.data_stores[0].ct_caps.push(cap);
            } else {
                devinf.ct_caps.push(cap);
            }
        }
        devinf
    }

    /// An Add or Replace of one of our items, in our type (base64 when we send so).
    fn change_command(&self, replace: bool, luid: &str, text: &str) -> Command {
        if !self.sends_b64 {
            return item_command(replace, luid, text, &self.content_type);
        }
        let mut command = item_command(replace, luid, &BASE64.encode(text), &self.content_type);
        if let Command::Add(c) | Command::Replace(c) = &mut command {
            c.meta = meta(MetInf {
                format: Some("b64".into()),
                ..MetInf::with_type(self.content_type.clone())
            });
        }
        command
    }

    fn note_received_meta(&mut self, command: &ItemCommand) {
        let of = |m: Option<&MetInf>| m.map(|m| (m.type_.clone(), m.format.clone()));
        let (command_type, command_format) = of(meta_of(&command.meta)).unwrap_or_default();
        let (item_type, item_format) = of(meta_of(&command.items[0].meta)).unwrap_or_default();
        self.received_meta.push((
            item_type
                .or(command_type)
                .map(|t| t.to_string())
                .unwrap_or_default(),
            item_format.or(command_format).map(|f| f.to_string()),
        ));
    }

    fn devinf_uri(&self) -> &'static str {
        match self.version {
            Version::V1_0 => "./devinf10",
            Version::V1_1 => "./devinf11",
            Version::V1_2 => "./devinf12",
        }
    }

    pub fn message(&mut self, commands: Vec<Command>, final_: bool, with_cred: bool) -> Message {
        let mut header = self.header();
        if with_cred {
            header.cred = self.cred().map(Into::into);
        }
        let mut message = Message {
            version: self.version,
            header: Some(header),
            body: SyncBody {
                commands,
                final_,
                ..SyncBody::default()
            },
            extensions: Default::default(),
        };
        let mut id = 1;
        number(&mut message.body.commands, &mut id);
        message
    }

    /// Statuses for everything a server message asked (and what it sent us, applied).
    fn answer(
        &mut self,
        reply: &Reply,
        outcome: &mut Outcome,
        maps: &mut Vec<(String, String)>,
    ) -> Vec<Command> {
        let message = &reply.message;
        let msg_ref = message.header.as_ref().unwrap().msg_id;
        self.server_msg_id = msg_ref;
        let mut out = vec![Command::Status(Status::for_header(
            "0",
            message.header.as_ref().unwrap(),
            StatusCode::Ok,
        ))];
        // The status of the header is in the reply's order; our status refers to theirs.
        if let Some(Command::Status(s)) = out.first_mut() {
            std::mem::swap(&mut s.target_refs, &mut s.source_refs);
        }
        for command in &message.body.commands {
            self.answer_command(command, msg_ref, &mut out, outcome, maps);
        }
        out
    }

    fn answer_command(
        &mut self,
        command: &Command,
        msg_ref: u32,
        out: &mut Vec<Command>,
        outcome: &mut Outcome,
        maps: &mut Vec<(String, String)>,
    ) {
        let status = |code: StatusCode| {
            Command::Status(Status::for_command(
                "0",
                msg_ref,
                command.cmd_id().unwrap_or("0"),
                command.name(),
                code,
            ))
        };
        match command {
            Command::Status(s) => {
                if s.cmd == "Alert" && outcome.alert_status.is_none() && !s.items.is_empty() {
                    outcome.alert_status = Some(s.data);
                }
                if matches!(s.cmd.as_str(), "Add" | "Replace" | "Delete") {
                    outcome.change_statuses.push(s.data);
                }
            }
            Command::Alert(a) => {
                if a.data.is_some_and(|c| c.is_sync_type()) {
                    outcome.server_alert = a.data;
                }
                out.push(status(StatusCode::Ok));
            }
            Command::Get(g) => {
                out.push(status(StatusCode::Ok));
                let mut result_item = item(None, Some(self.devinf_uri()));
                result_item.data = Some(Data::DevInf(Box::new(self.devinf())));
                out.push(Command::Results(
                    Results {
                        msg_ref: Some(msg_ref),
                        cmd_ref: g.cmd_id.clone(),
                        meta: meta(MetInf::with_type(self.encoding.devinf_content_type())),
                        items: vec![result_item],
                        ..Results::default()
                    }
                    .into(),
                ));
            }
            Command::Results(_) | Command::Put(_) => out.push(status(StatusCode::Ok)),
            Command::Sync(sync) => {
                out.push(status(StatusCode::Ok));
                for inner in &sync.commands {
                    self.answer_command(inner, msg_ref, out, outcome, maps);
                }
            }
            Command::Add(c) => {
                self.note_received_meta(c);
                let guid = c.items[0].source.as_ref().unwrap().loc_uri.to_string();
                let chunk = c.items[0].data.as_ref().unwrap().as_bytes().unwrap();
                let mut buffered = self.chunks.take().unwrap_or_default();
                buffered.extend_from_slice(chunk);
                if c.items[0].more_data {
                    self.chunks = Some(buffered);
                    outcome.chunks_received += 1;
                    out.push(status(StatusCode::ChunkedItemAccepted));
                    return;
                }
                let data = received_data(c, &buffered);
                let luid = self.next_luid.to_string();
                self.next_luid += 1;
                self.items
                    .insert(luid.clone(), String::from_utf8(data).unwrap());
                self.known.insert(luid.clone());
                maps.push((guid, luid));
                outcome.received.push(("Add".into(), 201));
                out.push(status(StatusCode::ItemAdded));
            }
            Command::Replace(c) => {
                self.note_received_meta(c);
                let luid = c.items[0].target.as_ref().unwrap().loc_uri.to_string();
                let data = c.items[0].data.as_ref().unwrap().as_bytes().unwrap();
                let data = received_data(c, data);
                let code = if self.items.contains_key(&luid) {
                    self.items
                        .insert(luid.clone(), String::from_utf8(data).unwrap());
                    self.dirty.remove(&luid);
                    StatusCode::Ok
                } else {
                    StatusCode::NotFound
                };
                outcome.received.push(("Replace".into(), code.code()));
                out.push(status(code));
            }
            Command::Delete(c) => {
                let luid = c.items[0].target.as_ref().unwrap().loc_uri.to_string();
                let code = if self.items.remove(&luid).is_some() {
                    self.known.remove(&luid);
                    self.dirty.remove(&luid);
                    StatusCode::Ok
                } else {
                    StatusCode::ItemNotDeleted
                };
                outcome.received.push(("Delete".into(), code.code()));
                out.push(status(code));
            }
            other => panic!("the phone did not expect {}", other.name()),
        }
    }

    fn map_command(&self, maps: &[(String, String)]) -> Command {
        Command::Map(
            Map {
                target: Target::new(self.remote_uri.clone()),
                source: Source::new(self.local_uri.clone()),
                map_items: maps
                    .iter()
                    .map(|(guid, luid)| MapItem {
                        target: Target::new(guid.clone()),
                        source: Source::new(luid.clone()),
                        ..MapItem::default()
                    })
                    .collect(),
                ..Map::default()
            }
            .into(),
        )
    }

    /// Sends one message; `Err(())` when the session is cut after this message.
    fn send<W: Wire>(
        &mut self,
        server: &mut W,
        session: &mut W::Conversation,
        message: &Message,
        outcome: &mut Outcome,
        cut_after: Option<usize>,
    ) -> Result<Reply, ()> {
        let bytes = encode(message, self.encoding);
        outcome.messages_sent += 1;
        // A server that stops making progress would otherwise keep the phone asking forever.
        assert!(
            outcome.messages_sent <= 20_000,
            "the session makes no progress: 20,000 messages sent"
        );
        outcome.sent.push(bytes.clone());
        let reply = server.send(session, &bytes).ok_or(())?;
        assert_eq!(reply.encoding, self.encoding);
        // A server that cannot work within our MaxMsgSize ends the session with a failed
        // header status in one reply, which may not fit either: the session is over.
        let decoded = syncml::decode(&reply.bytes).expect("the reply decodes");
        if outcome.messages_sent == 1 && header_status(&decoded).data == StatusCode::CommandFailed {
            assert!(reply.is_final && reply.session_finished);
            outcome.header_codes.push(StatusCode::CommandFailed);
            outcome.replies.push(reply);
            return Err(());
        }
        assert!(
            reply.bytes.len() as u64 <= self.max_msg_size,
            "reply of {} bytes over MaxMsgSize {}",
            reply.bytes.len(),
            self.max_msg_size
        );
        // What goes over the wire is what the phone reads.
        assert_eq!(decoded, reply.message);
        let header = reply.message.header.as_ref().unwrap();
        assert_eq!(header.target.loc_uri.as_str(), self.device_uri.as_str());
        assert_eq!(
            header.session_id.as_str(),
            self.sessions.to_string().as_str()
        );
        outcome
            .header_codes
            .push(header_status(&reply.message).data);
        outcome.replies.push(reply.clone());
        if cut_after == Some(outcome.messages_sent) {
            if self.reply_survives_cut {
                let mut maps = Vec::new();
                self.answer(&reply, outcome, &mut maps);
                self.session_maps.extend(maps);
            }
            self.pending_maps.append(&mut self.session_maps);
            server.cut(session);
            return Err(());
        }
        Ok(reply)
    }

    /// The first message of a session (package 1) as the phone would send it.
    pub fn first_message(&mut self, mode: AlertCode) -> Message {
        self.sessions += 1;
        self.msg_id = 0;
        let init = self.init_commands(mode, &format!("phone-{}", self.sessions));
        self.message(init, true, true)
    }

    fn init_commands(&self, mode: AlertCode, next_anchor: &str) -> Vec<Command> {
        let mut init = Vec::new();
        if self.resends_maps && !self.pending_maps.is_empty() {
            init.push(self.map_command(&self.pending_maps.clone()));
        }
        if self.send_devinf {
            let mut put_item = item(None, Some(self.devinf_uri()));
            put_item.data = Some(Data::DevInf(Box::new(self.devinf())));
            init.push(Command::Put(GetPut {
                meta: meta(MetInf::with_type(self.encoding.devinf_content_type())),
                items: vec![put_item],
                ..GetPut::default()
            }));
        }
        let mut alert_item = item(
            Some(&self.remote_uri.clone()),
            Some(&self.local_uri.clone()),
        );
        alert_item.meta = meta(MetInf {
            anchor: Some(Anchor {
                last: self.last_anchor.clone().map(Into::into),
                next: next_anchor.to_string().into(),
                ..Anchor::default()
            }),
            ..MetInf::default()
        });
        init.push(Command::Alert(Alert {
            data: Some(mode),
            items: vec![alert_item],
            ..Alert::default()
        }));
        init
    }

    /// Runs one sync session asking for `mode`; `cut_after` cuts it after that many messages.
    pub fn sync<W: Wire>(
        &mut self,
        server: &mut W,
        mode: AlertCode,
        cut_after: Option<usize>,
    ) -> Outcome {
        let mut outcome = Outcome::default();
        let result = self.try_sync(server, mode, cut_after, &mut outcome);
        outcome.completed = result.is_ok();
        outcome
    }

    fn try_sync<W: Wire>(
        &mut self,
        server: &mut W,
        mode: AlertCode,
        cut_after: Option<usize>,
        outcome: &mut Outcome,
    ) -> Result<(), ()> {
        self.sessions += 1;
        self.msg_id = 0;
        let mut session = server.open();
        let next_anchor = format!("phone-{}", self.sessions);
        let mut mode = if self.last_anchor.is_none() && mode == AlertCode::TwoWay {
            AlertCode::SlowSync
        } else {
            mode
        };

        // Package 1.
        let init = self.init_commands(mode, &next_anchor);
        let message = self.message(init.clone(), true, true);
        let mut reply = self.send(server, &mut session, &message, outcome, cut_after)?;
        for _ in 0..5 {
            let code = header_status(&reply.message).data;
            if !matches!(
                code,
                StatusCode::InvalidCredentials | StatusCode::MissingCredentials
            ) {
                break;
            }
            // Take the challenge and try again, as phones do.
            let chal = header_status(&reply.message).chal.as_ref().unwrap();
            if let Some(nonce) = &chal.meta.next_nonce {
                self.nonce = Some(BASE64.decode(nonce.as_bytes()).unwrap());
            }
            if reply.session_finished {
                return Err(());
            }
            let message = self.message(init.clone(), true, true);
            reply = self.send(server, &mut session, &message, outcome, cut_after)?;
        }
        if let Some(chal) = &header_status(&reply.message).chal {
            if let Some(nonce) = &chal.meta.next_nonce {
                self.nonce = Some(BASE64.decode(nonce.as_bytes()).unwrap());
            }
        }
        if matches!(
            header_status(&reply.message).data,
            StatusCode::InvalidCredentials | StatusCode::MissingCredentials
        ) {
            return Err(());
        }
        let pending_sent = self.resends_maps && !self.pending_maps.is_empty();
        if pending_sent {
            self.pending_maps.clear();
        }
        self.session_maps.clear();
        let mut maps = Vec::new();
        let mut owed = self.answer(&reply, outcome, &mut maps);
        self.session_maps.extend(maps.iter().cloned());
        while !reply.is_final {
            owed.push(next_message_alert(self));
            let message = self.message(std::mem::take(&mut owed), false, false);
            reply = self.send(server, &mut session, &message, outcome, cut_after)?;
            let before = maps.len();
            owed = self.answer(&reply, outcome, &mut maps);
            self.session_maps.extend(maps[before..].iter().cloned());
        }
        if outcome.alert_status == Some(StatusCode::RefreshRequired) {
            mode = AlertCode::SlowSync;
        }

        // Package 3: our changes.
        let mut changes: Vec<Command> = Vec::new();
        match mode {
            AlertCode::SlowSync | AlertCode::RefreshFromClient => {
                for (luid, vcard) in &self.items {
                    changes.push(self.change_command(true, luid, vcard));
                }
            }
            AlertCode::TwoWay | AlertCode::OneWayFromClient => {
                for luid in &self.dirty {
                    let is_add = !self.known.contains(luid);
                    changes.push(self.change_command(!is_add, luid, &self.items[luid]));
                }
                for luid in &self.deleted {
                    changes.push(Command::Delete(Delete {
                        items: vec![item(None, Some(luid))],
                        ..Delete::default()
                    }));
                }
            }
            AlertCode::RefreshFromServer => {
                self.items.clear();
                self.known.clear();
            }
            _ => {}
        }
        let chunks: Vec<Vec<Command>> = if changes.is_empty() {
            vec![Vec::new()]
        } else {
            changes
                .chunks(self.items_per_message)
                .map(|c| c.to_vec())
                .collect()
        };
        let count = chunks.len();
        for (index, chunk) in chunks.into_iter().enumerate() {
            let last = index + 1 == count;
            let mut commands = std::mem::take(&mut owed);
            commands.push(Command::Sync(
                Sync {
                    target: Some(Target::new(self.remote_uri.clone())),
                    source: Some(Source::new(self.local_uri.clone())),
                    commands: chunk,
                    ..Sync::default()
                }
                .into(),
            ));
            let message = self.message(commands, last, false);
            reply = self.send(server, &mut session, &message, outcome, cut_after)?;
            let before = maps.len();
            owed = self.answer(&reply, outcome, &mut maps);
            self.session_maps.extend(maps[before..].iter().cloned());
        }
        // Package 4 may span messages.
        while !reply.is_final {
            owed.push(next_message_alert(self));
            let message = self.message(std::mem::take(&mut owed), false, false);
            reply = self.send(server, &mut session, &message, outcome, cut_after)?;
            let before = maps.len();
            owed = self.answer(&reply, outcome, &mut maps);
            self.session_maps.extend(maps[before..].iter().cloned());
        }
        // Changes sent and acknowledged: they are synced.
        for luid in self.dirty.iter() {
            self.known.insert(luid.clone());
        }
        if mode == AlertCode::SlowSync || mode == AlertCode::RefreshFromClient {
            self.known.extend(self.items.keys().cloned());
        }
        self.dirty.clear();
        self.deleted.clear();
        self.pending_maps.extend(maps.iter().cloned());

        if self.maps_one_round_late && !maps.is_empty() {
            // Package 5 without its Maps: the server completes the session...
            let mut commands = owed;
            commands.push(next_message_alert(self));
            let message = self.message(commands, true, false);
            reply = self.send(server, &mut session, &message, outcome, cut_after)?;
            self.answer(&reply, outcome, &mut Vec::new());
            // ...and the Maps come after all.
            let message = self.message(vec![self.map_command(&maps)], true, false);
            reply = self.send(server, &mut session, &message, outcome, cut_after)?;
            self.answer(&reply, outcome, &mut Vec::new());
        } else if !reply.session_finished || !maps.is_empty() || owed.len() > 1 {
            // Package 5: statuses and maps.
            let mut commands = owed;
            if !maps.is_empty() {
                commands.push(self.map_command(&maps));
            }
            let message = self.message(commands, true, false);
            reply = self.send(server, &mut session, &message, outcome, cut_after)?;
            self.answer(&reply, outcome, &mut Vec::new());
        }
        self.pending_maps.clear();
        assert!(reply.is_final);
        assert!(reply.session_finished, "package 6 ends the session");
        self.last_anchor = Some(next_anchor);
        Ok(())
    }
}

fn next_message_alert(phone: &Phone) -> Command {
    Command::Alert(Alert {
        data: Some(AlertCode::NextMessage),
        items: vec![item(Some(&phone.server_uri), Some(&phone.device_uri))],
        ..Alert::default()
    })
}

/// The data of an Add or Replace the server sent, base64 decoded when its Meta says b64.
fn received_data(command: &ItemCommand, data: &[u8]) -> Vec<u8> {
    let format = meta_of(&command.items[0].meta)
        .and_then(|m| m.format.clone())
        .or_else(|| meta_of(&command.meta).and_then(|m| m.format.clone()));
    match format.as_deref() {
        Some("b64") => BASE64.decode(data).expect("b64 data is base64"),
        _ => data.to_vec(),
    }
}

pub fn item_command(replace: bool, luid: &str, text: &str, content_type: &str) -> Command {
    let mut data_item = item(None, Some(luid));
    data_item.data = Some(Data::Text(text.to_string()));
    let command = ItemCommand {
        meta: meta(MetInf::with_type(content_type.to_string())),
        items: vec![data_item],
        ..ItemCommand::default()
    };
    if replace {
        Command::Replace(command)
    } else {
        Command::Add(command)
    }
}

fn number(commands: &mut [Command], id: &mut u32) {
    for command in commands {
        let cmd_id = Some(id.to_string().into());
        *id += 1;
        match command {
            Command::Add(c) | Command::Replace(c) => c.cmd_id = cmd_id,
            Command::Delete(c) => c.cmd_id = cmd_id,
            Command::Alert(c) => c.cmd_id = cmd_id,
            Command::Get(c) | Command::Put(c) => c.cmd_id = cmd_id,
            Command::Map(c) => c.cmd_id = cmd_id,
            Command::Results(c) => c.cmd_id = cmd_id,
            Command::Status(c) => c.cmd_id = cmd_id,
            Command::Sync(c) => {
                c.cmd_id = cmd_id;
                number(&mut c.commands, id);
            }
            Command::Atomic(c) | Command::Sequence(c) => {
                c.cmd_id = cmd_id;
                number(&mut c.commands, id);
            }
            _ => {}
        }
    }
}

/// vCards of the corpus (SyncEvolution's test set, as phones send vCard 2.1).
pub fn corpus_vcards() -> Vec<String> {
    let path = crate::support::corpus_dir().join("pim/syncevolution/vcard21.vcf");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} unreadable ({e}); set HANDSYNC_CORPUS", path.display()));
    text.split("BEGIN:VCARD")
        .filter(|part| part.contains("END:VCARD"))
        .map(|part| {
            format!("BEGIN:VCARD{}", part.trim_end())
                .replace("\r\n", "\n")
                .replace('\n', "\r\n")
                + "\r\n"
        })
        .collect()
}

/// vCalendar 1.0 events of the corpus, one per item.
pub fn corpus_events() -> Vec<String> {
    let path = crate::support::corpus_dir().join("pim/syncevolution/vcal10.ics");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} unreadable ({e}); set HANDSYNC_CORPUS", path.display()));
    text.split("BEGIN:VCALENDAR")
        .filter(|part| part.contains("END:VCALENDAR"))
        .map(|part| {
            format!("BEGIN:VCALENDAR{}", part.trim_end())
                .replace("\r\n", "\n")
                .replace('\n', "\r\n")
                + "\r\n"
        })
        .collect()
}

/// A small vCard 2.1 of a made-up person `n`.
pub fn vcard(n: usize) -> String {
    format!(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Person{n};Test\r\nFN:Test Person{n}\r\nTEL;CELL:+4917000{n:05}\r\nEND:VCARD\r\n"
    )
}
