//! The command line: read once, by pico-args, into what it gave
//! (`settings::Given`: each option's text, each switch's count), which
//! `settings` turns into the settings of a run. Nothing below main knows
//! that a command line exists.
//!
//! `FLAGS` is the one list of options: it drives the reading (`-H host`,
//! `-Hhost`, `-w3`, bundled `-kv`, `--opt=value`) and the test that keeps
//! `--help`, the man page, the README and the Icinga 2 CheckCommand in step.

use std::ffi::OsString;
use std::fmt;

use crate::mode::{self, kind, result};
use crate::output::render::Format;
use crate::settings::{Config, DEFAULT_LANGUAGE, Environment, Given, Valued, parse_format};

/// One command-line option.
#[derive(Debug)]
pub struct Flag {
    /// `-H`: the short form, as pico-args and the documents spell it.
    pub short: Option<&'static str>,
    pub long: &'static str,
    /// The value's name in `--help`; None for a switch.
    pub value: Option<&'static str>,
    /// The default as `--help` states it.
    pub default: Option<&'static str>,
}

const fn flag(short: Option<&'static str>, long: &'static str) -> Flag {
    Flag {
        short,
        long,
        value: None,
        default: None,
    }
}

const fn valued(
    short: Option<&'static str>,
    long: &'static str,
    value: &'static str,
    default: Option<&'static str>,
) -> Flag {
    Flag {
        short,
        long,
        value: Some(value),
        default,
    }
}

/// Every option, in `--help` order.
pub const FLAGS: &[Flag] = &[
    valued(Some("-H"), "--hostname", "HOST", None),
    valued(Some("-p"), "--port", "PORT", Some("9443")),
    valued(None, "--prefix", "PREFIX", Some("auto")),
    valued(Some("-l"), "--language", "LANG", Some(DEFAULT_LANGUAGE)),
    valued(Some("-u"), "--username", "USER", None),
    valued(None, "--password-file", "FILE", None),
    flag(None, "--no-session-cache"),
    valued(None, "--auth-id-file", "FILE", None),
    valued(None, "--cacert", "FILE", None),
    flag(Some("-k"), "--insecure"),
    valued(None, "--mode", "MODE", Some(mode::DEFAULT.name)),
    valued(Some("-w"), "--warning", "RANGE", None),
    valued(Some("-c"), "--critical", "RANGE", None),
    valued(None, "--warning-time", "DURATION", None),
    valued(None, "--critical-time", "DURATION", None),
    valued(None, "--max-gap", "DURATION", Some(kind::DEFAULT_MAX_GAP)),
    valued(
        None,
        "--unknown-result-state",
        "STATE",
        Some(result::DEFAULT_UNDETERMINED),
    ),
    valued(None, "--backup-dir", "DIR", None),
    valued(None, "--time-zone", "ZONE", None),
    valued(None, "--state-file", "PATH", None),
    valued(None, "--state-key", "NAME", None),
    valued(None, "--unreachable-state", "STATE", Some("critical")),
    valued(Some("-t"), "--timeout", "SECONDS", Some("10")),
    valued(None, "--format", "FORMAT", Some("nagios")),
    flag(Some("-v"), "--verbose"),
    flag(Some("-h"), "--help"),
    flag(Some("-V"), "--version"),
];

pub enum Command {
    Run(Box<Config>),
    Help,
    Version,
}

/// A usage error: one line that names the option and what to write
/// instead, and what it takes to print it as asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError {
    pub why: String,
    /// The `--format` given, where it could be read (else nagios).
    pub format: Format,
    /// The `--mode` given, where it names one.
    pub mode: Option<&'static str>,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.why)
    }
}

impl std::error::Error for UsageError {}

/// The most words, and the longest word, a command line may have: far more
/// than any real one (a path is at most 4096 bytes), and small enough that
/// reading it costs no time worth measuring, whatever it holds.
const MAX_WORDS: usize = 256;
const MAX_WORD: usize = 8192;

/// A switch is counted at most this often (`-v` past 3 changes nothing).
const MAX_REPEATS: usize = 255;

