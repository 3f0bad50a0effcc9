//! The check itself: the five steps of a run (credentials, history, GKLM's
//! answer, what the next run remembers, the judgement on both) and the
//! rules between them: which state errors stop a run, when the session is
//! cached or logged out, how a streak goes on, when the file is written.
//! It talks to GKLM through `gklm::api::Server` and keeps its history in
//! `history`; the process around it (arguments, watchdog, printing, exit)
//! is main's, so every rule here is tested without the binary.

use std::fmt::Display;
use std::time::{Duration, Instant};

use crate::gklm::credentials::{self, AuthSource, Credentials, FromEnvironment};
use crate::gklm::json::Body;
use crate::gklm::session::{self, Fetched, Plan, QueryError, Shared};
use crate::history::sighting::Observed;
use crate::history::{HistoryError, HistoryFile, Learnt, Loaded, Merged, Observation};
use crate::mode::threshold::human_duration;
use crate::mode::{History, Mode, Reading};
use crate::output::report::Report;
use crate::output::state::State;
use crate::output::trace::Trace;
use crate::settings::Config;
use crate::watchdog;

/// One run of the check: what it was asked, whom it asks, where its
/// notes go, and its clock.
pub struct Check<'a> {
    pub config: &'a Config,
    pub server: Shared<'a>,
    pub trace: &'a Trace,
    /// When `-t` runs out.
    pub deadline: Instant,
    /// The one reading of the clock: every rule of this run uses it.
    pub now: u64,
}

impl Check<'_> {
    /// A run of the mode the settings name.
    pub fn run(&self, env: FromEnvironment) -> Report {
        let one = |parts: &[Report]| parts[0].clone();
        let mut parts = self.run_modes(env, &[self.config.mode()], &one);
        parts.swap_remove(0)
    }

    /// The five steps of a run, for each of `modes` at once: one credential
    /// read, one reading of the history, the questions asked in one session
    /// side by side, one merge into the state file, and each mode judged as
    /// when it runs alone; `summary` makes the result the watchdog prints
    /// once GKLM has answered. The state file's lock is held only while
    /// merging and writing, never while GKLM is asked.
    pub fn run_modes(
        &self,
        env: FromEnvironment,
        modes: &[&Mode],
        summary: &dyn Fn(&[Report]) -> Report,
    ) -> Vec<Report> {
        let (config, trace, now) = (self.config, self.trace, self.now);
        let fail = |e: &dyn std::error::Error| -> Vec<Report> {
            modes
                .iter()
                .map(|m| failure(m, State::Unknown, e))
                .collect()
        };
        watchdog::set_step("reading the password or session id", "");
        let credentials = match credentials::load(&config.auth, env, trace) {
            Ok(c) => c,
            Err(e) => return fail(&e),
        };
        let key = config.target.key();
        let file = HistoryFile::locate(&config.state, &key);
        let before = match read_history(config, modes, &file, &key, now, trace) {
            Ok(before) => before,
            Err(e) => return fail(&e),
        };
        let fetched = ask(config, modes, self.server, &credentials, &before, trace);
        let answers: Vec<_> = modes
            .iter()
            .zip(&fetched.answers)
            .map(|(mode, answer)| read_answer(config, mode, answer))
            .collect();
        let started_with = before.as_ref().ok().and_then(|b| b.saved.session.clone());
        let learnt = Learnt {
            prefix: fetched.prefix.clone(),
            // A run that keeps no session leaves the file's as it found it:
            // other services of the target use it, and only whoever drops
            // a session may end it.
            session: match caches(config) {
                true => fetched.session.clone(),
                false => started_with.clone(),
            },
            started_with,
            observations: modes
                .iter()
                .zip(&answers)
                .filter_map(|(mode, answer)| observation(mode, answer.as_ref().ok()?))
                .collect(),
        };
        let judged = |kept: &Option<Result<Merged, HistoryError>>,
                      lost: Option<&dyn Display>,
                      trace: &Trace| {
            modes
                .iter()
                .zip(&answers)
                .map(|(mode, answer)| {
                    let history = history_for_judging(&before, kept, &learnt, now, mode);
                    if answer.is_ok() {
                        note_restart(&history, trace);
                        note_dropped(&history, trace);
                    }
                    let report = verdict(answer, history, now);
                    match lost {
                        Some(why) => history_lost(mode, report, why, trace),
                        None => report,
                    }
                })
                .collect::<Vec<_>>()
        };
        // Keeping the history may outlast -t (a slow disk, a hung mount):
        // GKLM's answers still decide, as with a file that cannot be kept.
        // Only a run that will lock or write the file needs it in advance.
        if before.as_ref().is_ok_and(|b| !learns_nothing(b, &learnt)) {
            let late = NotKeptInTime(config.timeout);
            watchdog::settle(&summary(&judged(&None, Some(&late), &Trace::new(0))));
        }
        // Never overwrite what could not be used.
        let merge_by = merge_deadline(config, self.deadline);
        let kept = before
            .as_ref()
            .ok()
            .map(|b| remember(&file, b, &learnt, &key, merge_by, now, trace));
        let lost = kept.as_ref().and_then(|k| k.as_ref().err());
        let parts = judged(&kept, lost.map(|e| e as &dyn Display), trace);
        // Logging out cannot change the result either.
        watchdog::settle(&summary(&parts));
        end_unkept_session(self.server, &fetched, &learnt, &kept, trace);
        parts
    }
}

