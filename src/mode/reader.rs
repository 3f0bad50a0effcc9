//! The one reader of GKLM's 200 answers. Each mode declares its
//! `Vocabulary` (the message ids that answer its question, the `code`
//! values it knows, which answers are failures); this module alone decides
//! what an answer says, the same way for every mode:
//!
//! - a known id of this question decides; `code`, in any form IBM
//!   publishes (digit string, number, the id itself, absent), must agree;
//! - without one, `code` decides, and every id present must agree with it:
//!   no E id beside an answer that is no failure, no I id beside a failure;
//! - an id of another question, two different answers, a non-empty
//!   `error`/`errors` member, or a W id the mode does not know beside an
//!   answer that is no failure: UNKNOWN, quoting what disagrees;
//! - nothing that decides: UNKNOWN, quoting the raw values.
//!
//! Every string anywhere in the answer is heard, whatever field, array or
//! object holds it: an id is an id wherever GKLM puts it. The shape is
//! read liberally: an answer wrapped in a one-element array is that answer.

use serde_json::{Map, Value};

use crate::gklm::api::{brief, message_ids};

/// What an answer to one question can say, as its mode declares it.
#[derive(Debug)]
pub struct Vocabulary {
    /// The question, as another mode's refusal names it.
    pub question: &'static str,
    /// The message ids that answer it, each with the answer it gives.
    pub ids: &'static [(&'static str, i64)],
    /// What `code` says.
    pub code: Code,
    /// The answers that report the failure the mode asks about.
    pub failures: &'static [i64],
    /// Words that name an answer (restore's phases), if the mode has any.
    pub words: Option<Words>,
    /// The answer when nothing else decides (a list needs no id), if any.
    pub default: Option<i64>,
    /// Members holding data the mode reads itself (age's list), by
    /// lower-case name.
    pub data: &'static [&'static str],
    /// What was expected, for a refusal: `"0" (running) or "1" (not running)`.
    pub expected: &'static str,
    /// What an answer means, for a refusal: `running`, `phase IDLE`.
    pub means: fn(i64) -> String,
}

