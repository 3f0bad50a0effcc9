//! What one check costs, next to check_http and check_curl.
//!
//!   cargo run --release --example bench            (50 interleaved rounds)
//!   cargo run --release --example bench -- --quick (5 rounds, for CI)
//!   ... -- --baseline PATH   also runs the (d) modes with the binary at PATH
//!                           (an earlier release), each shown against it,
//!                           in instructions too where valgrind is installed
//!
//! Builds the release binary, starts the GKLM simulator over HTTPS on
//! localhost, and runs the same status request through each variant in turn,
//! many times. Prints per variant the median CPU time (user+sys), median wall
//! time, median peak RSS, their ratios to `check_http -S` measured in the same
//! run, and the HTTP requests one check makes. The other modes (`--mode
//! needed`, `--mode result`, `--mode age`) run with the same cached session
//! and are also shown against `running`, to show that each question costs
//! the same; (f) shows what lists of 1,000, 10,000 and 30,000 backups cost,
//! against a one-entry `age` check, so that the growth can be seen to be
//! linear; (h) is the whole picture, every mode in one run, against one
//! `check_http` run and the five (d) runs it replaces, and (i) a mode alone
//! and the whole picture against a GKLM that takes 0.3 s an answer. Peak RSS is the binary's own, measured by GNU time in rounds of
//! its own: a child spawned by this process records this process's memory
//! as its peak at exec, whatever the binary itself uses. Not a pass/fail
//! test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use gklm_simulator::{Behavior, Cert, Config, PASSWORD, Simulator, USER, answers, measure};

const PLUGINS: &str = "/usr/lib/nagios/plugins";
const RUNNING: &str = "(d) check_gklm_backup -u, cached session";
const NEEDED: &str = "(d) check_gklm_backup -u --mode needed";
const RESULT: &str = "(d) check_gklm_backup -u --mode result";
const AGE: &str = "(d) check_gklm_backup -u --mode age";
const RESTORE: &str = "(d) check_gklm_backup -u --mode restore";
/// The (d) modes, as one run asks them in the whole picture.
const SINGLES: [&str; 5] = [RUNNING, NEEDED, RESULT, AGE, RESTORE];
const PICTURE: &str = "(h) the whole picture, five modes in one run";
/// Against a GKLM that takes 0.3 s to answer each question.
const SLOW_ONE: &str = "(i) running, GKLM 0.3 s an answer";
const SLOW_PICTURE: &str = "(i) the whole picture, GKLM 0.3 s an answer";
const SLOW: std::time::Duration = std::time::Duration::from_millis(300);
/// The modes and the options each needs, for the whole picture.
const PICTURE_ARGS: [&str; 12] = [
    "--mode",
    "running",
    "--mode",
    "needed",
    "--mode",
    "result",
    "--mode",
    "age",
    "--critical-time",
    "2d",
    "--mode",
    "restore",
];
/// The long lists: entries, and the variant's name.
const LISTS: [(u64, &str); 3] = [
    (1_000, "(f) --mode age, 1,000 backups (0.24 MB)"),
    (10_000, "(f) --mode age, 10,000 backups (2.4 MB)"),
    (30_000, "(f) --mode age, 30,000 backups (7.3 MB)"),
];
/// The (d) modes, and their twins run by the `--baseline` binary.
const MODES: [(&str, &str, &str); 4] = [
    ("running", RUNNING, "(g) baseline -u, cached session"),
    ("needed", NEEDED, "(g) baseline -u --mode needed"),
    ("result", RESULT, "(g) baseline -u --mode result"),
    ("age", AGE, "(g) baseline -u --mode age"),
];

struct Variant {
    name: &'static str,
    command: Command,
}

