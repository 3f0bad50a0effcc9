//! check_gklm_backup: a monitoring plugin that asks IBM GKLM (SKLM) whether a
//! backup is running, and turns "running for too long" into an alert.
//!
//! The parts, in the order a run uses them:
//! - [`cli`]: options; [`credentials`]: password or session id;
//! - [`state`]: the per-target state file (history, prefix, session);
//! - [`query`] over [`gklm`] over [`transport`] and [`tls`]: GKLM's answer;
//! - [`evaluate`]: answer + history + [`threshold`]s -> plugin state (pure);
//! - [`report`]: the plugin line or JSON object; [`secret`] scrubs it;
//! - [`watchdog`]: ends the run on time whatever blocks.

pub mod cli;
pub mod credentials;
pub mod evaluate;
pub mod gklm;
pub mod query;
pub mod report;
pub mod secret;
pub mod state;
pub mod threshold;
pub mod tls;
pub mod trace;
pub mod transport;
pub mod watchdog;
