//! The command lines of the three binaries, declared with clap's derive: what each accepts, its
//! help, and the value parsers that refuse a bad value before anything runs. The binaries parse
//! these and hand each command to its function in `crate::cli`.

pub mod bench;
pub mod report;
pub mod run;
pub mod values;
