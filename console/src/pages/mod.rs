//! The console's screens, one module per area. The public and portal entries are
//! built without the `staff` feature (and the portal's without `auth`), so they
//! carry none of the rest.

#[cfg(feature = "staff")]
pub mod account;
#[cfg(feature = "staff")]
pub mod admin;
pub mod auth;
#[cfg(feature = "staff")]
pub mod clients;
#[cfg(feature = "staff")]
pub mod crm;
#[cfg(feature = "staff")]
pub mod members;
pub mod portal;
#[cfg(feature = "staff")]
pub mod settings;
