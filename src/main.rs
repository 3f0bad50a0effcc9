//! The runtime: reads the inputs once, runs the five steps of a check, and
//! maps every outcome (panics and timeouts included) to one printed result
//! and an exit code. See lib.rs for the map of the parts.

use std::ffi::OsString;
use std::io::Write;
use std::process::exit;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use check_gklm_backup::cli::{self, Command, Config, Environment, TrustChoice};
use check_gklm_backup::credentials::{self, AuthSource, Credentials, FromEnvironment};
use check_gklm_backup::evaluate::Observed;
use check_gklm_backup::gklm::Gklm;
use check_gklm_backup::mode;
use check_gklm_backup::query::{self, Fetched, Plan};
use check_gklm_backup::render::{Format, Printer};
use check_gklm_backup::report::{Report, State};
use check_gklm_backup::state::{Learnt, Loaded, StateError, StateFile};
use check_gklm_backup::threshold::human_duration;
use check_gklm_backup::tls::{self, Trust};
use check_gklm_backup::trace::Trace;
use check_gklm_backup::transport::Transport;
use check_gklm_backup::watchdog;

fn main() {
    let started = Instant::now();
    // The one reading of the clock: every rule of this run uses it.
    let now = unix_now();
    install_panic_hook();
    let env = Environment::read();
    if env.self_test_panic {
        panic!("self-test panic requested by CHECK_GKLM_BACKUP_SELF_TEST_PANIC");
    }
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let config = match cli::parse(args.clone(), &env) {
        Ok(Command::Run(config)) => *config,
        Ok(Command::Help) => finish_text(cli::HELP),
        Ok(Command::Version) => finish_text(&cli::version()),
        Err(e) => {
            let asked = mode::fields_of(&cli::requested_mode(&args));
            let (name, fields) = asked.unwrap_or(("none", &[]));
            let report = Report::failure(State::Unknown, format!("{e}; see --help"));
            let printer = usage_printer(cli::requested_format(&args), name, now);
            print_and_exit(&report.with_fields(fields), &printer, started)
        }
    };
    let printer = Printer {
        format: config.format,
        timeout: config.timeout.as_secs_f64(),
        mode: config.mode.name(),
        host: config.target.host.to_string(),
        port: config.target.port,
        checked_at: now,
    };
    // Before anything that can block: reading --cacert may, too.
    if let Err(e) = start_watchdog(&printer, &config) {
        print_and_exit(&failure(&config, State::Unknown, &e), &printer, started);
    }
    watchdog::set_step("reading the --cacert file", "");
    let trust = match load_trust(&config.trust) {
        Ok(trust) => trust,
        Err(e) => print_and_exit(&failure(&config, State::Unknown, &e), &printer, started),
    };
    // SAFETY: no thread has been started (the watchdog is a signal, not a
    // thread), and nothing else reads the environment meanwhile.
    unsafe { tls::skip_eager_bundle_load(&trust, &env.openssl) };
    let deadline = started + config.timeout;
    let report = run(&config, env.credentials, trust, deadline, now);
    print_and_exit(&report, &printer, started);
}

/// The five steps of a run: credentials, history, GKLM's answer, the
/// judgement, and what the next run remembers.
fn run(config: &Config, env: FromEnvironment, trust: Trust, deadline: Instant, now: u64) -> Report {
    let trace = Trace::new(config.verbosity);
    let fail = |e: &dyn std::error::Error| failure(config, State::Unknown, e);
    watchdog::set_step("reading the password or session id", "");
    let credentials = match credentials::load(&config.auth, env, &trace) {
        Ok(c) => c,
        Err(e) => return with_trace(fail(&e), trace),
    };
    trace.note(1, trust.describe());
    let key = config.target.key();
    let history = match open_history(config, &key, deadline, now, &trace) {
        Ok(history) => history,
        Err(e) => return with_trace(fail(&e), trace),
    };
    let transport = Transport::new(trust, deadline, &config.language);
    let target = &config.target;
    let gklm = Gklm::new(&transport, &target.host, target.port, &trace);
    let fetched = ask(config, &gklm, &credentials, &history, &trace);
    let (report, observed) = judge(config, &fetched, &history, now, &trace);
    let learnt = Learnt {
        prefix: fetched.prefix.clone(),
        session: fetched.session.clone(),
        streak: observed.map(|o| (config.mode.name(), o.streak)),
    };
    let report = match remember(&history, learnt, &key, now, &trace) {
        Ok(()) => report,
        Err(e) => {
            // The session could not be kept for the next run: end it now.
            if let (Some(id), Some(prefix)) = (&fetched.session, &fetched.prefix) {
                let _ = gklm.logout(prefix, id);
            }
            history_lost(config, report, &e, &trace)
        }
    };
    drop(history);
    with_trace(report, trace)
}

