//! JSON as GKLM's answers are read: serde_json reads the body, into a
//! value built here so that an object naming a member twice is refused on
//! the way. serde_json keeps the last of two `code`s silently, and a check
//! must never pick one of two answers: `{"code":"1","code":"0"}` is no
//! answer at all. One pass: a long backup list is read once, and its
//! entries are kept apart, compact, holding only what the mode reads.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde_core::de::{
    Deserialize, DeserializeSeed, Deserializer, Error, MapAccess, SeqAccess, Visitor,
};
use serde_json::error::Category;
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};

/// Where an answer holds a list, and which members of its entries the mode
/// reads. The rest of each entry is still read (it must be JSON and name
/// no member twice) but not kept: a list of 30,000 backups then costs what
/// reading it costs, not what building and scrubbing every text would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListShape {
    /// The answer object's members that hold the list, in any case; a bare
    /// array is the list too.
    pub keys: &'static [&'static str],
    /// The members of an entry that are kept, by exact name.
    pub kept: &'static [&'static str],
}

/// A 200 answer as read: its JSON, but for the lists its `ListShape`
/// names, which are taken out (an empty array stays where each was) and
/// kept in `lists`. The lists' cells are kept as GKLM wrote them, secrets
/// and all: a mode reads every cell of tens of thousands, and prints one
/// or two, which `ListEntry::quote` scrubs first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Body {
    pub json: Value,
    pub lists: Vec<List>,
}

/// A list taken out of an answer: the member that held it, as written
/// (None: the answer was the list), and its entries.
#[derive(Clone, Debug, PartialEq)]
pub struct List {
    pub key: Option<String>,
    kept: &'static [&'static str],
    entries: Entries,
}

/// The entries of a list: for each, where its `kept.len()` cells begin
/// (None where it lacks the member), or `KEEPS_NOTHING` for one that keeps
/// nothing (no object, or none of the members): one word, not a row of
/// cells, so that `[0,0,...]` costs no more than a list of backups.
#[derive(Clone, Debug, Default, PartialEq)]
struct Entries {
    rows: Vec<u32>,
    cells: Vec<Option<Value>>,
}

/// The row of an entry that keeps nothing. A row is at most a third of an
/// 8 MiB body's bytes, far below it.
const KEEPS_NOTHING: u32 = u32::MAX;

impl Entries {
    /// Keep the cells from `at` as the next entry's row, or drop them if
    /// they hold nothing.
    fn close_row(&mut self, at: usize) {
        match u32::try_from(at) {
            Ok(row) if self.cells[at..].iter().any(Option::is_some) => self.rows.push(row),
            _ => {
                self.cells.truncate(at);
                self.rows.push(KEEPS_NOTHING);
            }
        }
    }
}

impl List {
    pub fn len(&self) -> usize {
        self.entries.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.rows.is_empty()
    }

    /// An answer that is one entry, as a list of it.
    pub fn one(entry: &Map<String, Value>, kept: &'static [&'static str]) -> List {
        let mut entries = Entries {
            rows: Vec::new(),
            cells: kept.iter().map(|k| entry.get(*k).cloned()).collect(),
        };
        entries.close_row(0);
        List {
            key: None,
            kept,
            entries,
        }
    }

    pub fn entries(&self) -> impl Iterator<Item = ListEntry<'_>> {
        let Entries { rows, cells } = &self.entries;
        rows.iter().map(move |&row| ListEntry {
            kept: self.kept,
            cells: match row {
                KEEPS_NOTHING => &[],
                row => &cells[row as usize..][..self.kept.len()],
            },
        })
    }
}

/// One entry of a `List`: the members kept of it.
#[derive(Clone, Copy, Debug)]
pub struct ListEntry<'a> {
    kept: &'static [&'static str],
    cells: &'a [Option<Value>],
}

impl<'a> ListEntry<'a> {
    /// The member `name`, if the entry has it and it is kept: raw, to be
    /// read, never printed.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        let at = self.kept.iter().position(|k| *k == name)?;
        self.cells.get(at)?.as_ref()
    }

    /// The member `name` for a message: its secrets scrubbed, then its
    /// JSON quoted whole up to 80 bytes; `none` where it is absent.
    pub fn quote(&self, name: &str) -> String {
        let Some(raw) = self.get(name) else {
            return "none".into();
        };
        let mut value = raw.clone();
        crate::output::secret::Scrubber::new().json(&mut value);
        let text = value.to_string();
        if text.len() <= 80 {
            return text;
        }
        let mut end = 77;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &text[..end])
    }
}

