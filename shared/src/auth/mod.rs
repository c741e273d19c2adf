//! Identity and access: who the caller is (signed access tokens), what their role
//! lets them do (the permission matrix), and how passwords are kept.

pub mod api_keys;
pub mod browser;
pub mod claims;
pub mod mfa;
pub mod oidc;
pub mod password;
pub mod recovery;
pub mod roles;
pub mod saml;
pub mod sessions;
pub mod signin;
pub mod sms;
pub mod token;
pub mod totp;
pub mod users;
