//! The runtime: reads the inputs once, runs the five steps of a check, and
//! maps every outcome (panics and timeouts included) to one printed result
//! and an exit code. See lib.rs for the map of the parts.

use std::ffi::OsString;
use std::io::Write;
use std::process::exit;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use check_gklm_backup::cli::{self, Command, Config, Environment, TrustChoice};
use check_gklm_backup::credentials::{self, AuthSource, Credentials, FromEnvironment};
use check_gklm_backup::evaluate::Observed;
use check_gklm_backup::gklm::Gklm;
use check_gklm_backup::mode;
use check_gklm_backup::mode::{History, Reading};
use check_gklm_backup::query::{self, Fetched, Plan};
use check_gklm_backup::render::{Format, Printer};
use check_gklm_backup::report::{Report, State};
use check_gklm_backup::state::{Learnt, Loaded, Merged, Observation, StateError, StateFile};
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
            let asked = mode::kind_of(&cli::requested_mode(&args));
            let (name, fields) = asked.map_or(("none", &[][..]), |k| (k.name, k.fields));
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

/// The five steps of a run: credentials, history, GKLM's answer, what the
/// next run remembers, and the judgement on both. The state file's lock is
/// held only while merging and writing, never while GKLM is asked.
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
    let file = StateFile::locate(&config.state, &key);
    let before = match read_history(config, &file, &key, now, &trace) {
        Ok(before) => before,
        Err(e) => return with_trace(fail(&e), trace),
    };
    let transport = Transport::new(trust, deadline, &config.language);
    let target = &config.target;
    let gklm = Gklm::new(&transport, &target.host, target.port, &trace);
    let fetched = ask(config, &gklm, &credentials, &before, &trace);
    let answer = read_answer(config, &fetched);
    let learnt = Learnt {
        prefix: fetched.prefix.clone(),
        session: fetched.session.clone(),
        started_with: before.as_ref().ok().and_then(|b| b.saved.session.clone()),
        observation: answer.as_ref().ok().and_then(|a| observation(config, a)),
    };
    // Never overwrite what could not be used.
    let merge_by = merge_deadline(config, deadline);
    let kept = before
        .as_ref()
        .ok()
        .map(|b| remember(&file, b, &learnt, &key, merge_by, now, &trace));
    end_unkept_session(&gklm, &fetched, &learnt, &kept, &trace);
    let report = match answer {
        Ok(answer) => {
            let history = history_for_judging(&before, &kept, &learnt, now);
            note_restart(&history, &trace);
            answer.judge(history, now)
        }
        Err(report) => *report,
    };
    let report = match kept {
        Some(Err(e)) => history_lost(config, report, &e, &trace),
        _ => report,
    };
    with_trace(report, trace)
}

/// When the merge stops waiting for the lock: a lock another run holds too
/// long must still leave time to log out and to print.
fn merge_deadline(config: &Config, deadline: Instant) -> Instant {
    let margin = (config.timeout / 4).min(Duration::from_secs(1));
    deadline.checked_sub(margin).unwrap_or(deadline)
}

/// Log out a session this run made that the state file does not keep:
/// another run's stored meanwhile, or the file could not be written.
fn end_unkept_session(
    gklm: &Gklm<'_>,
    fetched: &Fetched,
    learnt: &Learnt,
    kept: &Option<Result<Merged, StateError>>,
    trace: &Trace,
) {
    let unkept = match kept {
        Some(Ok(merged)) => merged.orphaned.clone(),
        // The file keeps the session it had: end only this run's own.
        _ => learnt
            .session
            .clone()
            .filter(|s| learnt.started_with.as_ref() != Some(s)),
    };
    if let (Some(id), Some(prefix)) = (&unkept, &fetched.prefix) {
        trace.note(1, "session: not kept in the state file, logging it out");
        if let Err(e) = gklm.logout(prefix, id) {
            trace.note(1, format!("logout failed (ignored): {e}"));
        }
    }
}

/// The -v line for a streak that restarted (the first line says so too).
fn note_restart(history: &History, trace: &Trace) {
    if let Ok(Observed {
        restarted_after: Some(restart),
        ..
    }) = history
    {
        trace.note(
            1,
            format!(
                "history: the last observation was {} ago, more than --max-gap {}; counting starts again",
                human_duration(restart.gap),
                human_duration(restart.max_gap)
            ),
        );
    }
}

fn failure(config: &Config, state: State, e: &dyn std::error::Error) -> Report {
    Report::failure(state, e.to_string()).with_fields(config.mode.fields())
}

