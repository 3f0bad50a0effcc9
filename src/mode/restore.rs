//! `--mode restore`: is a restore running, and in which phase? `GET
//! .../ckms/restore/isrunning`, whose `code` and `status` name a restore
//! phase, `0 IDLE` to `7 COMPLETED`.
//!
//! Why it matters: a restore replaces GKLM's keystores and database, and
//! key serving is disrupted meanwhile. A phase in between is WARNING by
//! default; it keeps a streak like `running`, so the thresholds can make a
//! restore that hangs CRITICAL.

use serde_json::{Value, json};

use crate::gklm::api::{Endpoint, find_message_id};
use crate::mode::kind::{Kind, ModeOptions, Question};
use crate::mode::reader::{self, Code, Every, Vocabulary, Words};
use crate::mode::streak::{self, Condition, Watch};
use crate::output::report::{Metric, Report};
use crate::output::state::State;

pub const KIND: Kind = Kind {
    name: "restore",
    fields: &[
        "restore",
        "restore_phase",
        "restore_checks",
        "restore_seconds",
    ],
    options: streak::OPTIONS,
    vocabulary: &VOCABULARY,
    build,
};

static WATCH: Watch = Watch {
    kind: &KIND,
    endpoint,
    read: condition,
    verb: "restoring",
    flag: (
        "restore",
        "Whether GKLM reports a restore in progress (1) or not (0).",
    ),
    checks: (
        "restore_checks",
        "Consecutive checks that saw a restore in progress.",
    ),
    seconds: (
        "restore_seconds",
        "Seconds since the first check that saw a restore in progress.",
    ),
    // Key serving is disrupted while GKLM's keystores and database are
    // replaced: worth a warning at once.
    untouched: State::Warning,
};

fn build(options: &ModeOptions) -> Result<Box<dyn Question>, String> {
    streak::build(&WATCH, options)
}

/// The phases IBM documents, by their code.
const PHASES: [&str; 8] = [
    "IDLE",
    "INITIALIZE",
    "CREATE_TEMP_DIR",
    "RESTORE_CONFIG_FILES",
    "RESTORE_KEYSTORES",
    "RESTORE_DATABASES",
    "CLEANUP",
    "COMPLETED",
];
const IDLE: u8 = 0;
const COMPLETED: u8 = 7;

/// The restore phase GKLM reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phase {
    /// 0 IDLE to 7 COMPLETED.
    pub code: u8,
    /// GKLM's `status` text, or the phase's name when it sent none.
    pub message: String,
    pub message_id: Option<String>,
}

impl Phase {
    /// Between IDLE and COMPLETED: keystores and database are being
    /// replaced.
    pub fn in_progress(&self) -> bool {
        !matches!(self.code, IDLE | COMPLETED)
    }
}

fn endpoint() -> Endpoint {
    Endpoint::get("restore/isrunning", "restore status request").when_missing(
        "this GKLM version may lack the Restore is Running service; --mode running works on every version",
    )
}

/// `code` names the phase; a `status` or `message` that names one, by
/// number or by name, must name the same.
static VOCABULARY: Vocabulary = Vocabulary {
    question: "whether a restore is running",
    ids: &[],
    code: Code::Decides(&[0, 1, 2, 3, 4, 5, 6, 7]),
    failures: &[],
    words: Some(Words {
        whole: phase_of_text,
        within: phases_named,
        name,
        plural: "phases",
    }),
    default: None,
    data: &[],
    expected: "a restore phase from 0 (IDLE) to 7 (COMPLETED)",
    means: |answer| format!("phase {}", name(answer)),
};

fn name(phase: i64) -> &'static str {
    usize::try_from(phase)
        .ok()
        .and_then(|p| PHASES.get(p))
        .copied()
        .unwrap_or("?")
}

/// Read a 200 answer, as the reader decides it.
pub fn read(body: &Value, every: Every) -> Result<Phase, String> {
    let decided = reader::decide(body, &VOCABULARY, every)?;
    let code = u8::try_from(decided.answer).unwrap_or(IDLE);
    // A status that only names the phase says less than the check can.
    let message = match decided.text {
        Some(s) if phase_of_text(&s).is_none() => s,
        _ => format!("Restore phase {code} {}.", name(decided.answer)),
    };
    Ok(Phase {
        code,
        message_id: decided
            .message_id
            .or_else(|| find_message_id(&message).map(str::to_string)),
        message,
    })
}

