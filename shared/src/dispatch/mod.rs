//! Event fan-out: the one consumer of the `events` queue hands each domain event to
//! every module subscribed to its type, and keeps a delivery row per (event, module)
//! so that each subscriber is retried on its own and dead-lettered on its own.

pub mod deliveries;
pub mod subscriptions;
