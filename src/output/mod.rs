//! What a run prints: the [`report`] (its [`state`], summary, metrics), and
//! [`render`], which prints it as the plugin line, JSON or Prometheus text.
//! On the way out every foreign text is scrubbed of secrets ([`secret`])
//! and made fit for one line ([`text`]); [`trace`] collects the `-v` lines.

pub mod render;
pub mod report;
pub mod secret;
pub mod state;
pub mod text;
pub mod trace;