/// `"4"`, `"RESTORE_KEYSTORES"` or `"4 RESTORE_KEYSTORES"` (number and
/// name agreeing), in any case: a phase and nothing else. Free text is no
/// phase, even when it names one.
fn phase_of_text(text: &str) -> Option<i64> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let code = match words.as_slice() {
        [word] => word.parse::<u64>().ok().or_else(|| phase_by_name(word)),
        [number, name] => number
            .parse::<u64>()
            .ok()
            .filter(|&n| phase_by_name(name) == Some(n)),
        _ => None,
    }?;
    i64::try_from(code)
        .ok()
        .filter(|&c| c <= i64::from(COMPLETED))
}

fn phase_by_name(word: &str) -> Option<u64> {
    PHASES
        .iter()
        .position(|name| name.eq_ignore_ascii_case(word))
        .map(|p| p as u64)
}

/// Every phase a text names by its documented name, as a whole word, in
/// any case.
fn phases_named(text: &str) -> Vec<i64> {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    (0..=COMPLETED)
        .filter(|&p| {
            words
                .iter()
                .any(|w| w.eq_ignore_ascii_case(PHASES[usize::from(p)]))
        })
        .map(i64::from)
        .collect()
}

fn condition(body: &Value, every: Every) -> Result<Condition, String> {
    let phase = read(body, every)?;
    Ok(Condition {
        seen: phase.in_progress(),
        report: report_of(&phase),
    })
}

