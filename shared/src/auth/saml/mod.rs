//! SAML 2.0 service provider: the XML tree, exclusive canonicalisation, and the
//! verification of XML signatures on assertions.

pub mod c14n;
pub mod dsig;
pub mod sp;
pub mod xml;
