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
    /// The account's phones sync data of its own, which no other account sees; otherwise
    /// they share the household's.
    pub own_data: bool,
}

impl Tx<'_> {
    /// Creates an account with the store's default data: its own on PostgreSQL (a hosted
    /// store serves many users), the household's on SQLite (a household's phones share one
    /// address book). The password is hashed here and not kept.
    pub fn add_account(&self, name: &str, password: &str, now: Timestamp) -> Result<()> {
        self.add_account_with(name, password, self.is_postgres(), now)
    }

    /// Creates an account, with data of its own or sharing the household's.
    pub fn add_account_with(
        &self,
        name: &str,
        password: &str,
        own_data: bool,
        now: Timestamp,
    ) -> Result<()> {
        if name.is_empty() || name.contains(':') {
            // A ':' in the name would make "name:password" ambiguous for basic auth.
            return Err(StoreError::InvalidInput(format!(
                "account name {name:?} must be non-empty and without ':'"
            )));
        }
        let digest = md5_user_password(name, password);
        let inserted = self
            .execute_cached(
                "INSERT INTO accounts (name, md5_digest, created_at, own_data) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO NOTHING",
                params![name, &digest[..], now.0, own_data],
            )
            .context(|| format!("adding account {name:?}"))?;
        if inserted == 0 {
            return Err(StoreError::AccountExists(name.to_string()));
        }
        tracing::info!(account = name, own_data, "account added");
        Ok(())
    }

    pub fn accounts(&self) -> Result<Vec<Account>> {
        self.collect(
            "SELECT name, created_at, own_data FROM accounts ORDER BY name",
            crate::db::NO_PARAMS,
            |row| {
                Ok(Account {
                    name: row.get(0)?,
                    created_at: id_column(row, 1)?,
                    own_data: row.get(2)?,
                })
            },
            || "listing accounts".into(),
        )
    }

    /// Removes an account's login. An account with data of its own is refused while its
    /// data holds anything: nothing is deleted without a record to restore it from.
    pub fn remove_account(&self, name: &str) -> Result<()> {
        if let Some(tenant) = self.account_tenant(name)? {
            if tenant != crate::HOUSEHOLD {
                let (devices, items): (i64, i64) = self
                    .query_row_cached(
                        "SELECT (SELECT count(*) FROM devices WHERE account_id = ?1), \
                         (SELECT count(*) FROM items WHERE account_id = ?1)",
                        [tenant],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .context(|| format!("counting the data of account {name:?}"))?;
                if devices + items > 0 {
                    return Err(StoreError::InvalidInput(format!(
                        "account {name:?} holds data of its own ({items} items, {devices} \
                         devices): export it first; its data stays while the account does"
                    )));
                }
            }
        }
        let removed = self
            .execute_cached("DELETE FROM accounts WHERE name = ?1", [name])
            .context(|| format!("removing account {name:?}"))?;
        if removed == 0 {
            return Err(StoreError::AccountNotFound(name.to_string()));
        }
        tracing::info!(account = name, "account removed");
        Ok(())
    }

    /// The tenant whose data account `name` works in (`None`: no such account).
    pub(crate) fn account_tenant(&self, name: &str) -> Result<Option<i64>> {
        self.query_row_cached(
            "SELECT id, own_data FROM accounts WHERE name = ?1",
            [name],
            |row| Ok((row.get::<i64>(0)?, row.get::<bool>(1)?)),
        )
        .optional()
        .context(|| format!("reading account {name:?}"))
        .map(|found| found.map(|(id, own)| if own { id } else { crate::HOUSEHOLD }))
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
