//! The shipped integrations, driven by the real engines: Nagios 4 runs the
//! shipped command, Icinga 2 the shipped CheckCommand, the Zabbix agent the
//! shipped UserParameter, each against the simulator.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::util::engine::*;
use crate::util::*;

/// A private directory with the plugin, password and CA an engine needs.
struct Setup {
    ws: Workspace,
    plugins: PathBuf,
    password: PathBuf,
    ca: PathBuf,
}

fn setup(sim: &Simulator) -> Setup {
    let ws = Workspace::new();
    let plugins = ws.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(BIN, plugins.join("check_gklm_backup")).unwrap();
    let password = ws.password_file();
    let ca = ws.path().join("ca.pem");
    std::fs::copy(sim.ca_pem(), &ca).unwrap();
    Setup {
        ws,
        plugins,
        password,
        ca,
    }
}

fn d(path: &Path) -> String {
    path.display().to_string()
}

// ---------------------------------------------------------------- Nagios 4

fn nagios_status(status_dat: &Path, service: &str) -> Option<HashMap<String, String>> {
    let text = std::fs::read_to_string(status_dat).ok()?;
    text.split("servicestatus {").skip(1).find_map(|block| {
        let block = block.split('}').next()?;
        let fields: HashMap<String, String> = block
            .lines()
            .filter_map(|l| l.trim().split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        (fields.get("service_description").map(String::as_str) == Some(service)).then_some(fields)
    })
}

/// Objects every Nagios configuration here needs: a time period, a contact
/// and the GKLM host.
const NAGIOS_BASE_OBJECTS: &str = r#"define timeperiod {
    timeperiod_name 24x7
    alias 24x7
    sunday 00:00-24:00
    monday 00:00-24:00
    tuesday 00:00-24:00
    wednesday 00:00-24:00
    thursday 00:00-24:00
    friday 00:00-24:00
    saturday 00:00-24:00
}
define contact {
    contact_name nobody
    host_notifications_enabled 0
    service_notifications_enabled 0
    host_notification_period 24x7
    service_notification_period 24x7
    host_notification_options n
    service_notification_options n
    host_notification_commands check_gklm_backup
    service_notification_commands check_gklm_backup
}
define host {
    host_name gklm01
    address localhost
    max_check_attempts 1
    check_period 24x7
    contacts nobody
    notification_period 24x7
}
"#;

/// Write a private nagios.cfg in `s`'s directory: the shipped command, the
/// base objects plus `objects`, any `extra` object files, and resource.cfg
/// with $USER1$ (plugins) and $USER5$ (password file). Returns its path.
fn write_nagios_cfg(s: &Setup, objects: &str, extra: &[PathBuf]) -> PathBuf {
    let dir = s.ws.path();
    std::fs::create_dir_all(dir.join("checkresults")).unwrap();
    let resources = format!("$USER1$={}\n$USER5$={}\n", d(&s.plugins), d(&s.password));
    std::fs::write(dir.join("resource.cfg"), resources).unwrap();
    std::fs::write(
        dir.join("objects.cfg"),
        format!("{NAGIOS_BASE_OBJECTS}{objects}"),
    )
    .unwrap();
    let p = |name: &str| d(&dir.join(name));
    let mut lines = vec![
        format!(
            "cfg_file={}",
            d(&repo().join("packaging/nagios/check_gklm_backup.cfg"))
        ),
        format!("cfg_file={}", p("objects.cfg")),
    ];
    lines.extend(extra.iter().map(|f| format!("cfg_file={}", d(f))));
    lines.extend([
        format!("log_file={}", p("nagios.log")),
        format!("resource_file={}", p("resource.cfg")),
        format!("status_file={}", p("status.dat")),
        format!("object_cache_file={}", p("objects.cache")),
        format!("precached_object_file={}", p("objects.precache")),
        format!("temp_file={}", p("nagios.tmp")),
        format!("temp_path={}", d(dir)),
        format!("lock_file={}", p("nagios.lock")),
        format!("check_result_path={}", p("checkresults")),
        format!("state_retention_file={}", p("retention.dat")),
        format!("command_file={}", p("nagios.cmd")),
        "status_update_interval=1".into(),
        "check_result_reaper_frequency=1".into(),
        "retain_state_information=0".into(),
        "check_external_commands=0".into(),
        "nagios_user=root".into(),
        "nagios_group=root".into(),
        "use_syslog=0".into(),
        // interval_length=1 makes check_interval 1 mean one second.
        "interval_length=1".into(),
        "service_inter_check_delay_method=n".into(),
        "max_service_check_spread=1".into(),
        "enable_notifications=0".into(),
        "execute_host_checks=0".into(),
    ]);
    let cfg = dir.join("nagios.cfg");
    std::fs::write(&cfg, lines.join("\n") + "\n").unwrap();
    cfg
}

