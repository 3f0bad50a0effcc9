//! `--mode result`: did the last backup succeed? `GET .../ckms/backups/result`,
//! decided on `code`: 0 succeeded, 1 failed, -1 no backup since GKLM last
//! started (it appears after every restart), 2 documented with a cut-off
//! text, so its meaning is unknown: neither plain success nor failure.

use serde_json::{Value, json};

use crate::gklm::api::{Endpoint, find_message_id};
use crate::gklm::json::Body;
use crate::mode::kind::{Answer, History, Kind, ModeOptions, Question};
use crate::mode::reader::{self, Code, Every, Vocabulary};
use crate::output::report::{Metric, Report};
use crate::output::state::State;

pub const KIND: Kind = Kind {
    name: "result",
    fields: &["result"],
    options: &["--unknown-result-state"],
    vocabulary: &VOCABULARY,
    build,
};

/// `--unknown-result-state` when not given: a GKLM restart is no alarm.
pub const DEFAULT_UNDETERMINED: &str = "ok";

fn build(options: &ModeOptions) -> Result<Box<dyn Question>, String> {
    let default = State::parse(DEFAULT_UNDETERMINED).unwrap_or(State::Ok);
    Ok(Box::new(LastResult {
        undetermined_state: options.unknown_result_state.unwrap_or(default),
    }))
}

#[derive(Clone, Debug, PartialEq)]
pub struct LastResult {
    /// The state for code -1 (`--unknown-result-state`, OK by default).
    pub undetermined_state: State,
}

impl Default for LastResult {
    fn default() -> LastResult {
        LastResult {
            undetermined_state: State::parse(DEFAULT_UNDETERMINED).unwrap_or(State::Ok),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// -1, 0, 1 or 2.
    pub code: i64,
    /// GKLM's `status` text, if it sent one.
    pub message: Option<String>,
}

impl Question for LastResult {
    fn kind(&self) -> &'static Kind {
        &KIND
    }

    fn endpoint(&self) -> Endpoint {
        Endpoint::get("backups/result", "backup result request")
    }

    fn read<'a>(&'a self, body: &Body, every: Every) -> Result<Box<dyn Answer + 'a>, String> {
        let outcome = read(&body.json, every)?;
        Ok(Box::new(Judged {
            mode: self,
            outcome,
        }))
    }
}

/// An outcome, with the settings that judge it.
struct Judged<'a> {
    mode: &'a LastResult,
    outcome: Outcome,
}

impl Answer for Judged<'_> {
    fn judge(&self, _: History, _: u64) -> Report {
        self.mode.judge(&self.outcome)
    }
}

/// IBM documents no ids for this answer: `code` decides, and only the
/// severity of the ids beside it counts.
static VOCABULARY: Vocabulary = Vocabulary {
    question: "the last backup's result",
    ids: &[],
    code: Code::Decides(&[-1, 0, 1, 2]),
    failures: &[1],
    words: None,
    default: None,
    data: &[],
    expected: "-1, 0, 1 or 2",
    means: |answer| {
        match answer {
            0 => "succeeded",
            1 => "a failure",
            -1 => "no result since GKLM started",
            _ => "undocumented",
        }
        .into()
    },
};

pub fn read(body: &Value, every: Every) -> Result<Outcome, String> {
    let decided = reader::decide(body, &VOCABULARY, every)?;
    Ok(Outcome {
        code: decided.answer,
        message: decided.text,
    })
}

impl LastResult {
    pub fn judge(&self, outcome: &Outcome) -> Report {
        let gklm_says = |fallback: &str| {
            outcome
                .message
                .clone()
                .unwrap_or_else(|| format!("{fallback} (GKLM sent no status text)."))
        };
        let (state, summary) = match outcome.code {
            0 => (State::Ok, gklm_says("The last backup succeeded")),
            1 => (State::Critical, gklm_says("The last backup failed")),
            -1 => (
                self.undetermined_state,
                format!(
                    "{} (no backup has run since GKLM last started)",
                    gklm_says("The backup result cannot be determined")
                ),
            ),
            _ => (
                State::Warning,
                format!(
                    "{} (result code 2, whose meaning IBM does not document)",
                    gklm_says("Backup result code 2")
                ),
            ),
        };
        Report {
            state,
            message_id: outcome
                .message
                .as_deref()
                .and_then(find_message_id)
                .map(str::to_string),
            summary,
            metrics: vec![Metric::code(
                "result",
                "GKLM's last backup result: -1 none since start, 0 succeeded, 1 failed, 2 undocumented.",
                outcome.code,
                -1,
                2,
            )],
            fields: vec![("result", json!(outcome.code))],
            ..Report::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &Value) -> Result<Outcome, String> {
        super::read(body, &crate::mode::every_vocabulary())
    }

    fn judge(body: Value) -> Report {
        LastResult::default().judge(&read(&body).unwrap())
    }

    #[test]
    fn each_code_has_its_state() {
        let status = "CTGKM1301I Backup operation succeeded.";
        assert_eq!(
            judge(json!({"code": "0", "status": status})).state,
            State::Ok
        );
        assert_eq!(
            judge(json!({"code": 1, "status": "failed"})).state,
            State::Critical
        );
        assert_eq!(
            judge(json!({"code": "2", "status": "Backup operation suc"})).state,
            State::Warning
        );
        let r = judge(json!({"code": "-1"}));
        assert_eq!(r.state, State::Ok);
        assert!(
            r.summary
                .contains("no backup has run since GKLM last started"),
            "{}",
            r.summary
        );
        let strict = LastResult {
            undetermined_state: State::Critical,
        };
        assert_eq!(
            strict.judge(&read(&json!({"code": -1})).unwrap()).state,
            State::Critical
        );
    }

    #[test]
    fn other_codes_are_refused_quoting_them() {
        for body in [
            json!({"code": "3"}),
            json!({"code": "x"}),
            json!({"code": 0.5}),
            json!({"code": null}),
            json!({}),
        ] {
            assert!(read(&body).is_err(), "{body}");
        }
        assert!(read(&json!({"code": "7"})).unwrap_err().contains("\"7\""));
        assert_eq!(read(&json!({"code": 1.0})).unwrap().code, 1);
        assert_eq!(read(&json!({"code": -1.0})).unwrap().code, -1);
    }

    #[test]
    fn a_code_that_disagrees_with_the_status_is_refused_quoting_both() {
        for body in [
            json!({"code": "0", "status": "CTGKM1313E Backup operation failed."}),
            json!({"code": -1, "status": "CTGKM1313E Backup operation failed."}),
            json!({"code": "2", "message": "CTGKM1313E Backup operation failed."}),
            json!({"code": "1", "status": "CTGKM1301I Backup operation succeeded."}),
            json!({"code": "CTGKM0001E", "status": "CTGKM1301I Backup operation succeeded."}),
        ] {
            let err = read(&body).unwrap_err();
            assert!(
                err.contains("'code' is") && err.contains("Backup operation"),
                "{body}: {err}"
            );
        }
        assert!(
            read(&json!({"code": "1", "status": "CTGKM1313E Backup operation failed."})).is_ok()
        );
        assert!(
            read(&json!({"code": "0", "status": "Backup done."})).is_ok(),
            "no id: code alone"
        );
    }

    #[test]
    fn perfdata_is_the_code() {
        let r = judge(json!({"code": "1", "status": "x"}));
        assert_eq!(r.metrics[0].perfdata(), "result=1;;;-1;2");
    }
}
