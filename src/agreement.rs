//! The rule every mode applies before it believes a 200 answer: GKLM's
//! fields must agree with each other. IBM's message ids end in their
//! severity (I, W, E), so a text can contradict the `code` beside it, and
//! a status naming two different answers is no answer. Whatever the mode,
//! such an answer is UNKNOWN and both fields are quoted: a silent OK on a
//! failed backup is the worst answer a check can give.
//!
//! The modes say what their `code` means and which ids they know; this
//! module alone decides whether the rest of the answer agrees. It never
//! judges the backup itself.

use serde_json::{Map, Value};

use crate::gklm::{brief, message_ids};

/// What a mode read from `code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// The request worked and nothing failed ("0" running, "1" not
    /// running, a result of 0, -1 or 2, ...).
    Fine,
    /// The code reports a failure the mode asked about (result 1).
    Failure,
}

/// The message ids a mode knows, by what they say.
#[derive(Clone, Copy, Debug, Default)]
pub struct Vocabulary {
    /// Ids that say all is well, or give an answer that is no failure.
    pub fine: &'static [&'static str],
    /// Ids that report the failure the mode asks about.
    pub failure: &'static [&'static str],
}

impl Vocabulary {
    fn knows(&self, id: &str) -> bool {
        self.fine.contains(&id) || self.failure.contains(&id)
    }
}

/// The texts GKLM puts beside `code`, by field name.
const TEXT_FIELDS: [&str; 2] = ["status", "message"];

/// Why an answer is not believed; its text quotes GKLM's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disagreement(String);

impl std::fmt::Display for Disagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Disagreement {}

impl From<Disagreement> for String {
    fn from(d: Disagreement) -> String {
        d.0
    }
}

/// Check that the texts of `map` agree with `reading`, the mode's reading
/// of its `code`, and with each other.
pub fn check(
    map: &Map<String, Value>,
    reading: Reading,
    known: &Vocabulary,
) -> Result<(), Disagreement> {
    let code = code_quote(map);
    let texts = texts(map);
    two_answers(&texts, known)?;
    for (field, text) in texts {
        let ids = message_ids(text);
        let clash = match reading {
            Reading::Fine => ids.iter().find(|id| severity(id) == Some('E')),
            // An information id, or one the mode knows as fine, beside a
            // reported failure.
            Reading::Failure => ids
                .iter()
                .find(|id| severity(id) == Some('I') || known.fine.contains(id)),
        };
        if let Some(id) = clash {
            let (means, says) = match reading {
                Reading::Fine => ("no failure", format!("error {id}")),
                Reading::Failure => ("a failure", format!("{id}, which is no error")),
            };
            return Err(Disagreement(format!(
                "GKLM contradicts itself: 'code' is {code} ({means}) but '{field}' says {says}: {text}"
            )));
        }
    }
    Ok(())
}