/// `nagios4 -v`: the configuration must load without errors.
fn assert_nagios_accepts(nagios: &Path, cfg: &Path) {
    let verify = Command::new(nagios).arg("-v").arg(cfg).output().unwrap();
    let text = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success() && text.contains("Things look okay"),
        "{text}"
    );
}

#[test]
fn nagios_accepts_the_shipped_example_service() {
    let Some(nagios) = require(
        "nagios4",
        "nagios_accepts_the_shipped_example_service",
        "nagios4-core",
    ) else {
        return;
    };
    let sim = Simulator::start();
    let s = setup(&sim);
    let template = r#"define service {
    name generic-service
    register 0
    check_period 24x7
    contacts nobody
    notification_period 24x7
}
"#;
    let cfg = write_nagios_cfg(
        &s,
        template,
        &[repo().join("packaging/nagios/example-service.cfg")],
    );
    assert_nagios_accepts(&nagios, &cfg);
}

#[test]
fn nagios_runs_the_shipped_command_and_records_state_output_and_perfdata() {
    let Some(nagios) = require_engine("nagios4", "nagios_runs_the_shipped_command", "nagios4-core")
    else {
        return;
    };
    let sim = Simulator::start();
    sim.set_running(true);
    sim.set_needed(true);
    sim.set_restore_phase(4);
    let s = setup(&sim);
    let dir = s.ws.path();
    // All services check one target: one state file, a streak each.
    let service = format!(
        r#"define service {{
    host_name gklm01
    service_description GKLM backup
    check_command check_gklm_backup!{USER}!2!4!-p {port} --cacert {ca} --state-file {state}
    max_check_attempts 1
    check_interval 1
    retry_interval 1
    check_period 24x7
    contacts nobody
    notification_period 24x7
}}
define service {{
    host_name gklm01
    service_description GKLM backup needed
    check_command check_gklm_backup_mode!{USER}!needed!-p {port} --cacert {ca} --state-file {state}
    max_check_attempts 1
    check_interval 1
    retry_interval 1
    check_period 24x7
    contacts nobody
    notification_period 24x7
}}
define service {{
    host_name gklm01
    service_description GKLM restore
    check_command check_gklm_backup_mode!{USER}!restore!-p {port} --cacert {ca} --state-file {state}
    max_check_attempts 1
    check_interval 1
    retry_interval 1
    check_period 24x7
    contacts nobody
    notification_period 24x7
}}
define service {{
    host_name gklm01
    service_description GKLM backups
    check_command check_gklm_backup_picture!{USER}!-p {port} --cacert {ca} --state-file {state} --mode running -w 50 -c 90 --mode needed --mode result --mode restore
    max_check_attempts 1
    check_interval 1
    retry_interval 1
    check_period 24x7
    contacts nobody
    notification_period 24x7
}}
"#,
        port = sim.port(),
        ca = d(&s.ca),
        state = d(&dir.join("state.json")),
    );
    let cfg = write_nagios_cfg(&s, &service, &[]);
    assert_nagios_accepts(&nagios, &cfg);

    let _daemon = Daemon::start(Command::new(&nagios).arg(&cfg), &dir.join("daemon.log"));
    let status = wait_for(Duration::from_secs(90), || {
        let fields = nagios_status(&dir.join("status.dat"), "GKLM backup")?;
        let perf = fields.get("performance_data")?;
        let checks = perf_items(perf)
            .into_iter()
            .find(|(l, _)| l == "running_checks")?;
        (number(&checks.1[0]) >= 3.0).then_some(fields)
    })
    .unwrap_or_else(|| {
        panic!(
            "Nagios recorded no third check; log:\n{}",
            std::fs::read_to_string(dir.join("nagios.log")).unwrap_or_default()
        )
    });
    let perf = &status["performance_data"];
    let checks = number(&perf_items(perf)[1].1[0]) as u64;
    let (label, code) = state_after(checks);
    assert_eq!(status["current_state"], code.to_string(), "{status:?}");
    let output = &status["plugin_output"];
    assert!(
        output.starts_with(&format!(
            "{label} - CTGKM3290I Backup process is running. (running for {checks} checks"
        )),
        "{output}"
    );
    assert_check_perfdata(perf, checks);
    say(&format!(
        "nagios recorded state {code} after {checks} running checks: {output} | {perf}"
    ));
    // --mode needed through the shipped check_gklm_backup_mode: WARNING at
    // once while GKLM says a backup is needed.
    let needed = nagios_recorded(dir, "GKLM backup needed", "needed_checks");
    assert_eq!(needed["current_state"], "1", "{needed:?}");
    assert!(
        needed["plugin_output"].starts_with("WARNING - CTGKM1305I "),
        "{needed:?}"
    );
    assert_eq!(
        labels_of(&needed["performance_data"]),
        ["needed", "needed_checks", "needed_seconds", "time"],
        "{needed:?}"
    );
    say(&format!(
        "nagios recorded the needed service: {} | {}",
        needed["plugin_output"], needed["performance_data"]
    ));
    // --mode restore, no thresholds: WARNING at once while GKLM reports a
    // phase between IDLE and COMPLETED (4, RESTORE_KEYSTORES).
    let restore = nagios_recorded(dir, "GKLM restore", "restore_checks");
    assert_eq!(restore["current_state"], "1", "{restore:?}");
    assert!(
        restore["plugin_output"]
            .starts_with("WARNING - Restore phase 4 RESTORE_KEYSTORES. (restoring for "),
        "{restore:?}"
    );
    let perf = &restore["performance_data"];
    assert!(
        perf.starts_with("restore=1;;;0;1 restore_phase=4;;;0;7 restore_checks="),
        "{restore:?}"
    );
    assert_eq!(
        labels_of(perf),
        [
            "restore",
            "restore_phase",
            "restore_checks",
            "restore_seconds",
            "time"
        ],
        "{restore:?}"
    );
    say(&format!(
        "nagios recorded the restore service: {} | {}",
        restore["plugin_output"], perf
    ));
    // The whole picture through the shipped check_gklm_backup_picture: the
    // worst part's state, the parts not OK on the first line, a line per
    // mode, and every mode's perfdata, from the lines after the first too.
    let picture = nagios_recorded(dir, "GKLM backups", "restore_checks");
    assert_eq!(picture["current_state"], "1", "{picture:?}");
    assert!(
        picture["plugin_output"].starts_with("WARNING - needed WARNING: CTGKM1305I ")
            && picture["plugin_output"].contains(", restore WARNING: Restore phase 4")
            && picture["plugin_output"].ends_with(", 2 OK"),
        "{picture:?}"
    );
    let long = picture
        .get("long_plugin_output")
        .cloned()
        .unwrap_or_default();
    assert!(
        long.contains("running: OK - CTGKM3290I Backup process is running.")
            && long.contains("result: OK - CTGKM1301I"),
        "{picture:?}"
    );
    let labels = labels_of(&picture["performance_data"]);
    for label in [
        "running_state",
        "restore_state",
        "running_checks",
        "needed",
        "result",
        "restore_phase",
        "time",
    ] {
        assert!(labels.iter().any(|l| l == label), "{label} in {picture:?}");
    }
    say(&format!(
        "nagios recorded the whole picture: {} | {}",
        picture["plugin_output"], picture["performance_data"]
    ));
}

