//! SyncML credentials checked against an account's stored `md5("name:password")`.
//!
//! Storage keeps only that digest, never the password. It is still *password-equivalent for
//! SyncML auth-md5*: whoever holds it can compute `b64(md5(b64(digest) ":" nonce))` for any
//! nonce, exactly like the phone. SyncML 1.1/1.2 auth-md5 and basic auth can both be checked
//! against it. (SyncML 1.0's `md5("name:password:nonce")` variant cannot: it needs the
//! password itself.)

use handsync_proto::ds::auth::md5_digest_from_stored;
pub use handsync_proto::ds::auth::md5_user_password;

/// Checks syncml:auth-basic credentials (base64-decoded and split at the ':') against the
/// account's digest (`None`: no such account).
pub fn basic_matches(digest: Option<[u8; 16]>, name: &str, password: &str) -> bool {
    digest.is_some_and(|stored| same_bytes(&stored, &md5_user_password(name, password)))
}

/// Checks a syncml:auth-md5 credential (the base64 text of the Cred's Data) made with the
/// nonce we gave the device (raw bytes, as decoded from our NextNonce).
pub fn md5_matches(digest: Option<[u8; 16]>, credential: &str, nonce: &[u8]) -> bool {
    digest.is_some_and(|stored| {
        same_bytes(
            md5_digest_from_stored(&stored, nonce).as_bytes(),
            credential.trim().as_bytes(),
        )
    })
}

/// Compares without an early exit, so timing does not tell how much of a credential matched.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_credentials_match_only_with_the_same_nonce() {
        // Expected values computed independently with coreutils:
        // printf 'Bruce2:OhBehave' | md5sum | xxd -r -p | base64, then the same on "<that>:Nonce".
        // (proto's ds::auth tests the digests themselves; this checks the matching.)
        let digest = md5_user_password("Bruce2", "OhBehave");
        assert!(md5_matches(
            Some(digest),
            " Zz6EivR3yeaaENcRN6lpAQ== ",
            b"Nonce"
        ));
        assert!(!md5_matches(
            Some(digest),
            "Zz6EivR3yeaaENcRN6lpAQ==",
            b"Other"
        ));
        assert!(!md5_matches(None, "Zz6EivR3yeaaENcRN6lpAQ==", b"Nonce"));
    }

    #[test]
    fn basic_credentials_need_the_account_and_its_password() {
        let digest = md5_user_password("anna", "s3cret");
        assert!(basic_matches(Some(digest), "anna", "s3cret"));
        assert!(!basic_matches(Some(digest), "anna", "s3cre"));
        assert!(!basic_matches(None, "anna", "s3cret"));
    }

    #[test]
    fn same_bytes_needs_equal_length_and_content() {
        assert!(same_bytes(b"abc", b"abc"));
        assert!(!same_bytes(b"abc", b"abd"));
        assert!(!same_bytes(b"abc", b"ab"));
    }
}
