//! No input makes the parsers panic: arbitrary bytes as GKLM responses and
//! state files, arbitrary strings as ranges, durations and as the value of
//! every option, in-process and through the real binary.

use std::ffi::OsString;

use check_gklm_backup::cli::{self, FLAGS};
use check_gklm_backup::gklm::api::{GklmMessage, parse_login};
use check_gklm_backup::gklm::json;
use check_gklm_backup::history::decode;
use check_gklm_backup::mode::threshold::Thresholds;
use check_gklm_backup::mode::threshold::{Range, parse_duration};
use check_gklm_backup::mode::{self, MODES, Mode, ModeOptions};
use check_gklm_backup::output::text::clean;
use check_gklm_backup::settings::Environment;
use proptest::prelude::*;

use crate::util::*;

/// Every mode of the registry, with its defaults, or with a time limit
/// for a mode that needs one.
fn every_mode() -> Vec<Mode> {
    let timed = ModeOptions {
        thresholds: Thresholds {
            critical_time: Some(86_400),
            ..Thresholds::default()
        },
        ..ModeOptions::default()
    };
    let modes: Vec<Mode> = MODES
        .iter()
        .map(|kind| {
            mode::choose(kind.name, &ModeOptions::default())
                .or_else(|_| mode::choose(kind.name, &timed))
                .unwrap_or_else(|e| panic!("{}: {e}", kind.name))
        })
        .collect();
    assert_eq!(modes.len(), MODES.len());
    modes
}

/// Each mode reads `body` (when it is JSON) without panicking.
fn read_in_every_mode(body: &[u8]) {
    for mode in every_mode() {
        // Read as GKLM's answer to that mode's question is.
        if let Ok(body) = json::parse(body, mode.endpoint().list)
            && let Ok(answer) = mode.read(&body)
        {
            let _ = answer.judge(Err("none".into()), 1_700_000_000);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn response_parsers_take_any_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        read_in_every_mode(&body);
        let _ = parse_login(&body);
        let _ = GklmMessage::from_body(&body);
    }

    #[test]
    fn response_parsers_take_json_like_text(body in r#"\[?\{("code"|"status"|"UserAuthId"|"message"|"timestamp"|"backupFilePath"|[a-z]{0,4}):("0"|"1"|"-1"|0|1|null|\[\]|"CTGKM[0-9]{4}[IWE] .{0,20}"|-?[0-9.e]{1,14}|"[0-9T:+-]{0,26}Z?"|".{0,8}_[0-9]{14}[+-][0-9]{4}_.{0,4}")(,.{0,10})?\}?\]?"#) {
        read_in_every_mode(body.as_bytes());
        let _ = parse_login(body.as_bytes());
        let _ = GklmMessage::from_body(body.as_bytes());
    }

    #[test]
    fn range_parser_takes_any_string(text in ".{0,24}") {
        if let Ok(range) = Range::parse(&text) {
            let _ = range.alerts(0.0);
            // Printed in normalised form, which reads back as the same range.
            prop_assert_eq!(Range::parse(&range.to_string()), Ok(range));
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
    fn state_decoder_takes_state_like_json(mode in "[a-z]{0,8}", key in "[a-z -]{0,8}", checks in any::<i64>(), since in any::<i64>(), last in any::<i64>(), counted in any::<i64>(), updated in any::<u64>(), now in any::<u64>()) {
        let text = format!(r#"{{"version":3,"target":"t","updated":{updated},"streaks":{{"{mode}":{{"since":{since},"last":{last},"services":{{"{key}":{{"checks":{checks},"last":{counted}}}}}}}}},"prefix":"/SKLM","session":"s"}}"#);
        if let Ok((_, saved)) = decode(&text, now) {
            for s in saved.streaks.values() {
                prop_assert!(s.since <= s.last);
            }
        }
    }

    #[test]
    fn cli_takes_any_value_for_every_option(index in 0..FLAGS.len(), value in any::<String>(), glued in any::<bool>()) {
        let flag = &FLAGS[index];
        let mut args: Vec<OsString> = vec!["-H".into(), "gklm".into()];
        if flag.long == "--hostname" {
            args.clear();
        }
        if glued {
            args.push(format!("{}={value}", flag.long).into());
        } else {
            args.push(flag.long.into());
            args.push(value.into());
        }
        let _ = cli::parse(args, &Environment::default());
    }

    #[test]
    fn cleaned_text_is_one_safe_line(text in any::<String>()) {
        let out = clean(&text);
        prop_assert!(!out.contains('|'));
        prop_assert!(!out.chars().any(char::is_control));
    }
}

/// Through the real binary, every option with arbitrary values: always one
/// plugin line, never an internal error. Each run has credentials, so it
/// goes on to build its URL and connect. Only ever contacts 127.0.0.1: -H
/// values always hold a character no host name has (so nothing is looked
/// up in DNS), and state files stay inside the workspace.
#[test]
fn the_binary_answers_every_option_with_a_plugin_line() {
    let ws = Workspace::new();
    let closed = closed_port().to_string();
    let runs = std::cell::Cell::new(0);
    for flag in FLAGS {
        // A runner per option: one runner counts its cases across calls,
        // and would leave every option after the first untried.
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 24,
            ..ProptestConfig::default()
        });
        if matches!(flag.long, "--help" | "--version" | "--format") {
            continue;
        }
        let strategy = if flag.long == "--hostname" {
            "[^\\x00\\n]{0,12}[ /@#?|][^\\x00\\n]{0,12}".boxed()
        } else {
            "[^\\x00.]{0,24}|-?[0-9.e+:~@]{0,8}[smhd]?".boxed()
        };
        runner
            .run(&strategy, |value| {
                let mut cmd = command(&ws);
                if flag.long != "--hostname" {
                    cmd.args(["-H", "127.0.0.1"]);
                }
                if flag.long != "--port" {
                    cmd.args(["-p", &closed]);
                }
                let value = match flag.long {
                    "--state-file" => {
                        format!("{}/{}", ws.path().display(), value.replace("..", "_"))
                    }
                    _ => value,
                };
                // Credentials that load, so a run gets as far as building
                // its URL and connecting (to 127.0.0.1, a closed port).
                cmd.args(["-t", "2"]).env("GKLM_AUTH_ID", "fuzz-session-id");
                match flag.value {
                    Some(_) => cmd.arg(format!("{}={value}", flag.long)),
                    None => cmd.arg(flag.long),
                };
                let run = run(&mut cmd);
                let first = run.first_line();
                prop_assert!(
                    ["WARNING - ", "CRITICAL - ", "UNKNOWN - "]
                        .iter()
                        .any(|s| first.starts_with(s)),
                    "{} {value:?}: {first}",
                    flag.long
                );
                prop_assert!(!run.stdout.contains("internal error"), "{}", run.stdout);
                prop_assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
                runs.set(runs.get() + 1);
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{}: {e}", flag.long));
    }
    let tried = FLAGS.len() - 3;
    assert!(
        runs.get() >= tried * 24,
        "only {} runs for {tried} options",
        runs.get()
    );
}