/// A service's last record in Nagios's status.dat, once its perfdata holds
/// `label` (the check ran through the engine).
fn nagios_recorded(dir: &Path, service: &str, label: &str) -> HashMap<String, String> {
    wait_for(Duration::from_secs(90), || {
        let fields = nagios_status(&dir.join("status.dat"), service)?;
        let perf = fields.get("performance_data")?;
        perf.contains(&format!("{label}=")).then_some(fields)
    })
    .unwrap_or_else(|| panic!("Nagios recorded no {service} check"))
}

/// The perfdata labels, in order.
fn labels_of(perfdata: &str) -> Vec<String> {
    perf_items(perfdata).into_iter().map(|(l, _)| l).collect()
}

// ---------------------------------------------------------------- Icinga 2

fn icinga_defines(dir: &Path) -> Vec<String> {
    for sub in [
        "cache/icinga2",
        "lib/icinga2",
        "log/icinga2",
        "spool/icinga2",
        "run/icinga2",
    ] {
        std::fs::create_dir_all(dir.join("var").join(sub)).unwrap();
    }
    std::fs::create_dir_all(dir.join("run")).unwrap();
    vec![
        "-DRunAsUser=root".into(),
        "-DRunAsGroup=root".into(),
        format!("-DLocalStateDir={}", d(&dir.join("var"))),
        format!("-DInitRunDir={}", d(&dir.join("run"))),
    ]
}

