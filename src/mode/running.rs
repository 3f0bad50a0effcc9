//! `--mode running` (the default): is a backup running, and for how long?
//! `GET .../ckms/backups/isrunning`, decided on `code` ("0" running, "1" not),
//! checked against the message id in `status`.

use serde_json::Value;

use crate::gklm::api::Endpoint;
use crate::mode::kind::{Kind, ModeOptions, Question};
use crate::mode::reader::{self, Code, Every, Vocabulary};
use crate::mode::streak::{self, Condition, Watch};
use crate::output::report::Report;
use crate::output::state::State;

pub const KIND: Kind = Kind {
    name: "running",
    fields: &["running", "running_checks", "running_seconds"],
    options: streak::OPTIONS,
    vocabulary: &VOCABULARY,
    build,
};

static WATCH: Watch = Watch {
    kind: &KIND,
    endpoint,
    read: condition,
    verb: "running",
    flag: (
        "running",
        "Whether GKLM reports a backup running (1) or not (0).",
    ),
    checks: (
        "running_checks",
        "Consecutive checks that saw the backup running.",
    ),
    seconds: (
        "running_seconds",
        "Seconds since the first check that saw the backup running.",
    ),
    // A backup may run; only the thresholds make a long one an alert.
    untouched: State::Ok,
};

fn build(options: &ModeOptions) -> Result<Box<dyn Question>, String> {
    streak::build(&WATCH, options)
}

const RUNNING_ID: &str = "CTGKM3290I";
const NOT_RUNNING_ID: &str = "CTGKM3291I";

/// `code` "0" running, "1" not, as documented; the ids say the same.
static VOCABULARY: Vocabulary = Vocabulary {
    question: "whether a backup is running",
    ids: &[(RUNNING_ID, RUNNING), (NOT_RUNNING_ID, NOT_RUNNING)],
    code: Code::Decides(&[RUNNING, NOT_RUNNING]),
    failures: &[],
    words: None,
    default: None,
    data: &[],
    expected: "\"0\" (running) or \"1\" (not running)",
    means: |answer| {
        if answer == RUNNING {
            "running"
        } else {
            "not running"
        }
        .into()
    },
};
const RUNNING: i64 = 0;
const NOT_RUNNING: i64 = 1;

/// What GKLM says about a running backup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub running: bool,
    /// GKLM's `status` text, unfiltered (the printer filters it).
    pub message: String,
    pub message_id: Option<String>,
}

fn endpoint() -> Endpoint {
    // Every GKLM with a REST API has this one: a 404 means someone else.
    Endpoint::get("backups/isrunning", "backup status request").when_missing(
        "is something other than GKLM (a proxy, another application) answering below this prefix?",
    )
}

/// Read a 200 answer, as the reader decides it.
pub fn read(body: &Value, every: Every) -> Result<Status, String> {
    let decided = reader::decide(body, &VOCABULARY, every)?;
    let running = decided.answer == RUNNING;
    let message = decided.text.unwrap_or_else(|| {
        let verb = if running { "running" } else { "not running" };
        format!("Backup process is {verb} (GKLM sent no status text).")
    });
    Ok(Status {
        running,
        message,
        message_id: decided.message_id,
    })
}

fn condition(body: &Value, every: Every) -> Result<Condition, String> {
    let status = read(body, every)?;
    Ok(Condition {
        seen: status.running,
        report: report_of(&status),
    })
}