/// How a mode's `code` is read.
#[derive(Clone, Copy, Debug)]
pub enum Code {
    /// `code` gives the answer: one of these values.
    Decides(&'static [i64]),
    /// `code` only says the request worked (these values, or absent); an
    /// id decides.
    Succeeded(&'static [i64]),
}

/// Words that name an answer: a whole `code` or text (`4`,
/// `RESTORE_KEYSTORES`, `4 RESTORE_KEYSTORES`), or words within a text.
#[derive(Clone, Copy, Debug)]
pub struct Words {
    pub whole: fn(&str) -> Option<i64>,
    pub within: fn(&str) -> Vec<i64>,
    /// The word for an answer (`IDLE`), and what they are (`phases`).
    pub name: fn(i64) -> &'static str,
    pub plural: &'static str,
}

/// Every question's vocabulary, the registry's to give: the reader
/// tells by it an answer to another question, without knowing the modes.
pub type Every<'a> = &'a [&'static Vocabulary];

/// What the reader decided an answer says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decided {
    /// The answer, in the mode's own values.
    pub answer: i64,
    /// GKLM's `status` (else `message`) text, trimmed, if it sent one.
    pub text: Option<String>,
    /// The id that decided, else the first id of `text`.
    pub message_id: Option<String>,
}

/// Decide what `body` says to the question of `vocabulary`; `every` is
/// every question's, to tell an answer to another one.
pub fn decide(body: &Value, vocabulary: &Vocabulary, every: Every) -> Result<Decided, String> {
    decide_object(one_object(body)?, vocabulary, every)
}

/// An answer is an object, or an array holding exactly one.
pub fn one_object(body: &Value) -> Result<&Map<String, Value>, String> {
    match body {
        Value::Object(map) => Ok(map),
        Value::Array(items) => match items.as_slice() {
            [Value::Object(map)] => Ok(map),
            [] => Err("expected a JSON object, got an empty array".into()),
            [_] => Err(format!(
                "expected a JSON object, got an array holding {}",
                brief(&items[0])
            )),
            _ => Err(format!(
                "expected a JSON object, got an array of {}; which one answers is not documented",
                items.len()
            )),
        },
        other => Err(format!("expected a JSON object, got {}", brief(other))),
    }
}

/// One string of the answer, with the top-level member it sits in.
struct Text<'a> {
    field: &'a str,
    text: &'a str,
}

/// `code` as read, in any published form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CodeRead<'a> {
    Absent,
    Value(i64),
    /// The message id itself (`"code":"CTGKM3291I"`).
    Id(&'a str),
    /// Anything else: null, free text, a fraction, an object.
    Unknown,
}

/// The reader's decision for an object answer.
pub fn decide_object(
    map: &Map<String, Value>,
    vocabulary: &Vocabulary,
    every: Every,
) -> Result<Decided, String> {
    let quote = Quote { map };
    let code = read_code(map.get("code"), vocabulary);
    let texts = texts(map, vocabulary);
    foreign_ids(&texts, code, vocabulary, every)?;
    let named = answers_named(&texts, code, vocabulary, map);
    if let [first, second, ..] = named.as_slice() {
        return Err(two_answers(first, second));
    }
    let code_answer = match (code, vocabulary.code) {
        (CodeRead::Value(n), Code::Decides(values)) if values.contains(&n) => Some(n),
        (CodeRead::Value(n), Code::Succeeded(values)) if values.contains(&n) => None,
        (CodeRead::Absent | CodeRead::Id(_), _) => None,
        (CodeRead::Unknown, Code::Succeeded(_)) if map.get("code") == Some(&Value::Null) => None,
        _ => return Err(quote.unknown_code(&texts, vocabulary)),
    };
    let answer = match (named.first(), code_answer) {
        (Some(said), Some(c)) if said.answer != c => {
            return Err(format!(
                "GKLM contradicts itself: 'code' is {} ({}) but '{}' says {}",
                quote.code(),
                (vocabulary.means)(c),
                said.field,
                said.text
            ));
        }
        (Some(said), _) => said.answer,
        (None, Some(c)) => c,
        (None, None) => match vocabulary.default {
            Some(d) => d,
            None => return Err(quote.nothing_decides(&texts, vocabulary)),
        },
    };
    let failure = vocabulary.failures.contains(&answer);
    let verdict = if failure { "a failure" } else { "no failure" };
    let basis = match (named.first(), map.contains_key("code")) {
        (Some(n), true) => format!(
            "'code' is {} and '{}' says {} ({verdict})",
            quote.code(),
            n.field,
            n.text
        ),
        (Some(n), false) => format!("'{}' says {} ({verdict})", n.field, n.text),
        (None, _) => format!("'code' is {} ({verdict})", quote.code()),
    };
    let deciding = named
        .first()
        .map(|n| (n.field, n.text.as_str(), n.label.as_str()));
    severities_agree(
        &texts,
        code,
        failure,
        vocabulary,
        &quote,
        (&basis, deciding),
    )?;
    if let (false, Some((key, value))) = (failure, error_member(map)) {
        return Err(format!(
            "GKLM reports an error: {}'{key}' holds {}",
            quote.beside(&texts),
            brief(value)
        ));
    }
    let text = ["status", "message"]
        .iter()
        .find_map(|f| {
            map.get(*f)?
                .as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
        })
        .map(str::to_string);
    let message_id = known_ids(&texts, code, vocabulary)
        .next()
        .map(|(_, id, _, _)| id.to_string())
        .or_else(|| {
            text.as_deref()
                .and_then(|t| message_ids(t).first().map(|s| s.to_string()))
        });
    Ok(Decided {
        answer,
        text,
        message_id,
    })
}

fn read_code<'a>(code: Option<&'a Value>, vocabulary: &Vocabulary) -> CodeRead<'a> {
    match code {
        None => CodeRead::Absent,
        Some(Value::String(s)) => {
            let s = s.trim();
            if let Ok(n) = s.parse::<i64>() {
                return CodeRead::Value(n);
            }
            if let [id] = message_ids(s).as_slice()
                && *id == s
            {
                return CodeRead::Id(id);
            }
            match vocabulary.words.and_then(|w| (w.whole)(s)) {
                Some(n) => CodeRead::Value(n),
                None => CodeRead::Unknown,
            }
        }
        Some(Value::Number(n)) => {
            exact_integer(&n.to_string()).map_or(CodeRead::Unknown, CodeRead::Value)
        }
        Some(_) => CodeRead::Unknown,
    }
}