/// Parse the arguments (without the program name).
///
/// The shape of pico-args' own example: every valued option is taken
/// first (so that no switch is looked for inside a value), then the
/// switches, then `finish` names what is left over, then the values are
/// validated. The format and the mode come first of all, so that a usage
/// error is printed in the format asked for, with that mode's fields.
pub fn parse(raw: Vec<OsString>, env: &Environment) -> Result<Command, UsageError> {
    let mut asked = Asked::default();
    // Refused, if it must be, once the format it is to be refused in is known.
    let sane = bounded(&raw);
    if let (Ok(()), Some(picture)) = (&sane, Picture::split(&raw)) {
        return picture.parse(env);
    }
    let mut args = pico_args::Arguments::from_vec(raw);
    let format = value(&mut args, flag_named("--format"));
    asked.format = match &format {
        Ok(Some(text)) => parse_format(text).unwrap_or_default(),
        _ => Format::default(),
    };
    let mode = value(&mut args, flag_named("--mode"));
    if let Ok(Some(name)) = &mode {
        asked.mode = mode::kind_of(name).map(|k| k.name);
    }
    let read = || -> Result<Command, String> {
        sane?;
        let (format, mode) = (format?, mode?);
        let mut given = Given::default();
        for f in FLAGS.iter().filter(|f| f.value.is_some()) {
            let text = match f.long {
                "--format" => format.clone(),
                "--mode" => mode.clone(),
                _ => value(&mut args, f)?,
            };
            let named = names(f);
            given.values.push(Valued {
                long: f.long,
                named,
                text,
            });
        }
        let every: Vec<&Flag> = FLAGS.iter().collect();
        let rest = switches(args.finish(), &every, &mut given)?;
        if given.count("--help") > 0 {
            return Ok(Command::Help);
        }
        if given.count("--version") > 0 {
            return Ok(Command::Version);
        }
        // A misspelt option is a better hint than the -H it may have hidden.
        if let Some(stray) = rest.first() {
            return Err(left_over(&stray.to_string_lossy()));
        }
        Ok(Command::Run(Box::new(Config::from_given(given, env)?)))
    };
    read().map_err(|why| asked.error(why))
}

/// A command line of several modes: `--mode` given more than once, or a
/// list (`--mode running,age`). The words before the first `--mode` are the
/// run's options; those after each `--mode NAME`, up to the next, that
/// mode's. Split in one pass over the words.
struct Picture {
    run: Vec<OsString>,
    modes: Vec<Section>,
}

/// A mode named, and the words after it up to the next `--mode`.
struct Section {
    name: String,
    words: Vec<OsString>,
    /// How it was named, where a list named it (`running,age`): a listed
    /// mode takes its defaults, so no words may follow the list.
    list: Option<String>,
}

impl Picture {
    /// The sections, or None for a command line of one mode.
    fn split(raw: &[OsString]) -> Option<Picture> {
        let mut picture = Picture {
            run: Vec::new(),
            modes: Vec::new(),
        };
        let mut words = raw.iter();
        while let Some(word) = words.next() {
            let text = word.to_str().unwrap_or("");
            let named = match text.strip_prefix("--mode") {
                Some("") => Some(words.next().and_then(|w| w.to_str()).unwrap_or("")),
                Some(rest) => rest.strip_prefix('='),
                None => None,
            };
            match (named, picture.modes.last_mut()) {
                (Some(names), _) => {
                    let list = names.contains(',').then(|| names.to_string());
                    picture.modes.extend(names.split(',').map(|name| Section {
                        name: name.to_string(),
                        words: Vec::new(),
                        list: list.clone(),
                    }));
                }
                (None, Some(section)) => section.words.push(word.clone()),
                (None, None) => picture.run.push(word.clone()),
            }
        }
        let listed = picture.modes.iter().any(|m| m.list.is_some());
        (picture.modes.len() > 1 || listed).then_some(picture)
    }

