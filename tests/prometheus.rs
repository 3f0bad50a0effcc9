//! `--format prometheus`, judged by Prometheus' own tools: `promtool check
//! metrics` accepts the output for every state, failure and mode, and
//! node_exporter's textfile collector serves files written the way the
//! README's cron line writes them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use check_gklm_backup::mode::MODES;

use crate::util::engine::*;
use crate::util::modes::every_mode;
use crate::util::*;

/// `promtool check metrics` on `text`: its exit status and what it said.
fn promtool_check(promtool: &Path, text: &str) -> (bool, String) {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && said.trim().is_empty(), said)
}

fn prometheus_run(sim: &Simulator, ws: &Workspace, args: &[&str]) -> Run {
    run(login_command(sim, ws)
        .args(["--format", "prometheus"])
        .args(args))
}

/// The value of the sample of `name` (any labels) in `text`.
fn sample(text: &str, name: &str) -> Option<String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(&format!("{name}{{")))
        .and_then(|l| l.rsplit(' ').next())
        .map(str::to_string)
}

#[test]
fn promtool_accepts_every_state_failure_and_mode() {
    let Some(promtool) = require_engine(
        "promtool",
        "promtool_accepts_every_state_failure_and_mode",
        "prometheus",
    ) else {
        return;
    };
    let sim = Simulator::start();
    let ws = Workspace::new();
    let mut seen = Vec::new();
    let mut check = |r: Run, state: &str, code: i32| {
        assert_eq!(r.code, code, "{}", r.stdout);
        let (ok, said) = promtool_check(&promtool, &r.stdout);
        assert!(ok, "promtool refused ({said}):\n{}", r.stdout);
        assert_eq!(
            sample(&r.stdout, "gklm_backup_state").as_deref(),
            Some(code.to_string().as_str()),
            "{}",
            r.stdout
        );
        assert!(
            r.stdout.contains(&format!("state=\"{state}\"")),
            "{}",
            r.stdout
        );
        seen.push(state.to_string());
    };
    check(prometheus_run(&sim, &ws, &[]), "OK", 0);
    sim.set_running(true);
    check(prometheus_run(&sim, &ws, &["-w", "0"]), "WARNING", 1);
    // Its own first check: -c 0 (each service counts its own checks).
    check(prometheus_run(&sim, &ws, &["-c", "0"]), "CRITICAL", 2);
    // Every mode the binary has, OK, each sample of its fields present.
    for kind in MODES {
        let mut args = vec!["--mode", kind.name];
        if kind.name == "age" {
            args.extend(["--critical-time", "2d"]);
        }
        let r = prometheus_run(&sim, &ws, &args);
        assert!(
            r.stdout.contains(&format!("mode=\"{}\"", kind.name)),
            "{}",
            r.stdout
        );
        check(r, "OK", 0);
    }
    // A restore in progress: WARNING at once, the phase as a sample.
    sim.set_restore_phase(4);
    let r = prometheus_run(&sim, &ws, &["--mode", "restore"]);
    assert_eq!(
        sample(&r.stdout, "gklm_backup_restore").as_deref(),
        Some("1"),
        "{}",
        r.stdout
    );
    assert_eq!(
        sample(&r.stdout, "gklm_backup_restore_phase").as_deref(),
        Some("4"),
        "{}",
        r.stdout
    );
    check(r, "WARNING", 1);
    sim.set_restore_phase(0);
    sim.set_status_behavior(Behavior::json(200, "not json"));
    check(prometheus_run(&sim, &ws, &[]), "UNKNOWN", 3);
    sim.set_status_behavior(Behavior::Normal);
    // Usage error and unreachable GKLM.
    let r = run(command(&ws).args(["-H", "a b", "--format", "prometheus"]));
    check(r, "UNKNOWN", 3);
    let r = run(command(&ws).args([
        "-H",
        "127.0.0.1",
        "-p",
        &closed_port().to_string(),
        "--auth-id-file",
        "/nonexistent",
        "--format=prometheus",
    ]));
    check(r, "UNKNOWN", 3);
    let mut cmd = command(&ws);
    cmd.env("GKLM_AUTH_ID", "some-session-id");
    let r = run(cmd.args([
        "-H",
        "127.0.0.1",
        "-p",
        &closed_port().to_string(),
        "--format",
        "prometheus",
    ]));
    check(r, "CRITICAL", 2);
    say(&format!("promtool accepted: {}", seen.join(", ")));
}

