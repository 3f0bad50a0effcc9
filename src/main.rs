//! The runtime: reads the inputs once, arms the watchdog and the panic hook,
//! runs the check (`check::Check`) against GKLM over HTTPS, and maps every
//! outcome (panics and timeouts included) to one printed result and an exit
//! code. It holds no rule of the check. See lib.rs for the map of the parts.

use std::io::Write;
use std::process::exit;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use check_gklm_backup::check::{Check, failure};
use check_gklm_backup::cli::{self, Command};
use check_gklm_backup::gklm::api::Gklm;
use check_gklm_backup::gklm::tls::{self, Trust};
use check_gklm_backup::gklm::transport::Transport;
use check_gklm_backup::mode::{self, Mode};
use check_gklm_backup::output::render::{Format, Printer};
use check_gklm_backup::output::report::Report;
use check_gklm_backup::output::state::State;
use check_gklm_backup::output::trace::Trace;
use check_gklm_backup::settings::{self, Config, Environment, TrustChoice};
use check_gklm_backup::watchdog::{self, Moment};

fn main() {
    let started = Instant::now();
    // The one reading of the clock: every rule of this run uses it.
    let now = unix_now();
    install_panic_hook();
    let env = Environment::read();
    if env.self_test_panic {
        panic!("self-test panic requested by CHECK_GKLM_BACKUP_SELF_TEST_PANIC");
    }
    // The command line, too, is read under the watchdog: with -t's default
    // until -t is known.
    let early = usage_printer(Format::default(), mode::DEFAULT.name, now);
    if let Err(e) = start_early_watchdog(&early) {
        print_and_exit(
            &Report::failure(State::Unknown, e.to_string()),
            &early,
            started,
        );
    }
    let config = match cli::parse(std::env::args_os().skip(1).collect(), &env) {
        Ok(Command::Run(config)) => *config,
        Ok(Command::Help) => finish_text(cli::HELP),
        Ok(Command::Version) => finish_text(&cli::version()),
        Err(e) => {
            let asked = e.mode.and_then(mode::kind_of);
            let (name, fields) = asked.map_or(("none", &[][..]), |k| (k.name, k.fields));
            let report = Report::failure(State::Unknown, format!("{e}; see --help"));
            let printer = usage_printer(e.format, name, now);
            print_and_exit(&report.with_fields(fields), &printer, started)
        }
    };
    let printer = Printer {
        format: config.format,
        timeout: config.timeout.as_secs_f64(),
        mode: config.mode().name(),
        host: config.target.host.to_string(),
        port: config.target.port,
        checked_at: now,
    };
    // Before anything that can block: reading --cacert may, too.
    if let Err(e) = start_watchdog(&printer, &config, started) {
        print_and_exit(&failed(&config, State::Unknown, &e), &printer, started);
    }
    watchdog::set_step("reading the --cacert file", "");
    let trust = match load_trust(&config.trust) {
        Ok(trust) => trust,
        Err(e) => print_and_exit(&failed(&config, State::Unknown, &e), &printer, started),
    };
    // SAFETY: no thread has been started (the watchdog is a signal, not a
    // thread), and nothing else reads the environment meanwhile.
    unsafe { tls::skip_eager_bundle_load(&trust, &env.openssl) };
    let deadline = started + config.timeout;
    let trace = Trace::new(config.verbosity);
    trace.note(1, trust.describe());
    let transport = match config.picture {
        false => Transport::new(trust, deadline, &config.language),
        true => Transport::new(trust, deadline, &config.language).bounded(),
    };
    let target = &config.target;
    let gklm = Gklm::new(&transport, &target.host, target.port, &trace);
    let check = Check {
        config: &config,
        server: &gklm,
        trace: &trace,
        deadline,
        now,
    };
    let report = match config.picture {
        false => check.run(env.credentials),
        true => {
            let modes: Vec<&Mode> = config.modes.iter().collect();
            let picture = |parts: &[Report]| whole_picture(&config, parts.to_vec());
            whole_picture(&config, check.run_modes(env.credentials, &modes, &picture))
        }
    };
    print_and_exit(&with_trace(report, trace), &printer, started);
}

