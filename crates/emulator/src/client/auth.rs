//! Credentials: the server's status on our header (a challenge sends package 1 again), and
//! the Cred the header carries.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use super::{AuthKind, Credentials, EmulatedPhone, Outgoing, Phase};
use crate::{EmulatorError, UnixMillis};
use handsync_proto::ds::auth;
use handsync_proto::syncml::{Command, Cred, Message, StatusCode};

/// Tries at credentials within one session before giving up (phones ask the user after two).
const MAX_AUTH_ATTEMPTS: u32 = 2;

impl EmulatedPhone {
    /// Reads the status of our header: on a credentials challenge in package 2, package 1
    /// goes again with (new) credentials.
    pub(super) fn read_header_status(
        &mut self,
        message: &Message,
        now: UnixMillis,
    ) -> Result<Option<Outgoing>, EmulatorError> {
        let our_msg_id = self.session().msg_id;
        let header_status = message.body.commands.iter().find_map(|c| match c {
            Command::Status(s) if s.cmd_ref == "0" && s.msg_ref == our_msg_id => Some(s),
            _ => None,
        });
        let Some(status) = header_status else {
            return Ok(None);
        };
        if let Some(nonce) = status
            .chal
            .as_ref()
            .and_then(|c| c.meta.next_nonce.as_deref())
        {
            self.nonce = BASE64.decode(nonce.trim().as_bytes()).map_err(|e| {
                EmulatorError::Protocol(format!("NextNonce {nonce:?} is not base64: {e}"))
            })?;
        }
        match status.data {
            StatusCode::InvalidCredentials | StatusCode::MissingCredentials => {
                let session = self.session.as_mut().expect("running");
                if session.phase != Phase::Init || session.authenticated {
                    return Err(EmulatorError::Authentication {
                        code: status.data,
                        detail: "credentials refused in the middle of a session".into(),
                    });
                }
                if self.config.credentials.is_none() {
                    return Err(EmulatorError::Authentication {
                        code: status.data,
                        detail: "the server wants credentials and the phone has none".into(),
                    });
                }
                if session.auth_attempts >= MAX_AUTH_ATTEMPTS {
                    return Err(EmulatorError::Authentication {
                        code: status.data,
                        detail: format!("refused {} times", session.auth_attempts),
                    });
                }
                session.auth_attempts += 1;
                // The refused message was not processed: package 1 again, statuses included.
                session.outbox = session.init.clone().into();
                session.sent.clear();
                Ok(Some(self.pack(true, false, now)?))
            }
            code if code.is_success() => {
                self.session().authenticated = true;
                Ok(None)
            }
            code => Err(EmulatorError::SessionRefused(code)),
        }
    }
}

/// The Cred of our header.
pub(super) fn credentials(credentials: &Credentials, nonce: &[u8]) -> Cred {
    let Credentials {
        user,
        password,
        kind,
    } = credentials;
    match kind {
        AuthKind::Basic => auth::cred(auth::BASIC, auth::basic(user, password)),
        AuthKind::Md5 => auth::cred(auth::MD5, auth::md5_digest(user, password, nonce)),
    }
}
