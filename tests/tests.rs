//! Every integration test, in one binary so the shared helpers and the
//! simulator are compiled once. One module per area; helpers in `util`.

mod util;

mod check;
mod engines;
mod failures;
mod packaging;
mod props;
mod secrets;
mod session;
mod state_safety;
mod zabbix_server;