#[test]
fn icinga2_validates_and_runs_the_shipped_checkcommand_and_parses_perfdata() {
    let Some(icinga) = require_engine(
        "icinga2",
        "icinga2_runs_the_shipped_checkcommand",
        "icinga2-bin icinga2-common",
    ) else {
        return;
    };
    let sim = Simulator::start();
    sim.set_running(true);
    sim.set_needed(true);
    sim.set_result_code("\"-1\"");
    sim.set_restore_phase(4);
    let s = setup(&sim);
    let dir = s.ws.path();
    let perf_dir = dir.join("perfdata");
    std::fs::create_dir_all(&perf_dir).unwrap();
    let conf = format!(
        r#"const PluginDir = "{plugins}"
include <itl>
include "{command}"
object CheckerComponent "checker" {{ }}
object FileLogger "log" {{
  path = "{log}"
  severity = "warning"
}}
object PerfdataWriter "perfdata" {{
  service_perfdata_path = "{perf}/service-perfdata"
  service_temp_path = "{perf}/service-perfdata.tmp"
  host_perfdata_path = "{perf}/host-perfdata"
  host_temp_path = "{perf}/host-perfdata.tmp"
  rotation_interval = 1s
}}
object Host "gklm01" {{
  check_command = "dummy"
  address = "localhost"
  enable_active_checks = false
}}
object Service "gklm-backup" {{
  host_name = "gklm01"
  check_command = "gklm_backup"
  check_interval = 1s
  retry_interval = 1s
  max_check_attempts = 1
  vars.gklm_port = {port}
  vars.gklm_username = "{user}"
  vars.gklm_password = "{password}"
  vars.gklm_cacert = "{ca}"
  vars.gklm_warning = 2
  vars.gklm_critical = 4
  vars.gklm_state_file = "{state}"
}}
template Service "gklm-mode" {{
  host_name = "gklm01"
  check_command = "gklm_backup"
  check_interval = 1s
  retry_interval = 1s
  max_check_attempts = 1
  vars.gklm_port = {port}
  vars.gklm_username = "{user}"
  vars.gklm_password = "{password}"
  vars.gklm_cacert = "{ca}"
  vars.gklm_state_file = "{state}"
}}
object Service "gklm-backup-needed" {{
  import "gklm-mode"
  vars.gklm_mode = "needed"
  vars.gklm_max_gap = "2d"
}}
object Service "gklm-backup-result" {{
  import "gklm-mode"
  vars.gklm_mode = "result"
  vars.gklm_unknown_result_state = "critical"
}}
object Service "gklm-backup-restore" {{
  import "gklm-mode"
  vars.gklm_mode = "restore"
  vars.gklm_warning = 0
  vars.gklm_critical_time = "1h"
}}
object Service "gklm-backups" {{
  import "gklm-mode"
  vars.gklm_modes = [ "--mode", "running", "-w", 50, "-c", 90, "--mode", "needed", "--mode", "result", "--mode", "restore" ]
}}
"#,
        plugins = d(&s.plugins),
        command = d(&repo().join("packaging/icinga2/gklm_backup.conf")),
        log = d(&dir.join("icinga2.log")),
        perf = d(&perf_dir),
        port = sim.port(),
        user = USER,
        password = PASSWORD,
        ca = d(&s.ca),
        state = d(&dir.join("state.json")),
    );
    let cfg = dir.join("icinga2.conf");
    std::fs::write(&cfg, conf).unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
    let defines = icinga_defines(dir);

    let validate = Command::new(&icinga)
        .args(["daemon", "-C", "-c"])
        .arg(&cfg)
        .args(&defines)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&validate.stdout);
    assert!(
        validate.status.success(),
        "icinga2 daemon -C failed:\n{text}"
    );
    assert!(
        text.contains("Finished validating the configuration"),
        "{text}"
    );

    let _daemon = Daemon::start(
        Command::new(&icinga)
            .args(["daemon", "-c"])
            .arg(&cfg)
            .args(&defines),
        &dir.join("daemon.log"),
    );
    // Rotated PerfdataWriter files: one line per check result, written by
    // Icinga after it parsed the plugin's performance data.
    let line = wait_for(Duration::from_secs(90), || {
        icinga_perfdata_lines(&perf_dir)
            .into_iter()
            .filter(|l| l.contains("SERVICEDESC::gklm-backup\t"))
            .find(|l| l.contains("running_checks=3;"))
    })
    .unwrap_or_else(|| {
        panic!(
            "Icinga recorded no third check; daemon log:\n{}",
            std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default()
        )
    });
    let fields = icinga_fields(&line);
    assert_eq!(fields["SERVICESTATE"], "WARNING", "{line}");
    assert_eq!(fields["SERVICECHECKCOMMAND"], "gklm_backup", "{line}");
    assert_check_perfdata(fields["SERVICEPERFDATA"], 3);
    let log = std::fs::read_to_string(dir.join("icinga2.log")).unwrap_or_default();
    assert!(
        !log.to_lowercase().contains("perfdata"),
        "Icinga complained about the perfdata:\n{log}"
    );
    let daemon_log = std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default();
    assert!(
        !daemon_log.contains(PASSWORD),
        "the password reached Icinga's log"
    );
    say(&format!(
        "icinga2 recorded: {} | {}",
        fields["SERVICESTATE"], fields["SERVICEPERFDATA"]
    ));
    // --mode through gklm_mode, with each mode's own custom variables:
    // needed is WARNING at once, result -1 takes gklm_unknown_result_state,
    // restore (phase 4) as the shipped example sets it up: the numeric
    // gklm_warning 0 reaches the check and warns at once, and
    // gklm_critical_time is its critical limit in seconds.
    let restore_perf = "restore=1;;;0;1 restore_phase=4;;;0;7 restore_checks=";
    for (service, state, perf) in [
        (
            "gklm-backup-needed",
            "WARNING",
            "needed=1;;;0;1 needed_checks=",
        ),
        ("gklm-backup-result", "CRITICAL", "result=-1;;;-1;2 time="),
        ("gklm-backup-restore", "WARNING", restore_perf),
        (
            "gklm-backups",
            "WARNING",
            "running_state=0;;;0;3 needed_state=1;;;0;3",
        ),
    ] {
        let line = wait_for(Duration::from_secs(90), || {
            icinga_perfdata_lines(&perf_dir)
                .into_iter()
                .find(|l| l.contains(&format!("SERVICEDESC::{service}\t")))
        })
        .unwrap_or_else(|| {
            panic!(
                "Icinga recorded no {service} check; daemon log:\n{}",
                std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default()
            )
        });
        let fields = icinga_fields(&line);
        assert_eq!(fields["SERVICESTATE"], state, "{line}");
        assert!(fields["SERVICEPERFDATA"].starts_with(perf), "{line}");
        say(&format!(
            "icinga2 recorded {service}: {} | {}",
            fields["SERVICESTATE"], fields["SERVICEPERFDATA"]
        ));
        if service == "gklm-backups" {
            // The whole picture: the worst mode's state, and every mode's
            // perfdata, the lines after the long output's included.
            // A label Icinga had to quote (` running`) was misread.
            assert!(!fields["SERVICEPERFDATA"].contains('\''), "{line}");
            for label in [
                "running_state=",
                "needed_state=1;",
                "restore_state=1;",
                "running_checks=",
                "needed=1;",
                "result=-1;",
                "restore_phase=4;",
                "time=",
            ] {
                assert!(
                    fields["SERVICEPERFDATA"].contains(label),
                    "{label} in {line}"
                );
            }
        }
        if service == "gklm-backup-restore" {
            // The thresholds as Icinga parsed them: warn 0 on the checks,
            // critical 3600 on the seconds.
            let items = perf_items(fields["SERVICEPERFDATA"]);
            let limits = |label: &str| {
                let (_, values) = items.iter().find(|(l, _)| l == label).unwrap();
                (values[1].clone(), values[2].clone())
            };
            assert_eq!(limits("restore_checks"), ("0".into(), "".into()), "{line}");
            assert_eq!(
                limits("restore_seconds"),
                ("".into(), "3600".into()),
                "{line}"
            );
        }
    }
}