    fn parse(self, env: &Environment) -> Result<Command, UsageError> {
        let mut run = pico_args::Arguments::from_vec(self.run);
        let format = value(&mut run, flag_named("--format"));
        let asked = Asked {
            format: match &format {
                Ok(Some(text)) => parse_format(text).unwrap_or_default(),
                _ => Format::default(),
            },
            mode: None,
        };
        let read = || -> Result<Command, String> {
            let mut given = Given::default();
            given.values.push(Valued {
                long: "--format",
                named: names(flag_named("--format")),
                text: format?,
            });
            let (run_flags, mode_flags): (Vec<&Flag>, Vec<&Flag>) = FLAGS
                .iter()
                .filter(|f| f.long != "--format" && f.long != "--mode")
                .partition(|f| !is_mode_option(f));
            let rest = values(run, &run_flags, &mut given)?;
            let rest = switches(rest, &run_flags, &mut given)?;
            if given.count("--help") > 0 {
                return Ok(Command::Help);
            }
            if given.count("--version") > 0 {
                return Ok(Command::Version);
            }
            if let Some(word) = rest.first() {
                let word = word.to_string_lossy();
                return Err(match flag_spelt(&word).filter(|f| is_mode_option(f)) {
                    Some(f) => format!(
                        "{} is given before the first of several --mode options; give it after the --mode it belongs to",
                        names(f)
                    ),
                    None => left_over(&word),
                });
            }
            let mut modes: Vec<(String, Given)> = Vec::new();
            for Section { name, words, list } in self.modes {
                if modes.iter().any(|(seen, _)| *seen == name) {
                    return Err(format!("--mode {name} is named twice; name each mode once"));
                }
                let run_option = words
                    .iter()
                    .filter_map(|w| flag_spelt(&w.to_string_lossy()))
                    .find(|f| !is_mode_option(f));
                if let Some(f) = run_option {
                    return Err(format!(
                        "{} after --mode {} belongs to the whole run; give it before the first --mode",
                        names(f),
                        list.as_deref().unwrap_or(&name)
                    ));
                }
                if let (Some(list), Some(word)) = (&list, words.first()) {
                    return Err(format!(
                        "'{}' follows --mode {list}, whose modes take their defaults; give a mode with options a --mode of its own",
                        word.to_string_lossy()
                    ));
                }
                let mut own = Given::default();
                let args = pico_args::Arguments::from_vec(words);
                let rest = values(args, &mode_flags, &mut own)?;
                if let Some(word) = rest.first() {
                    return Err(left_over(&word.to_string_lossy()));
                }
                modes.push((name, own));
            }
            Ok(Command::Run(Box::new(Config::of_picture(
                given, modes, env,
            )?)))
        };
        read().map_err(|why| asked.error(why))
    }
}

/// Whether `f` is an option only some modes take (`-w`, `--backup-dir`):
/// one that a mode's section of a command line of several modes holds.
fn is_mode_option(f: &Flag) -> bool {
    mode::MODES
        .iter()
        .any(|kind| kind.options.contains(&f.long))
}

/// The flag a word names, spelt short or long, with or without its value.
fn flag_spelt(word: &str) -> Option<&'static Flag> {
    let name = word.split_once('=').map_or(word, |(name, _)| name);
    FLAGS.iter().find(|f| {
        f.long == name
            || f.short.is_some_and(|short| {
                word.starts_with(short) && !word.starts_with("--") && f.value.is_some()
                    || short == word
            })
    })
}

