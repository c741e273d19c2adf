//! The clients module worker: the firm's clients and their portal users. Staff
//! reach clients through `/v1/clients`, a client's portal users reach their own
//! client through `/v1/portal`. Reachable only through the gateway's service
//! binding; it still verifies the caller's token itself.

mod handlers;

edge::module_worker!(shared::api::CLIENTS, handlers::dispatch);
