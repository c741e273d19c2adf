//! The console's screens, one module per area.

pub mod account;
pub mod admin;
pub mod auth;
pub mod clients;
pub mod members;
pub mod portal;
pub mod settings;
