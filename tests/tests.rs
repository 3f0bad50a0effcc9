//! Every integration test, in one binary so the shared helpers and the
//! simulator are compiled once. One module per area; helpers in `util`.

mod util;

mod check;
mod docs;
mod engines;
mod failures;
mod modes;
mod multinode;
mod packaging;
mod prometheus;
mod props;
mod secrets;
mod services;
mod session;
mod state_safety;
mod tls;
mod zabbix_server;
