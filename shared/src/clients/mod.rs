//! The clients module: the firm's clients and the people who use their portal.
//!
//! So far this holds what the portal needs — the client record itself and its
//! portal users (invited by e-mail, with a portal role and flags, scoped to their
//! own client). Contacts, engagements, consent, health scores and segments arrive
//! with the clients module's own work.

pub mod events;
pub mod model;
pub mod portal;
pub mod repository;