/// Parse `body`, refusing a duplicated member anywhere in it; with `list`,
/// the lists it names are taken out.
pub fn parse(body: &[u8], list: Option<&'static ListShape>) -> Result<Body, String> {
    // Checked once here, the text is not checked again string by string;
    // a body that is not UTF-8 goes the slow way for serde_json's message.
    let parsed = match std::str::from_utf8(body) {
        Ok(text) => whole(serde_json::Deserializer::from_str(text), list),
        Err(_) => whole(serde_json::Deserializer::from_slice(body), list),
    };
    match parsed {
        Ok(body) => Ok(body),
        // Only the visitors below raise data errors: a member named twice.
        Err(e) if e.classify() == Category::Data => {
            Err(format!("{e}; which one GKLM meant is not documented"))
        }
        Err(e) => Err(format!("body is not JSON ({e})")),
    }
}

/// The answer, followed by nothing but white space.
fn whole<'de, R: serde_json::de::Read<'de>>(
    mut input: serde_json::Deserializer<R>,
    list: Option<&'static ListShape>,
) -> serde_json::Result<Body> {
    let mut lists = Vec::new();
    let role = match list {
        None => Role::Build,
        Some(shape) => Role::Listed {
            shape,
            top: true,
            lists: &mut lists,
        },
    };
    let json = match Reader(role).deserialize(&mut input)? {
        Read::List(entries) => {
            let kept = list.map_or(&[][..], |shape| shape.kept);
            lists.push(List {
                key: None,
                kept,
                entries,
            });
            Value::Array(Vec::new())
        }
        read => read.value(),
    };
    input.end()?;
    Ok(Body { json, lists })
}

/// How a value is read, by where it sits.
enum Role<'a> {
    /// Built whole, as serde_json builds it, but that an object naming a
    /// member twice is refused.
    Build,
    /// Read only to refuse a member named twice: what a list entry does
    /// not keep.
    Check,
    /// A list entry: the members it keeps go to its cells, the rest is
    /// checked.
    Entry {
        kept: &'static [&'static str],
        cells: &'a mut [Option<Value>],
    },
    /// The answer (`top`), or a member of it that `ListShape::keys` names:
    /// an array there is a list, taken out.
    Listed {
        shape: &'static ListShape,
        top: bool,
        lists: &'a mut Vec<List>,
    },
}

/// What a reading gives.
enum Read {
    Value(Value),
    /// An array where a list may be: its entries.
    List(Entries),
    /// What is only checked, or kept in cells.
    Nothing,
}

impl Read {
    /// The value `Role::Build` always gives (and a list member that held
    /// no array).
    fn value(self) -> Value {
        match self {
            Read::Value(value) => value,
            Read::List(_) | Read::Nothing => Value::Null,
        }
    }
}

/// A value read in its `Role`.
struct Reader<'a>(Role<'a>);

impl Reader<'_> {
    /// A scalar: built where values are, dropped where they are not.
    fn scalar<E>(self, value: impl FnOnce() -> Value) -> Result<Read, E> {
        Ok(match self.0 {
            Role::Build | Role::Listed { .. } => Read::Value(value()),
            Role::Check | Role::Entry { .. } => Read::Nothing,
        })
    }
}