/// Two different ids the mode knows, in one text or across `status` and
/// `message`: GKLM gave two answers, and neither can be believed.
fn two_answers(texts: &[(&'static str, &str)], known: &Vocabulary) -> Result<(), Disagreement> {
    let named: Vec<(&str, &str, &str)> = texts
        .iter()
        .flat_map(|&(field, text)| {
            message_ids(text)
                .into_iter()
                .filter(|id| known.knows(id))
                .map(move |id| (field, id, text))
        })
        .collect();
    let Some(&(field, first, text)) = named.first() else {
        return Ok(());
    };
    let Some(&(other_field, second, other_text)) = named.iter().find(|(_, id, _)| *id != first)
    else {
        return Ok(());
    };
    let why = if other_field == field {
        format!("'{field}' names both {first} and {second}: {text}")
    } else {
        format!("'{field}' says {text} but '{other_field}' says {other_text}")
    };
    Err(Disagreement(format!("GKLM contradicts itself: {why}")))
}

/// A `code` the mode does not know: GKLM's error when the code or a text
/// carries an error id, else a contradiction when a text reads as fine,
/// else a plain refusal naming what was expected. Both fields are quoted.
pub fn unknown_code(map: &Map<String, Value>, expected: &str) -> Disagreement {
    let code = code_quote(map);
    let texts = texts(map);
    let code_id = map.get("code").and_then(Value::as_str).map(message_ids);
    let error = code_id
        .iter()
        .flatten()
        .chain(
            texts
                .iter()
                .flat_map(|(_, t)| message_ids(t))
                .collect::<Vec<_>>()
                .iter(),
        )
        .any(|id| severity(id) == Some('E'));
    let beside = match texts.first() {
        Some((field, text)) => format!("; '{field}' says {text}"),
        None => String::new(),
    };
    if error {
        return Disagreement(format!("GKLM reports an error: 'code' is {code}{beside}"));
    }
    let fine = texts
        .iter()
        .any(|(_, t)| message_ids(t).iter().any(|id| severity(id) == Some('I')));
    if fine {
        return Disagreement(format!(
            "GKLM contradicts itself: 'code' is {code}, not {expected}, but{}",
            beside.trim_start_matches(';')
        ));
    }
    Disagreement(format!("'code' is {code}, expected {expected}{beside}"))
}

/// An error that GKLM reports inside a 200 answer that should carry data
/// (a list): a `code` other than 0 or 200, a text with an error id, or a
/// non-empty `errors` or `error` member. Its text quotes GKLM.
pub fn reported_error(map: &Map<String, Value>) -> Option<Disagreement> {
    let code_ok = match map.get("code") {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => matches!(s.trim(), "0" | "200"),
        Some(Value::Number(n)) => matches!(n.as_f64(), Some(c) if c == 0.0 || c == 200.0),
        Some(_) => false,
    };
    let texts = texts(map);
    let error_text = texts
        .iter()
        .find(|(_, t)| message_ids(t).iter().any(|id| severity(id) == Some('E')));
    let errors = ["errors", "error"].into_iter().find_map(|key| {
        let value = map.get(key).filter(|e| match e {
            Value::Null => false,
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            Value::String(s) => !s.trim().is_empty(),
            // `false` says there is none; anything else is one.
            Value::Bool(b) => *b,
            _ => true,
        })?;
        Some((key, value))
    });
    if code_ok && error_text.is_none() && errors.is_none() {
        return None;
    }
    let mut quote = vec![format!("'code' is {}", code_quote(map))];
    quote.extend(
        texts
            .iter()
            .map(|(field, text)| format!("'{field}' says {text}")),
    );
    if let Some((key, errors)) = errors {
        quote.push(format!("'{key}' holds {}", brief(errors)));
    }
    Some(Disagreement(format!(
        "GKLM reports an error: {}",
        quote.join("; ")
    )))
}

/// `code` as quoted in a message: `"0"`, `0`, or `none`.
fn code_quote(map: &Map<String, Value>) -> String {
    map.get("code").map_or_else(|| "none".into(), brief_whole)
}

/// A code is short; quote it whole unless it is absurdly long.
fn brief_whole(value: &Value) -> String {
    match value {
        Value::String(s) if s.chars().count() <= 40 => format!("\"{}\"", s.trim()),
        other => brief(other),
    }
}

/// The non-empty text fields, trimmed.
fn texts(map: &Map<String, Value>) -> Vec<(&'static str, &str)> {
    TEXT_FIELDS
        .iter()
        .filter_map(|&field| {
            let text = map.get(field)?.as_str()?.trim();
            (!text.is_empty()).then_some((field, text))
        })
        .collect()
}

/// The severity letter of an id (`CTGKM3291I` -> 'I').
pub fn severity(id: &str) -> Option<char> {
    id.chars().last()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RUNNING: Vocabulary = Vocabulary {
        fine: &["CTGKM3290I", "CTGKM3291I"],
        failure: &[],
    };

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_fine_code_beside_an_error_id_is_a_contradiction() {
        for text in [
            "CTGKM1313E Backup operation failed.",
            "Backup done, but CTGKM0001E happened",
            "CTGKM3291I not running; CTGKM0815E disk",
        ] {
            for field in TEXT_FIELDS {
                let m = map(json!({"code": "0", field: text}));
                let err = check(&m, Reading::Fine, &RUNNING).unwrap_err().to_string();
                assert!(
                    err.contains("'code' is \"0\"") && err.contains(text),
                    "{err}"
                );
            }
        }
    }

    #[test]
    fn a_failure_beside_an_information_or_known_fine_id_is_a_contradiction() {
        let known = Vocabulary {
            fine: &["CTGKM1304I"],
            failure: &["CTGKM1305W"],
        };
        let m = map(json!({"code": "1", "status": "CTGKM1301I Backup operation succeeded."}));
        assert!(check(&m, Reading::Failure, &known).is_err());
        let m = map(json!({"code": "1", "status": "CTGKM1305W x"}));
        assert!(check(&m, Reading::Failure, &known).is_ok());
        let m = map(json!({"code": "1", "status": "CTGKM1302E Backup operation failed."}));
        assert!(check(&m, Reading::Failure, &known).is_ok());
    }

    #[test]
    fn two_different_known_ids_in_one_text_are_a_contradiction() {
        let m = map(json!({"code": "1", "status": "CTGKM3291I not running CTGKM3290I running"}));
        let err = check(&m, Reading::Fine, &RUNNING).unwrap_err().to_string();
        assert!(err.contains("both CTGKM3291I and CTGKM3290I"), "{err}");
        let m = map(json!({"code": "1", "status": "CTGKM3291I not running (CTGKM3291I)"}));
        assert!(
            check(&m, Reading::Fine, &RUNNING).is_ok(),
            "the same id twice"
        );
        let m = map(json!({"code": "1", "status": "CTGKM3291I not running CTGKM9999I"}));
        assert!(
            check(&m, Reading::Fine, &RUNNING).is_ok(),
            "unknown ids are the mode's"
        );
    }

    #[test]
    fn two_known_ids_across_status_and_message_are_a_contradiction() {
        let m = map(json!({
            "code": "1",
            "status": "CTGKM3291I Backup process is not running.",
            "message": "CTGKM3290I Backup process is running."
        }));
        let err = check(&m, Reading::Fine, &RUNNING).unwrap_err().to_string();
        assert_eq!(
            err,
            "GKLM contradicts itself: 'status' says CTGKM3291I Backup process is not running. but 'message' says CTGKM3290I Backup process is running."
        );
        let same = map(json!({"code": "1", "status": "CTGKM3291I x", "message": "CTGKM3291I y"}));
        assert!(check(&same, Reading::Fine, &RUNNING).is_ok());
    }

    #[test]
    fn an_unknown_code_says_what_gklm_said() {
        let m = map(json!({"code": "CTGKM0001E", "status": "CTGKM1304I All backed up."}));
        let err = unknown_code(&m, "\"0\" or \"1\"").to_string();
        assert!(
            err.starts_with("GKLM reports an error: 'code' is \"CTGKM0001E\""),
            "{err}"
        );
        assert!(err.contains("CTGKM1304I All backed up."), "{err}");
        let m = map(json!({"code": "7", "status": "CTGKM3291I Backup process is not running."}));
        let err = unknown_code(&m, "\"0\" or \"1\"").to_string();
        assert!(err.starts_with("GKLM contradicts itself: 'code' is \"7\", not \"0\" or \"1\", but 'status' says CTGKM3291I"), "{err}");
        let err = unknown_code(&map(json!({"code": true})), "\"0\"").to_string();
        assert_eq!(err, "'code' is true, expected \"0\"");
    }

    #[test]
    fn errors_reported_in_a_data_answer_are_found() {
        for body in [
            json!({"code": "CTGKM0001E", "message": "CTGKM0001E Failed to list backups", "errors": []}),
            json!({"code": "1", "backups": []}),
            json!({"code": 500, "backups": []}),
            json!({"message": "CTGKM0001E Failed", "backups": []}),
            json!({"status": "CTGKM0001E Failed", "backups": []}),
            json!({"code": "0", "errors": ["disk"], "backups": []}),
            json!({"errors": {"x": 1}}),
            json!({"error": "CTGKM0001E failed", "backups": []}),
            json!({"error": true, "backups": []}),
        ] {
            let err = reported_error(&map(body.clone()));
            assert!(err.is_some(), "{body}");
            assert!(
                err.unwrap()
                    .to_string()
                    .starts_with("GKLM reports an error: 'code' is")
            );
        }
        for body in [
            json!({"code": "0", "backups": []}),
            json!({"code": 200, "backupList": [], "errors": []}),
            json!({"backups": [], "message": "CTGKM0100I Listed."}),
            json!({"backups": [], "error": null, "errors": false}),
        ] {
            assert_eq!(reported_error(&map(body.clone())), None, "{body}");
        }
        let err = reported_error(&map(
            json!({"code": "CTGKM0001E", "message": "CTGKM0001E Failed to list backups"}),
        ))
        .unwrap();
        assert_eq!(
            err.to_string(),
            "GKLM reports an error: 'code' is \"CTGKM0001E\"; 'message' says CTGKM0001E Failed to list backups"
        );
    }
}
