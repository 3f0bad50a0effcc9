//! Talking to GKLM: everything between the settings of a run and the JSON of
//! GKLM's answer. The only part that touches the network.
//!
//! - [`target`]: the host, port, prefix and user, validated before anything
//!   is sent; [`credentials`]: the password or session id, from a file or
//!   the environment;
//! - [`session`]: one answer out of GKLM: which session, which prefix, and
//!   what to remember of them for the next run;
//! - [`api`]: the REST calls (log in, ask, log out) and what each HTTP reply
//!   means; [`json`] reads a body, refusing a member named twice;
//! - [`transport`]: one HTTPS exchange with a deadline and a bounded reply,
//!   over the trust [`tls`] sets up.

pub mod api;
pub mod credentials;
pub mod json;
pub mod session;
pub mod target;
pub mod tls;
pub mod transport;
