//! SyncML credentials (`Cred` in a SyncHdr): `syncml:auth-basic` and `syncml:auth-md5`.
//!
//! auth-md5 (SyncML 1.1 and 1.2) is `b64(md5(b64(md5("user:password")) ":" nonce))`. Its inner
//! part, `md5("user:password")`, is what a server keeps instead of the password: it is enough
//! to check both kinds of credentials. (SyncML 1.0's `md5("user:password:nonce")` would need
//! the password itself and is not supported.)

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use md5::{Digest as _, Md5};

use crate::syncml::{Cred, MetInf};

/// The `Type` of basic credentials.
pub const BASIC: &str = "syncml:auth-basic";
/// The `Type` of md5 credentials.
pub const MD5: &str = "syncml:auth-md5";

/// `md5("user:password")`: what a server stores for an account.
pub fn md5_user_password(user: &str, password: &str) -> [u8; 16] {
    Md5::digest(format!("{user}:{password}").as_bytes()).into()
}

/// The auth-md5 credential (the base64 text of the Cred's Data) for a user and password.
pub fn md5_digest(user: &str, password: &str, nonce: &[u8]) -> String {
    md5_digest_from_stored(&md5_user_password(user, password), nonce)
}

/// The auth-md5 credential from the stored `md5("user:password")`, as a server computes it
/// to compare with the phone's.
pub fn md5_digest_from_stored(user_password: &[u8; 16], nonce: &[u8]) -> String {
    let mut outer = Md5::new();
    outer.update(BASE64.encode(user_password).as_bytes());
    outer.update(b":");
    outer.update(nonce);
    BASE64.encode(outer.finalize())
}

/// The basic credential: base64 of `user:password`.
pub fn basic(user: &str, password: &str) -> String {
    BASE64.encode(format!("{user}:{password}"))
}

/// The user and password of a basic credential; `None` if it is not base64 of UTF-8
/// `user:password`.
pub fn parse_basic(data: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(BASE64.decode(data.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// A `Cred` of the given `Type` ([`BASIC`] or [`MD5`]) holding `data` (base64 text).
pub fn cred(type_: &str, data: String) -> Cred {
    Cred {
        meta: Some(Box::new(MetInf {
            type_: Some(type_.into()),
            format: Some("b64".into()),
            ..MetInf::default()
        })),
        data,
        ..Cred::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_credential_matches_the_syncml_formula() {
        // printf 'Bruce2:OhBehave' | md5sum | xxd -r -p | base64, then the same on "<that>:Nonce".
        let stored = md5_user_password("Bruce2", "OhBehave");
        assert_eq!(BASE64.encode(stored), "PtEdr8lBQ45IbT1bZIkrOQ==");
        assert_eq!(
            md5_digest("Bruce2", "OhBehave", b"Nonce"),
            "Zz6EivR3yeaaENcRN6lpAQ=="
        );
        assert_eq!(
            md5_digest_from_stored(&stored, b"Nonce"),
            md5_digest("Bruce2", "OhBehave", b"Nonce")
        );
    }

    #[test]
    fn basic_credentials_round_trip() {
        let data = basic("Bruce2", "Oh:Behave");
        assert_eq!(data, "QnJ1Y2UyOk9oOkJlaGF2ZQ==");
        assert_eq!(
            parse_basic(&data),
            Some(("Bruce2".to_string(), "Oh:Behave".to_string()))
        );
        assert_eq!(parse_basic("not base64!"), None);
        assert_eq!(parse_basic(&BASE64.encode("no colon")), None);
    }

    #[test]
    fn a_cred_says_its_type_and_format() {
        let cred = cred(MD5, "abc".into());
        let meta = cred.meta.as_deref().unwrap();
        assert_eq!(meta.type_.as_deref(), Some(MD5));
        assert_eq!(meta.format.as_deref(), Some("b64"));
        assert_eq!(cred.data, "abc");
    }
}
