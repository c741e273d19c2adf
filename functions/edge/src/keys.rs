//! The deployment's root key and the data keys it wraps (see `shared::kernel::vault`).
//! Without `SECRETS_KEYS` nothing sealed can be written or read: 503.

use shared::kernel::secrets::SecretBox;
use shared::kernel::time::Instant;
use shared::kernel::vault::{self, Keyring};
use shared::DomainError;
use worker::Env;

use crate::{config, D1};

/// The root key from `SECRETS_KEYS`.
pub fn root(env: &Env) -> Result<SecretBox, DomainError> {
    SecretBox::from_config(&config::required(env, "SECRETS_KEYS")?)
}

/// `owner`'s keyring for sealing (its first key made if it has none).
pub async fn keyring(
    env: &Env,
    db: &D1,
    owner: &str,
    now: Instant,
) -> Result<Keyring, DomainError> {
    vault::keyring(db, &root(env)?, owner, now).await
}

/// `owner`'s keyring for opening what it sealed.
pub async fn existing(env: &Env, db: &D1, owner: &str) -> Result<Keyring, DomainError> {
    vault::existing(db, &root(env)?, owner).await
}