#[derive(Default)]
struct Samples {
    cpu_ms: Vec<f64>,
    wall_ms: Vec<f64>,
    rss_kib: Vec<f64>,
    requests: Vec<f64>,
    failures: usize,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let baseline = args
        .iter()
        .position(|a| a == "--baseline")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let rounds = if quick { 5 } else { 50 };
    let check = build_release_check();
    let sim = Simulator::start_with(Config::default(), Cert::Good);
    // GKLMs that keep every backup: the cost of a long list.
    let long: Vec<Simulator> = LISTS
        .iter()
        .map(|&(entries, _)| {
            Simulator::start_with(
                Config {
                    backup_list: answers::long_backup_list(entries),
                    ..Config::default()
                },
                Cert::Good,
            )
        })
        .collect();
    let slow = Simulator::start_with(
        Config {
            status_behavior: Behavior::Delay(SLOW),
            ..Config::default()
        },
        Cert::Good,
    );
    let work = tempfile::tempdir().expect("temp dir");
    let mut variants = variants(&check, &sim, work.path());
    for (&(_, name), server) in LISTS.iter().zip(&long) {
        variants.push(long_list_variant(name, &check, server, work.path()));
    }
    variants.push(slow_variant(
        SLOW_ONE,
        &check,
        &slow,
        work.path(),
        "slow-one",
        &["--mode", "running"],
    ));
    variants.push(slow_variant(
        SLOW_PICTURE,
        &check,
        &slow,
        work.path(),
        "slow-all",
        &PICTURE_ARGS,
    ));
    if let Some(baseline) = &baseline {
        variants.extend(baseline_variants(baseline, &sim, work.path()));
    }
    let mut samples: BTreeMap<&str, Samples> = BTreeMap::new();
    for v in variants.iter_mut() {
        // Warm up: page cache, the remembered prefix, the cached session.
        measure::cost(&mut v.command);
    }
    let mut peaks: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for _ in 0..rounds.min(5) {
        for v in &variants {
            if let Some(kib) = peak_rss(&v.command, work.path()) {
                peaks.entry(v.name).or_default().push(kib);
            }
        }
    }
    for _ in 0..rounds {
        for v in variants.iter_mut() {
            sim.clear_log();
            slow.clear_log();
            long.iter().for_each(Simulator::clear_log);
            let cost = measure::cost(&mut v.command);
            let s = samples.entry(v.name).or_default();
            s.cpu_ms.push(cost.cpu_ms);
            s.wall_ms.push(cost.wall_ms);
            s.rss_kib = peaks
                .get(v.name)
                .cloned()
                .unwrap_or_else(|| vec![cost.max_rss_kib]);
            s.requests.push(
                (sim.requests().len()
                    + slow.requests().len()
                    + long.iter().map(|l| l.requests().len()).sum::<usize>())
                    as f64,
            );
            if !cost.succeeded {
                s.failures += 1;
            }
        }
    }
    print_table(&variants, &samples, rounds, &check);
    if baseline.is_some() {
        print_against_baseline(&samples, &variants);
    }
}

/// The (d) modes run by another binary, on a target of their own (their
/// own state file and cached session), so each mode has a twin to be
/// measured against in the same run.
fn baseline_variants(baseline: &Path, sim: &Simulator, work: &Path) -> Vec<Variant> {
    MODES
        .iter()
        .map(|(mode, _, name)| {
            let mut command = Command::new(baseline);
            command
                .env_clear()
                .env("MP_STATE_PATH", work.join("g"))
                .args(["-H", "localhost", "-p", &sim.port().to_string()])
                .arg("--cacert")
                .arg(sim.ca_pem())
                .args(["-u", USER, "--password-file"])
                .arg(work.join("password"))
                .args(["--mode", mode]);
            if *mode == "age" {
                command.args(["--critical-time", "2d"]);
            }
            Variant { name, command }
        })
        .collect()
}

/// Each (d) mode against its twin: CPU and wall time, which a shared
/// machine blurs by some per cent, and, where valgrind is installed, the
/// instructions one run executes, which it does not.
fn print_against_baseline(samples: &BTreeMap<&str, Samples>, variants: &[Variant]) {
    println!("each (d) mode against the --baseline binary, same run (1.00 = same cost):");
    println!(
        "{:<44} {:>7} {:>8} {:>8}",
        "variant", "cpu", "wall", "instr"
    );
    let command = |name: &str| variants.iter().find(|v| v.name == name).map(|v| &v.command);
    for (_, ours, theirs) in MODES {
        let (Some(o), Some(t)) = (samples.get(ours), samples.get(theirs)) else {
            continue;
        };
        let instr = match (
            command(ours).and_then(instructions),
            command(theirs).and_then(instructions),
        ) {
            (Some(o), Some(t)) => format!("{:.3}", o / t),
            _ => "-".into(),
        };
        println!(
            "{:<44} {:>7.3} {:>8.3} {:>8}",
            ours,
            median(&o.cpu_ms) / median(&t.cpu_ms),
            median(&o.wall_ms) / median(&t.wall_ms),
            instr
        );
    }
}

/// The instructions one run of `cmd` executes, counted by callgrind (None
/// without valgrind).
fn instructions(cmd: &Command) -> Option<f64> {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdout(Stdio::null())
        .output()
        .ok()?;
    let report = String::from_utf8_lossy(&out.stderr);
    let collected = report
        .lines()
        .find_map(|l| l.split("Collected : ").nth(1))?;
    collected.trim().parse().ok()
}