#[test]
fn node_exporter_serves_what_the_cron_line_writes() {
    let test = "node_exporter_serves_what_the_cron_line_writes";
    let Some(exporter) =
        require_engine("prometheus-node-exporter", test, "prometheus-node-exporter")
    else {
        return;
    };
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    let textfiles = ws.path().join("textfile");
    std::fs::create_dir_all(&textfiles).unwrap();
    // As the README's cron line: write a temporary file, then rename it,
    // so the collector never reads half a file. One file per mode.
    for m in every_mode() {
        let mode = m.name;
        let r = prometheus_run(&sim, &ws, &[&["--mode", mode][..], m.needs].concat());
        let tmp = textfiles.join(format!("gklm_backup_{mode}.prom.tmp"));
        std::fs::write(&tmp, &r.stdout).unwrap();
        std::fs::rename(&tmp, textfiles.join(format!("gklm_backup_{mode}.prom"))).unwrap();
    }
    let metrics = served(&exporter, &textfiles, &ws);
    let labels = format!(
        "host=\"localhost\",mode=\"running\",port=\"{}\"",
        sim.port()
    );
    for line in [
        format!("gklm_backup_running{{{labels}}} 1"),
        format!("gklm_backup_running_checks{{{labels}}} 1"),
        format!(
            "gklm_backup_state{{{}\",state=\"OK\"}} 0",
            &labels[..labels.len() - 1]
        ),
    ] {
        assert!(metrics.contains(&line), "missing {line} in:\n{metrics}");
    }
    for m in every_mode() {
        let label = format!("mode=\"{}\"", m.name);
        assert!(
            metrics.contains(&label),
            "no sample of {}:\n{metrics}",
            m.name
        );
    }
    assert!(
        metrics.contains("node_textfile_scrape_error 0"),
        "the collector refused a file:\n{metrics}"
    );
    say(&format!(
        "node_exporter served {} gklm_backup samples",
        metrics
            .lines()
            .filter(|l| l.starts_with("gklm_backup"))
            .count()
    ));
}

/// What node_exporter's textfile collector serves of `textfiles`.
fn served(exporter: &Path, textfiles: &Path, ws: &Workspace) -> String {
    let port = closed_port();
    let address = format!("127.0.0.1:{port}");
    let _daemon = Daemon::start(
        Command::new(exporter).args([
            &format!("--web.listen-address={address}"),
            "--collector.disable-defaults",
            "--collector.textfile",
            &format!("--collector.textfile.directory={}", textfiles.display()),
        ]),
        &ws.path().join("node_exporter.log"),
    );
    wait_for(Duration::from_secs(30), || http_get(&address, "/metrics")).unwrap_or_else(|| {
        panic!(
            "node_exporter did not answer: {}",
            std::fs::read_to_string(ws.path().join("node_exporter.log")).unwrap_or_default()
        )
    })
}

/// A plain HTTP GET on 127.0.0.1; the body, once the server answers 200.
fn http_get(address: &str, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200")
        .then(|| body.to_string())
        .or_else(|| head.starts_with("HTTP/1.1 200").then(|| body.to_string()))
}