fn failure(config: &Config, state: State, e: &dyn std::error::Error) -> Report {
    Report::failure(state, e.to_string()).with_fields(config.mode.fields())
}

/// GKLM's answer read by the mode, this run's observation added to the
/// remembered streak, and the mode's verdict on both.
fn judge(
    config: &Config,
    fetched: &Fetched,
    history: &Result<Remembered, StateError>,
    now: u64,
    trace: &Trace,
) -> (Report, Option<Observed>) {
    let mode = &config.mode;
    let answer = match &fetched.answer {
        Ok(body) => mode
            .read(body)
            .map_err(|e| failure(config, State::Unknown, &e)),
        Err(e) if e.is_unreachable() => Err(failure(config, config.unreachable_state, e)),
        Err(e) => Err(failure(config, State::Unknown, e)),
    };
    let answer = match answer {
        Ok(answer) => answer,
        Err(report) => return (report, None),
    };
    let prior = history
        .as_ref()
        .map(|h| h.saved().streak(mode.name()))
        .map_err(ToString::to_string);
    // Without a usable history there is nothing to continue.
    let observed = match (answer.seen(), &prior) {
        (Some(seen), Ok(prior)) => Some(prior.observe(seen, now, mode.max_gap())),
        _ => None,
    };
    if let Some(restart) = observed.and_then(|o| o.restarted_after) {
        trace.note(
            1,
            format!(
                "history: the last observation was {} ago, more than --max-gap {}; counting starts again",
                human_duration(restart.gap),
                human_duration(restart.max_gap)
            ),
        );
    }
    let history = observed.ok_or_else(|| prior.err().unwrap_or_default());
    (mode.judge(&answer, history, now), observed)
}

/// History that could not be kept: fatal when a threshold needs it (the
/// count must never freeze silently), else a note at -v.
fn history_lost(config: &Config, report: Report, e: &StateError, trace: &Trace) -> Report {
    if config.mode.needs_history() && report.error.is_none() {
        report.without_history(&e.to_string())
    } else {
        trace.note(1, format!("state: {e}"));
        report
    }
}

/// The state file of this target, locked, and what it holds.
struct Remembered {
    file: StateFile,
    loaded: Loaded,
}

impl Remembered {
    fn saved(&self) -> &check_gklm_backup::state::Saved {
        &self.loaded.saved
    }
}

/// Open the history. Err(why) stops the run (UNKNOWN); Ok(Err(why)) runs
/// without history, and never overwrites what could not be used.
fn open_history(
    config: &Config,
    key: &str,
    deadline: Instant,
    now: u64,
    trace: &Trace,
) -> Result<Result<Remembered, StateError>, StateError> {
    watchdog::set_step("waiting for the state file lock", "");
    let opened = StateFile::open(&config.state, key, deadline).and_then(|file| {
        trace.note(2, format!("state file: {}", file.path().display()));
        let loaded = file.load(now, key)?;
        Ok(Remembered { file, loaded })
    });
    match opened {
        Ok(history) => {
            if let Some(note) = &history.loaded.note {
                trace.note(1, format!("state: {note}"));
            }
            Ok(Ok(history))
        }
        // A lock held too long, or a file that looks planted: stop here
        // rather than run without the history or next to an attack.
        Err(e @ (StateError::LockTimeout { .. } | StateError::Unsafe { .. })) => Err(e),
        // Another target's file: its session must not be sent to this host
        // nor its streak continued. Fatal when this run needs the file.
        Err(e @ StateError::Foreign { .. }) if config.mode.needs_history() || caches(config) => {
            Err(e)
        }
        Err(e) => {
            trace.note(1, format!("state: {e}"));
            Ok(Err(e))
        }
    }
}

fn caches(config: &Config) -> bool {
    config.session_cache && matches!(config.auth, AuthSource::Login { .. })
}