/// The PerfdataWriter's rotated files, one line per check result, written
/// by Icinga after it parsed the plugin's performance data.
fn icinga_perfdata_lines(perf_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(perf_dir) else {
        return Vec::new();
    };
    let mut lines: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("service-perfdata.") && !name.ends_with(".tmp")
        })
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .flat_map(|t| t.lines().map(str::to_string).collect::<Vec<_>>())
        .collect();
    lines.sort();
    lines
}

/// `KEY::value` fields of one PerfdataWriter line.
fn icinga_fields(line: &str) -> HashMap<&str, &str> {
    line.split('\t')
        .filter_map(|f| f.split_once("::"))
        .collect()
}

#[test]
fn icinga2_accepts_the_shipped_example_apply_rule() {
    let Some(icinga) = require(
        "icinga2",
        "icinga2_accepts_the_shipped_example_apply_rule",
        "icinga2-bin icinga2-common",
    ) else {
        return;
    };
    let sim = Simulator::start();
    let s = setup(&sim);
    let dir = s.ws.path();
    let conf = format!(
        r#"const PluginDir = "{plugins}"
include <itl>
include "{command}"
template Service "generic-service" {{
  max_check_attempts = 3
  check_interval = 1m
  retry_interval = 30s
}}
object Host "gklm01" {{
  check_command = "dummy"
  address = "localhost"
  vars.gklm = true
  vars.gklm_password = "secret"
}}
include "{example}"
"#,
        plugins = d(&s.plugins),
        command = d(&repo().join("packaging/icinga2/gklm_backup.conf")),
        example = d(&repo().join("packaging/icinga2/example-services.conf")),
    );
    let cfg = dir.join("icinga2.conf");
    std::fs::write(&cfg, conf).unwrap();
    let validate = Command::new(&icinga)
        .args(["daemon", "-C", "-c"])
        .arg(&cfg)
        .args(icinga_defines(dir))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&validate.stdout);
    assert!(
        validate.status.success(),
        "icinga2 daemon -C failed:\n{text}"
    );
    // One service per mode, and the whole picture.
    let services = check_gklm_backup::mode::MODES.len() + 1;
    assert!(
        text.contains(&format!("Instantiated {services} Services.")),
        "the apply rules made not {services} services:\n{text}"
    );
}

