//! Wires the parts together and maps every outcome to one printed result and
//! an exit code. See lib.rs for the map of the parts.

use std::io::Write;
use std::process::exit;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use check_gklm_backup::cli::{self, AuthSource, Command, Options};
use check_gklm_backup::credentials;
use check_gklm_backup::evaluate::evaluate;
use check_gklm_backup::gklm::Gklm;
use check_gklm_backup::query::{self, Plan, QueryError};
use check_gklm_backup::report::{self, Format, PerfLimits, Report, State};
use check_gklm_backup::state::{Loaded, Location, Saved, StateError, StateFile};
use check_gklm_backup::tls::{self, Trust};
use check_gklm_backup::trace::Trace;
use check_gklm_backup::transport::Transport;
use check_gklm_backup::watchdog;

fn main() {
    let started = Instant::now();
    install_panic_hook();
    if std::env::var_os("CHECK_GKLM_BACKUP_SELF_TEST_PANIC").is_some() {
        // Lets the test suite prove the panic hook on the real binary.
        panic!("self-test panic requested by CHECK_GKLM_BACKUP_SELF_TEST_PANIC");
    }
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let options = match cli::parse(args.clone()) {
        Ok(Command::Run(options)) => *options,
        Ok(Command::Help) => finish_text(cli::HELP),
        Ok(Command::Version) => finish_text(&cli::version()),
        // Zabbix stores whatever is printed: keep even this one JSON.
        Err(e) if cli::asks_for_json(&args) => {
            let report = Report::failure(State::Unknown, format!("{e}; see --help"));
            emit(&report, Format::Json, &PerfLimits::default(), started)
        }
        Err(e) => finish_text(&format!("UNKNOWN - {e}; see --help")),
    };
    let trust = match load_trust(&options) {
        Ok(trust) => trust,
        Err(e) => print_and_exit(
            &Report::failure(State::Unknown, e.to_string()),
            &options,
            started,
        ),
    };
    // SAFETY: no thread has been started yet (the watchdog is a signal,
    // not a thread), and nothing else reads the environment meanwhile.
    unsafe { tls::skip_eager_bundle_load(&trust) };
    let deadline = started + options.timeout;
    if let Err(e) = start_watchdog(&options) {
        let report = Report::failure(State::Unknown, e.to_string());
        print_and_exit(&report, &options, started);
    }
    let report = run(&options, trust, deadline);
    print_and_exit(&report, &options, started);
}

fn load_trust(options: &Options) -> Result<Trust, tls::CaFileError> {
    match (&options.cacert, options.insecure) {
        (Some(path), _) => Trust::from_ca_file(path),
        (None, true) => Ok(Trust::Insecure),
        (None, false) => Ok(Trust::System),
    }
}

fn run(options: &Options, trust: Trust, deadline: Instant) -> Report {
    let trace = Trace::new(options.verbosity);
    let credentials = match credentials::load(&options.auth, &trace) {
        Ok(c) => c,
        Err(e) => return with_trace(Report::failure(State::Unknown, e), trace),
    };
    trace.note(1, trust.describe());
    let target = options.target_key();
    let (state, loaded) = match open_state(options, &target, deadline, &trace) {
        Ok((file, loaded)) => (Some(file), Ok(loaded)),
        // A lock held too long, or a file that looks planted: stop here
        // rather than run without the history or next to an attack.
        Err(e @ (StateError::LockTimeout { .. } | StateError::Unsafe { .. })) => {
            return with_trace(Report::failure(State::Unknown, e.to_string()), trace);
        }
        // Unreadable: run without history, and never overwrite what we
        // could not read.
        Err(e) => {
            trace.note(1, format!("state: {e}"));
            (None, Err(e.to_string()))
        }
    };
    let saved = loaded.as_ref().map(|l| l.saved.clone()).unwrap_or_default();

    let transport = Transport::new(trust, deadline, &options.language);
    let gklm = Gklm::new(&transport, &options.host, options.port, &trace);
    let cache_session = options.session_cache
        && matches!(options.auth, AuthSource::Login { .. })
        && state.is_some();
    let plan = Plan {
        prefix: &options.prefix,
        remembered_prefix: saved.prefix.as_deref(),
        credentials: &credentials,
        cache_session,
        cached_session: saved.session.clone().filter(|_| cache_session),
    };
    let fetched = query::fetch(&gklm, plan, &trace);
    let now = unix_now();

    let mut next = Saved {
        prefix: fetched.prefix.clone().or(saved.prefix.clone()),
        session: fetched.session.clone(),
        ..saved.clone()
    };
    let report = match &fetched.status {
        Ok(status) => {
            next.history = saved.history.observe(status.running, now);
            let history = match &loaded {
                Ok(_) => Ok(next.history),
                Err(why) => Err(why.clone()),
            };
            evaluate(status, history, now, &options.thresholds)
        }
        Err(e) => failure_report(e, options),
    };
    if let (Some(file), Ok(loaded)) = (&state, &loaded) {
        save(file, loaded, &next, &target, now, &trace);
    }
    drop(state);
    with_trace(report, trace)
}

