//! Encryption at rest with per-owner data keys (envelope encryption).
//!
//! Each owner of sealed values — a firm, or a person for the account secrets that
//! follow them from firm to firm — has numbered 256-bit data keys, stored only
//! wrapped by the deployment's root key ([`SecretBox`], `SECRETS_KEYS`, which rotates
//! on its own). A value is sealed with AES-256-GCM under the owner's active key, a
//! fresh 96-bit nonce, and associated data naming exactly where it lives
//! (`owner|table|column|row`): copied to another row, column, table or firm it does
//! not open. Sealed text is `enc:v1:<key version>:<base64url(nonce ‖ ciphertext)>`.
//!
//! Rotation makes a new active version; retired versions keep opening what they
//! sealed until [`reseal`] has moved every value of the [`SEALED_COLUMNS`] registry
//! onto the active one. Destroying an owner's keys ([`destroy`]) erases them: every
//! value they sealed — in D1, its Time Travel copies and backups — is unreadable
//! from then on (crypto-shredding).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::cell::Cell;

use super::error::{DomainError, DomainResult};
use super::id::random_bytes;
use super::secrets::SecretBox;
use super::sql::{query_as, Sql, Statement, Value};
use super::time::Instant;
use crate::stmt;

/// A key is retired once it has sealed this many values (NIST SP 800-38D bounds
/// random 96-bit nonces at 2^32 invocations; we stop at half).
pub const MAX_USES: i64 = 1 << 31;
/// A key is rotated after a year even if it sealed little.
pub const MAX_AGE_MS: i64 = 365 * 24 * 3_600_000;
/// Values re-sealed per statement batch.
pub const RESEAL_BATCH: usize = 500;

const PREFIX: &str = "enc:v1:";

/// Where a sealed value lives: its associated data.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    /// Table name.
    pub table: &'a str,
    /// Column name.
    pub column: &'a str,
    /// The row's key.
    pub row: &'a str,
}

impl<'a> Field<'a> {
    /// The field `table.column` of `row`.
    pub fn new(table: &'a str, column: &'a str, row: &'a str) -> Self {
        Self { table, column, row }
    }
}

/// A column holding sealed values, for re-sealing after a rotation. The names are
/// code, never input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedColumn {
    /// Table name.
    pub table: &'static str,
    /// The sealed column.
    pub column: &'static str,
    /// The column naming the key owner (`firm_id`, or `user_id` for a person's).
    pub owner: &'static str,
    /// The column whose value is the row part of the associated data.
    pub row: &'static str,
}

/// Every sealed column of the schema. A module that seals a new column adds it here
/// (a repository test checks each exists).
pub const SEALED_COLUMNS: &[SealedColumn] = &[
    SealedColumn {
        table: "auth_totp_factors",
        column: "secret_sealed",
        owner: "user_id",
        row: "user_id",
    },
    SealedColumn {
        table: "webhooks_endpoints",
        column: "secret",
        owner: "firm_id",
        row: "id",
    },
    SealedColumn {
        table: "webhooks_endpoints",
        column: "previous_secret",
        owner: "firm_id",
        row: "id",
    },
    SealedColumn {
        table: "webhooks_endpoints",
        column: "headers",
        owner: "firm_id",
        row: "id",
    },
];

/// One unwrapped data key: the cipher that seals values, and the bytes content
/// keys are derived from (never handed out).
struct DataKey {
    cipher: Aes256Gcm,
    bytes: [u8; 32],
}

fn unavailable(why: impl Into<String>) -> DomainError {
    DomainError::Unavailable(format!("data key: {}", why.into()))
}

fn wrap_aad(owner: &str, version: i64) -> String {
    format!("data-key|{owner}|{version}")
}

/// A data key's public facts (never the key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyVersion {
    /// Version number, from 1.
    pub version: i64,
    /// `active`, `retired` or `destroyed`.
    pub status: String,
    /// Values sealed under it.
    pub uses: i64,
    /// When it was made (Unix ms).
    pub created_at: i64,
    /// When it stopped sealing.
    pub retired_at: Option<i64>,
    /// When it was erased.
    pub destroyed_at: Option<i64>,
}

#[derive(Deserialize)]
struct KeyRow {
    version: i64,
    wrapped: Option<String>,
    status: String,
}

