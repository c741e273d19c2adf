//! The CRM: from the first lead to the won deal. Leads are scored by the firm's
//! rules and worked until qualified, then converted into an account, a contact and
//! a deal; deals move across a pipeline's stages until won (the account becomes a
//! client) or lost; every record keeps a timeline; the pipeline is forecast by
//! period, with win chances learnt from the firm's own history.
//!
//! - [`pipeline`], [`lead`], [`deal`], [`account`], [`activity`]: the records and their rules.
//! - [`task`], [`automation`]: tasks on deals, and what entering a stage sets off.
//! - [`proposal`]: what the firm offers on a deal, until when, and the answer.
//! - [`scoring`]: lead scoring rules and the engine that applies them.
//! - [`assignment`]: who works a lead, and who takes over when a member leaves.
//! - [`forecast`]: weighted pipeline by period and the win model.
//! - [`events`]: deals won and lost; the link back from a won deal's client.
//! - [`csv`]: leads imported and exported as CSV.
//! - [`fields`]: field readers the records share.
//! - [`repository`]: the SQL.

pub mod account;
pub mod activity;
pub mod assignment;
pub mod automation;
pub mod campaign;
pub mod contract;
pub mod csv;
pub mod deal;
pub mod enrichment;
pub mod events;
pub mod fields;
pub mod forecast;
pub mod lead;
pub mod pipeline;
pub mod product;
pub mod proposal;
pub mod repository;
pub mod rotting;
pub mod scoring;
pub mod task;
