//! The kernel every module stands on: ids, money, time, errors, paging, validation,
//! tenant scope, events and the storage port.

pub mod audit;
pub mod error;
pub mod etag;
pub mod events;
pub mod id;
pub mod idempotency;
pub mod money;
pub mod paging;
pub mod retry;
pub mod secrets;
pub mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod stats;
pub mod tenant;
pub mod time;
pub mod validate;
