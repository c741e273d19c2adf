//! Notifications: one way to tell a person something. A module writes a
//! `notification.requested` event ([`request::request`]) in the batch of its change;
//! the notifications module renders the template and sends it through the pipeline
//! of [`pipeline`] — preferences (critical bypasses them), suppression, digest, quiet
//! hours, then in-app and e-mail (through the mail outbox). Every notification is
//! idempotent per (event, template, recipient).

pub mod pipeline;
pub mod request;
pub mod store;
pub mod templates;

pub use request::{request, Recipient, Requested, REQUESTED};
pub use templates::{Category, Channel};