/// The integer a JSON number's text is exactly (`1`, `-1`, `1.0`, `10e-1`),
/// or None: `1e-400` is not 0, and `0.5` is no code.
pub fn exact_integer(text: &str) -> Option<i64> {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], text[at + 1..].parse::<i64>().ok()?),
        None => (text, 0),
    };
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some(0);
    }
    // The value is digits × 10^shift.
    let shift = exponent.checked_sub(i64::try_from(fraction.len()).ok()?)?;
    let significant = digits.trim_end_matches('0');
    let zeros = i64::try_from(digits.len() - significant.len()).ok()?;
    let shift = shift.checked_add(zeros)?;
    if !(0..=18).contains(&shift) {
        return None;
    }
    let mut value: i64 = significant.parse().ok()?;
    for _ in 0..shift {
        value = value.checked_mul(10)?;
    }
    Some(if negative { -value } else { value })
}

/// Every string of the answer but `code` and the mode's data members,
/// however deep; walked without recursion.
fn texts<'a>(map: &'a Map<String, Value>, vocabulary: &Vocabulary) -> Vec<Text<'a>> {
    let mut found = Vec::new();
    for (field, value) in map {
        if field == "code"
            || vocabulary
                .data
                .contains(&field.to_ascii_lowercase().as_str())
        {
            continue;
        }
        let mut pending = vec![value];
        while let Some(value) = pending.pop() {
            match value {
                Value::String(text) => found.push(Text {
                    field,
                    text: text.trim(),
                }),
                Value::Array(items) => pending.extend(items.iter().rev()),
                Value::Object(members) => pending.extend(members.values().rev()),
                _ => {}
            }
        }
    }
    found
}

/// Each id of the answer (the code's too), with where it stands and the
/// text that holds it.
fn all_ids<'a>(
    texts: &'a [Text<'a>],
    code: CodeRead<'a>,
) -> impl Iterator<Item = (&'a str, &'a str, &'a str)> + 'a {
    let code = match code {
        CodeRead::Id(id) => Some(("code", id, id)),
        _ => None,
    };
    code.into_iter().chain(texts.iter().flat_map(|t| {
        message_ids(t.text)
            .into_iter()
            .map(move |id| (t.field, id, t.text))
    }))
}

fn known_ids<'a>(
    texts: &'a [Text<'a>],
    code: CodeRead<'a>,
    vocabulary: &'a Vocabulary,
) -> impl Iterator<Item = (&'a str, &'a str, &'a str, i64)> + 'a {
    all_ids(texts, code).filter_map(|(field, id, text)| {
        let answer = vocabulary.ids.iter().find(|(known, _)| *known == id)?.1;
        Some((field, id, text, answer))
    })
}

/// An id that answers another mode's question means GKLM answered
/// something else: nothing this mode could read from it is safe.
fn foreign_ids(
    texts: &[Text],
    code: CodeRead,
    vocabulary: &Vocabulary,
    every: Every,
) -> Result<(), String> {
    for (field, id, text) in all_ids(texts, code) {
        if vocabulary.ids.iter().any(|(known, _)| *known == id) {
            continue;
        }
        let other = every
            .iter()
            .find(|v| v.ids.iter().any(|(known, _)| *known == id));
        if let Some(other) = other {
            return Err(format!(
                "GKLM answered another question: '{field}' says {text}, and {id} answers {}, not {}",
                other.question, vocabulary.question
            ));
        }
    }
    Ok(())
}

/// One answer the answer names, and where.
struct Named<'a> {
    field: &'a str,
    text: String,
    /// The id or word that names it.
    label: String,
    /// What kind of word the label is: `phases`, or None for an id.
    plural: Option<&'static str>,
    answer: i64,
}