/// The plugin result of GKLM's answer, judged with `history`; or the
/// failure that kept it from being judged.
fn verdict(answer: &Result<Reading<'_>, Box<Report>>, history: History, now: u64) -> Report {
    match answer {
        Ok(answer) => answer.judge(history, now),
        Err(failure) => (**failure).clone(),
    }
}

/// Why the history was not kept when the alarm ends the run keeping it.
struct NotKeptInTime(Duration);

impl Display for NotKeptInTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the state file was not kept within -t {}s",
            self.0.as_secs_f64()
        )
    }
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
    gklm: Shared,
    fetched: &Fetched,
    learnt: &Learnt,
    kept: &Option<Result<Merged, HistoryError>>,
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

/// The -v line for other services' counts dropped to keep the state small.
fn note_dropped(history: &History, trace: &Trace) {
    if let Ok(observed) = history
        && !observed.dropped.is_empty()
    {
        trace.note(
            1,
            format!(
                "history: dropped the count of {} (kept: the {} seen last); a service with that key counts from 1 again",
                observed.dropped.join(", "),
                crate::history::sighting::MAX_COUNTS
            ),
        );
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

/// A run that could not judge GKLM's answer, with the mode's fields.
pub fn failure(mode: &Mode, state: State, e: &dyn std::error::Error) -> Report {
    Report::failure(state, e.to_string()).with_fields(mode.fields())
}

/// GKLM's answer as the mode reads it, or the failure to report.
fn read_answer<'a>(
    config: &Config,
    mode: &'a Mode,
    answer: &Result<Body, QueryError>,
) -> Result<Reading<'a>, Box<Report>> {
    let answer = match answer {
        Ok(body) => mode
            .read(body)
            .map_err(|e| failure(mode, State::Unknown, &e)),
        Err(e) if e.is_unreachable() => Err(failure(mode, config.unreachable_state, e)),
        Err(e) => Err(failure(mode, State::Unknown, e)),
    };
    answer.map_err(Box::new)
}

/// What this service saw of the condition its mode counts, if it counts one.
fn observation(mode: &Mode, answer: &Reading<'_>) -> Option<Observation> {
    let seen = answer.seen()?;
    let service = mode.service_key()?;
    Some(Observation {
        mode: mode.name(),
        service,
        seen,
        max_gap: mode.max_gap(),
    })
}

/// The streak `mode` judges: as merged into the state file; if it could
/// not be kept, as it would have been from what was read (history_lost then
/// says why); without a usable file, why not.
fn history_for_judging(
    before: &Result<Loaded, HistoryError>,
    kept: &Option<Result<Merged, HistoryError>>,
    learnt: &Learnt,
    now: u64,
    mode: &Mode,
) -> History {
    let after = |before: &Loaded| before.saved.after_run(learnt, now);
    let observed = match (kept, before) {
        (Some(Ok(merged)), _) => merged.observed.get(mode.name()).cloned(),
        (_, Ok(before)) => after(before).observed.remove(mode.name()),
        (_, Err(e)) => return Err(e.to_string()),
    };
    observed.ok_or_else(String::new)
}