/// The keys of one owner, unwrapped for the length of a request.
pub struct Keyring {
    owner: String,
    /// (version, key; `None` once destroyed).
    keys: Vec<(i64, Option<DataKey>)>,
    active: Option<i64>,
    sealed: Cell<i64>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("owner", &self.owner)
            .field(
                "versions",
                &self.keys.iter().map(|(v, _)| v).collect::<Vec<_>>(),
            )
            .field("active", &self.active)
            .finish()
    }
}

/// The statement that stores a fresh wrapped key as `owner`'s first, unless it has
/// one (or had: a shredded owner gets no new key by accident).
fn first_key(root: &SecretBox, owner: &str, now: Instant) -> DomainResult<Statement> {
    let mut key = [0u8; 32];
    random_bytes(&mut key)?;
    let wrapped = root.seal(&key, &wrap_aad(owner, 1))?;
    Ok(stmt!(
        "INSERT OR IGNORE INTO kernel_data_keys (owner, version, wrapped, status, created_at)
         SELECT ?1, 1, ?2, 'active', ?3
          WHERE NOT EXISTS (SELECT 1 FROM kernel_data_keys WHERE owner = ?1)",
        owner,
        wrapped,
        now.millis()
    ))
}

async fn rows(db: &impl Sql, owner: &str) -> DomainResult<Vec<KeyRow>> {
    query_as(
        db,
        stmt!(
            "SELECT version, wrapped, status FROM kernel_data_keys WHERE owner = ?1 ORDER BY version",
            owner
        ),
    )
    .await
}

/// `owner`'s keyring for sealing, making its first key when it has none.
pub async fn keyring(
    db: &impl Sql,
    root: &SecretBox,
    owner: &str,
    now: Instant,
) -> DomainResult<Keyring> {
    let mut found = rows(db, owner).await?;
    if found.is_empty() {
        db.execute(first_key(root, owner, now)?).await?;
        found = rows(db, owner).await?;
    }
    unwrap_all(root, owner, found)
}

/// `owner`'s keyring for opening only: no key is made for an owner without one.
pub async fn existing(db: &impl Sql, root: &SecretBox, owner: &str) -> DomainResult<Keyring> {
    unwrap_all(root, owner, rows(db, owner).await?)
}

fn unwrap_all(root: &SecretBox, owner: &str, found: Vec<KeyRow>) -> DomainResult<Keyring> {
    let mut keys = Vec::with_capacity(found.len());
    let mut active = None;
    for row in found {
        let key = match row.wrapped {
            Some(wrapped) => {
                let opened = root.open(&wrapped, &wrap_aad(owner, row.version))?;
                let bytes: [u8; 32] = opened
                    .as_slice()
                    .try_into()
                    .map_err(|_| unavailable("a wrapped key is not 32 bytes"))?;
                Some(DataKey {
                    cipher: Aes256Gcm::new_from_slice(&bytes)
                        .map_err(|_| unavailable("a wrapped key is not 32 bytes"))?,
                    bytes,
                })
            }
            None => None,
        };
        if row.status == "active" {
            active = Some(row.version);
        }
        keys.push((row.version, key));
    }
    Ok(Keyring {
        owner: owner.to_owned(),
        keys,
        active,
        sealed: Cell::new(0),
    })
}

fn aad(owner: &str, field: Field<'_>) -> String {
    format!("{owner}|{}|{}|{}", field.table, field.column, field.row)
}

/// The key version a sealed text names, if it is one.
pub fn version_of(sealed: &str) -> Option<i64> {
    let rest = sealed.strip_prefix(PREFIX)?;
    let (version, _) = rest.split_once(':')?;
    version.parse().ok()
}

impl Keyring {
    /// Whose keys these are.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The version that seals.
    pub fn active_version(&self) -> Option<i64> {
        self.active
    }