/// The distinct answers the answer names (ids, and words for modes that
/// have them), each with where it was said; `code` is read separately.
fn answers_named<'a>(
    texts: &'a [Text<'a>],
    code: CodeRead<'a>,
    vocabulary: &'a Vocabulary,
    map: &'a Map<String, Value>,
) -> Vec<Named<'a>> {
    let mut named: Vec<Named> = Vec::new();
    let mut add = |said: Named<'a>| {
        if named.iter().all(|n| n.answer != said.answer) {
            named.push(said);
        }
    };
    // The text that holds each id comes with it: no search per id, which
    // a body of thousands of ids would make quadratic.
    for (field, id, text, answer) in known_ids(texts, code, vocabulary) {
        add(Named {
            field,
            text: text.to_string(),
            label: id.to_string(),
            plural: None,
            answer,
        });
    }
    if let Some(words) = vocabulary.words {
        for t in texts.iter().filter(|t| is_message_field(t.field)) {
            let answers = (words.whole)(t.text).map_or_else(|| (words.within)(t.text), |a| vec![a]);
            for answer in answers {
                add(Named {
                    field: t.field,
                    text: t.text.to_string(),
                    label: (words.name)(answer).to_string(),
                    plural: Some(words.plural),
                    answer,
                });
            }
        }
        for (field, value) in map.iter().filter(|(f, _)| is_message_field(f)) {
            if let Some(answer) = value
                .as_number()
                .and_then(|n| exact_integer(&n.to_string()))
            {
                add(Named {
                    field,
                    text: value.to_string(),
                    label: (words.name)(answer).to_string(),
                    plural: Some(words.plural),
                    answer,
                });
            }
        }
    }
    named
}

/// Two different answers in one body: neither can be believed.
fn two_answers(first: &Named, second: &Named) -> String {
    let same_text = first.field == second.field && first.text == second.text;
    let why = if let (true, Some(plural)) = (same_text, first.plural) {
        format!(
            "'{}' names two {plural}, {} and {}: {}",
            first.field, first.label, second.label, first.text
        )
    } else if same_text {
        format!(
            "'{}' names both {} and {}: {}",
            first.field, first.label, second.label, first.text
        )
    } else {
        format!(
            "'{}' says {} but '{}' says {}",
            first.field, first.text, second.field, second.text
        )
    };
    format!("GKLM contradicts itself: {why}")
}

/// The members that carry GKLM's message: only they can name a phase in
/// words (a file name may hold any word).
fn is_message_field(field: &str) -> bool {
    matches!(field, "status" | "message" | "messageId")
}

/// E ids beside an answer that is no failure; I ids beside a failure; a W
/// id the mode does not know beside an answer that is no failure.
fn severities_agree(
    texts: &[Text],
    code: CodeRead,
    failure: bool,
    vocabulary: &Vocabulary,
    quote: &Quote,
    (basis, deciding): (&str, Option<(&str, &str, &str)>),
) -> Result<(), String> {
    for (field, id, text) in all_ids(texts, code) {
        let known = vocabulary
            .ids
            .iter()
            .find(|(k, _)| *k == id)
            .map(|(_, a)| *a);
        let clash = match (severity(id), failure) {
            (Some('E'), false) => true,
            (Some('W'), false) => known.is_none(),
            (Some('I'), true) => known.is_none_or(|a| !vocabulary.failures.contains(&a)),
            _ => false,
        };
        if !clash {
            continue;
        }
        if field == "code" {
            return Err(format!(
                "GKLM reports an error: 'code' is {}{}",
                quote.code(),
                quote.beside_fields(texts)
            ));
        }
        // A data answer only says it worked: any bad id is GKLM's error.
        if vocabulary.default.is_some() {
            return Err(format!(
                "GKLM reports an error: 'code' is {}; '{field}' says {text}",
                quote.code()
            ));
        }
        let says = match severity(id) {
            Some('E') => format!("error {id}"),
            Some('W') => format!("warning {id}, which the check does not know"),
            _ => format!("{id}, which is no error"),
        };
        if let Some((_, _, label)) = deciding.filter(|(f, t, _)| *f == field && *t == text) {
            let code = match quote.map.contains_key("code") {
                true => format!("'code' is {} and ", quote.code()),
                false => String::new(),
            };
            return Err(format!(
                "GKLM contradicts itself: {code}'{field}' names both {label} and {says}: {text}"
            ));
        }
        return Err(format!(
            "GKLM contradicts itself: {basis} but '{field}' says {says}: {text}"
        ));
    }
    Ok(())
}