/// Several modes' reports as one.
fn whole_picture(config: &Config, parts: Vec<Report>) -> Report {
    let names = config.modes.iter().map(Mode::name);
    Report::picture(names.zip(parts).collect())
}

/// A run that failed before any mode could be asked: each mode's part
/// fails alike.
fn failed(config: &Config, state: State, e: &dyn std::error::Error) -> Report {
    let parts = config.modes.iter().map(|mode| failure(mode, state, e));
    match config.picture {
        false => failure(config.mode(), state, e),
        true => whole_picture(config, parts.collect()),
    }
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
        timeout: settings::DEFAULT_TIMEOUT.as_secs_f64(),
        mode,
        host: String::new(),
        port: 0,
        checked_at: now,
    }
}

/// Arm the backstop for `-t`. A step that talks to GKLM names its URL and
/// times out in `--unreachable-state`; a local step (a password file on a
/// hung mount, a FIFO, the state file) has none and is UNKNOWN: GKLM is not
/// to blame, and `--unreachable-state ok` must not hide it. Once the run has
/// settled its result, that result is what the alarm prints.
fn start_watchdog(
    printer: &Printer,
    config: &Config,
    started: Instant,
) -> Result<(), watchdog::StartError> {
    let (printer, unreachable) = (printer.clone(), config.unreachable_state);
    let modes: Vec<(&'static str, &'static [&'static str])> = config
        .modes
        .iter()
        .map(|m| (m.name(), m.fields()))
        .collect();
    let picture = config.picture;
    let timeout = config.timeout;
    let secs = timeout.as_secs_f64();
    let left = watchdog::fires_after(timeout, started.elapsed());
    watchdog::start(left, move |moment| {
        let why = match moment {
            Moment::Settled(result) => {
                return watchdog::Outcome {
                    text: printer.render(result, (timeout + watchdog::GRACE).as_secs_f64()),
                    code: result.state.exit_code(),
                };
            }
            Moment::Step(step, "") => Report::failure(
                State::Unknown,
                format!(
                    "{step} timed out after {secs}s; is a file blocked (a FIFO, a hung mount)?"
                ),
            ),
            Moment::Step(step, url) => Report::failure(
                unreachable,
                format!(
                    "{step} timed out after {secs}s ({url}); GKLM is slow or unreachable, or raise -t"
                ),
            ),
        };
        // Every mode's part fails alike.
        let report = match picture {
            false => why.with_fields(modes[0].1),
            true => Report::picture(
                modes
                    .iter()
                    .map(|(name, fields)| (*name, why.clone().with_fields(fields)))
                    .collect(),
            ),
        };
        watchdog::Outcome {
            // What the run really took, a little past -t.
            text: printer.render(&report, (timeout + watchdog::GRACE).as_secs_f64()),
            code: report.state.exit_code(),
        }
    })
}

/// The backstop while the command line is read: nothing is known yet but
/// that the time is -t's default.
fn start_early_watchdog(printer: &Printer) -> Result<(), watchdog::StartError> {
    let printer = printer.clone();
    let secs = printer.timeout;
    let fires_after = watchdog::fires_after(Duration::from_secs_f64(secs), Duration::ZERO);
    watchdog::start(fires_after, move |moment| {
        let report = match moment {
            Moment::Settled(result) => result.clone(),
            Moment::Step(step, _) => {
                Report::failure(State::Unknown, format!("{step} timed out after {secs}s"))
            }
        };
        watchdog::Outcome {
            text: printer.render(&report, fires_after.as_secs_f64()),
            code: report.state.exit_code(),
        }
    })?;
    watchdog::set_step("reading the command line", "");
    Ok(())
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
        let detail = check_gklm_backup::output::render::printable(&info.to_string(), 500);
        write_and_exit(
            &format!("UNKNOWN - internal error: {detail}; please report this"),
            State::Unknown,
        )
    }));
}
