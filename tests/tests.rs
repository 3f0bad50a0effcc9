//! Every integration test, in one binary so the shared helpers and the
//! simulator are compiled once. One module per area; helpers in `util`.

mod util;

mod causes;
mod check;
mod docs;
mod engines;
mod failures;
mod first_line;
mod local_files;
mod matrix;
mod modes;
mod multinode;
mod packaging;
mod picture;
mod prometheus;
mod props;
mod secrets;
mod services;
mod session;
mod signals;
mod state_safety;
mod threshold_usage;
mod tls;
mod zabbix_server;
