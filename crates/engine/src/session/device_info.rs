//! Device information both ways: the phone's DevInf (its Put or Results, our Get for it),
//! ours (its Get), and what the phone's DevInf tells about each of its datastores.

use std::collections::HashMap;

use crate::content;
use crate::devinf::{devinf_uri, is_devinf_uri, server_devinf, summary};
use crate::model::{self, some_meta, text};
use crate::storage::SyncStore;
use crate::storage::{Datastore, DevInfEncoding};
use handsync_proto::markup::Version;
use handsync_proto::pim::phone::PhoneFormat;
use handsync_proto::syncml::{
    document_to_wbxml, document_to_xml, xml::XmlOptions, Command, Data, DevInf, Document, Encoding,
    GetPut, Item, MetInf, Results, StatusCode,
};
use handsync_proto::wbxml::WriterOptions;

use super::{EngineError, Result, Session};

/// What we know of the phone's device information.
#[derive(Debug, Clone, Default)]
pub(super) struct PhoneInfo {
    /// The phone's DevInf, once it sent it (this session or before).
    pub(super) devinf: Option<DevInf>,
    /// Our Get for it is queued or sent.
    pub(super) devinf_requested: bool,
    /// What each datastore's phone takes, made from the DevInf when first needed.
    phones: HashMap<Datastore, PhoneFormat>,
}

impl Session {
    pub(super) fn handle_put<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        items: &[Item],
    ) -> Result<StatusCode> {
        let mut code = StatusCode::OptionalFeatureNotSupported;
        for item in items {
            if let Some(Data::DevInf(devinf)) = &item.data {
                self.store_devinf(store, devinf)?;
                code = StatusCode::Ok;
            }
        }
        Ok(code)
    }

    fn store_devinf<S: SyncStore + ?Sized>(&mut self, store: &S, devinf: &DevInf) -> Result<()> {
        let document = Document::DevInf(devinf.clone());
        let (raw, encoding) = match self.state.peer.encoding {
            Encoding::Xml => (
                document_to_xml(&document, XmlOptions::default())
                    .map_err(EngineError::Encode)?
                    .into_bytes(),
                DevInfEncoding::Xml,
            ),
            Encoding::Wbxml => (
                document_to_wbxml(&document, &WriterOptions::default())
                    .map_err(EngineError::Encode)?,
                DevInfEncoding::Wbxml,
            ),
        };
        let device = self.state.device.expect("started");
        store.set_device_info(device, &raw, encoding, &summary(devinf))?;
        tracing::info!(
            man = text(&devinf.man).unwrap_or(""),
            model = text(&devinf.model).unwrap_or(""),
            sw = text(&devinf.sw_v).unwrap_or(""),
            datastores = devinf.data_stores.len(),
            "phone DevInf stored"
        );
        self.state.phone_info.devinf = Some(devinf.clone());
        self.state.phone_info.phones.clear();
        Ok(())
    }

    pub(super) fn handle_get(&mut self, get: &GetPut) -> StatusCode {
        let Some(item) = get.items.first() else {
            return StatusCode::BadRequest;
        };
        let target = item
            .target
            .as_ref()
            .map(|t| t.loc_uri.to_string())
            .unwrap_or_default();
        if !is_devinf_uri(&target) {
            return StatusCode::NotFound;
        }
        let version = self.state.peer.version;
        let mut devinf = server_devinf(&self.config, version);
        let mut results = self.devinf_results(get, &devinf);
        // A Results goes in one message: when our CTCaps make it too large for the phone's
        // MaxMsgSize, the DevInf goes without them (CTCap is optional).
        if !self.fits_beside_a_status(&results) {
            tracing::info!("our DevInf with CTCap exceeds the phone's MaxMsgSize: sent without");
            devinf.ct_caps.clear();
            for store in &mut devinf.data_stores {
                store.ct_caps.clear();
            }
            results = self.devinf_results(get, &devinf);
        }
        self.state.outbox.commands.push_back(results);
        StatusCode::Ok
    }

    fn devinf_results(&self, get: &GetPut, devinf: &DevInf) -> Command {
        let version = self.state.peer.version;
        let mut result_item = model::item(None, Some(devinf_uri(version)));
        result_item.data = Some(Data::DevInf(Box::new(devinf.clone())));
        Command::Results(
            Results {
                msg_ref: Some(self.state.peer.msg_id),
                cmd_ref: get.cmd_id.as_ref().map(|c| c.to_string().into()),
                meta: some_meta(MetInf::with_type(
                    self.state.peer.encoding.devinf_content_type(),
                )),
                target_refs: Vec::new(),
                source_refs: vec![devinf_uri(version).to_string().into()],
                items: vec![result_item],
                ..Results::default()
            }
            .into(),
        )
    }

    pub(super) fn phone_for_datastore(&mut self, datastore: Datastore) -> PhoneFormat {
        match self
            .state
            .active
            .iter()
            .position(|a| a.datastore == datastore)
        {
            Some(index) => self.phone(index),
            None => content::phone_for(self.state.phone_info.devinf.as_ref(), None),
        }
    }

    pub(super) fn phone(&mut self, index: usize) -> PhoneFormat {
        let active = &self.state.active[index];
        let datastore = active.datastore;
        if let Some(phone) = self.state.phone_info.phones.get(&datastore) {
            return phone.clone();
        }
        let phone = content::phone_for(
            self.state.phone_info.devinf.as_ref(),
            Some(&active.phone_uri),
        );
        self.state
            .phone_info
            .phones
            .insert(datastore, phone.clone());
        phone
    }

    pub(super) fn request_devinf(&mut self) {
        let version = self.state.peer.version;
        self.state.phone_info.devinf_requested = true;
        self.state.outbox.commands.push_back(Command::Get(GetPut {
            meta: some_meta(MetInf::with_type(
                self.state.peer.encoding.devinf_content_type(),
            )),
            items: vec![model::item(Some(devinf_uri(version)), None)],
            ..GetPut::default()
        }));
    }

    /// MaxGUIDSize and the preferred content type of a phone datastore, from its DevInf.
    pub(super) fn phone_datastore_facts(&self, phone_uri: &str) -> (Option<u32>, Option<String>) {
        let Some(devinf) = &self.state.phone_info.devinf else {
            return (None, None);
        };
        let Some(store) = devinf
            .data_stores
            .iter()
            .find(|d| d.source_ref.trim_start_matches("./") == phone_uri.trim_start_matches("./"))
        else {
            return (None, None);
        };
        let preferred = store.rx_pref.first().map(|c| c.ct_type.to_string());
        (store.max_guid_size.filter(|m| *m > 0), preferred)
    }

    /// Whether the phone said it takes items in chunks (DevInf `SupportLargeObjs`, 1.1+).
    pub(super) fn phone_takes_large_objects(&self) -> bool {
        self.state.peer.version != Version::V1_0
            && self
                .state
                .phone_info
                .devinf
                .as_ref()
                .is_some_and(|d| d.support_large_objs)
    }
}