fn variants(check: &Path, sim: &Simulator, work: &Path) -> Vec<Variant> {
    let port = sim.port().to_string();
    let id = sim.issue_session();
    let password = work.join("password");
    std::fs::write(&password, format!("{PASSWORD}\n")).unwrap();
    let ours = |name: &'static str, state: &str| {
        let mut c = Command::new(check);
        c.env_clear()
            .env("MP_STATE_PATH", work.join(state))
            .args(["-H", "localhost", "-p", &port]);
        Variant { name, command: c }
    };
    let mut a = ours("(a) check_gklm_backup --cacert", "a");
    a.command
        .arg("--cacert")
        .arg(sim.ca_pem())
        .env("GKLM_AUTH_ID", &id);
    let mut b = ours("(b) check_gklm_backup --insecure", "b");
    b.command.arg("--insecure").env("GKLM_AUTH_ID", &id);
    let mut c = ours("(c) check_gklm_backup, CA via SSL_CERT_DIR", "c");
    c.command
        .env("SSL_CERT_DIR", sim.ca_dir())
        .env("GKLM_AUTH_ID", &id);
    let mut d = ours(RUNNING, "d");
    d.command
        .arg("--cacert")
        .arg(sim.ca_pem())
        .args(["-u", USER, "--password-file"])
        .arg(&password);
    // The same target in other modes: its state file and cached session.
    let mode = |name: &'static str, mode: &str| {
        let mut v = ours(name, "d");
        v.command
            .arg("--cacert")
            .arg(sim.ca_pem())
            .args(["-u", USER, "--password-file"])
            .arg(&password)
            .args(["--mode", mode]);
        v
    };
    let needed = mode(NEEDED, "needed");
    let result = mode(RESULT, "result");
    let mut age = mode(AGE, "age");
    age.command.args(["--critical-time", "2d"]);
    let restore = mode(RESTORE, "restore");
    // The same target, every mode in one run.
    let mut picture = ours(PICTURE, "d");
    picture
        .command
        .arg("--cacert")
        .arg(sim.ca_pem())
        .args(["-u", USER, "--password-file"])
        .arg(&password)
        .args(PICTURE_ARGS);
    let mut list = vec![a, b, c, d, needed, result, age, restore, picture];
    let path = "/SKLM/rest/v1/ckms/backups/isrunning";
    let auth = format!("Authorization: SKLMAuth userAuthId={id}");
    for (name, plugin) in [
        ("(e) check_http -S", "check_http"),
        ("(e) check_curl -S", "check_curl"),
    ] {
        let exe = Path::new(PLUGINS).join(plugin);
        if !exe.exists() {
            eprintln!(
                "{plugin} not found in {PLUGINS}: apt-get install monitoring-plugins-basic monitoring-plugins-standard; its row is left out"
            );
            continue;
        }
        let mut cmd = Command::new(&exe);
        cmd.env_clear().args([
            "-H",
            "localhost",
            "-p",
            &port,
            "-S",
            "--sni",
            "-u",
            path,
            "-k",
            &auth,
            "-k",
            "Accept: application/json",
            "-s",
            "CTGKM329",
            "-t",
            "10",
        ]);
        list.push(Variant { name, command: cmd });
    }
    list
}

/// `--mode age` against a GKLM listing many backups, logged in and
/// caching its session like (d).
fn long_list_variant(name: &'static str, check: &Path, long: &Simulator, work: &Path) -> Variant {
    let mut command = Command::new(check);
    command
        .env_clear()
        .env("MP_STATE_PATH", work.join(format!("long{}", long.port())))
        .args(["-H", "localhost", "-p", &long.port().to_string()])
        .arg("--cacert")
        .arg(long.ca_pem())
        .args(["-u", USER, "--password-file"])
        .arg(work.join("password"))
        .args(["--mode", "age", "--critical-time", "2d"]);
    Variant { name, command }
}

/// Logged in and caching its session like (d), against the GKLM that takes
/// 0.3 s an answer.
fn slow_variant(
    name: &'static str,
    check: &Path,
    slow: &Simulator,
    work: &Path,
    state: &str,
    modes: &[&str],
) -> Variant {
    let mut command = Command::new(check);
    command
        .env_clear()
        .env("MP_STATE_PATH", work.join(state))
        .args(["-H", "localhost", "-p", &slow.port().to_string()])
        .arg("--cacert")
        .arg(slow.ca_pem())
        .args(["-u", USER, "--password-file"])
        .arg(work.join("password"))
        .args(modes);
    Variant { name, command }
}

/// The whole picture against one `check_http` run and the five runs it
/// replaces, in CPU, and against one mode alone in wall time when each
/// answer takes 0.3 s.
fn print_picture(samples: &BTreeMap<&str, Samples>) {
    let cpu = |name: &str| samples.get(name).map(|s| median(&s.cpu_ms));
    let wall = |name: &str| samples.get(name).map(|s| median(&s.wall_ms));
    let Some(picture) = cpu(PICTURE) else { return };
    println!("the whole picture (five modes, one run):");
    if let Some(http) = cpu("(e) check_http -S") {
        println!(
            "  cpu against one check_http -S run:       {:.2} (goal 3.5 at most)",
            picture / http
        );
    }
    let five: Option<f64> = SINGLES.iter().map(|n| cpu(n)).sum();
    if let Some(five) = five {
        println!(
            "  cpu against five single-mode runs:       {:.2} (goal 0.65 at most)",
            picture / five
        );
    }
    if let (Some(all), Some(one)) = (wall(SLOW_PICTURE), wall(SLOW_ONE)) {
        println!(
            "  wall against one mode, 0.3 s an answer:  {:.2} (goal 1.5 at most)",
            all / one
        );
    }
}

