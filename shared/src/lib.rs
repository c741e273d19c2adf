//! Firmament's domain crate: the business rules of every module over a small kernel.
//!
//! Invariant: nothing here depends on a runtime (`worker`, an HTTP stack, a clock or
//! a database driver). Time, randomness sources and storage reach it as values or as
//! the [`kernel::sql::Sql`] port, so the same code runs natively in tests and as wasm
//! inside a worker.

pub mod api;
pub mod auth;
pub mod catalogue;
pub mod clients;
pub mod crm;
pub mod dispatch;
pub mod files;
pub mod firm;
pub mod flags;
pub mod inbound;
pub mod insight;
pub mod jobs;
pub mod kernel;
pub mod mail;
pub mod notify;
pub mod webhooks;

pub use kernel::error::{DomainError, DomainResult};