/// History that could not be kept: fatal when a threshold needs it (the
/// count must never freeze silently), else a note at -v.
fn history_lost(mode: &Mode, report: Report, e: &dyn Display, trace: &Trace) -> Report {
    if mode.needs_history() && report.error.is_none() {
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
    modes: &[&Mode],
    file: &HistoryFile,
    key: &str,
    now: u64,
    trace: &Trace,
) -> Result<Result<Loaded, HistoryError>, HistoryError> {
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
        Err(e @ HistoryError::Unsafe { .. }) => Err(e),
        // Another target's file: its session must not be sent to this host
        // nor its streak continued. Fatal when this run needs the file.
        Err(e @ HistoryError::Foreign { .. })
            if modes.iter().any(|m| m.needs_history()) || caches(config) =>
        {
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
    modes: &[&Mode],
    gklm: Shared,
    credentials: &Credentials,
    before: &Result<Loaded, HistoryError>,
    trace: &Trace,
) -> Fetched {
    let saved = before.as_ref().ok().map(|b| &b.saved);
    let cache_session = caches(config) && saved.is_some();
    let endpoints: Vec<_> = modes.iter().map(|m| m.endpoint()).collect();
    let plan = Plan {
        endpoints: &endpoints,
        prefix: &config.target.prefix,
        remembered_prefix: saved.and_then(|s| s.prefix.as_deref()),
        credentials,
        cache_session,
        cached_session: saved
            .and_then(|s| s.session.clone())
            .filter(|_| cache_session),
    };
    session::fetch(gklm, plan, trace)
}

/// Merge what this run learnt into the state file as it is now, under the
/// lock, writing only when something changed (an unchanged run costs no
/// fsync, and a run that learnt nothing new takes no lock). Err says why it
/// could not be kept.
fn remember(
    file: &HistoryFile,
    before: &Loaded,
    learnt: &Learnt,
    key: &str,
    deadline: Instant,
    now: u64,
    trace: &Trace,
) -> Result<Merged, HistoryError> {
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
    learnt.observations.is_empty()
        && before.raw.is_some()
        && before.note.is_none()
        && learnt.session == saved.session
        && learnt
            .prefix
            .as_ref()
            .is_none_or(|p| saved.prefix.as_ref() == Some(p))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;
    use std::sync::Mutex;

    use serde_json::{Value, json};

    use super::*;
    use crate::cli::{self, Command};
    use crate::gklm::api::{Endpoint, GklmError, Server, Step};
    use crate::gklm::json::Body;
    use crate::gklm::transport::TransportError;
    use crate::output::secret::Secret;
    use crate::settings::Environment;

    /// A GKLM that answers every question alike (but for the paths of
    /// `by_path`) and logs what it was asked.
    struct Canned {
        answer: Result<Value, GklmError>,
        by_path: Vec<(&'static str, Result<Value, GklmError>)>,
        log: Mutex<Vec<String>>,
    }

    impl Canned {
        fn answering(answer: Value) -> Canned {
            Canned {
                answer: Ok(answer),
                by_path: Vec::new(),
                log: Mutex::new(Vec::new()),
            }
        }

        fn refusing() -> Canned {
            let error = GklmError::Transport {
                step: Step::Ask("backup status request"),
                url: "https://gklm.example:9443/SKLM/rest/v1/ckms/backups/isrunning".into(),
                error: TransportError::Refused("connection refused".into()),
            };
            Canned {
                answer: Err(error),
                by_path: Vec::new(),
                log: Mutex::new(Vec::new()),
            }
        }

        fn asked(&self, what: &str) -> usize {
            self.log
                .lock()
                .unwrap()
                .iter()
                .filter(|l| l.starts_with(what))
                .count()
        }
    }

    impl Server for Canned {
        fn login(&self, prefix: &str, user: &str, _: &Secret) -> Result<Secret, GklmError> {
            let mut log = self.log.lock().unwrap();
            log.push(format!("login {prefix} {user}"));
            Ok(Secret::new(format!("canned-session-{}", log.len())))
        }

        fn ask(&self, prefix: &str, endpoint: &Endpoint, id: &Secret) -> Result<Body, GklmError> {
            let line = format!("ask {prefix}/{} {}", endpoint.path, id.expose());
            self.log.lock().unwrap().push(line);
            let answer = self
                .by_path
                .iter()
                .find(|(path, _)| *path == endpoint.path)
                .map_or(&self.answer, |(_, answer)| answer);
            // Read as GKLM's own answer is, lists taken out.
            let text = answer.clone()?.to_string();
            Ok(crate::gklm::json::parse(text.as_bytes(), endpoint.list).unwrap())
        }

        fn logout(&self, _: &str, id: &Secret) -> Result<(), GklmError> {
            self.log
                .lock()
                .unwrap()
                .push(format!("logout {}", id.expose()));
            Ok(())
        }
    }

    const RUNNING: &str = r#"{"code":"0","status":"CTGKM3290I Backup process is running."}"#;

    fn config(host: &str, state: &Path, extra: &[&str]) -> Config {
        let mut args = vec!["-H", host, "-u", "monitor", "--state-file"];
        args.push(state.to_str().unwrap());
        args.extend_from_slice(extra);
        match cli::parse(
            args.iter().map(Into::into).collect(),
            &Environment::default(),
        ) {
            Ok(Command::Run(config)) => *config,
            _ => panic!("not a run: {args:?}"),
        }
    }

    fn run(config: &Config, server: &Canned, now: u64) -> Report {
        let trace = Trace::new(2);
        let check = Check {
            config,
            server,
            trace: &trace,
            deadline: Instant::now() + Duration::from_secs(10),
            now,
        };
        check.run(FromEnvironment {
            password: Some("canned-password".into()),
            session_id: None,
        })
    }

    #[test]
    fn a_running_backup_is_counted_across_runs_with_one_cached_session() {
        let dir = tempfile::tempdir().unwrap();
        let config = config("gklm.example", &dir.path().join("s.json"), &["-w", "1"]);
        let gklm = Canned::answering(serde_json::from_str(RUNNING).unwrap());
        let first = run(&config, &gklm, 1_000);
        assert_eq!(
            (first.state, first.reason.as_deref()),
            (State::Ok, Some("(running for 1 check, 0s)"))
        );
        let second = run(&config, &gklm, 1_060);
        assert_eq!(second.state, State::Warning);
        assert_eq!(
            second.reason.as_deref(),
            Some("(running for 2 checks, 1m 0s, -w 1 crossed)")
        );
        assert_eq!(
            (gklm.asked("login"), gklm.asked("ask"), gklm.asked("logout")),
            (1, 2, 0)
        );
    }

    #[test]
    fn history_that_cannot_be_kept_is_unknown_only_for_a_threshold_and_its_session_ends() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("a-file");
        std::fs::write(&blocker, "x").unwrap();
        let state = blocker.join("s.json");
        let gklm = Canned::answering(serde_json::from_str(RUNNING).unwrap());
        let r = run(&config("gklm.example", &state, &["-w", "3"]), &gklm, 1_000);
        assert_eq!(r.state, State::Unknown, "{}", r.text());
        assert!(
            r.text().contains("the thresholds cannot be applied"),
            "{}",
            r.text()
        );
        let r = run(&config("gklm.example", &state, &[]), &gklm, 1_000);
        assert_eq!(r.state, State::Ok, "{}", r.text());
        // Each run's own session could not be kept: each was ended.
        assert_eq!((gklm.asked("login"), gklm.asked("logout")), (2, 2));
    }

    #[test]
    fn an_unreachable_gklm_takes_the_unreachable_state_and_keeps_the_streak() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let counting = config("gklm.example", &state, &["-c", "5"]);
        let running = Canned::answering(serde_json::from_str(RUNNING).unwrap());
        run(&counting, &running, 1_000);
        let kept = std::fs::read_to_string(&state).unwrap();
        let r = run(&counting, &Canned::refusing(), 1_060);
        assert_eq!(r.state, State::Critical, "{}", r.text());
        assert_eq!(std::fs::read_to_string(&state).unwrap(), kept, "left alone");
        let r = run(&counting, &running, 1_120);
        assert_eq!(r.reason.as_deref(), Some("(running for 2 checks, 2m 0s)"));
    }

    #[test]
    fn another_targets_file_stops_a_run_that_caches_before_anything_is_sent() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let gklm = Canned::answering(serde_json::from_str(RUNNING).unwrap());
        run(&config("gklm-a.example", &state, &[]), &gklm, 1_000);
        let other = Canned::answering(serde_json::from_str(RUNNING).unwrap());
        let r = run(&config("gklm-b.example", &state, &[]), &other, 1_060);
        assert_eq!(r.state, State::Unknown, "{}", r.text());
        assert!(
            r.text().contains("belongs to target 'gklm-a.example:9443"),
            "{}",
            r.text()
        );
        assert!(
            other.log.lock().unwrap().is_empty(),
            "sent: {:?}",
            other.log.lock().unwrap()
        );
    }

    #[test]
    fn a_run_that_keeps_no_session_leaves_the_cached_one_as_it_found_it() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let gklm = Canned::answering(serde_json::from_str(RUNNING).unwrap());
        let caching = config("gklm.example", &state, &[]);
        run(&caching, &gklm, 1_000);
        let cached = std::fs::read_to_string(&state).unwrap();
        assert!(cached.contains("canned-session-1"), "{cached}");
        let uncached = config("gklm.example", &state, &["--no-session-cache"]);
        assert_eq!(run(&uncached, &gklm, 1_060).state, State::Ok);
        let kept = std::fs::read_to_string(&state).unwrap();
        assert!(kept.contains("canned-session-1"), "{kept}");
        // It ended its own session only; the next caching run needs no login.
        assert_eq!(gklm.asked("logout canned-session-1"), 0);
        assert_eq!(gklm.asked("logout"), 1);
        run(&caching, &gklm, 1_120);
        assert_eq!(gklm.asked("login"), 2, "{:?}", gklm.log.lock().unwrap());
    }

    #[test]
    fn a_run_that_learns_nothing_new_leaves_the_file_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let config = config("gklm.example", &state, &["--mode", "result"]);
        let gklm = Canned::answering(
            json!({"code": "0", "status": "CTGKM1301I Backup operation succeeded."}),
        );
        assert_eq!(run(&config, &gklm, 1_000).state, State::Ok);
        let inode = std::fs::metadata(&state).unwrap().ino();
        assert_eq!(run(&config, &gklm, 1_060).state, State::Ok);
        assert_eq!(std::fs::metadata(&state).unwrap().ino(), inode, "rewritten");
    }

    // ------------------------------------------------------ several modes

    /// What each mode answers, and a run of all five modes at once.
    fn every_answer(now: u64) -> Canned {
        let answer = |text: &str| Ok(serde_json::from_str::<Value>(text).unwrap());
        let backups = json!([{"timestamp": (now - 3600) * 1000, "status": "Success"}]);
        Canned {
            answer: answer(RUNNING),
            by_path: vec![
                ("backups/isrunning", answer(RUNNING)),
                (
                    "backups/need",
                    answer(r#"{"code":"0","status":"CTGKM1305I A backup is needed."}"#),
                ),
                (
                    "backups/result",
                    answer(r#"{"code":"0","status":"CTGKM1301I Backup operation succeeded."}"#),
                ),
                ("backups", Ok(backups)),
                (
                    "restore/isrunning",
                    answer(r#"{"code":"0","status":"IDLE"}"#),
                ),
            ],
            log: Mutex::new(Vec::new()),
        }
    }

    const EVERY_MODE: [&[&str]; 5] = [
        &["--mode", "running", "-w", "1"],
        &["--mode", "needed", "--warning-time", "1h"],
        &["--mode", "result"],
        &["--mode", "age", "--critical-time", "2d"],
        &["--mode", "restore", "-c", "3"],
    ];

    fn run_all(configs: &[Config], server: &Canned, now: u64) -> Vec<Report> {
        let trace = Trace::new(2);
        let check = Check {
            config: &configs[0],
            server,
            trace: &trace,
            deadline: Instant::now() + Duration::from_secs(10),
            now,
        };
        let modes: Vec<&Mode> = configs.iter().map(|c| c.mode()).collect();
        let worst = |parts: &[Report]| parts[0].clone();
        check.run_modes(
            FromEnvironment {
                password: Some("canned-password".into()),
                session_id: None,
            },
            &modes,
            &worst,
        )
    }

    fn the_reports(r: &[Report]) -> Vec<(State, String, Option<String>)> {
        r.iter()
            .map(|r| (r.state, r.summary.clone(), r.reason.clone()))
            .collect()
    }

    #[test]
    fn several_modes_in_one_run_judge_as_each_alone_with_one_login_and_one_write() {
        let (alone, together) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let configs = |dir: &Path| -> Vec<Config> {
            EVERY_MODE
                .iter()
                .map(|m| config("gklm.example", &dir.join("s.json"), m))
                .collect()
        };
        let (single, combined) = (configs(alone.path()), configs(together.path()));
        let now = 1_800_000_000;
        for round in 0..3 {
            let at = now + round * 60;
            let gklm = every_answer(at);
            let each: Vec<Report> = single.iter().map(|c| run(c, &gklm, at)).collect();
            let gklm = every_answer(at);
            let all = run_all(&combined, &gklm, at);
            assert_eq!(the_reports(&all), the_reports(&each), "round {round}");
            let log = gklm.log.lock().unwrap().clone();
            let logins = log.iter().filter(|l| l.starts_with("login")).count();
            assert_eq!(logins, usize::from(round == 0), "{log:?}");
            assert_eq!(
                log.iter().filter(|l| l.starts_with("ask")).count(),
                5,
                "{log:?}"
            );
            // The streaks as when each mode runs alone: the same file.
            let file = |dir: &Path| {
                let text = std::fs::read_to_string(dir.join("s.json")).unwrap();
                let mut v: Value = serde_json::from_str(&text).unwrap();
                v["session"] = Value::Null;
                v
            };
            assert_eq!(file(together.path()), file(alone.path()), "round {round}");
        }
        let all = run_all(&combined, &every_answer(now + 180), now + 180);
        assert_eq!(all[0].state, State::Warning, "{:?}", all[0]);
        assert_eq!(
            (all[1].state, all[1].reason.as_deref()),
            (State::Ok, Some("(needed for 4 checks, 3m 0s)"))
        );
    }

    #[test]
    fn a_question_that_fails_costs_only_its_own_mode() {
        let dir = tempfile::tempdir().unwrap();
        let configs: Vec<Config> = EVERY_MODE
            .iter()
            .map(|m| config("gklm.example", &dir.path().join("s.json"), m))
            .collect();
        let now = 1_800_000_000;
        let failing = [
            GklmError::Transport {
                step: Step::Ask("backup result request"),
                url: "https://gklm.example:9443/SKLM/rest/v1/ckms/backups/result".into(),
                error: TransportError::Refused("connection refused".into()),
            },
            GklmError::NotFound {
                step: Step::Ask("backup result request"),
                url: "https://gklm.example:9443/SKLM/rest/v1/ckms/backups/result".into(),
                status: 404,
            },
        ];
        for error in failing {
            let mut gklm = every_answer(now);
            gklm.by_path.retain(|(path, _)| *path != "backups/result");
            gklm.by_path.push(("backups/result", Err(error.clone())));
            let all = run_all(&configs, &gklm, now);
            let alone = run(&configs[2], &gklm, now);
            assert_eq!(the_reports(&all[2..3]), the_reports(&[alone]), "{error:?}");
            assert_ne!(all[2].state, State::Ok, "{error:?}");
            for (i, part) in all.iter().enumerate().filter(|(i, _)| *i != 2) {
                assert!(part.error.is_none(), "part {i}: {part:?}");
            }
        }
    }
}
