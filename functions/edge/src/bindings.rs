//! Typed handles on the platform bindings every worker may have: D1 (see [`crate::D1`]),
//! KV for what is read often and may be briefly stale, R2 for files, and queues.

use shared::DomainError;
use worker::{Bucket, Env, KvStore, Queue};

/// Binding name of the KV namespace (sessions, caches, flags).
pub const KV: &str = "KV";
/// Binding name of the R2 bucket that holds firms' files.
pub const BUCKET: &str = "BUCKET";

fn missing(kind: &str, name: &str, e: impl std::fmt::Display) -> DomainError {
    DomainError::Unavailable(format!("{kind} binding {name}: {e}"))
}

/// The KV namespace.
pub fn kv(env: &Env) -> Result<KvStore, DomainError> {
    env.kv(KV).map_err(|e| missing("KV", KV, e))
}

/// The files bucket.
pub fn files(env: &Env) -> Result<Bucket, DomainError> {
    env.bucket(BUCKET).map_err(|e| missing("R2", BUCKET, e))
}

/// A queue producer.
pub fn queue(env: &Env, name: &str) -> Result<Queue, DomainError> {
    env.queue(name).map_err(|e| missing("queue", name, e))
}

/// Checks that each storage binding answers (a read of a key that need not exist).
/// Returns the name and outcome of each check.
pub async fn probe(env: &Env) -> Vec<(&'static str, Result<(), DomainError>)> {
    use shared::kernel::sql::Sql as _;
    let database = match crate::D1::from_env(env) {
        Ok(db) => db.query(shared::stmt!("SELECT 1 AS ok")).await.map(|_| ()),
        Err(e) => Err(e),
    };
    let kv = match kv(env) {
        Ok(store) => store
            .get("health:probe")
            .text()
            .await
            .map(|_| ())
            .map_err(|e| missing("KV", KV, e)),
        Err(e) => Err(e),
    };
    let files = match files(env) {
        Ok(bucket) => bucket
            .head("health/probe")
            .await
            .map(|_| ())
            .map_err(|e| missing("R2", BUCKET, e)),
        Err(e) => Err(e),
    };
    vec![("database", database), ("kv", kv), ("files", files)]
}
