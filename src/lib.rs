//! check_gklm_backup: a monitoring plugin that asks IBM GKLM (SKLM) about
//! backups and restores (is a backup running, is one needed, did the last
//! one fail, how old is the newest, is a restore running) and turns the
//! answer and its history into an alert.
//!
//! The parts, one folder each, in the order a run uses them:
//! - [`cli`] reads the command line once into the [`settings`] of a run;
//!   only main uses `cli`;
//! - [`check`]: the steps of a run and the rules between them, pure but for
//!   the parts it is handed;
//! - [`gklm`]: talks to GKLM (target, credentials, session, REST calls,
//!   HTTPS, TLS, JSON);
//! - [`history`]: the per-target state file: what the next run remembers
//!   (`history::record`, pure) and the file around it;
//! - [`mode`]: the questions, one module each, named in `mode::MODES`;
//!   `mode::reader` decides what GKLM's answer says, for all;
//!   `mode::streak` counts a condition over runs; thresholds, times and
//!   zones are judged there too;
//! - [`output`]: the report, printed as the plugin line, JSON or
//!   Prometheus, secrets scrubbed and text made fit on the way;
//! - [`watchdog`]: ends the run on time whatever blocks.

pub mod check;
pub mod cli;
pub mod gklm;
pub mod history;
pub mod mode;
pub mod output;
pub mod settings;
pub mod watchdog;