/// GKLM's text and the `running` flag; the streak adds the rest.
fn report_of(status: &Status) -> Report {
    WATCH.report(status.running, &status.message, status.message_id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &Value) -> Result<Status, String> {
        super::read(body, &crate::mode::every_vocabulary())
    }
    use crate::mode::History;
    use crate::mode::streak::seen_for as streak;
    use crate::mode::threshold::Thresholds;

    /// The mode with these thresholds, judging a status as main would.
    #[derive(Default)]
    struct Running {
        thresholds: Thresholds,
    }

    impl Running {
        fn judge(&self, status: &Status, history: History, now: u64) -> Report {
            let report = report_of(status);
            streak::judge(
                &WATCH,
                &self.thresholds,
                report,
                status.running,
                history,
                now,
            )
        }
    }

    fn parse(body: &[u8]) -> Result<Status, String> {
        read(&serde_json::from_slice(body).map_err(|e| e.to_string())?)
    }

    fn status(running: bool) -> Status {
        let body = if running {
            r#"{"code":"0","status":"CTGKM3290I Backup process is running."}"#
        } else {
            r#"{"code":"1","status":"CTGKM3291I Backup process is not running."}"#
        };
        parse(body.as_bytes()).unwrap()
    }

    fn with(w: &str, c: &str) -> Running {
        Running {
            thresholds: Thresholds::both(w, c),
        }
    }

    #[test]
    fn status_code_as_string_or_number() {
        let s = status(true);
        assert!(s.running);
        assert_eq!(s.message_id.as_deref(), Some("CTGKM3290I"));
        let s = parse(
            br#"{"code":1,"status":"CTGKM3291I Backup process is not running.","extra":[1]}"#,
        )
        .unwrap();
        assert!(!s.running);
        assert_eq!(s.message, "CTGKM3291I Backup process is not running.");
    }

    #[test]
    fn status_rejects_unknown_codes_and_shapes() {
        for body in [
            &br#"{"code":"7"}"#[..],
            br#"{"code":null}"#,
            br#"{"status":"x"}"#,
            b"[]",
            b"null",
            b"\"0\"",
            b"{\"code\":true}",
            b"{\"code\":0.5}",
        ] {
            assert!(parse(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn a_code_contradicting_the_message_id_is_refused() {
        let err =
            parse(br#"{"code":"1","status":"CTGKM3290I Backup process is running."}"#).unwrap_err();
        assert!(
            err.contains("contradicts") && err.contains("CTGKM3290I"),
            "{err}"
        );
        assert!(parse(br#"{"code":0,"status":"CTGKM3291I not running"}"#).is_err());
        assert!(parse(br#"{"code":"0","status":"CTGKM9999I other"}"#).is_ok());
    }

    #[test]
    fn an_error_id_or_two_answers_in_the_status_are_refused() {
        for body in [
            &br#"{"code":"1","status":"CTGKM0001E Backup status unavailable."}"#[..],
            br#"{"code":0,"message":"CTGKM3290I running, CTGKM0815E disk"}"#,
            br#"{"code":"1","status":"CTGKM3291I not running CTGKM3290I running"}"#,
            br#"{"code":"CTGKM0001E","status":"CTGKM3291I Backup process is not running."}"#,
            br#"{"code":"7","status":"CTGKM3291I Backup process is not running."}"#,
        ] {
            let err = parse(body).unwrap_err();
            assert!(err.contains("'code' is") || err.contains("both"), "{err}");
            assert!(err.contains("CTGKM"), "quotes the status: {err}");
        }
    }

    #[test]
    fn missing_status_text_is_synthesised() {
        let s = parse(br#"{"code":"0"}"#).unwrap();
        assert!(s.running);
        assert!(s.message.contains("no status text"));
        assert_eq!(s.message_id, None);
    }

    #[test]
    fn the_summary_says_how_long_and_what_was_crossed() {
        let r = with("3", "10").judge(&status(true), streak(4, 0), 1083);
        assert_eq!(r.state, State::Warning);
        assert_eq!(
            r.text(),
            "CTGKM3290I Backup process is running. (running for 4 checks, 18m 3s, -w 3 crossed)"
        );
    }

    #[test]
    fn not_running_is_ok_whatever_the_thresholds() {
        let r = with("@0:10", "@0:10").judge(&status(false), Err("x".into()), 0);
        assert_eq!(r.state, State::Ok);
        assert_eq!(r.summary, "CTGKM3291I Backup process is not running.");
    }

    #[test]
    fn missing_history_is_unknown_only_when_a_threshold_needs_it() {
        let r = with("2", "4").judge(&status(true), Err("state file unreadable".into()), 0);
        assert_eq!(r.state, State::Unknown);
        assert!(r.text().contains("state file unreadable"));
        let r = Running::default().judge(&status(true), Err("unreadable".into()), 0);
        assert_eq!(r.state, State::Ok);
        assert_eq!(r.metrics.len(), 1, "only `running` is known");
    }
}