    /// Seals `plaintext` for `field` under the active key.
    pub fn seal(&self, field: Field<'_>, plaintext: &[u8]) -> DomainResult<String> {
        let version = self
            .active
            .ok_or_else(|| DomainError::Gone("this owner's data keys were destroyed".into()))?;
        let cipher = self
            .keys
            .iter()
            .find(|(v, _)| *v == version)
            .and_then(|(_, k)| k.as_ref())
            .map(|k| &k.cipher)
            .ok_or_else(|| unavailable("the active key is missing"))?;
        let mut nonce = [0u8; 12];
        random_bytes(&mut nonce)?;
        let aad = aad(&self.owner, field);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| unavailable("encryption failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        self.sealed.set(self.sealed.get() + 1);
        Ok(format!("{PREFIX}{version}:{}", URL_SAFE_NO_PAD.encode(out)))
    }

    /// Opens the value sealed for `field`. A value sealed for another place, or
    /// changed, does not open (503: the store is inconsistent, not the caller wrong);
    /// one whose key was destroyed is gone (410).
    pub fn open(&self, field: Field<'_>, sealed: &str) -> DomainResult<Vec<u8>> {
        let version = version_of(sealed)
            .ok_or_else(|| unavailable("a sealed value has an unknown format"))?;
        let body = sealed
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .map(|(_, body)| body)
            .unwrap_or_default();
        let (_, key) = self
            .keys
            .iter()
            .find(|(v, _)| *v == version)
            .ok_or_else(|| {
                unavailable("a value is sealed under a key version that does not exist")
            })?;
        let cipher = key
            .as_ref()
            .map(|k| &k.cipher)
            .ok_or_else(|| DomainError::Gone("the value's data key was destroyed".into()))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| unavailable("a sealed value is not base64url"))?;
        let (nonce, ciphertext) = bytes
            .split_at_checked(12)
            .ok_or_else(|| unavailable("a sealed value is too short"))?;
        let aad = aad(&self.owner, field);
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| unavailable("a sealed value does not open where it is"))
    }

    /// The key of one large object sealed outside D1 (a file's content in R2):
    /// HMAC-SHA256 of the data key `version` over `content-key|owner|table|column|row`,
    /// so each object has its own key, the data key never leaves the keyring, and
    /// destroying the data key makes every object's key underivable (410).
    /// `None` names the active version; the version used is returned with the key.
    pub fn content_key(
        &self,
        version: Option<i64>,
        field: Field<'_>,
    ) -> DomainResult<(i64, [u8; 32])> {
        use hmac::{Hmac, Mac};
        let version = version
            .or(self.active)
            .ok_or_else(|| DomainError::Gone("this owner's data keys were destroyed".into()))?;
        let (_, key) = self
            .keys
            .iter()
            .find(|(v, _)| *v == version)
            .ok_or_else(|| unavailable("an object names a key version that does not exist"))?;
        let key = key
            .as_ref()
            .ok_or_else(|| DomainError::Gone("the object's data key was destroyed".into()))?;
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key.bytes)
            .map_err(|_| unavailable("content key"))?;
        mac.update(format!("content-key|{}", aad(&self.owner, field)).as_bytes());
        Ok((version, mac.finalize().into_bytes().into()))
    }

    /// [`Self::open`] as UTF-8 text.
    pub fn open_text(&self, field: Field<'_>, sealed: &str) -> DomainResult<String> {
        String::from_utf8(self.open(field, sealed)?)
            .map_err(|_| unavailable("a sealed value is not text"))
    }

    /// The statement that counts the values sealed through this keyring since the
    /// last call against its active key (put it in the batch that stores them), if
    /// any were.
    pub fn usage(&self) -> Option<Statement> {
        let version = self.active?;
        let n = self.sealed.replace(0);
        (n > 0).then(|| {
            stmt!(
                "UPDATE kernel_data_keys SET uses = uses + ?1 WHERE owner = ?2 AND version = ?3",
                n,
                self.owner.as_str(),
                version
            )
        })
    }
}

/// `owner`'s key versions, newest first.
pub async fn versions(db: &impl Sql, owner: &str) -> DomainResult<Vec<KeyVersion>> {
    query_as(
        db,
        stmt!(
            "SELECT version, status, uses, created_at, retired_at, destroyed_at
               FROM kernel_data_keys WHERE owner = ?1 ORDER BY version DESC",
            owner
        ),
    )
    .await
}