/// The peak RSS of one run of `cmd`, in KiB, as GNU time (a small process
/// of its own) sees it; None without /usr/bin/time (package `time`).
fn peak_rss(cmd: &Command, work: &Path) -> Option<f64> {
    measure::gnu_time()?;
    let report = work.join("peak-rss");
    let mut timed = measure::under_gnu_time(cmd, &report);
    timed
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    measure::peak_rss_kib(&report).map(|kib| kib as f64)
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}

fn print_table(
    variants: &[Variant],
    samples: &BTreeMap<&str, Samples>,
    rounds: usize,
    check: &Path,
) {
    let base = samples.get("(e) check_http -S");
    let ratio = |value: f64, pick: fn(&Samples) -> &Vec<f64>| match base {
        Some(b) => format!("{:.2}", value / median(pick(b))),
        None => "-".into(),
    };
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "check_gklm_backup benchmark: {rounds} interleaved rounds, {cores} cores, {cpu_model}"
    );
    println!(
        "{:<44} {:>7} {:>8} {:>8} {:>8} {:>9} {:>8} {:>5} {:>4}",
        "variant",
        "cpu ms",
        "wall ms",
        "rss KiB",
        "cpu/http",
        "wall/http",
        "rss/http",
        "reqs",
        "fail"
    );
    for v in variants {
        let s = &samples[v.name];
        let (cpu, wall, rss) = (median(&s.cpu_ms), median(&s.wall_ms), median(&s.rss_kib));
        println!(
            "{:<44} {:>7.2} {:>8.2} {:>8.0} {:>8} {:>9} {:>8} {:>5.0} {:>4}",
            v.name,
            cpu,
            wall,
            rss,
            ratio(cpu, |s| &s.cpu_ms),
            ratio(wall, |s| &s.wall_ms),
            ratio(rss, |s| &s.rss_kib),
            median(&s.requests),
            s.failures
        );
    }
    if let Some(running) = samples.get(RUNNING) {
        println!("other modes against (d) running, same session (1.00 = same cost):");
        println!("{:<44} {:>7} {:>8}", "variant", "cpu", "wall");
        for name in [NEEDED, RESULT, AGE, RESTORE] {
            let Some(s) = samples.get(name) else { continue };
            println!(
                "{:<44} {:>7.2} {:>8.2}",
                name,
                median(&s.cpu_ms) / median(&running.cpu_ms),
                median(&s.wall_ms) / median(&running.wall_ms)
            );
        }
    }
    print_list_costs(samples);
    print_picture(samples);
    let size = std::fs::metadata(check).map_or(0, |m| m.len());
    println!(
        "stripped release binary: {} bytes ({:.2} MiB)",
        size,
        size as f64 / 1_048_576.0
    );
}

/// What a long list costs against a one-entry `age` check (1.00 = the same),
/// and per 1,000 entries beyond it: a constant last column is linear growth.
fn print_list_costs(samples: &BTreeMap<&str, Samples>) {
    let Some(one) = samples.get(AGE) else { return };
    let one_cpu = median(&one.cpu_ms);
    println!("long lists against (d) age with one backup:");
    println!(
        "{:<44} {:>7} {:>8} {:>14}",
        "variant", "cpu", "rss", "cpu ms/1000"
    );
    for (entries, name) in LISTS {
        let Some(s) = samples.get(name) else { continue };
        let cpu = median(&s.cpu_ms);
        println!(
            "{:<44} {:>7.2} {:>8.2} {:>14.2}",
            name,
            cpu / one_cpu,
            median(&s.rss_kib) / median(&one.rss_kib),
            (cpu - one_cpu) / (entries as f64 / 1000.0)
        );
    }
}

/// The release binary beside this example, built first when run by cargo.
fn build_release_check() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf();
    if let Some(cargo) = std::env::var_os("CARGO") {
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "--bin", "check_gklm_backup"]);
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        assert!(
            build.status().expect("cargo build").success(),
            "cargo build failed"
        );
    }
    if !profile_dir.ends_with("release") {
        eprintln!(
            "note: not a release build; run with `cargo run --release --example bench` for real numbers"
        );
    }
    profile_dir.join("check_gklm_backup")
}
