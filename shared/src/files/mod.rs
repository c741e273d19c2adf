//! Files: the one pipeline every module stores bytes through. This part holds the
//! rules that need no runtime: what a file is by its bytes ([`sniff`]), what may be
//! stored for each use, the multipart and quota limits ([`rules`]), and the signed
//! download links ([`links`]).

pub mod access;
pub mod links;
pub mod range;
pub mod request;
pub mod rules;
pub mod scan;
pub mod seal;
pub mod sniff;
pub mod store;
