//! The firm: the tenant boundary. A firm is provisioned with its owner, read and
//! changed by its members, and finished in the background by event consumers.
//!
//! Parts: [`model`] (the firm and its rules), [`provision`] (sign-up of a new firm),
//! [`settings`] (changes with optimistic concurrency), [`repository`] (its SQL),
//! [`consumer`] (what the firm module does with events).

pub mod consumer;
pub mod invitations;
pub mod members;
pub mod model;
pub mod provision;
pub mod repository;
pub mod settings;
