//! Accounts phones authenticate with.
//!
//! Only `md5("name:password")` is stored, never the password: a leaked database does not
//! reveal it (see `handsync_engine::credentials` for what that digest still allows).

use crate::db::{params, OptionalRow};
use handsync_engine::credentials::md5_user_password;
use handsync_engine::storage::Timestamp;

use super::error::{Context, Result, StoreError};
use super::types::id_column;
use super::Tx;

/// An account as listed (the digest is never handed out in listings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub created_at: Timestamp,
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
                params![name, &digest[..], now.0],
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
            crate::db::NO_PARAMS,
            |row| {
                Ok(Account {
                    name: row.get(0)?,
                    created_at: id_column(row, 1)?,
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
}