impl<'de> DeserializeSeed<'de> for Reader<'_> {
    type Value = Read;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Read, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Reader<'_> {
    type Value = Read;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: Error>(self, b: bool) -> Result<Read, E> {
        self.scalar(|| Value::Bool(b))
    }

    fn visit_i64<E: Error>(self, n: i64) -> Result<Read, E> {
        self.scalar(|| Value::Number(n.into()))
    }

    fn visit_u64<E: Error>(self, n: u64) -> Result<Read, E> {
        self.scalar(|| Value::Number(n.into()))
    }

    fn visit_f64<E: Error>(self, n: f64) -> Result<Read, E> {
        self.scalar(|| Number::from_f64(n).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: Error>(self, s: &str) -> Result<Read, E> {
        self.scalar(|| Value::String(s.to_string()))
    }

    fn visit_string<E: Error>(self, s: String) -> Result<Read, E> {
        self.scalar(|| Value::String(s))
    }

    fn visit_unit<E: Error>(self) -> Result<Read, E> {
        self.scalar(|| Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Read, A::Error> {
        match self.0 {
            Role::Build => {
                let mut list = Vec::with_capacity(items.size_hint().unwrap_or(0).min(4096));
                while let Some(item) = items.next_element_seed(Reader(Role::Build))? {
                    list.push(item.value());
                }
                Ok(Read::Value(Value::Array(list)))
            }
            Role::Check | Role::Entry { .. } => {
                while items.next_element_seed(Reader(Role::Check))?.is_some() {}
                Ok(Read::Nothing)
            }
            Role::Listed { shape, .. } => {
                let (kept, mut entries) = (shape.kept, Entries::default());
                loop {
                    let at = entries.cells.len();
                    entries.cells.resize(at + kept.len(), None);
                    let entry = Role::Entry {
                        kept,
                        cells: &mut entries.cells[at..],
                    };
                    if items.next_element_seed(Reader(entry))?.is_none() {
                        entries.cells.truncate(at);
                        return Ok(Read::List(entries));
                    }
                    entries.close_row(at);
                }
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Read, A::Error> {
        let build = |_: &str, m: &mut A| Ok(m.next_value_seed(Reader(Role::Build))?.value());
        match self.0 {
            Role::Build | Role::Listed { top: false, .. } => {
                object(&mut members, build).map(Read::Value)
            }
            Role::Check => checked(&mut members, |_, m| {
                m.next_value_seed(Reader(Role::Check)).map(drop)
            }),
            Role::Entry { kept, cells } => checked(&mut members, |key, m| {
                match kept.iter().position(|k| *k == key) {
                    Some(i) => cells[i] = Some(m.next_value_seed(Reader(Role::Build))?.value()),
                    None => m.next_value_seed(Reader(Role::Check)).map(drop)?,
                }
                Ok(())
            }),
            Role::Listed { shape, lists, .. } => object(&mut members, |key, m| {
                if !shape.keys.iter().any(|k| key.eq_ignore_ascii_case(k)) {
                    return build(key, m);
                }
                let listed = Role::Listed {
                    shape,
                    top: false,
                    lists: &mut *lists,
                };
                Ok(match m.next_value_seed(Reader(listed))? {
                    Read::List(entries) => {
                        let key = Some(key.to_string());
                        lists.push(List {
                            key,
                            kept: shape.kept,
                            entries,
                        });
                        Value::Array(Vec::new())
                    }
                    read => read.value(),
                })
            })
            .map(Read::Value),
        }
    }
}

/// An object, each member's value read by `value`, or the number
/// serde_json's `arbitrary_precision` hands over as one.
fn object<'de, A: MapAccess<'de>>(
    members: &mut A,
    mut value: impl FnMut(&str, &mut A) -> Result<Value, A::Error>,
) -> Result<Value, A::Error> {
    let mut map = Map::new();
    let mut first = true;
    while let Some(key) = members.next_key_seed(Name)? {
        if std::mem::take(&mut first) && Some(key.as_ref()) == number_key() {
            let text: String = members.next_value()?;
            let number = Number::from_str(&text).map_err(A::Error::custom)?;
            return Ok(Value::Number(number));
        }
        let read = value(&key, members)?;
        match map.entry(key.into_owned()) {
            Entry::Vacant(new) => {
                new.insert(read);
            }
            Entry::Occupied(named) => return Err(A::Error::custom(twice(named.key()))),
        }
    }
    Ok(Value::Object(map))
}

/// An object whose members are read by `member` and not kept in a map:
/// its names are remembered only to refuse one given twice.
fn checked<'de, A: MapAccess<'de>>(
    members: &mut A,
    mut member: impl FnMut(&str, &mut A) -> Result<(), A::Error>,
) -> Result<Read, A::Error> {
    let mut names = Names::default();
    while let Some(key) = members.next_key_seed(Name)? {
        if !names.add(key.clone()) {
            return Err(A::Error::custom(twice(&key)));
        }
        member(&key, members)?;
    }
    Ok(Read::Nothing)
}

/// A member name, borrowed from the body where it needs no unescaping.
struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E: Error>(self, s: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E: Error>(self, s: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s.to_string()))
    }

    fn visit_string<E: Error>(self, s: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s))
    }
}

/// The member names of an object whose members are not kept: the first
/// few that need no unescaping looked through in place (no allocation for
/// the entries of a list), the rest in a set (linear either way).
#[derive(Default)]
struct Names<'de> {
    few: [&'de str; FEW],
    len: usize,
    many: BTreeSet<Cow<'de, str>>,
}

const FEW: usize = 16;

impl<'de> Names<'de> {
    /// Add `name`; false if the object named it before.
    fn add(&mut self, name: Cow<'de, str>) -> bool {
        if self.few[..self.len].contains(&name.as_ref()) || self.many.contains(name.as_ref()) {
            return false;
        }
        match name {
            Cow::Borrowed(text) if self.len < FEW => {
                self.few[self.len] = text;
                self.len += 1;
            }
            name => {
                self.many.insert(name);
            }
        }
        true
    }
}

/// The message for a member named twice: the name scrubbed before it is
/// cut, as all server text.
fn twice(name: &str) -> String {
    let shown: String = crate::output::secret::scrub_server_text(name)
        .chars()
        .take(30)
        .collect();
    format!("the member '{shown}' appears twice")
}

/// With `arbitrary_precision`, serde_json hands a visitor a number that is
/// not an integer of 64 bits as a map of one member, whose name it keeps to
/// itself: learnt once, from serde_json, rather than copied here. Never
/// empty, so that no member GKLM names can be taken for it.
fn number_key() -> Option<&'static str> {
    static KEY: OnceLock<String> = OnceLock::new();
    let key = KEY.get_or_init(|| {
        serde_json::from_str::<FirstKey>("0.5")
            .map(|k| k.0)
            .unwrap_or_default()
    });
    Some(key.as_str()).filter(|k| !k.is_empty())
}

/// The first member name of a map, for `number_key`.
struct FirstKey(String);

impl<'de> Deserialize<'de> for FirstKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FirstKey, D::Error> {
        struct First;
        impl<'de> Visitor<'de> for First {
            type Value = FirstKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<FirstKey, A::Error> {
                let key: String = m.next_key()?.unwrap_or_default();
                m.next_value::<serde_core::de::IgnoredAny>()?;
                Ok(FirstKey(key))
            }
        }
        d.deserialize_any(First)
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_named_twice_anywhere_is_refused_naming_it() {
        for (body, name) in [
            (r#"{"code":"1","code":"0"}"#, "code"),
            (r#"{"code":"1","code":"1"}"#, "code"),
            (r#"[{"status":"a","x":{"t":1,"t":2}}]"#, "t"),
            (
                r#"{"backups":[{"timestamp":1,"timestamp":2}]}"#,
                "timestamp",
            ),
            (r#"{"c\u006fde":"1","code":"0"}"#, "code"),
        ] {
            let err = parse(body.as_bytes(), None).unwrap_err();
            assert!(
                err.starts_with(&format!("the member '{name}' appears twice")),
                "{body}: {err}"
            );
        }
    }

    /// Built here, the value is the one serde_json itself builds, numbers
    /// with their text (`1e-400` stays `1e-400`, never 0).
    #[test]
    fn the_value_is_serde_jsons_own() {
        for body in [
            r#"{"code":"0","status":"CTGKM3291I x","n":[1,-2,3.5,1e-400,-0,123456789012345678901234567890]}"#,
            r#"[{"a":{"b":[[],{},null,true,false]}},"\u00e9\n\"",0.5]"#,
            r#"{"backups":[{"timestamp":1795700000000,"backupFilePath":"/x"}],"e":{}}"#,
            r#"{"c\u006fde":1,"code2":2}"#,
            "-1",
            r#""text""#,
            "[]",
        ] {
            let ours = parse(body.as_bytes(), None).unwrap().json;
            let theirs: Value = serde_json::from_str(body).unwrap();
            assert_eq!(ours, theirs, "{body}");
            assert_eq!(ours.to_string(), theirs.to_string(), "{body}");
        }
        let tiny = parse(br#"{"code":1e-400}"#, None).unwrap().json;
        assert_eq!(tiny["code"].to_string(), "1e-400");
    }

    #[test]
    fn a_member_named_twice_is_scrubbed_before_it_is_cut() {
        let password = "Tr0ub4dor&3 horse battery staple and more words";
        let _s = crate::output::secret::Secret::new(password.into());
        let body = format!(r#"{{"{password}":1,"{password}":2}}"#);
        let err = parse(body.as_bytes(), None).unwrap_err();
        assert!(err.contains("the member '****' appears twice"), "{err}");
        assert!(!err.contains("Tr0ub"), "{err}");
    }

    #[test]
    fn members_of_different_objects_may_share_a_name() {
        for body in [
            r#"{"code":"1","status":"x"}"#,
            r#"[{"code":1},{"code":2}]"#,
            r#"{"a":{"code":1},"code":2,"n":1e-400,"m":-0.5}"#,
            r#""text""#,
            "null",
        ] {
            assert!(parse(body.as_bytes(), None).is_ok(), "{body}");
        }
        assert!(
            parse(b"{\"a\":", None)
                .unwrap_err()
                .starts_with("body is not JSON")
        );
    }

    static SHAPE: ListShape = ListShape {
        keys: &["backups"],
        kept: &["status", "timestamp"],
    };

    fn listed(body: &str) -> Result<Body, String> {
        parse(body.as_bytes(), Some(&SHAPE))
    }

    #[test]
    fn a_list_is_taken_out_keeping_only_what_its_entries_are_read_for() {
        let body = listed(
            r#"{"code":"0","Backups":[{"timestamp":1,"path":"/a","status":"ok"},7,{"x":{"y":[1]}}],"errors":[{"id":"CTGKM0001E x"}]}"#,
        )
        .unwrap();
        // Everything but the list, whole; an empty array where it was.
        let rest: Value =
            serde_json::from_str(r#"{"code":"0","Backups":[],"errors":[{"id":"CTGKM0001E x"}]}"#)
                .unwrap();
        assert_eq!(body.json, rest);
        let [list] = body.lists.as_slice() else {
            panic!("{body:?}")
        };
        assert_eq!(list.key.as_deref(), Some("Backups"));
        assert_eq!(list.len(), 3);
        let entries: Vec<ListEntry> = list.entries().collect();
        assert_eq!(entries[0].get("timestamp"), Some(&Value::from(1)));
        assert_eq!(entries[0].get("status"), Some(&Value::from("ok")));
        assert_eq!(entries[0].get("path"), None, "not kept");
        assert!(entries[1..].iter().all(|e| e.get("timestamp").is_none()));
        // A bare array is the list; a list key holding no array is kept.
        let bare = listed(r#"[{"status":"x"}]"#).unwrap();
        assert_eq!(bare.json, Value::Array(Vec::new()));
        assert_eq!((bare.lists[0].key.clone(), bare.lists[0].len()), (None, 1));
        // An entry that keeps nothing costs one word, not a row of cells.
        let sparse = listed(r#"[0,{},{"x":1},"s",{"status":"a"},[]]"#).unwrap();
        let list = &sparse.lists[0];
        assert_eq!(list.len(), 6);
        assert_eq!(list.entries.cells.len(), SHAPE.kept.len(), "one row");
        let statuses: Vec<_> = list.entries().map(|e| e.get("status")).collect();
        assert_eq!(statuses[4], Some(&Value::from("a")));
        assert_eq!(statuses.iter().flatten().count(), 1);
        let object = listed(r#"{"backups":{"status":"x"}}"#).unwrap();
        assert!(object.lists.is_empty());
        assert_eq!(object.json["backups"]["status"], "x");
    }

    #[test]
    fn what_a_list_does_not_keep_is_still_read_in_full() {
        let many: Vec<String> = (0..40).map(|i| format!(r#""m{i}":{i}"#)).collect();
        for (body, name) in [
            (r#"[{"status":"a","status":"b"}]"#.to_string(), "status"),
            (r#"[{"path":"a","path":"b"}]"#.to_string(), "path"),
            (r#"{"backups":[{"x":{"t":1,"t":2}}]}"#.to_string(), "t"),
            (r#"[[{"t":1,"t":2}]]"#.to_string(), "t"),
            (format!(r#"[{{{},"m33":1}}]"#, many.join(",")), "m33"),
            (format!(r#"[{{{},"m3":1}}]"#, many.join(",")), "m3"),
            (r#"[{"\u0061":1,"a":2}]"#.to_string(), "a"),
            (r#"[{"a":1,"\u0061":2}]"#.to_string(), "a"),
        ] {
            let err = listed(&body).unwrap_err();
            assert!(
                err.starts_with(&format!("the member '{name}' appears twice")),
                "{body}: {err}"
            );
        }
        for body in [
            b"[{\"path\":\"\xff\"}]".as_slice(),
            b"[{\"status\":1}] x",
            b"{\"code\":1} x",
        ] {
            for shape in [None, Some(&SHAPE)] {
                let err = parse(body, shape).unwrap_err();
                assert!(err.starts_with("body is not JSON"), "{err}");
            }
        }
    }
}
