//! The single sign-on module worker: sign-in through Google and Microsoft (OpenID
//! Connect). It lives apart from the auth worker because identity-provider
//! protocols bring heavy dependencies (RSA now, XML signatures with SAML) that
//! password sign-in and token refresh should not carry.

mod handlers;

edge::module_worker!(shared::api::SSO, handlers::dispatch);
