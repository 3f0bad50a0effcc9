//! `--mode needed`: are there keys and certificates that no backup holds?
//! `GET .../ckms/backups/need`, decided on the message id in `status` only
//! (IBM's samples word the text differently, and it is localised).
//!
//! Why it matters: with `backup.keycert.before.serving=true` GKLM does not
//! serve keys that are not backed up.

use serde_json::Value;

use crate::gklm::api::Endpoint;
use crate::mode::kind::{Kind, ModeOptions, Question};
use crate::mode::reader::{self, Code, Every, Vocabulary};
use crate::mode::streak::{self, Condition, Watch};
use crate::output::report::Report;
use crate::output::state::State;

pub const KIND: Kind = Kind {
    name: "needed",
    fields: &["needed", "needed_checks", "needed_seconds"],
    options: streak::OPTIONS,
    vocabulary: &VOCABULARY,
    build,
};

static WATCH: Watch = Watch {
    kind: &KIND,
    endpoint,
    read: condition,
    verb: "needed",
    flag: (
        "needed",
        "Whether GKLM holds keys or certificates that no backup has (1) or not (0).",
    ),
    checks: (
        "needed_checks",
        "Consecutive checks that saw a backup needed.",
    ),
    seconds: (
        "needed_seconds",
        "Seconds since the first check that saw a backup needed.",
    ),
    // Keys no backup holds are worth a warning at once; the thresholds can
    // give a backup window before it.
    untouched: State::Warning,
};

fn build(options: &ModeOptions) -> Result<Box<dyn Question>, String> {
    streak::build(&WATCH, options)
}

const ALL_BACKED_UP_ID: &str = "CTGKM1304I";
const BACKUP_NEEDED_ID: &str = "CTGKM1305I";
const ALL_BACKED_UP: i64 = 0;
const BACKUP_NEEDED: i64 = 1;