/// Each valued option of `flags` taken out of `args` into `given`; the
/// words left.
fn values(
    mut args: pico_args::Arguments,
    flags: &[&'static Flag],
    given: &mut Given,
) -> Result<Vec<OsString>, String> {
    for f in flags.iter().filter(|f| f.value.is_some()) {
        let text = value(&mut args, f)?;
        given.values.push(Valued {
            long: f.long,
            named: names(f),
            text,
        });
    }
    Ok(args.finish())
}

/// Each switch of `flags` counted out of `rest` into `given`; the words
/// left.
fn switches(
    rest: Vec<OsString>,
    flags: &[&'static Flag],
    given: &mut Given,
) -> Result<Vec<OsString>, String> {
    if let Some(why) = rest
        .iter()
        .find_map(|w| valued_in_a_group(&w.to_string_lossy()))
    {
        return Err(why);
    }
    let mut args = pico_args::Arguments::from_vec(rest);
    for f in flags.iter().filter(|f| f.value.is_none()) {
        let mut n = 0;
        while n < MAX_REPEATS && args.contains(keys(f)) {
            n += 1;
        }
        given.counts.push((f.long, n));
    }
    Ok(args.finish())
}

/// What a usage error needs to be printed as asked: the format, and the mode
/// whose fields a JSON answer carries.
struct Asked {
    format: Format,
    mode: Option<&'static str>,
}

impl Default for Asked {
    /// Until the command line says otherwise: nagios, and the default mode.
    fn default() -> Asked {
        Asked {
            format: Format::default(),
            mode: Some(mode::DEFAULT.name),
        }
    }
}

impl Asked {
    fn error(&self, why: String) -> UsageError {
        UsageError {
            why,
            format: self.format,
            mode: self.mode,
        }
    }
}

/// Whether the command line is text of a sane size: checked word by word,
/// in one pass, before pico-args reads anything but `--format` and `--mode`
/// (each found in one pass too).
fn bounded(raw: &[OsString]) -> Result<(), String> {
    if raw.len() > MAX_WORDS {
        return Err(format!(
            "{} arguments; the check takes at most {MAX_WORDS}",
            raw.len()
        ));
    }
    for (i, word) in raw.iter().enumerate() {
        let shown = || {
            let text = word.to_string_lossy();
            let cut: String = text.chars().take(40).collect();
            if cut.len() < text.len() {
                format!("{cut}...")
            } else {
                cut
            }
        };
        if word.len() > MAX_WORD {
            return Err(format!(
                "argument '{}' is {} bytes long; the check takes at most {MAX_WORD}",
                shown(),
                word.len()
            ));
        }
        if word.to_str().is_none() {
            // Name the option whose value it is, where it follows one.
            let option = i
                .checked_sub(1)
                .and_then(|p| raw[p].to_str())
                .and_then(|p| FLAGS.iter().find(|f| f.value.is_some() && is_spelt(f, p)));
            return Err(match option {
                Some(f) => format!("{} '{}' is not valid UTF-8", names(f), shown()),
                None => format!("argument '{}' is not valid UTF-8", shown()),
            });
        }
    }
    Ok(())
}

/// Whether `word` is exactly the short or long name of `f`.
fn is_spelt(f: &Flag, word: &str) -> bool {
    word == f.long || f.short == Some(word)
}

/// The names pico-args looks for.
fn keys(f: &Flag) -> pico_args::Keys {
    match f.short {
        Some(short) => [short, f.long].into(),
        None => f.long.into(),
    }
}

/// The value of a valued option, which may be given once.
fn value(args: &mut pico_args::Arguments, f: &'static Flag) -> Result<Option<String>, String> {
    let first = args
        .opt_value_from_str::<_, String>(keys(f))
        .map_err(|e| match e {
            pico_args::Error::OptionWithoutAValue(_) => format!("{} needs a value", names(f)),
            other => format!("{}: {other}", names(f)),
        })?;
    // Found again, with a value or without: given twice.
    let again = !matches!(args.opt_value_from_str::<_, String>(keys(f)), Ok(None));
    if first.is_some() && again {
        return Err(format!(
            "{} given more than once; give it once (a value spelt like an option goes in one word with its own option, as in --username=VALUE)",
            names(f)
        ));
    }
    Ok(first)
}

/// A group of switches that ends in a valued option (`-kvHgklm`): getopt
/// reads it, pico-args cannot (it would take the switches' letters out of
/// the value too), so it is refused before the switches are read.
fn valued_in_a_group(word: &str) -> Option<String> {
    let letters = word.strip_prefix('-').filter(|l| !l.starts_with('-'))?;
    for (i, c) in letters.char_indices() {
        let f = FLAGS
            .iter()
            .find(|f| f.short.is_some_and(|s| s.chars().nth(1) == Some(c)))?;
        if f.value.is_some() {
            return (i > 0).then(|| {
                format!(
                    "'{word}': {} takes a value, so it cannot end a group of switches; give it a word of its own (for example -kv -Hgklm)",
                    names(f)
                )
            });
        }
    }
    None
}

/// Why a word was left over once every option had taken its own.
fn left_over(word: &str) -> String {
    match word
        .split_once('=')
        .and_then(|(name, _)| flag_of_long(name))
    {
        Some(f) if f.value.is_none() => format!("{} takes no value", names(f)),
        _ => format!("unknown option or argument '{word}'"),
    }
}

fn flag_of_long(long: &str) -> Option<&'static Flag> {
    FLAGS.iter().find(|f| f.long == long)
}

/// The flag `FLAGS` lists under `long` (every caller names one it lists).
fn flag_named(long: &str) -> &'static Flag {
    flag_of_long(long).unwrap_or(&FLAGS[0])
}