/// Every mode the binary has (`mode::MODES`) is in the shipped examples and
/// the CheckCommand's description, and the Zabbix template has its master
/// item, options macro and one dependent item per JSON field; the engine
/// tests above and tests/zabbix_server.rs then run them.
#[test]
fn the_shipped_integrations_name_every_mode() {
    let read = |path: &str| std::fs::read_to_string(repo().join(path)).unwrap();
    let nagios = read("packaging/nagios/example-service.cfg");
    let icinga = read("packaging/icinga2/example-services.conf");
    let command = read("packaging/icinga2/gklm_backup.conf");
    let described = command
        .split("\"--mode\" = {")
        .nth(1)
        .and_then(|rest| rest.split_once('}'))
        .expect("the CheckCommand has --mode")
        .0;
    let template = read("packaging/zabbix/template_gklm_backup.yaml");
    let mut missing = Vec::new();
    for kind in check_gklm_backup::mode::MODES {
        let name = kind.name;
        let default = name == check_gklm_backup::mode::DEFAULT.name;
        let upper = name.to_uppercase();
        let mut wants: Vec<(String, bool)> = vec![
            (
                "Nagios example".into(),
                nagios.contains(&format!("check_gklm_backup_mode!monitor!{name}!"))
                    || (default && nagios.contains("check_gklm_backup!monitor!")),
            ),
            (
                "Icinga 2 example".into(),
                icinga.contains(&format!("vars.gklm_mode = \"{name}\""))
                    // The default mode: a service that sets no gklm_mode.
                    || (default
                        && icinga.matches("apply Service").count()
                            > icinga.matches("vars.gklm_mode =").count()),
            ),
            ("gklm_mode description".into(), described.contains(name)),
            (
                "Zabbix master item".into(),
                template.contains(&format!(
                    "key: 'gklm.backup[{name},{{HOST.CONN}},{{$GKLM.HOST}},{{$GKLM.PORT}},\
                     {{$GKLM.USER}},{{$GKLM.PASSWORD.FILE}},{{$GKLM.OPTIONS}},\
                     {{$GKLM.{upper}.OPTIONS}}]'"
                )),
            ),
            (
                "Zabbix options macro".into(),
                template.contains(&format!("- macro: '{{$GKLM.{upper}.OPTIONS}}'")),
            ),
        ];
        for item in ["state", "message"].iter().chain(kind.fields) {
            wants.push((
                format!("Zabbix dependent item {item}"),
                template.contains(&format!("key: 'gklm.backup.{item}[{name}]'")),
            ));
        }
        missing.extend(
            wants
                .into_iter()
                .filter(|(_, found)| !found)
                .map(|(what, _)| format!("{name}: {what}")),
        );
    }
    assert!(missing.is_empty(), "missing: {missing:?}");
}