/// The id decides (IBM's samples word the text differently, and it is
/// localised). IBM documents no `code` for this answer; GKLM's answers use
/// "0"/"1" as in `isrunning`, and HTTP's 200 is no error either.
static VOCABULARY: Vocabulary = Vocabulary {
    question: "whether a backup is needed",
    ids: &[
        (ALL_BACKED_UP_ID, ALL_BACKED_UP),
        (BACKUP_NEEDED_ID, BACKUP_NEEDED),
    ],
    code: Code::Succeeded(&[0, 1, 200]),
    failures: &[],
    words: None,
    default: None,
    data: &[],
    expected: "expected CTGKM1304I (all backed up) or CTGKM1305I (backup needed)",
    means: |answer| {
        if answer == BACKUP_NEEDED {
            "backup needed"
        } else {
            "all backed up"
        }
        .into()
    },
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Need {
    pub needed: bool,
    pub message: String,
    pub message_id: String,
}

fn endpoint() -> Endpoint {
    Endpoint::get("backups/need", "backup needed request")
}

pub fn read(body: &Value, every: Every) -> Result<Need, String> {
    let decided = reader::decide(body, &VOCABULARY, every)?;
    let needed = decided.answer == BACKUP_NEEDED;
    let message_id = if needed {
        BACKUP_NEEDED_ID
    } else {
        ALL_BACKED_UP_ID
    };
    Ok(Need {
        needed,
        message: decided.text.unwrap_or_else(|| message_id.to_string()),
        message_id: message_id.to_string(),
    })
}

fn condition(body: &Value, every: Every) -> Result<Condition, String> {
    let need = read(body, every)?;
    Ok(Condition {
        seen: need.needed,
        report: report_of(&need),
    })
}

/// GKLM's text and the `needed` flag; the streak adds the rest.
fn report_of(need: &Need) -> Report {
    WATCH.report(need.needed, &need.message, Some(need.message_id.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &Value) -> Result<Need, String> {
        super::read(body, &crate::mode::every_vocabulary())
    }
    use crate::mode::History;
    use crate::mode::streak::seen_for as streak;
    use crate::mode::threshold::Thresholds;
    use crate::output::report::Metric;
    use serde_json::json;

    /// The mode with these thresholds, judging an answer as main would.
    #[derive(Default)]
    struct Needed {
        thresholds: Thresholds,
    }

    impl Needed {
        fn judge(&self, need: &Need, history: History, now: u64) -> Report {
            let report = report_of(need);
            streak::judge(&WATCH, &self.thresholds, report, need.needed, history, now)
        }
    }

    fn need(status: &str) -> Result<Need, String> {
        read(&json!({ "code": "0", "status": status }))
    }

    const NEEDED: &str =
        "CTGKM1305I There are keys and certificates which have not been backed up. Make a backup.";

    #[test]
    fn the_message_id_decides_not_the_code_or_the_text() {
        assert!(
            !need("CTGKM1304I All keys and certificates have been backed up.")
                .unwrap()
                .needed
        );
        assert!(need(NEEDED).unwrap().needed);
        assert!(
            need("CTGKM1305I Es gibt Schlüssel ohne Sicherung.")
                .unwrap()
                .needed
        );
        assert!(
            !read(&json!({"code": "1", "status": "CTGKM1304I x"}))
                .unwrap()
                .needed
        );
        for odd in ["CTGKM9999I what", "all backed up", ""] {
            let err = need(odd).unwrap_err();
            assert!(err.contains("CTGKM1304I"), "{err}");
        }
        assert!(read(&json!({"code": "0"})).is_err());
        assert!(read(&json!([1])).is_err());
    }

    #[test]
    fn an_error_code_or_a_second_id_beside_the_status_is_refused() {
        for body in [
            json!({"code": "CTGKM0001E", "status": "CTGKM1304I All keys and certificates have been backed up."}),
            json!({"code": "500", "status": "CTGKM1304I All backed up."}),
            json!({"code": "0", "status": "CTGKM1304I All backed up. CTGKM1305I Make a backup."}),
            json!({"code": "0", "status": "CTGKM1305I Make a backup. CTGKM1304I All backed up."}),
            json!({"code": "0", "status": "CTGKM1304I All backed up, CTGKM0815E disk failed"}),
            json!({"code": "0", "status": "CTGKM1304I All backed up, CTGKM0815W check"}),
        ] {
            let err = read(&body).unwrap_err();
            assert!(err.contains("CTGKM1304I"), "{body}: {err}");
        }
        assert!(read(&json!({"status": "CTGKM1304I ok (CTGKM1304I)"})).is_ok());
        assert!(
            read(&json!({"code": 200, "status": "CTGKM1305I x"}))
                .unwrap()
                .needed
        );
    }

    #[test]
    fn a_needed_backup_warns_at_once_without_thresholds() {
        let r = Needed::default().judge(&need(NEEDED).unwrap(), streak(1, 100), 100);
        assert_eq!(r.state, State::Warning);
        assert!(
            r.text().ends_with("(needed for 1 check, 0s)"),
            "{}",
            r.text()
        );
        let r = Needed::default().judge(&need(NEEDED).unwrap(), Err("no file".into()), 100);
        assert_eq!(r.state, State::Warning);
    }

    #[test]
    fn time_thresholds_keep_it_ok_for_the_first_day() {
        let m = Needed {
            thresholds: Thresholds {
                warning_time: Some(86_400),
                critical_time: Some(3 * 86_400),
                ..Thresholds::default()
            },
        };
        let n = need(NEEDED).unwrap();
        assert_eq!(m.judge(&n, streak(5, 0), 3600).state, State::Ok);
        assert_eq!(m.judge(&n, streak(30, 0), 86_401).state, State::Warning);
        assert_eq!(
            m.judge(&n, streak(90, 0), 3 * 86_400 + 1).state,
            State::Critical
        );
        assert_eq!(
            m.judge(&n, Err("full disk".into()), 10).state,
            State::Unknown
        );
    }

    #[test]
    fn perfdata_has_the_flag_and_the_streak() {
        let r = Needed::default().judge(&need("CTGKM1304I ok").unwrap(), streak(0, 0), 0);
        let perf: Vec<String> = r.metrics.iter().map(Metric::perfdata).collect();
        assert_eq!(
            perf,
            [
                "needed=0;;;0;1",
                "needed_checks=0;;;0;",
                "needed_seconds=0s;;;0;"
            ]
        );
    }
}