/// The shipped cron line for the whole picture, run by `sh` with this
/// machine's paths: one file, written beside its name and renamed, that
/// node_exporter serves with every mode's state and samples.
#[test]
fn node_exporter_serves_the_whole_picture_that_the_shipped_cron_line_writes() {
    let test = "node_exporter_serves_the_whole_picture";
    let Some(exporter) =
        require_engine("prometheus-node-exporter", test, "prometheus-node-exporter")
    else {
        return;
    };
    let sim = Simulator::start();
    sim.set_result_code("\"1\"");
    let ws = Workspace::new();
    let textfiles = ws.path().join("textfile");
    std::fs::create_dir_all(&textfiles).unwrap();
    let cron =
        std::fs::read_to_string(repo().join("packaging/cron/check_gklm_backup.cron")).unwrap();
    let line = cron
        .lines()
        .find(|l| l.contains("node-exporter/gklm_backup.prom;"))
        .expect("the shipped cron line of the whole picture");
    // Past the schedule's five fields and the user.
    let job = line
        .trim_start_matches('#')
        .splitn(7, ' ')
        .nth(6)
        .unwrap()
        .replace("/usr/lib/nagios/plugins/check_gklm_backup", BIN)
        .replace(
            "gklm.example.com",
            &format!(
                "localhost -p {} --cacert {}",
                sim.port(),
                sim.ca_pem().display()
            ),
        )
        .replace(
            "/etc/nagios/gklm.pass",
            &ws.password_file().display().to_string(),
        )
        .replace(
            "/var/lib/prometheus/node-exporter",
            &textfiles.display().to_string(),
        );
    let status = Command::new("sh")
        .args(["-c", &job])
        .env_clear()
        .env("MP_STATE_PATH", ws.state_dir())
        .status()
        .unwrap();
    // CRITICAL (the last backup failed) still publishes: `;`, not `&&`.
    assert!(status.success(), "{job}");
    let files: Vec<String> = std::fs::read_dir(&textfiles)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["gklm_backup.prom"], "one file, no temporary left");
    let metrics = served(&exporter, &textfiles, &ws);
    let target = format!("host=\"localhost\",port=\"{}\"", sim.port());
    for m in every_mode() {
        let state = if m.name == "result" { 2 } else { 0 };
        let line = format!(
            "gklm_backup_mode_state{{host=\"localhost\",mode=\"{}\",port=\"{}\"}} {state}",
            m.name,
            sim.port()
        );
        assert!(metrics.contains(&line), "missing {line} in:\n{metrics}");
    }
    for line in [
        format!("gklm_backup_picture_state{{{target}}} 2"),
        format!(
            "gklm_backup_result{{host=\"localhost\",mode=\"result\",port=\"{}\"}} 1",
            sim.port()
        ),
    ] {
        assert!(metrics.contains(&line), "missing {line} in:\n{metrics}");
    }
    assert!(
        metrics.contains("node_textfile_scrape_error 0"),
        "the collector refused the file:\n{metrics}"
    );
    say(&format!(
        "node_exporter served the whole picture: {} gklm_backup samples",
        metrics
            .lines()
            .filter(|l| l.starts_with("gklm_backup"))
            .count()
    ));
}

#[test]
fn promtool_accepts_the_whole_picture_in_every_state() {
    let Some(promtool) = require_engine(
        "promtool",
        "promtool_accepts_the_whole_picture_in_every_state",
        "prometheus",
    ) else {
        return;
    };
    let sim = Simulator::start();
    let ws = Workspace::new();
    let picture = [
        "--mode", "running", "-w", "0", "--mode", "needed", "--mode", "result", "--mode", "restore",
    ];
    for (setup, code) in [(Behavior::Normal, 0), (Behavior::json(500, "{}"), 3)] {
        sim.set_behavior_of("backups/result", setup);
        let r = prometheus_run(&sim, &ws, &picture);
        assert_eq!(r.code, code, "{}", r.stdout);
        let (ok, said) = promtool_check(&promtool, &r.stdout);
        assert!(ok, "promtool refused ({said}):\n{}", r.stdout);
        assert_eq!(
            sample(&r.stdout, "gklm_backup_picture_state").as_deref(),
            Some(code.to_string().as_str()),
            "{}",
            r.stdout
        );
        assert!(
            !r.stdout.contains("state=\""),
            "a label that changes with the state"
        );
    }
    // The running streak, now seen: WARNING at -w 0.
    sim.set_running(true);
    sim.set_behavior_of("backups/result", Behavior::Normal);
    let r = prometheus_run(&sim, &ws, &picture);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let (ok, said) = promtool_check(&promtool, &r.stdout);
    assert!(ok, "promtool refused ({said}):\n{}", r.stdout);
}