/// GKLM's text, the `restore` flag and the phase; the streak adds the rest.
fn report_of(phase: &Phase) -> Report {
    let mut report = WATCH.report(
        phase.in_progress(),
        &phase.message,
        phase.message_id.clone(),
    );
    report.metrics.push(Metric::code(
        "restore_phase",
        "GKLM's restore phase: 0 IDLE to 7 COMPLETED.",
        i64::from(phase.code),
        0,
        i64::from(COMPLETED),
    ));
    report.fields.push(("restore_phase", json!(phase.code)));
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &Value) -> Result<Phase, String> {
        super::read(body, &crate::mode::every_vocabulary())
    }
    use crate::mode::History;
    use crate::mode::streak::seen_for as streak;
    use crate::mode::threshold::Thresholds;

    /// The mode with these thresholds, judging an answer as main would.
    #[derive(Default)]
    struct Restore {
        thresholds: Thresholds,
    }

    impl Restore {
        fn judge(&self, phase: &Phase, history: History, now: u64) -> Report {
            let report = report_of(phase);
            streak::judge(
                &WATCH,
                &self.thresholds,
                report,
                phase.in_progress(),
                history,
                now,
            )
        }
    }

    #[test]
    fn every_documented_phase_in_any_spelling() {
        for (code, name) in PHASES.iter().enumerate() {
            for body in [
                json!({ "code": code }),
                json!({ "code": code.to_string() }),
                json!({ "code": name }),
                json!({ "code": code.to_string(), "status": name }),
                json!({ "code": code, "status": format!("{code} {name}") }),
            ] {
                let phase = read(&body).unwrap_or_else(|e| panic!("{body}: {e}"));
                assert_eq!(usize::from(phase.code), code, "{body}");
                assert_eq!(phase.in_progress(), (1..=6).contains(&code), "{body}");
            }
        }
    }

    #[test]
    fn an_unknown_phase_is_refused_quoting_it() {
        for (body, quoted) in [
            (json!({"code": "8"}), "\"8\""),
            (json!({"code": -1}), "-1"),
            (json!({"code": "PAUSED"}), "\"PAUSED\""),
            (json!({"code": 2.5}), "2.5"),
            (json!({"code": null}), "null"),
        ] {
            let err = read(&body).unwrap_err();
            assert!(err.contains(quoted), "{body}: {err}");
        }
        assert_eq!(read(&json!({})).unwrap_err(), "no 'code' field");
    }

    #[test]
    fn free_text_in_code_is_no_phase_and_every_text_beside_it_must_agree() {
        for (body, quoted) in [
            (
                json!({"code": "CTGKM1234E Restore failed, back to IDLE"}),
                "GKLM reports an error",
            ),
            (
                json!({"code": "COMPLETED with errors CTGKM0001E"}),
                "GKLM reports an error",
            ),
            (json!({"code": "5 COMPLETED"}), "'code' is \"5 COMPLETED\""),
            (
                json!({"code": "4 RESTORE_DATABASES"}),
                "'code' is \"4 RESTORE_DATABASES\"",
            ),
            (
                json!({"code": "0", "status": "IDLE", "message": "RESTORE_DATABASES"}),
                "'message' says RESTORE_DATABASES",
            ),
            (
                json!({"code": "0", "message": "RESTORE_DATABASES"}),
                "'message' says RESTORE_DATABASES",
            ),
            (json!({"code": 0, "status": 5}), "'status' says 5"),
            (
                json!({"code": "7", "status": "restore_databases"}),
                "'status' says restore_databases",
            ),
        ] {
            let err = read(&body).unwrap_err();
            assert!(err.contains(quoted), "{body}: {err}");
        }
        assert_eq!(
            read(&json!({"code": "4 restore_keystores"})).unwrap().code,
            4
        );
        assert_eq!(
            read(&json!({"code": "idle", "status": 0.0})).unwrap().code,
            0
        );
    }

    #[test]
    fn a_status_naming_another_phase_or_an_error_is_a_contradiction() {
        let err = read(&json!({"code": "4", "status": "IDLE"})).unwrap_err();
        assert!(
            err.contains("'code' is \"4\" (phase RESTORE_KEYSTORES) but 'status' says IDLE"),
            "{err}"
        );
        let err = read(&json!({"code": 0, "status": "RESTORE_KEYSTORES, then IDLE"})).unwrap_err();
        assert!(
            err.contains("names two phases, IDLE and RESTORE_KEYSTORES"),
            "{err}"
        );
        let err = read(&json!({"code": "0", "status": "CTGKM0001E Restore failed."})).unwrap_err();
        assert!(err.contains("CTGKM0001E Restore failed."), "{err}");
    }

    #[test]
    fn idle_and_completed_are_ok_a_phase_between_warns_and_thresholds_decide() {
        let m = Restore::default();
        let idle = read(&json!({"code": "0", "status": "IDLE"})).unwrap();
        let r = m.judge(&idle, streak(0, 0), 0);
        assert_eq!(
            (r.state, r.text()),
            (State::Ok, "Restore phase 0 IDLE.".into())
        );
        let worded = read(&json!({"code": 0, "status": "CTGKM1250I No restore is running."}));
        assert_eq!(worded.unwrap().message, "CTGKM1250I No restore is running.");
        let done = read(&json!({"code": 7})).unwrap();
        assert_eq!(m.judge(&done, streak(0, 0), 0).state, State::Ok);
        let busy = read(&json!({"code": 5})).unwrap();
        let r = m.judge(&busy, streak(1, 100), 100);
        assert_eq!(r.state, State::Warning);
        assert_eq!(
            r.text(),
            "Restore phase 5 RESTORE_DATABASES. (restoring for 1 check, 0s)"
        );
        let timed = Restore {
            thresholds: Thresholds {
                critical_time: Some(3600),
                ..Thresholds::default()
            },
        };
        assert_eq!(timed.judge(&busy, streak(3, 0), 600).state, State::Ok);
        assert_eq!(
            timed.judge(&busy, streak(30, 0), 3601).state,
            State::Critical
        );
    }

    #[test]
    fn perfdata_has_the_flag_the_phase_and_the_streak() {
        let busy = read(&json!({"code": 4})).unwrap();
        let r = Restore::default().judge(&busy, streak(2, 0), 60);
        let perf: Vec<String> = r.metrics.iter().map(Metric::perfdata).collect();
        assert_eq!(
            perf,
            [
                "restore=1;;;0;1",
                "restore_phase=4;;;0;7",
                "restore_checks=2;;;0;",
                "restore_seconds=60s;;;0;"
            ]
        );
    }
}