/// `-H/--hostname` for messages.
fn names(f: &Flag) -> String {
    match f.short {
        Some(short) => format!("{short}/{}", f.long),
        None => f.long.to_string(),
    }
}

/// `-V`: the version from Cargo.toml and, when build.rs learnt it, the commit
/// the binary was built from, so a package can be traced to its source.
pub fn version() -> String {
    let version = env!("CARGO_PKG_VERSION");
    match option_env!("CHECK_GKLM_BACKUP_COMMIT") {
        Some(commit) => format!("check_gklm_backup {version} (commit {commit})"),
        None => format!("check_gklm_backup {version}"),
    }
}

pub const HELP: &str = include_str!("help.txt");

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::gklm::credentials::AuthSource;
    use crate::gklm::target::Prefix;
    use crate::history::Location;
    use crate::output::state::State;
    use crate::settings::TrustChoice;

    fn parse_strs(args: &[&str]) -> Result<Command, UsageError> {
        parse(
            args.iter().map(OsString::from).collect(),
            &Environment::default(),
        )
    }

    /// A command line written as one string of words without spaces.
    fn config_of(line: &str) -> Config {
        config(&line.split_whitespace().collect::<Vec<_>>())
    }

    fn parse_of(line: &str) -> Result<Command, UsageError> {
        parse_strs(&line.split_whitespace().collect::<Vec<_>>())
    }

    fn config(args: &[&str]) -> Config {
        match parse_strs(args) {
            Ok(Command::Run(c)) => *c,
            Ok(_) => panic!("not a run"),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn defaults() {
        let c = config_of("-H gklm");
        assert_eq!(
            (c.target.port, c.target.prefix.clone(), c.language.as_str()),
            (9443, Prefix::Auto, "en")
        );
        assert_eq!(c.auth, AuthSource::SessionId { file: None });
        assert_eq!(c.timeout, Duration::from_secs(10));
        assert_eq!(c.unreachable_state, State::Critical);
        assert!(c.session_cache);
        assert_eq!(c.mode().name(), "running");
        assert_eq!(c.mode().max_gap(), 86_400);
        assert_eq!(c.state, Location::Default);
    }

    #[test]
    fn getopt_forms_equal_their_spaced_forms() {
        let spaced = config_of("-H gklm -p 9444 -w 3 -c 5 -k -v -v -v -t 5");
        for args in [
            &["-Hgklm", "-p9444", "-w3", "-c5", "-kvvv", "-t5"][..],
            &[
                "--hostname=gklm",
                "--port=9444",
                "--warning=3",
                "--critical",
                "5",
                "-vkvv",
                "--timeout=5",
            ],
            &[
                "-kvvv", "-Hgklm", "-p", "9444", "-w", "+3", "-c", "5e0", "-t", "5",
            ],
        ] {
            let c = config(args);
            assert_eq!(c.target, spaced.target, "{args:?}");
            // The same question with the same settings prints the same.
            assert_eq!(
                format!("{:?}", c.mode()),
                format!("{:?}", spaced.mode()),
                "{args:?}"
            );
            assert_eq!(
                (c.verbosity, c.trust.clone(), c.timeout),
                (3, TrustChoice::Insecure, spaced.timeout),
                "{args:?}"
            );
        }
    }

    #[test]
    fn a_value_is_whatever_follows_its_option() {
        let c = config_of("-H h -u -w -p 19555 -c -5:5");
        assert_eq!(c.target.user.as_deref(), Some("-w"));
        assert_eq!(c.target.port, 19555);
        let c = config_of("-H h -u 'quoted' -l de");
        assert_eq!(c.target.user.as_deref(), Some("'quoted'"));
        let c = config_of("-H h --username=a=b");
        assert_eq!(c.target.user.as_deref(), Some("a=b"));
        // pico-args cannot tell a value that spells an option from that
        // option given again: refused, with the way out.
        let err = parse_of("-H h -u --port -p 19555")
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.starts_with("-p/--port given more than once") && err.contains("--username=VALUE"),
            "{err}"
        );
        let c = config_of("-H h --username=--port -p 19555");
        assert_eq!(c.target.user.as_deref(), Some("--port"));
    }

    #[test]
    fn quotes_empty_values_and_option_like_values_survive_the_reading() {
        // Spaced, a value is the word as it is, quotes and all.
        for user in ["\"x\"", "'x'", "\"", "a\"b\""] {
            let c = config(&["-H", "h", "-u", user]);
            assert_eq!(c.target.user.as_deref(), Some(user), "{user}");
        }
        // Glued, pico-args takes one pair of enclosing quotes off (as a
        // shell would have); a value left empty, or an unclosed quote, is
        // refused.
        for (arg, user) in [
            ("--username=\"x\"", "x"),
            ("--username='x'", "x"),
            ("--username=a\"b\"", "a\"b\""),
        ] {
            let c = config(&["-H", "h", arg]);
            assert_eq!(c.target.user.as_deref(), Some(user), "{arg}");
        }
        for arg in ["--username=\"", "-u\"\"", "--username="] {
            let err = parse_strs(&["-H", "h", arg]).err().unwrap().to_string();
            assert_eq!(err, "-u/--username needs a value", "{arg}");
        }
        // A value spelt like an option, glued, is that option's value.
        let c = config_of("-H h --username=--hostname=x -p 1");
        assert_eq!(c.target.user.as_deref(), Some("--hostname=x"));
        let err = parse_of("-H h -p -1").err().unwrap();
        assert!(err.to_string().contains("invalid -p/--port '-1'"), "{err}");
        // An empty value reaches the option's own check.
        for (args, needle) in [
            (&["-H", "h", "-u", ""][..], "-u/--username is empty"),
            (&["-H", ""], "-H"),
        ] {
            let err = parse_strs(args).err().unwrap().to_string();
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }

    #[test]
    fn a_valued_option_at_the_end_of_a_group_of_switches_is_refused_naming_it() {
        for (args, needle) in [
            (
                &["-kvHgklm"][..],
                "'-kvHgklm': -H/--hostname takes a value, so it cannot end a group of switches",
            ),
            (&["-H", "h", "-kw3"], "'-kw3': -w/--warning takes a value"),
        ] {
            let err = parse_strs(args).err().unwrap().to_string();
            assert!(err.starts_with(needle), "{args:?}: {err}");
        }
    }

    #[test]
    fn a_double_dash_or_a_word_that_is_no_option_is_refused_by_name() {
        for (args, needle) in [
            (&["-H", "h", "--"][..], "'--'"),
            (&["-H", "h", "--", "-v"], "'--'"),
            (&["--", "-H", "h"], "'--'"),
            (&["-H", "h", "-"], "'-'"),
        ] {
            let err = parse_strs(args).err().unwrap().to_string();
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }

    #[test]
    fn arguments_that_are_not_utf8_are_refused_naming_them() {
        use std::os::unix::ffi::OsStringExt;
        let bad = OsString::from_vec(vec![b'g', 0xff]);
        for (args, needle) in [
            (
                vec!["-H".into(), bad.clone()],
                "-H/--hostname 'g\u{fffd}' is not valid UTF-8",
            ),
            (
                vec!["-H".into(), "h".into(), bad.clone()],
                "argument 'g\u{fffd}' is not valid UTF-8",
            ),
        ] {
            let err = parse(args, &Environment::default())
                .err()
                .unwrap()
                .to_string();
            assert_eq!(err, needle);
        }
    }

    #[test]
    fn a_bad_threshold_or_duration_names_its_option() {
        for (args, message) in [
            (
                &["-H", "h", "-w", ""][..],
                "-w/--warning: invalid range '': empty",
            ),
            (
                &["-H", "h", "-w", "--critical"],
                "-w/--warning: invalid range '--critical'",
            ),
            (&["-H", "h", "-c", "x"], "-c/--critical: invalid range 'x'"),
            (
                &["-H", "h", "--warning-time", "-1"],
                "--warning-time: invalid duration '-1'",
            ),
            (
                &["-H", "h", "--critical-time", "2M"],
                "--critical-time: invalid duration '2M'",
            ),
            (
                &["-H", "h", "--max-gap", "99999999999999d"],
                "--max-gap: invalid duration",
            ),
        ] {
            let err = parse_strs(args).err().unwrap().to_string();
            assert!(err.starts_with(message), "{args:?}: {err}");
        }
    }

    #[test]
    fn verbosity_counts_every_form() {
        assert_eq!(config_of("-H h -vvv").verbosity, 3);
        assert_eq!(config_of("-H h -v --verbose").verbosity, 2);
    }

    #[test]
    fn usage_errors_name_the_option() {
        // Each case: the words of a command line, and what its error says.
        let cases = [
            ("-p 1", "-H/--hostname"),
            ("--hostnme h", "'--hostnme'"),
            ("-H h -p 0", "--port"),
            ("-H h -w abc", "invalid range"),
            ("-H h --warning-time 5x", "invalid duration"),
            ("-H h --bogus", "'--bogus'"),
            ("-H h extra", "'extra'"),
            ("-H h -t 0", "--timeout"),
            ("-H h -t", "needs a value"),
            ("-H h --insecure --cacert x", "contradict"),
            ("-H h --unreachable-state bad", "--unreachable-state"),
            ("-H h --prefix SKLM", "--prefix"),
            ("-H h --password-file p", "needs -u"),
            (
                "-H h --auth-id-file f --no-session-cache",
                "--no-session-cache needs -u/--username",
            ),
            ("-H h --no-session-cache", "--no-session-cache needs -u"),
            ("-H h --format xml", "--format"),
            ("-H a -H b", "-H/--hostname given more than once"),
            ("-H a --hostname=b", "-H/--hostname given more than once"),
            ("-H a -w 1 -w2", "-w/--warning given more than once"),
            ("-H a --insecure=yes", "takes no value"),
            ("-H a -x", "'-x'"),
            ("-H host:9443", "-p"),
            ("-H h --state-file /tmp", "is a directory"),
            ("-H h --state-file /nonexistent/dir/", "is a directory"),
            ("-H h --mode size", "--mode 'size'"),
            (
                "-H h --mode result -w 1",
                "-w/-c means nothing for --mode result",
            ),
            ("-H h --mode result --critical-time 1d", "for --mode result"),
            ("-H h --mode age", "needs --warning-time or --critical-time"),
            ("-H h --mode age -c 1 --critical-time 1d", "-w/-c"),
            (
                "-H h --backup-dir /x",
                "--backup-dir means nothing for --mode running",
            ),
            (
                "-H h --mode needed --unknown-result-state ok",
                "--unknown-result-state means nothing",
            ),
            ("-H h --max-gap 0", "--max-gap"),
            ("-H h --state-key -w", "-w/--warning needs a value"),
            ("-H h --state-key=-w", "invalid --state-key"),
            ("-H h --state-key ../x", "invalid --state-key"),
            (
                "-H h --mode result --state-key x",
                "--state-key means nothing for --mode result",
            ),
            ("-H h --max-gap 59", "--max-gap 59 is shorter than 1m"),
            ("-H h --max-gap 59s", "--max-gap 59s is shorter than 1m"),
            ("-H h --mode needed --max-gap 0.5m", "shorter than 1m"),
            (
                "-H h --mode age --critical-time 1d --max-gap 1h",
                "--max-gap means nothing",
            ),
            (
                "-H h --mode result --unknown-result-state bad",
                "--unknown-result-state",
            ),
        ];
        let mut all: Vec<(Vec<String>, &str)> = cases
            .iter()
            .map(|(line, needle)| (line.split_whitespace().map(String::from).collect(), *needle))
            .collect();
        // Words that hold a space, or none at all.
        let long = "k".repeat(65);
        let spaced: [(&[&str], &str); 6] = [
            (
                &[
                    "--mode",
                    "age",
                    "--critical-time",
                    "1d",
                    "--backup-dir",
                    " ",
                ],
                "invalid --backup-dir ' '",
            ),
            (&["--state-file", ""], "--state-file is empty"),
            (&["--state-key", ""], "invalid --state-key ''"),
            (&["--state-key", "a b"], "invalid --state-key"),
            (&["--state-key", &long], "invalid --state-key"),
            (&["--state-key", "x\n"], "invalid --state-key"),
        ];
        for (args, needle) in spaced {
            let words = ["-H", "h"].iter().chain(args).map(|a| a.to_string());
            all.push((words.collect(), needle));
        }
        for (args, needle) in all {
            let words: Vec<&str> = args.iter().map(String::as_str).collect();
            let err = parse_strs(&words)
                .err()
                .unwrap_or_else(|| panic!("{args:?} accepted"))
                .to_string();
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }

    #[test]
    fn each_mode_takes_its_own_options() {
        let c = config_of("-H h --mode age --critical-time 2d --backup-dir /opt/b");
        assert_eq!(
            c.mode().endpoint().query,
            vec![("backupDirectory", "/opt/b".to_string())]
        );
        let c = config_of("-H h --mode result --unknown-result-state critical");
        assert_eq!(c.mode().name(), "result");
        assert!(
            format!("{:?}", c.mode()).contains("undetermined_state: Critical"),
            "{:?}",
            c.mode()
        );
        let c = config_of("-H h --mode needed --warning-time 1d --max-gap 2d");
        assert_eq!(
            (
                c.mode().name(),
                c.mode().max_gap(),
                c.mode().needs_history()
            ),
            ("needed", 172_800, true)
        );
    }

    #[test]
    fn a_usage_error_carries_the_format_and_the_mode_asked_for() {
        let asked = |args: &[&str]| {
            let e = parse_strs(args).err().unwrap();
            (e.format, e.mode)
        };
        assert_eq!(
            asked(&["-H", "h", "--format", "json", "--bogus"]),
            (Format::Json, Some("running"))
        );
        assert_eq!(
            asked(&["--format=prometheus", "--mode", "age"]),
            (Format::Prometheus, Some("age"))
        );
        assert_eq!(
            asked(&["--format", "nagios", "json"]),
            (Format::Nagios, Some("running"))
        );
        assert_eq!(asked(&["--mode", "size"]), (Format::Nagios, None));
        // A value that spells --format is the value of the option before it.
        assert_eq!(
            asked(&["-H", "h", "-u", "--format", "-p", "0", "--mode", "needed"]),
            (Format::Nagios, Some("needed"))
        );
    }

    #[test]
    fn every_default_help_states_reads_back_to_the_typed_default() {
        let c = config_of("-H h");
        let given: Vec<String> = FLAGS
            .iter()
            .filter(|f| !matches!(f.long, "--mode" | "--max-gap" | "--unknown-result-state"))
            .filter_map(|f| Some(format!("{}={}", f.long, f.default?)))
            .collect();
        let mut args = vec!["-H", "h"];
        args.extend(given.iter().map(String::as_str));
        let d = config(&args);
        assert_eq!(format!("{:?}", c), format!("{:?}", d));
    }

    #[test]
    fn a_command_line_of_any_size_is_read_at_once() {
        let long = "v".repeat(131_000);
        for args in [
            vec!["-H".to_string(), "h".into(), format!("-{long}")],
            vec!["-v".to_string(); 300],
        ] {
            let started = std::time::Instant::now();
            let err = parse(
                args.into_iter().map(OsString::from).collect(),
                &Environment::default(),
            )
            .err()
            .unwrap()
            .to_string();
            assert!(err.contains("the check takes at most"), "{err}");
            // A bound, not a timing: once this took minutes.
            assert!(started.elapsed() < Duration::from_secs(5));
        }
        // At the bounds, still read at once.
        let group = format!("-{}", "v".repeat(MAX_WORD - 1));
        let mut args = vec!["-H".to_string(), "h".into(), group];
        args.extend(std::iter::repeat_n("-k".to_string(), MAX_WORDS - 3));
        let c = parse(
            args.into_iter().map(OsString::from).collect(),
            &Environment::default(),
        );
        assert!(
            c.as_ref()
                .err()
                .is_some_and(|e| e.to_string().contains("'-v")),
            "{:?}",
            c.err()
        );
    }
}
