//! ttv: a declarative experiment runner for TTV-HRM.
//!
//! The modules follow the pipeline: `spec` (parse, validate, extend, override, sweep, hash) ->
//! `store` (the content-addressed run store) -> the binaries `ttv-run` and `ttv-report`.

pub mod spec;
pub mod data;
pub mod store;
pub mod runner;
pub mod cli;
pub mod model;
pub mod backend;
pub mod bench;
pub mod train;
pub mod report;
pub mod metrics;
