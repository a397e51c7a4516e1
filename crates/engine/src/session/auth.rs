//! Authentication: the phone's credentials against the auth policy, our challenges and
//! the MD5 nonces we hand out.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use handsync_proto::ds::auth;
use md5::{Digest, Md5};

use crate::config::AuthPolicy;
use crate::credentials;
use crate::model::{self, meta, text};
use crate::storage::DeviceId;
use crate::storage::SyncStore;
use handsync_proto::syncml::{Cred, MetInf, Status, StatusCode, SyncHdr};

use super::{Result, Session};

/// Where the phone's authentication stands.
#[derive(Debug, Clone, Default)]
pub(super) struct Auth {
    pub(super) authenticated: bool,
    /// The account it authenticated as (`None`: the transport needs no login): whose data
    /// the session works in (see [`SyncStore::enter_account`]).
    pub(super) account: Option<String>,
    /// Refused attempts in this session; the session ends at the configured maximum.
    pub(super) failures: u32,
    /// Nonces handed out in this session (one of their inputs).
    nonce_counter: u64,
    /// The nonce of our last challenge to a client not yet authenticated: kept here, not in
    /// the store, so that nobody who merely knows a device's URI can replace the nonce that
    /// device holds for its next session.
    session_nonce: Option<Vec<u8>>,
    /// The nonce handed out with 212, to store once the session's records exist.
    pub(super) next_nonce: Option<Vec<u8>>,
}

impl Session {
    /// `Ok(header status)` when the phone may go on, `Err(header status with a challenge)`
    /// when it may not.
    /// `command_cred`: credentials the phone put on a command instead of its header (Sony
    /// Ericsson K700i and Z600 put them in their Alert); they count for the session.
    pub(super) fn authenticate<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        header: &SyncHdr,
        command_cred: Option<&Cred>,
    ) -> Result<std::result::Result<Status, Status>> {
        let policy = self.config.auth_for(&self.params.transport);
        if policy == AuthPolicy::None {
            self.state.auth.authenticated = true;
            store.enter_account(None)?;
            return Ok(Ok(Status::for_header("0", header, StatusCode::Ok)));
        }
        let Some(cred) = header.cred.as_deref().or(command_cred) else {
            tracing::info!("no credentials; challenging");
            let mut status = Status::for_header("0", header, StatusCode::MissingCredentials);
            status.chal = Some(self.challenge(policy).into());
            return Ok(Err(status));
        };
        let auth_type = meta(&cred.meta)
            .and_then(|m| text(&m.type_))
            .unwrap_or(auth::BASIC)
            .to_ascii_lowercase();
        let mut account = None;
        let mut no_nonce_to_check = false;
        let accepted = match auth_type.as_str() {
            auth::BASIC if policy == AuthPolicy::Basic => match auth::parse_basic(&cred.data) {
                Some((name, password)) => {
                    let matches =
                        credentials::basic_matches(store.account_digest(&name)?, &name, &password);
                    if matches {
                        store.enter_account(Some(&name))?;
                        account = Some(name);
                    }
                    matches
                }
                None => false,
            },
            auth::MD5 => {
                let name = text(&header.source.loc_name).unwrap_or("");
                // The device's stored nonce is in the data of the account it names.
                store.enter_account(Some(name))?;
                account = Some(name.to_string());
                // The nonce the device got with its last 212, or our challenge this session.
                let stored = match store.find_device(&self.state.peer.client_uri)? {
                    Some(device) => device.next_nonce,
                    None => None,
                };
                let digest = if name.is_empty() {
                    None
                } else {
                    store.account_digest(name)?
                };
                let nonces: Vec<Vec<u8>> = [stored, self.state.auth.session_nonce.clone()]
                    .into_iter()
                    .flatten()
                    .collect();
                no_nonce_to_check = nonces.is_empty();
                nonces
                    .iter()
                    .any(|nonce| credentials::md5_matches(digest, &cred.data, nonce))
            }
            _ => false,
        };
        if !accepted {
            if no_nonce_to_check {
                // A device's first md5 login holds no nonce of ours (we never gave it one):
                // it fails by the protocol's design, says nothing of the password, and our
                // challenge follows. Refusals checked against a nonce are the ones to watch.
                tracing::info!(
                    auth_type,
                    "md5 credentials before any nonce of ours; challenging"
                );
            } else {
                tracing::warn!(auth_type, "credentials refused");
            }
            let mut status = Status::for_header("0", header, StatusCode::InvalidCredentials);
            status.chal = Some(self.challenge(policy).into());
            return Ok(Err(status));
        }
        tracing::info!(auth_type, "authenticated");
        self.state.auth.authenticated = true;
        self.state.auth.account = account;
        self.state.auth.session_nonce = None;
        let mut status = Status::for_header("0", header, StatusCode::AuthenticationAccepted);
        if auth_type == auth::MD5 {
            // The nonce for the next session, stored with the session's records.
            let chal = self.challenge(policy);
            self.state.auth.next_nonce = self.state.auth.session_nonce.take();
            status.chal = Some(chal.into());
        }
        Ok(Ok(status))
    }

    /// Our challenge; an md5 one's nonce is kept for this session (see `session_nonce`).
    fn challenge(&mut self, policy: AuthPolicy) -> handsync_proto::syncml::Chal {
        let mut meta = MetInf {
            format: Some("b64".into()),
            ..MetInf::default()
        };
        if policy == AuthPolicy::Md5 {
            let nonce = self.new_nonce();
            meta.type_ = Some(auth::MD5.into());
            meta.next_nonce = Some(BASE64.encode(&nonce).into());
            self.state.auth.session_nonce = Some(nonce);
        } else {
            meta.type_ = Some(auth::BASIC.into());
        }
        model::chal(meta)
    }

    /// Stores the nonce handed out with 212 for the device's next session.
    pub(super) fn store_next_nonce<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        device: DeviceId,
    ) -> Result<()> {
        if let Some(nonce) = self.state.auth.next_nonce.take() {
            store.set_next_nonce(device, &nonce)?;
        }
        Ok(())
    }

    fn new_nonce(&mut self) -> Vec<u8> {
        self.state.auth.nonce_counter += 1;
        let mut hasher = Md5::new();
        hasher.update(self.params.seed.to_le_bytes());
        hasher.update(self.state.auth.nonce_counter.to_le_bytes());
        hasher.update(self.state.peer.client_uri.as_bytes());
        hasher.update(self.state.peer.syncml_session_id.as_bytes());
        hasher.finalize()[..12].to_vec()
    }
}