fn ask(
    config: &Config,
    gklm: &Gklm<'_>,
    credentials: &Credentials,
    history: &Result<Remembered, StateError>,
    trace: &Trace,
) -> Fetched {
    let saved = history.as_ref().ok().map(Remembered::saved);
    let cache_session = caches(config) && saved.is_some();
    let endpoint = config.mode.endpoint();
    let plan = Plan {
        endpoint: &endpoint,
        prefix: &config.target.prefix,
        remembered_prefix: saved.and_then(|s| s.prefix.as_deref()),
        credentials,
        cache_session,
        cached_session: saved
            .and_then(|s| s.session.clone())
            .filter(|_| cache_session),
    };
    query::fetch(gklm, plan, trace)
}

/// Save what the next run remembers, writing only when something changed
/// (an unchanged run costs no fsync). Err says why it could not be kept.
fn remember(
    history: &Result<Remembered, StateError>,
    learnt: Learnt,
    key: &str,
    now: u64,
    trace: &Trace,
) -> Result<(), StateError> {
    let Remembered { file, loaded } = history.as_ref().map_err(Clone::clone)?;
    let next = loaded.saved.after_run(learnt);
    let unchanged = loaded.raw.is_some() && loaded.note.is_none() && loaded.saved == next;
    let text = if unchanged {
        loaded.raw.clone().unwrap_or_default()
    } else {
        watchdog::set_step("writing the state file", "");
        file.save(&next, key, now)?
    };
    trace.note(2, format!("state file contents: {text}"));
    Ok(())
}

fn load_trust(choice: &TrustChoice) -> Result<Trust, tls::CaFileError> {
    match choice {
        TrustChoice::CaFile(path) => Trust::from_ca_file(path),
        TrustChoice::Insecure => Ok(Trust::Insecure),
        TrustChoice::System => Ok(Trust::System),
    }
}

fn with_trace(mut report: Report, trace: Trace) -> Report {
    report.details.extend(trace.into_lines());
    report
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A usage error knows no target; it still prints in the requested format.
fn usage_printer(format: Format, mode: &'static str, now: u64) -> Printer {
    Printer {
        format,
        timeout: cli::DEFAULT_TIMEOUT_SECS,
        mode,
        host: String::new(),
        port: 0,
        checked_at: now,
    }
}

/// Arm the backstop for `-t`. A step that talks to GKLM names its URL and
/// times out in `--unreachable-state`; a local step (a password file on a
/// hung mount, a FIFO, the state file) has none and is UNKNOWN: GKLM is not
/// to blame, and `--unreachable-state ok` must not hide it.
fn start_watchdog(printer: &Printer, config: &Config) -> Result<(), watchdog::StartError> {
    let (printer, unreachable, fields) = (
        printer.clone(),
        config.unreachable_state,
        config.mode.fields(),
    );
    let secs = config.timeout.as_secs_f64();
    let fires_after = config.timeout + watchdog::GRACE;
    watchdog::start(fires_after, move |step, url| {
        let (state, why) = if url.is_empty() {
            (
                State::Unknown,
                format!(
                    "{step} timed out after {secs}s; is a file blocked (a FIFO, a hung mount)?"
                ),
            )
        } else {
            (
                unreachable,
                format!(
                    "{step} timed out after {secs}s ({url}); GKLM is slow or unreachable, or raise -t"
                ),
            )
        };
        let report = Report::failure(state, why).with_fields(fields);
        watchdog::Outcome {
            // What the run really took, a little past -t.
            text: printer.render(&report, fires_after.as_secs_f64()),
            code: state.exit_code(),
        }
    })
}

fn print_and_exit(report: &Report, printer: &Printer, started: Instant) -> ! {
    if !watchdog::claim_output(report.state.exit_code()) {
        // The watchdog is printing the timeout result and will exit.
        park_forever();
    }
    let text = printer.render(report, started.elapsed().as_secs_f64());
    write_and_exit(&text, report.state)
}

/// Help and version: plain text, exit 3.
fn finish_text(text: &str) -> ! {
    write_and_exit(text.trim_end(), State::Unknown)
}

fn write_and_exit(text: &str, state: State) -> ! {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
    exit(state.exit_code())
}

fn park_forever() -> ! {
    loop {
        std::thread::park();
    }
}

/// A bug must still end as a plugin line with exit 3, never a backtrace.
/// The release build aborts after the hook, so the hook itself must end
/// the process (or leave it to the watchdog if that is already printing).
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        if !watchdog::claim_output(State::Unknown.exit_code()) {
            park_forever();
        }
        let detail = check_gklm_backup::render::printable(&info.to_string(), 500);
        write_and_exit(
            &format!("UNKNOWN - internal error: {detail}; please report this"),
            State::Unknown,
        )
    }));
}
