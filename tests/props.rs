//! No input makes the parsers panic: arbitrary bytes as GKLM responses and
//! state files, arbitrary strings as ranges and durations.

use check_gklm_backup::gklm::{GklmMessage, parse_backup_status, parse_login};
use check_gklm_backup::report::clean;
use check_gklm_backup::state::decode;
use check_gklm_backup::threshold::{Range, parse_duration};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn response_parsers_take_any_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_backup_status(&body);
        let _ = parse_login(&body);
        let _ = GklmMessage::from_body(&body);
    }

    #[test]
    fn response_parsers_take_json_like_text(body in r#"\{("code"|"status"|"UserAuthId"|"message"|[a-z]{0,4}):("0"|"1"|0|1|null|\[\]|"CTGKM[0-9]{4}[IWE] .{0,20}"|-?[0-9.e]{1,8})(,.{0,10})?\}?"#) {
        let _ = parse_backup_status(body.as_bytes());
        let _ = parse_login(body.as_bytes());
        let _ = GklmMessage::from_body(body.as_bytes());
    }

    #[test]
    fn range_parser_takes_any_string(text in ".{0,24}") {
        if let Ok(range) = Range::parse(&text) {
            let _ = range.alerts(0.0);
            prop_assert_eq!(range.to_string(), text.trim());
        }
    }

    #[test]
    fn range_parser_takes_range_like_text(text in "@?(~|-?[0-9.e+]{0,6})?:?(-?[0-9.e+]{0,6})?") {
        let _ = Range::parse(&text);
    }

    #[test]
    fn duration_parser_takes_any_string(text in ".{0,16}|[0-9.e+-]{0,12}[smhdx]?") {
        if let Ok(secs) = parse_duration(&text) {
            prop_assert!(secs <= 10 * 365 * 86_400);
        }
    }

    #[test]
    fn state_decoder_takes_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512), now in any::<u64>()) {
        let _ = decode(&String::from_utf8_lossy(&bytes), now);
    }

    #[test]
    fn state_decoder_takes_state_like_json(checks in any::<i64>(), since in any::<i64>(), updated in any::<u64>(), now in any::<u64>()) {
        let text = format!(r#"{{"version":1,"updated":{updated},"running_checks":{checks},"running_since":{since},"prefix":"/SKLM","session":"s"}}"#);
        let _ = decode(&text, now);
    }

    #[test]
    fn cleaned_text_is_one_safe_line(text in any::<String>()) {
        let out = clean(&text);
        prop_assert!(!out.contains('|'));
        prop_assert!(!out.chars().any(char::is_control));
    }
}