/// Makes a new active key for `owner` and retires the one before, in one batch.
/// Returns the new version. A shredded owner is refused.
pub async fn rotate(
    db: &impl Sql,
    root: &SecretBox,
    owner: &str,
    now: Instant,
) -> DomainResult<i64> {
    let existing = versions(db, owner).await?;
    if existing.iter().any(|k| k.status == "destroyed") {
        return Err(DomainError::Gone(
            "this owner's data keys were destroyed".into(),
        ));
    }
    let version = existing.first().map_or(1, |k| k.version + 1);
    let mut key = [0u8; 32];
    random_bytes(&mut key)?;
    let wrapped = root.seal(&key, &wrap_aad(owner, version))?;
    db.batch(vec![
        stmt!(
            "UPDATE kernel_data_keys SET status = 'retired', retired_at = ?2 WHERE owner = ?1 AND status = 'active'",
            owner,
            now.millis()
        ),
        stmt!(
            "INSERT INTO kernel_data_keys (owner, version, wrapped, status, created_at) VALUES (?1, ?2, ?3, 'active', ?4)",
            owner,
            version,
            wrapped,
            now.millis()
        ),
    ])
    .await?;
    Ok(version)
}

/// Whether `owner`'s active key is due for rotation (a year old, or 2^31 uses).
pub fn rotation_due(key: &KeyVersion, now: Instant) -> bool {
    key.status == "active" && (key.uses >= MAX_USES || now.millis() - key.created_at >= MAX_AGE_MS)
}

/// Erases every key of `owner`: nothing they sealed opens again, anywhere.
pub async fn destroy(db: &impl Sql, owner: &str, now: Instant) -> DomainResult<u64> {
    db.execute(stmt!(
        "UPDATE kernel_data_keys SET wrapped = NULL, status = 'destroyed', destroyed_at = ?2
          WHERE owner = ?1 AND status <> 'destroyed'",
        owner,
        now.millis()
    ))
    .await
}

/// Re-wraps every key not wrapped by the root key that seals today (after
/// `SECRETS_KEYS` gained a new first key), so the old root key can be dropped.
/// Returns how many were re-wrapped (at most [`RESEAL_BATCH`] per call).
pub async fn rewrap(db: &impl Sql, root: &SecretBox) -> DomainResult<usize> {
    #[derive(Deserialize)]
    struct Wrapped {
        owner: String,
        version: i64,
        wrapped: String,
    }
    let current = format!("v1.{}.", root.current_kid());
    let stale: Vec<Wrapped> = query_as(
        db,
        stmt!(
            "SELECT owner, version, wrapped FROM kernel_data_keys
              WHERE wrapped IS NOT NULL AND substr(wrapped, 1, length(?1)) <> ?1 LIMIT ?2",
            current.as_str(),
            RESEAL_BATCH as i64
        ),
    )
    .await?;
    let mut statements = Vec::with_capacity(stale.len());
    for key in &stale {
        let aad = wrap_aad(&key.owner, key.version);
        let rewrapped = root.seal(&root.open(&key.wrapped, &aad)?, &aad)?;
        statements.push(stmt!(
            "UPDATE kernel_data_keys SET wrapped = ?1 WHERE owner = ?2 AND version = ?3 AND wrapped = ?4",
            rewrapped,
            key.owner.as_str(),
            key.version,
            key.wrapped.as_str()
        ));
    }
    let n = statements.len();
    if n > 0 {
        db.batch(statements).await?;
    }
    Ok(n)
}

/// Moves up to [`RESEAL_BATCH`] values of `column` owned by the keyring's owner
/// from retired keys onto the active one. Each update is conditional on the value
/// being unchanged, so a concurrent write wins. Returns how many were moved.
pub async fn reseal(db: &impl Sql, ring: &Keyring, column: &SealedColumn) -> DomainResult<usize> {
    #[derive(Deserialize)]
    struct Found {
        row: String,
        value: String,
    }
    let Some(active) = ring.active_version() else {
        return Ok(0);
    };
    let current = format!("{PREFIX}{active}:");
    let SealedColumn {
        table,
        column: col,
        owner,
        row,
    } = *column;
    let found: Vec<Found> = query_as(
        db,
        Statement::new(
            format!(
                "SELECT {row} AS row, {col} AS value FROM {table}
                  WHERE {owner} = ?1 AND {col} IS NOT NULL AND substr({col}, 1, length(?2)) <> ?2 LIMIT ?3"
            ),
            vec![
                Value::from(ring.owner()),
                Value::from(current.as_str()),
                Value::from(RESEAL_BATCH as i64),
            ],
        ),
    )
    .await?;
    let mut statements = Vec::with_capacity(found.len() + 1);
    for f in &found {
        let field = Field::new(table, col, &f.row);
        let plain = ring.open(field, &f.value)?;
        statements.push(Statement::new(
            format!("UPDATE {table} SET {col} = ?1 WHERE {row} = ?2 AND {col} = ?3"),
            vec![
                Value::from(ring.seal(field, &plain)?.as_str()),
                Value::from(f.row.as_str()),
                Value::from(f.value.as_str()),
            ],
        ));
    }
    let n = found.len();
    statements.extend(ring.usage());
    if n > 0 {
        db.batch(statements).await?;
    }
    Ok(n)
}

