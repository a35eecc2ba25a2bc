//! ttv: a declarative experiment runner for TTV-HRM.
//!
//! The modules follow the pipeline: `spec` (parse, validate, extend, override, sweep, hash) ->
//! `store` (the content-addressed run store) -> the binaries `ttv-run` and `ttv-report`.

pub mod backend;
pub mod bench;
pub mod cli;
pub mod data;
pub mod hub;
pub mod launch;
pub mod metrics;
pub mod model;
pub mod report;
pub mod runner;
pub mod signals;
pub mod spec;
pub mod store;
pub mod train;
