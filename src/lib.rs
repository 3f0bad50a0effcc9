//! check_gklm_backup: a monitoring plugin that asks IBM GKLM (SKLM) about
//! backups and restores (is a backup running, is one needed, did the last
//! one fail, how old is the newest, is a restore running) and turns the
//! answer and its history into an alert.
//!
//! The parts, in the order a run uses them:
//! - [`cli`]: the command line, read once into the [`settings`] of a run
//!   (`Config`, in the types below; the environment too); only main uses
//!   `cli`;
//! - [`check`]: the five steps of a run and the rules between them;
//! - [`target`]: the GKLM host, port, prefix and user, validated;
//!   [`credentials`]: password or session id;
//! - [`state`]: the per-target state file: the record and what the next run
//!   remembers (`state::record`, pure), and the file around it;
//! - [`query`] over [`gklm`] over [`transport`] and [`tls`]: GKLM's answer,
//!   parsed by [`json`], which refuses a member named twice;
//! - [`mode`]: one module per question, named in `mode::MODES`: endpoint,
//!   reading, judgement, metrics; `mode::streak` for those that count a
//!   streak; `mode::reader` decides what GKLM's answer says, for all;
//!   [`evaluate`] holds the streak and threshold rules they share,
//!   [`threshold`] the range and duration syntax, [`timestamp`] dates (pure),
//!   [`zone`] the zone `--time-zone` names;
//! - [`report`]: the result (state, summary, metrics);
//!   [`render`]: the plugin line, JSON or Prometheus; [`secret`] scrubs it,
//!   [`text`] makes foreign text fit one line;
//! - [`watchdog`]: ends the run on time whatever blocks; [`trace`]: `-v`.

pub mod check;
pub mod cli;
pub mod credentials;
pub mod evaluate;
pub mod gklm;
pub mod json;
pub mod mode;
pub mod query;
pub mod render;
pub mod report;
pub mod secret;
pub mod settings;
pub mod state;
pub mod target;
pub mod text;
pub mod threshold;
pub mod timestamp;
pub mod tls;
pub mod trace;
pub mod transport;
pub mod watchdog;
pub mod zone;
