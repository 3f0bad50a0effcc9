//! JSON as GKLM's answers are read: serde_json reads the body, into a
//! value built here so that an object naming a member twice is refused on
//! the way. serde_json keeps the last of two `code`s silently, and a check
//! must never pick one of two answers: `{"code":"1","code":"0"}` is no
//! answer at all. One pass: a long backup list is read once.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde_core::de::{Deserialize, Deserializer, Error, MapAccess, SeqAccess, Visitor};
use serde_json::error::Category;
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};

/// Parse `body`, refusing a duplicated member anywhere in it.
pub fn parse(body: &[u8]) -> Result<Value, String> {
    match serde_json::from_slice::<Unique>(body) {
        Ok(Unique(value)) => Ok(value),
        // Only the visitor below raises data errors: a member named twice.
        Err(e) if e.classify() == Category::Data => {
            Err(format!("{e}; which one GKLM meant is not documented"))
        }
        Err(e) => Err(format!("body is not JSON ({e})")),
    }
}

/// A JSON value none of whose objects repeats a member.
struct Unique(Value);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Unique, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: Error>(self, b: bool) -> Result<Unique, E> {
        Ok(Unique(Value::Bool(b)))
    }

    fn visit_i64<E: Error>(self, n: i64) -> Result<Unique, E> {
        Ok(Unique(Value::Number(n.into())))
    }

    fn visit_u64<E: Error>(self, n: u64) -> Result<Unique, E> {
        Ok(Unique(Value::Number(n.into())))
    }

    fn visit_f64<E: Error>(self, n: f64) -> Result<Unique, E> {
        Ok(Unique(
            Number::from_f64(n).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E: Error>(self, s: &str) -> Result<Unique, E> {
        Ok(Unique(Value::String(s.to_string())))
    }

    fn visit_string<E: Error>(self, s: String) -> Result<Unique, E> {
        Ok(Unique(Value::String(s)))
    }

    fn visit_unit<E: Error>(self) -> Result<Unique, E> {
        Ok(Unique(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Unique, A::Error> {
        let mut list = Vec::with_capacity(items.size_hint().unwrap_or(0).min(4096));
        while let Some(Unique(item)) = items.next_element()? {
            list.push(item);
        }
        Ok(Unique(Value::Array(list)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Unique, A::Error> {
        let mut map = Map::new();
        while let Some(key) = members.next_key::<String>()? {
            if map.is_empty() && Some(key.as_str()) == number_key() {
                let text: String = members.next_value()?;
                let number = Number::from_str(&text).map_err(A::Error::custom)?;
                return Ok(Unique(Value::Number(number)));
            }
            let Unique(value) = members.next_value()?;
            match map.entry(key) {
                Entry::Vacant(new) => {
                    new.insert(value);
                }
                Entry::Occupied(named) => return Err(A::Error::custom(twice(named.key()))),
            }
        }
        Ok(Unique(Value::Object(map)))
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
            let err = parse(body.as_bytes()).unwrap_err();
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
            let ours = parse(body.as_bytes()).unwrap();
            let theirs: Value = serde_json::from_str(body).unwrap();
            assert_eq!(ours, theirs, "{body}");
            assert_eq!(ours.to_string(), theirs.to_string(), "{body}");
        }
        let tiny = parse(br#"{"code":1e-400}"#).unwrap();
        assert_eq!(tiny["code"].to_string(), "1e-400");
    }

    #[test]
    fn a_member_named_twice_is_scrubbed_before_it_is_cut() {
        let password = "Tr0ub4dor&3 horse battery staple and more words";
        let _s = crate::output::secret::Secret::new(password.into());
        let body = format!(r#"{{"{password}":1,"{password}":2}}"#);
        let err = parse(body.as_bytes()).unwrap_err();
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
            assert!(parse(body.as_bytes()).is_ok(), "{body}");
        }
        assert!(
            parse(b"{\"a\":")
                .unwrap_err()
                .starts_with("body is not JSON")
        );
    }
}