/// A non-empty `error` or `errors` member: GKLM reports an error, whatever
/// the rest says.
fn error_member(map: &Map<String, Value>) -> Option<(&str, &Value)> {
    map.iter().find_map(|(key, value)| {
        let named = key.eq_ignore_ascii_case("error") || key.eq_ignore_ascii_case("errors");
        let filled = match value {
            Value::Null => false,
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            Value::String(s) => !s.trim().is_empty(),
            // `false` says there is none; anything else is one.
            Value::Bool(b) => *b,
            Value::Number(_) => true,
        };
        (named && filled).then_some((key.as_str(), value))
    })
}

/// The severity letter of an id (`CTGKM3291I` -> 'I').
pub fn severity(id: &str) -> Option<char> {
    id.chars().last()
}

/// How a refusal quotes the answer.
struct Quote<'a> {
    map: &'a Map<String, Value>,
}

impl Quote<'_> {
    /// `code` as quoted: `"0"`, `0`, or `none`.
    fn code(&self) -> String {
        match self.map.get("code") {
            None => "none".into(),
            Some(Value::String(s)) if s.chars().count() <= 40 => format!("\"{}\"", s.trim()),
            Some(other) => brief(other),
        }
    }

    /// `'status' says ...; ` for the message fields present, or nothing.
    fn beside(&self, texts: &[Text]) -> String {
        let mut out = format!("'code' is {}; ", self.code());
        for t in texts
            .iter()
            .filter(|t| is_message_field(t.field) && !t.text.is_empty())
        {
            out.push_str(&format!("'{}' says {}; ", t.field, t.text));
        }
        out
    }

    /// `; 'status' says ...` for the first message field, or nothing.
    fn beside_fields(&self, texts: &[Text]) -> String {
        texts
            .iter()
            .find(|t| is_message_field(t.field) && !t.text.is_empty())
            .map(|t| format!("; '{}' says {}", t.field, t.text))
            .unwrap_or_default()
    }

    /// A `code` the mode does not know: GKLM's error when an E id is
    /// beside it, a contradiction when an I id is, else a plain refusal.
    /// Every id of the answer, in `code` (whatever it holds) and the texts.
    fn every_id<'t>(&'t self, texts: &'t [Text]) -> Vec<&'t str> {
        let code = self.map.get("code").and_then(Value::as_str);
        code.into_iter()
            .chain(texts.iter().map(|t| t.text))
            .flat_map(message_ids)
            .collect()
    }

    fn unknown_code(&self, texts: &[Text], vocabulary: &Vocabulary) -> String {
        let expected = vocabulary.expected;
        let ids = self.every_id(texts);
        let code = self.code();
        let beside = self.beside_fields(texts);
        // A data answer's code can only say it worked: any other is an error.
        if vocabulary.default.is_some() || ids.iter().any(|id| severity(id) == Some('E')) {
            return format!("GKLM reports an error: 'code' is {code}{beside}");
        }
        if ids.iter().any(|id| severity(id) == Some('I')) {
            return format!(
                "GKLM contradicts itself: 'code' is {code}, not {expected}, but{}",
                beside.trim_start_matches(';')
            );
        }
        format!("'code' is {code}, expected {expected}{beside}")
    }

    /// Nothing decides: say what is missing and quote what was there.
    fn nothing_decides(&self, texts: &[Text], vocabulary: &Vocabulary) -> String {
        // GKLM's error, in place of an answer, is what to say.
        if self
            .every_id(texts)
            .iter()
            .any(|id| severity(id) == Some('E'))
        {
            return format!(
                "GKLM reports an error: 'code' is {}{}",
                self.code(),
                self.beside_fields(texts)
            );
        }
        let status = self.map.get("status");
        match (vocabulary.code, self.map.get("code"), status) {
            (Code::Decides(_), None, _) => format!("no 'code' field{}", self.beside_fields(texts)),
            (Code::Succeeded(_), _, None) => "no 'status' field".into(),
            (Code::Succeeded(_), _, Some(Value::String(s))) if !s.trim().is_empty() => {
                format!("'status' is \"{}\", {}", s.trim(), vocabulary.expected)
            }
            (Code::Succeeded(_), _, Some(other)) => {
                format!("'status' is {}, {}", brief(other), vocabulary.expected)
            }
            (Code::Decides(_), Some(_), _) => self.unknown_code(texts, vocabulary),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mode::MODES;

    fn decide(body: &Value, vocabulary: &Vocabulary) -> Result<Decided, String> {
        super::decide(body, vocabulary, &crate::mode::every_vocabulary())
    }
    use serde_json::json;

    /// An answer each mode reads as its harmless answer; a mode without
    /// one here fails every test below.
    fn fine(mode: &str) -> Value {
        match mode {
            "running" => {
                json!({"code": "1", "status": "CTGKM3291I Backup process is not running."})
            }
            "needed" => {
                json!({"status": "CTGKM1304I All keys and certificates have been backed up."})
            }
            "result" => json!({"code": "0", "status": "CTGKM1301I Backup operation succeeded."}),
            "age" => json!({"code": "0", "backups": []}),
            "restore" => json!({"code": "0", "status": "0 IDLE"}),
            other => panic!("no fine answer for --mode {other}"),
        }
    }

    fn with(mode: &str, key: &str, value: Value) -> Value {
        let mut body = fine(mode);
        body.as_object_mut().unwrap().insert(key.into(), value);
        body
    }

    fn each_mode(test: impl Fn(&'static str, &'static Vocabulary)) {
        for kind in MODES {
            test(kind.name, kind.vocabulary);
        }
    }

    #[test]
    fn every_mode_reads_its_fine_answer_bare_or_in_a_one_element_array() {
        each_mode(|mode, v| {
            let bare = decide(&fine(mode), v).unwrap();
            assert_eq!(decide(&json!([fine(mode)]), v).unwrap(), bare, "{mode}");
            let err = decide(&json!([fine(mode), fine(mode)]), v).unwrap_err();
            assert!(err.contains("an array of 2"), "{mode}: {err}");
        });
    }

    #[test]
    fn an_error_member_that_is_not_empty_is_gklms_error_in_every_mode() {
        each_mode(|mode, v| {
            for error in [
                json!("CTGKM0001E failed"),
                json!("disk full"),
                json!(true),
                json!(["x"]),
                json!({"reason": "x"}),
                json!(1),
            ] {
                for key in ["error", "errors", "Error"] {
                    let body = with(mode, key, error.clone());
                    let err = decide(&body, v).unwrap_err();
                    assert!(err.starts_with("GKLM"), "{mode} {body}: {err}");
                }
            }
            for none in [json!(null), json!(false), json!([]), json!({}), json!(" ")] {
                let body = with(mode, "errors", none);
                assert!(decide(&body, v).is_ok(), "{mode} {body}");
            }
        });
    }

    #[test]
    fn an_error_id_anywhere_in_the_answer_is_heard_in_every_mode() {
        let id = "CTGKM1313E Backup operation failed.";
        each_mode(|mode, v| {
            for (key, value) in [
                ("message", json!(id)),
                ("messageId", json!("CTGKM1313E")),
                ("detail", json!({"why": [id]})),
                ("notes", json!([[id]])),
            ] {
                let body = with(mode, key, value);
                let err = decide(&body, v).unwrap_err();
                assert!(err.contains("CTGKM1313E"), "{mode} {body}: {err}");
            }
        });
        let result = MODES.iter().find(|k| k.name == "result").unwrap();
        let err = decide(&json!({"code": "0", "status": [id]}), result.vocabulary).unwrap_err();
        assert!(err.contains("CTGKM1313E"), "{err}");
    }

    #[test]
    fn a_warning_the_mode_does_not_know_is_no_fine_answer_in_every_mode() {
        each_mode(|mode, v| {
            let body = with(mode, "message", json!("CTGKM1314W Backup took long."));
            let err = decide(&body, v).unwrap_err();
            assert!(
                err.contains("CTGKM1314W Backup took long."),
                "{mode}: {err}"
            );
        });
    }

    #[test]
    fn another_questions_id_is_refused_naming_both_questions_in_every_mode() {
        each_mode(|mode, v| {
            for other in MODES.iter().filter(|k| k.name != mode) {
                for (id, _) in other.vocabulary.ids {
                    let body = with(mode, "message", json!(format!("{id} text")));
                    let err = decide(&body, v).unwrap_err();
                    assert!(
                        err.starts_with("GKLM answered another question")
                            && err.contains(other.vocabulary.question)
                            && err.contains(v.question),
                        "{mode} {body}: {err}"
                    );
                }
            }
        });
    }

    #[test]
    fn ids_of_one_question_are_no_other_questions() {
        let mut seen: Vec<&str> = Vec::new();
        each_mode(|_, v| {
            for (id, _) in v.ids {
                assert!(!seen.contains(id), "{id} in two vocabularies");
            }
        });
        for kind in MODES {
            seen.extend(kind.vocabulary.ids.iter().map(|(id, _)| *id));
        }
        let mut unique = seen.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), seen.len());
    }

    #[test]
    fn a_code_that_is_not_exactly_an_integer_is_no_code_in_every_mode() {
        each_mode(|mode, v| {
            for number in ["1e-400", "0.5", "1e400", "-0.000001"] {
                let code: Value = serde_json::from_str(number).unwrap();
                let quoted = format!("'code' is {code}");
                let err = decide(&with(mode, "code", code), v).unwrap_err();
                assert!(err.contains(&quoted), "{mode}: {err}");
            }
        });
    }

    #[test]
    fn a_known_id_decides_with_or_without_code_in_any_published_form() {
        let running = MODES[0].vocabulary;
        let not_running = 1;
        for body in [
            json!({"code": "CTGKM3291I", "status": "CTGKM3291I Backup process is not running."}),
            json!({"status": "CTGKM3291I Backup process is not running."}),
            json!({"code": 1, "messageId": "CTGKM3291I", "status": "Not running."}),
            json!({"code": "CTGKM3291I"}),
            json!({"message": "CTGKM3291I Backup process is not running."}),
            json!([{"code": "1", "status": "CTGKM3291I Backup process is not running."}]),
        ] {
            let decided = decide(&body, running).unwrap();
            assert_eq!(decided.answer, not_running, "{body}");
            assert_eq!(decided.message_id.as_deref(), Some("CTGKM3291I"), "{body}");
        }
        let err = decide(
            &json!({"code": "CTGKM3290I", "status": "CTGKM3291I x"}),
            running,
        )
        .unwrap_err();
        assert!(err.contains("names both") || err.contains("but"), "{err}");
    }

    #[test]
    fn exact_integers_are_read_from_the_numbers_text() {
        for (text, value) in [
            ("1", Some(1)),
            ("-1", Some(-1)),
            ("1.0", Some(1)),
            ("10e-1", Some(1)),
            ("2E2", Some(200)),
            ("0e-400", Some(0)),
            ("-0", Some(0)),
            ("1e-400", None),
            ("0.5", None),
            ("1e19", None),
            ("123456789012345678901234", None),
            ("1e-9223372036854775808", None),
        ] {
            assert_eq!(exact_integer(text), value, "{text}");
        }
    }
}
