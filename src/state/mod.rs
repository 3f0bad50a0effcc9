//! The per-target state file; for now all of it lives in [`file`].

pub mod file;

pub use file::*;