fn open_state(
    options: &Options,
    target: &str,
    deadline: Instant,
    trace: &Trace,
) -> Result<(StateFile, Loaded), StateError> {
    let location = options
        .state_file
        .clone()
        .map_or_else(Location::from_env, Location::File);
    watchdog::set_step("waiting for the state file lock", "");
    let file = StateFile::open(&location, target, deadline)?;
    trace.note(2, format!("state file: {}", file.path().display()));
    let loaded = file.load(unix_now())?;
    if let Some(note) = &loaded.note {
        trace.note(1, format!("state: {note}"));
    }
    Ok((file, loaded))
}

/// Write only when something changed, so an unchanged run costs no fsync.
fn save(file: &StateFile, loaded: &Loaded, next: &Saved, target: &str, now: u64, trace: &Trace) {
    let unchanged = loaded.raw.is_some() && loaded.note.is_none() && loaded.saved == *next;
    let text = if unchanged {
        loaded.raw.clone()
    } else {
        watchdog::set_step("writing the state file", &file.path().display().to_string());
        file.save(next, target, now)
            .map_err(|e| trace.note(1, format!("state: {e}")))
            .ok()
    };
    if let Some(text) = text {
        trace.note(
            2,
            format!(
                "state file contents: {}",
                text.split_whitespace().collect::<Vec<_>>().join(" ")
            ),
        );
    }
}

fn failure_report(error: &QueryError, options: &Options) -> Report {
    let unreachable = matches!(error, QueryError::Gklm(e) if e.is_unreachable());
    let state = if unreachable {
        options.unreachable_state
    } else {
        State::Unknown
    };
    Report::failure(state, error.to_string())
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

fn start_watchdog(options: &Options) -> Result<(), watchdog::StartError> {
    let (limits, format, state) = (
        options.perf_limits(),
        options.format,
        options.unreachable_state,
    );
    let secs = options.timeout.as_secs_f64();
    let fires_after = options.timeout + watchdog::GRACE;
    watchdog::start(fires_after, move |step, url| {
        let at = if url.is_empty() {
            String::new()
        } else {
            format!(" ({url})")
        };
        let why =
            format!("{step} timed out after {secs}s{at}; GKLM is slow or unreachable, or raise -t");
        let report = Report::failure(state, why);
        let text = report::render(&report, format, &limits, fires_after.as_secs_f64());
        watchdog::Outcome {
            text,
            code: state.exit_code(),
        }
    })
}

fn print_and_exit(report: &Report, options: &Options, started: Instant) -> ! {
    if !watchdog::claim_output(report.state.exit_code()) {
        // The watchdog is printing the timeout result and will exit.
        loop {
            std::thread::park();
        }
    }
    emit(report, options.format, &options.perf_limits(), started)
}

fn emit(report: &Report, format: Format, limits: &PerfLimits, started: Instant) -> ! {
    let text = report::render(report, format, limits, started.elapsed().as_secs_f64());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
    exit(report.state.exit_code())
}

/// Help, version and usage errors: plain text, exit 3.
fn finish_text(text: &str) -> ! {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", text.trim_end());
    let _ = out.flush();
    exit(State::Unknown.exit_code())
}

/// A bug must still end as a plugin line with exit 3, never a backtrace.
/// The release build aborts after the hook, so the hook itself must end
/// the process (or leave it to the watchdog if that is already printing).
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        if !watchdog::claim_output(State::Unknown.exit_code()) {
            loop {
                std::thread::park();
            }
        }
        let detail = report::clean(&check_gklm_backup::secret::redact(&info.to_string()));
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "UNKNOWN - internal error: {detail}; please report this"
        );
        let _ = out.flush();
        exit(State::Unknown.exit_code());
    }));
}