/// What one run of [`maintain`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Maintenance {
    /// Keys rotated because they were a year old or used 2^31 times.
    pub rotated: usize,
    /// Values moved from retired keys onto active ones.
    pub resealed: usize,
    /// Keys re-wrapped under the root key that seals today.
    pub rewrapped: usize,
}

/// Moves everything of `owner` sealed under a retired key onto its active one (at
/// most [`RESEAL_BATCH`] per column). Returns how many values moved.
pub async fn reseal_owner(db: &impl Sql, root: &SecretBox, owner: &str) -> DomainResult<usize> {
    let ring = existing(db, root, owner).await?;
    let mut moved = 0;
    for column in SEALED_COLUMNS {
        let owned_here = if owner.starts_with("usr_") {
            column.owner == "user_id"
        } else {
            column.owner == "firm_id"
        };
        if owned_here {
            moved += reseal(db, &ring, column).await?;
        }
    }
    Ok(moved)
}

/// Owners with values of `column` not sealed under their active key.
async fn behind(db: &impl Sql, column: &SealedColumn) -> DomainResult<Vec<String>> {
    #[derive(Deserialize)]
    struct Owner {
        owner: String,
    }
    let SealedColumn {
        table,
        column: col,
        owner,
        ..
    } = *column;
    let rows: Vec<Owner> = query_as(
        db,
        Statement::new(
            format!(
                "SELECT DISTINCT t.{owner} AS owner FROM {table} t
                   JOIN kernel_data_keys k ON k.owner = t.{owner} AND k.status = 'active'
                  WHERE t.{col} IS NOT NULL
                    AND substr(t.{col}, 1, length('{PREFIX}' || k.version || ':')) <> '{PREFIX}' || k.version || ':'
                  LIMIT 50"
            ),
            vec![],
        ),
    )
    .await?;
    Ok(rows.into_iter().map(|o| o.owner).collect())
}

/// The daily key work: rotates keys past their age or use limit, moves values off
/// retired keys, and re-wraps keys under the current root key, each bounded so a
/// run stays short; what is left waits for the next run.
pub async fn maintain(db: &impl Sql, root: &SecretBox, now: Instant) -> DomainResult<Maintenance> {
    #[derive(Deserialize)]
    struct Due {
        owner: String,
    }
    let mut done = Maintenance::default();
    let due: Vec<Due> = query_as(
        db,
        stmt!(
            "SELECT owner FROM kernel_data_keys WHERE status = 'active' AND (uses >= ?1 OR created_at <= ?2) LIMIT 50",
            MAX_USES,
            now.millis() - MAX_AGE_MS
        ),
    )
    .await?;
    for key in &due {
        rotate(db, root, &key.owner, now).await?;
        done.rotated += 1;
    }
    for column in SEALED_COLUMNS {
        for owner in behind(db, column).await? {
            let ring = existing(db, root, &owner).await?;
            done.resealed += reseal(db, &ring, column).await?;
        }
    }
    done.rewrapped = rewrap(db, root).await?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_names_its_key_version() {
        assert_eq!(version_of("enc:v1:3:AAAA"), Some(3));
        assert_eq!(version_of("v1.a.AAAA"), None);
        assert_eq!(version_of("enc:v1:x:AAAA"), None);
        assert_eq!(
            aad("frm_1", Field::new("t", "c", "r")),
            "frm_1|t|c|r",
            "associated data names owner, table, column and row"
        );
    }

    #[test]
    fn rotation_is_due_after_a_year_or_too_many_uses() {
        let key = |uses, created_at| KeyVersion {
            version: 1,
            status: "active".into(),
            uses,
            created_at,
            retired_at: None,
            destroyed_at: None,
        };
        let now = Instant::from_millis(MAX_AGE_MS + 10);
        assert!(!rotation_due(&key(5, 11), now));
        assert!(rotation_due(&key(5, 10), now));
        assert!(rotation_due(&key(MAX_USES, now.millis()), now));
    }
}
