//! Accounts phones authenticate with.
//!
//! Only `md5("name:password")` is stored, never the password: a leaked database does not
//! reveal it. That digest is still *password-equivalent for SyncML auth-md5*: whoever holds
//! it can compute `b64(md5(b64(digest) ":" nonce))` for any nonce, exactly like the phone.
//! SyncML 1.1/1.2 auth-md5 and basic auth can both be checked against it. (SyncML 1.0's
//! `md5("name:password:nonce")` variant cannot, since it needs the password itself.)

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use md5::{Digest, Md5};
use rusqlite::{params, OptionalExtension};

use super::error::{Context, Result, StoreError};
use super::types::Timestamp;
use super::Tx;

/// An account as listed (the digest is never handed out in listings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub created_at: Timestamp,
}

/// `md5("name:password")`, the digest stored for an account.
pub fn md5_user_password(name: &str, password: &str) -> [u8; 16] {
    let mut hasher = Md5::new();
    hasher.update(name.as_bytes());
    hasher.update(b":");
    hasher.update(password.as_bytes());
    hasher.finalize().into()
}

/// The SyncML auth-md5 credential: `b64(md5(b64(digest) ":" nonce))`.
fn md5_credential(digest: &[u8; 16], nonce: &[u8]) -> String {
    let mut hasher = Md5::new();
    hasher.update(BASE64.encode(digest).as_bytes());
    hasher.update(b":");
    hasher.update(nonce);
    BASE64.encode(hasher.finalize())
}

/// Compares without an early exit, so timing does not tell how much of a credential matched.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Tx<'_> {
    /// Creates an account. The password is hashed here and not kept.
    pub fn add_account(&self, name: &str, password: &str, now: Timestamp) -> Result<()> {
        if name.is_empty() || name.contains(':') {
            // A ':' in the name would make "name:password" ambiguous for basic auth.
            return Err(StoreError::InvalidInput(format!(
                "account name {name:?} must be non-empty and without ':'"
            )));
        }
        let digest = md5_user_password(name, password);
        let inserted = self
            .execute_cached(
                "INSERT INTO accounts (name, md5_digest, created_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (name) DO NOTHING",
                params![name, &digest[..], now],
            )
            .context(|| format!("adding account {name:?}"))?;
        if inserted == 0 {
            return Err(StoreError::AccountExists(name.to_string()));
        }
        tracing::info!(account = name, "account added");
        Ok(())
    }

    pub fn accounts(&self) -> Result<Vec<Account>> {
        self.collect(
            "SELECT name, created_at FROM accounts ORDER BY name",
            [],
            |row| {
                Ok(Account {
                    name: row.get(0)?,
                    created_at: row.get(1)?,
                })
            },
            || "listing accounts".into(),
        )
    }

    pub fn remove_account(&self, name: &str) -> Result<()> {
        let removed = self
            .execute_cached("DELETE FROM accounts WHERE name = ?1", [name])
            .context(|| format!("removing account {name:?}"))?;
        if removed == 0 {
            return Err(StoreError::AccountNotFound(name.to_string()));
        }
        tracing::info!(account = name, "account removed");
        Ok(())
    }

    /// The stored `md5("name:password")` of an account, `None` if there is no such account.
    pub fn account_digest(&self, name: &str) -> Result<Option<[u8; 16]>> {
        let digest: Option<(i64, Vec<u8>)> = self
            .query_row_cached(
                "SELECT id, md5_digest FROM accounts WHERE name = ?1",
                [name],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .context(|| format!("reading account {name:?}"))?;
        digest
            .map(|(row, bytes)| {
                <[u8; 16]>::try_from(bytes.as_slice()).map_err(|_| StoreError::Corrupt {
                    table: "accounts",
                    row,
                    detail: format!(
                        "digest of account {name:?} is {} bytes, not 16",
                        bytes.len()
                    ),
                })
            })
            .transpose()
    }

    /// Checks syncml:auth-basic credentials (already base64-decoded and split at the ':').
    pub fn verify_basic(&self, name: &str, password: &str) -> Result<bool> {
        Ok(match self.account_digest(name)? {
            Some(stored) => same_bytes(&stored, &md5_user_password(name, password)),
            None => false,
        })
    }

    /// Checks a syncml:auth-md5 credential (the base64 text of the Cred's Data) against the
    /// nonce we gave the device (raw bytes, as decoded from our NextNonce).
    pub fn verify_md5(&self, name: &str, credential: &str, nonce: &[u8]) -> Result<bool> {
        Ok(match self.account_digest(name)? {
            Some(stored) => same_bytes(
                md5_credential(&stored, nonce).as_bytes(),
                credential.trim().as_bytes(),
            ),
            None => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_credential_matches_the_syncml_formula() {
        // Expected values computed independently with coreutils:
        // printf 'Bruce2:OhBehave' | md5sum | xxd -r -p | base64, then the same on "<that>:Nonce".
        let digest = md5_user_password("Bruce2", "OhBehave");
        assert_eq!(BASE64.encode(digest), "PtEdr8lBQ45IbT1bZIkrOQ==");
        assert_eq!(
            md5_credential(&digest, b"Nonce"),
            "Zz6EivR3yeaaENcRN6lpAQ=="
        );
    }

    #[test]
    fn same_bytes_needs_equal_length_and_content() {
        assert!(same_bytes(b"abc", b"abc"));
        assert!(!same_bytes(b"abc", b"abd"));
        assert!(!same_bytes(b"abc", b"ab"));
    }
}