// ---------------------------------------------------------------- Zabbix
// tests/zabbix_server.rs runs the template and the UserParameter in a real
// Zabbix server. What is left for `zabbix_agentd -t`: the {$GKLM.HOST}
// parameter wins over the interface address, and the characters the agent
// refuses in a key are exactly the ones the template description lists.

fn zabbix_agent_test(agent: &Path, conf: &Path, key: &str) -> String {
    agent_output(Command::new(agent).arg("-c").arg(conf).arg("-t").arg(key))
}

/// The same in a network namespace of its own, for a key whose host must
/// not resolve: the lookup then reaches no resolver (this machine's is a
/// private address, never a target). Needs root, as the engine tests do.
fn zabbix_agent_test_offline(agent: &Path, conf: &Path, key: &str) -> String {
    let mut cmd = Command::new("unshare");
    cmd.arg("--net")
        .arg(agent)
        .arg("-c")
        .arg(conf)
        .arg("-t")
        .arg(key);
    agent_output(&mut cmd)
}

fn agent_output(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn zabbix_agent_prefers_the_gklm_host_parameter_and_refuses_what_the_template_says() {
    let Some(agent) = require_engine(
        "zabbix_agentd",
        "zabbix_agent_prefers_the_gklm_host_parameter_and_refuses_what_the_template_says",
        "zabbix-agent",
    ) else {
        return;
    };
    let sim = Simulator::start();
    sim.set_running(true);
    let s = setup(&sim);
    let dir = s.ws.path();
    let shipped =
        std::fs::read_to_string(repo().join("packaging/zabbix/userparameter_gklm_backup.conf"))
            .unwrap();
    assert!(shipped.contains("/usr/lib/nagios/plugins/check_gklm_backup --format json"));
    let userparameter = shipped.replace("/usr/lib/nagios/plugins", &d(&s.plugins));
    std::fs::write(dir.join("userparameter.conf"), userparameter).unwrap();
    let conf = dir.join("zabbix_agentd.conf");
    std::fs::write(
        &conf,
        format!(
            "LogType=console\nTimeout=10\nAllowRoot=1\nInclude={}\n",
            d(&dir.join("userparameter.conf"))
        ),
    )
    .unwrap();

    // The interface address does not resolve; the host parameter does.
    let options = format!(
        "-w 0 --cacert {} --state-file {}",
        d(&s.ca),
        d(&dir.join("state.json"))
    );
    let key = |host: &str, options: &str| {
        format!(
            "gklm.backup[running,gklm.invalid,{host},{},{USER},{},{options}]",
            sim.port(),
            d(&s.password)
        )
    };
    let text = zabbix_agent_test(&agent, &conf, &key("localhost", &options));
    let value = text
        .split_once("[t|")
        .and_then(|(_, rest)| rest.trim_end().strip_suffix(']'))
        .unwrap_or_else(|| panic!("zabbix_agentd -t gave no text value:\n{text}"));
    let json: serde_json::Value =
        serde_json::from_str(value).unwrap_or_else(|e| panic!("not JSON ({e}): {value}"));
    assert_eq!(json["state"], "WARNING", "{value}");
    assert_eq!(json["running_checks"], 1, "{value}");
    // Empty: the interface address, here one that cannot resolve. Another
    // target, so another state file (one file records one target).
    let other = format!(
        "-w 0 --cacert {} --state-file {}",
        d(&s.ca),
        d(&dir.join("state-interface.json"))
    );
    if require_root(
        "zabbix_agent_prefers_the_gklm_host_parameter (the interface address)",
        "make a network namespace for the lookup",
    ) {
        let text = zabbix_agent_test_offline(&agent, &conf, &key("", &other));
        assert!(
            text.contains("cannot resolve host name") && text.contains("gklm.invalid"),
            "{text}"
        );
    }

    // The template documents the characters the agent refuses; an @ range
    // is one of the options that cannot go through the key.
    let template =
        std::fs::read_to_string(repo().join("packaging/zabbix/template_gklm_backup.yaml")).unwrap();
    let documented = r#"\ ' " ` * ? [ ] { } ~ $ ! & ; ( ) < > | # @"#;
    assert!(
        template.contains(documented),
        "template no longer lists {documented}"
    );
    let text = zabbix_agent_test(&agent, &conf, &key("localhost", "-w @1:2"));
    let refused = text
        .split_once("Special characters \"")
        .and_then(|(_, rest)| rest.split_once("\" are not allowed"))
        .unwrap_or_else(|| panic!("the agent accepted an @ range:\n{text}"))
        .0;
    assert_eq!(
        refused.replace(", ", " "),
        format!("{documented} 0x0a"),
        "the agent refuses other characters than the template says"
    );
    say(&format!("zabbix_agentd -t returned: {value}"));
}

// ---------------------------------------------------------------- NRPE

/// The whole picture as an NRPE command: the real `nrpe` runs it, the real
/// `check_nrpe` brings back every line and the exit code, within NRPE's
/// output limit.
#[test]
fn nrpe_carries_the_whole_picture_whole() {
    let test = "nrpe_carries_the_whole_picture_whole";
    let Some(nrpe) = require("nrpe", test, "nagios-nrpe-server") else {
        return;
    };
    let check_nrpe = Path::new("/usr/lib/nagios/plugins/check_nrpe");
    if !check_nrpe.is_file() {
        missing(
            test,
            "check_nrpe is not installed (apt-get install nagios-nrpe-plugin)",
        );
        return;
    }
    // nrpe refuses to run its commands as root: as nagios (nagios4-core
    // makes the user), which is given the test's files.
    if !require_root(test, "give the test's files to the user nrpe runs as") {
        return;
    }
    let has_nagios = Command::new("id")
        .arg("nagios")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_nagios {
        missing(
            test,
            "there is no user nagios (apt-get install nagios4-core)",
        );
        return;
    }
    let sim = Simulator::start();
    sim.set_result_code("\"1\"");
    let s = setup(&sim);
    let dir = s.ws.path();
    let port = closed_port();
    let command = format!(
        "{plugin} -H localhost -p {sim_port} --cacert {ca} -u {USER} --password-file {password} --state-file {state} --mode running -w 6 -c 12 --mode needed --warning-time 1d --mode result --mode age --critical-time 2d --mode restore",
        plugin = d(&s.plugins.join("check_gklm_backup")),
        sim_port = sim.port(),
        ca = d(&s.ca),
        password = d(&s.password),
        state = d(&dir.join("state.json")),
    );
    let cfg = dir.join("nrpe.cfg");
    std::fs::write(
        &cfg,
        format!(
            "pid_file={pid}\nlog_file={log}\nserver_address=127.0.0.1\nserver_port={port}\nnrpe_user=nagios\nnrpe_group=nagios\nallowed_hosts=127.0.0.1\ndont_blame_nrpe=0\ncommand_timeout=20\ncommand[gklm_backups]={command}\n",
            pid = d(&dir.join("nrpe.pid")),
            log = d(&dir.join("nrpe.log")),
        ),
    )
    .unwrap();
    let chown = Command::new("chown")
        .args(["-R", "nagios:nagios"])
        .arg(dir)
        .status();
    assert!(
        chown.is_ok_and(|s| s.success()),
        "chown -R nagios {}",
        d(dir)
    );
    let _daemon = Daemon::start(
        Command::new(&nrpe).arg("-c").arg(&cfg).arg("-f"),
        &dir.join("daemon.log"),
    );
    let asked = || {
        let out = Command::new(check_nrpe)
            .args([
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-t",
                "20",
                "-c",
                "gklm_backups",
            ])
            .output()
            .ok()?;
        // Until nrpe listens, check_nrpe says so on stderr alone.
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (!text.trim().is_empty()).then(|| (out.status.code(), text))
    };
    let (code, text) = wait_for(Duration::from_secs(30), asked).unwrap_or_else(|| {
        panic!(
            "nrpe did not answer: {}",
            std::fs::read_to_string(dir.join("nrpe.log")).unwrap_or_default()
        )
    });
    assert_eq!(code, Some(2), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("CRITICAL - result CRITICAL: ") && lines[0].contains(", 4 OK | "),
        "{text}"
    );
    for mode in ["running", "needed", "result", "age", "restore"] {
        assert!(
            lines.iter().any(|l| l.starts_with(&format!("{mode}: "))),
            "no line for {mode}: {text}"
        );
    }
    // The last line, the perfdata, arrived whole.
    let last = lines.last().copied().unwrap_or("");
    assert!(
        last.starts_with("|running=") && last.trim_end().ends_with(";;;0;10"),
        "cut: {text}"
    );
    assert!(!text.contains(PASSWORD));
    say(&format!(
        "check_nrpe brought back {} bytes in {} lines",
        text.len(),
        lines.len()
    ));
}