/// GKLM's answer as the mode reads it, or the failure to report.
fn read_answer<'a>(config: &'a Config, fetched: &Fetched) -> Result<Reading<'a>, Box<Report>> {
    let answer = match &fetched.answer {
        Ok(body) => config
            .mode
            .read(body)
            .map_err(|e| failure(config, State::Unknown, &e)),
        Err(e) if e.is_unreachable() => Err(failure(config, config.unreachable_state, e)),
        Err(e) => Err(failure(config, State::Unknown, e)),
    };
    answer.map_err(Box::new)
}

/// What this service saw of the condition its mode counts, if it counts one.
fn observation(config: &Config, answer: &Reading<'_>) -> Option<Observation> {
    let seen = answer.seen()?;
    let service = config.mode.service_key()?;
    Some(Observation {
        mode: config.mode.name(),
        service,
        seen,
        max_gap: config.mode.max_gap(),
    })
}

/// The streak the mode judges: as merged into the state file; if it could
/// not be kept, as it would have been from what was read (history_lost then
/// says why); without a usable file, why not.
fn history_for_judging(
    before: &Result<Loaded, StateError>,
    kept: &Option<Result<Merged, StateError>>,
    learnt: &Learnt,
    now: u64,
) -> History {
    let merged = match (kept, before) {
        (Some(Ok(merged)), _) => merged.clone(),
        (_, Ok(before)) => before.saved.after_run(learnt, now),
        (_, Err(e)) => return Err(e.to_string()),
    };
    merged.observed.ok_or_else(String::new)
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

/// Read the history, without the lock. Err(why) stops the run (UNKNOWN);
/// Ok(Err(why)) runs without history, and never overwrites what could not
/// be used.
fn read_history(
    config: &Config,
    file: &StateFile,
    key: &str,
    now: u64,
    trace: &Trace,
) -> Result<Result<Loaded, StateError>, StateError> {
    watchdog::set_step("reading the state file", "");
    trace.note(2, format!("state file: {}", file.path().display()));
    match file.read(now, key) {
        Ok(loaded) => {
            if let Some(note) = &loaded.note {
                trace.note(1, format!("state: {note}"));
            }
            Ok(Ok(loaded))
        }
        // A file that looks planted: stop here rather than run next to an
        // attack.
        Err(e @ StateError::Unsafe { .. }) => Err(e),
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
    before: &Result<Loaded, StateError>,
    trace: &Trace,
) -> Fetched {
    let saved = before.as_ref().ok().map(|b| &b.saved);
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

/// Merge what this run learnt into the state file as it is now, under the
/// lock, writing only when something changed (an unchanged run costs no
/// fsync, and a run that learnt nothing new takes no lock). Err says why it
/// could not be kept.
fn remember(
    file: &StateFile,
    before: &Loaded,
    learnt: &Learnt,
    key: &str,
    deadline: Instant,
    now: u64,
    trace: &Trace,
) -> Result<Merged, StateError> {
    if learns_nothing(before, learnt) {
        trace.note(
            2,
            format!(
                "state file contents: {}",
                before.raw.clone().unwrap_or_default()
            ),
        );
        return Ok(before.saved.after_run(learnt, now));
    }
    watchdog::set_step("waiting for the state file lock", "");
    let locked = file.lock(deadline)?;
    let current = locked.load(now, key)?;
    if let Some(note) = &current.note {
        trace.note(1, format!("state: {note}"));
    }
    let merged = current.saved.after_run(learnt, now);
    let unchanged =
        current.raw.is_some() && current.note.is_none() && current.saved == merged.saved;
    let text = if unchanged {
        current.raw.unwrap_or_default()
    } else {
        watchdog::set_step("writing the state file", "");
        locked.save(&merged.saved, key, now)?
    };
    trace.note(2, format!("state file contents: {text}"));
    Ok(merged)
}

/// A run with no streak to count whose prefix and session are what the
/// file held: it has nothing to add, whatever other runs wrote meanwhile.
fn learns_nothing(before: &Loaded, learnt: &Learnt) -> bool {
    let saved = &before.saved;
    learnt.observation.is_none()
        && before.raw.is_some()
        && before.note.is_none()
        && learnt.session == saved.session
        && learnt
            .prefix
            .as_ref()
            .is_none_or(|p| saved.prefix.as_ref() == Some(p))
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
        timeout: cli::default_timeout(),
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
