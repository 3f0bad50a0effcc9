//! One source for every option: `cli::FLAGS` is what the binary accepts, and
//! `--help`, the man page, the README's option table and the Icinga 2
//! CheckCommand are written by hand. This test fails when any of them leaves
//! out an option, its short form or its default, or names one that is gone.

use check_gklm_backup::cli::{FLAGS, Flag};
use check_gklm_backup::mode::MODES;

use crate::util::engine::repo;

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The text about `flag` in a document: from the line that introduces it to
/// the line that introduces the next option (`starts` says what such a line
/// is), so a default is looked for next to its own option only.
fn block<'a>(doc: &'a str, starts: impl Fn(&str) -> bool, names: &str) -> Option<&'a str> {
    let lines: Vec<&str> = doc.lines().collect();
    let begin = lines.iter().position(|l| starts(l) && l.contains(names))?;
    let end = lines[begin + 1..]
        .iter()
        .position(|l| starts(l))
        .map_or(lines.len(), |i| begin + 1 + i);
    let start_byte = lines[..begin].iter().map(|l| l.len() + 1).sum::<usize>();
    let end_byte = lines[..end]
        .iter()
        .map(|l| l.len() + 1)
        .sum::<usize>()
        .min(doc.len());
    Some(&doc[start_byte..end_byte])
}

/// Every flag's long name, short form and default in one document.
fn check_document(
    doc: &str,
    name: &str,
    spell: impl Fn(&Flag) -> String,
    starts: impl Fn(&str) -> bool + Copy,
    skip: &[&str],
) -> Vec<String> {
    let mut problems = Vec::new();
    for flag in FLAGS.iter().filter(|f| !skip.contains(&f.long)) {
        let names = spell(flag);
        let Some(text) = block(doc, starts, &names) else {
            problems.push(format!("{name}: no entry for {names}"));
            continue;
        };
        // Fonts and code marks aside (`\fBrunning\fR (default)` in roff,
        // `` `nagios` (default)`` in Markdown), the same words everywhere.
        let plain = text
            .replace("\\fB", "")
            .replace("\\fR", "")
            .replace("\\fI", "")
            .replace('`', "");
        if let Some(default) = flag.default
            && !plain.contains(&format!("default {default}"))
            && !plain.contains(&format!("{default} (default)"))
            && !plain.contains(&format!("default: {default}"))
        {
            problems.push(format!(
                "{name}: {names} does not give its default {default}"
            ));
        }
    }
    problems
}

#[test]
fn help_man_page_readme_and_icinga_name_every_option_with_its_default() {
    let mut problems = Vec::new();
    let help = read("src/help.txt");
    problems.extend(check_document(
        &help,
        "--help",
        |f| match f.short {
            Some(s) => format!("{s}, {}", f.long),
            None => f.long.to_string(),
        },
        |l| l.trim_start().starts_with('-') && l.starts_with("  "),
        &[],
    ));
    let man = read("packaging/man/check_gklm_backup.1");
    problems.extend(check_document(
        &man,
        "man page",
        |f| {
            let long = f.long.replace('-', "\\-");
            match f.short {
                Some(s) => format!(".BR \\{s} \", \" {long}"),
                None => long,
            }
        },
        |l| l.starts_with(".B") && l.contains("\\-"),
        &[],
    ));
    let readme = read("README.md");
    let options = &readme[readme.find("## Options").expect("README has ## Options")..];
    let options = &options[..options[3..].find("\n## ").map_or(options.len(), |i| i + 3)];
    problems.extend(check_document(
        options,
        "README options table",
        |f| match f.short {
            Some(s) => format!("`{s}`, `{}", f.long),
            None => format!("`{}", f.long),
        },
        |l| l.starts_with("| `"),
        &[],
    ));
    let icinga = read("packaging/icinga2/gklm_backup.conf");
    problems.extend(check_document(
        &icinga,
        "Icinga 2 CheckCommand",
        |f| match f.short {
            Some(s) if f.long != "--insecure" => format!("\"{s}\" = {{"),
            _ => format!("\"{}\" = {{", f.long),
        },
        |l| l.trim_start().starts_with('"') && l.contains("= {"),
        // Not for an engine: help, version, and -v (engine output is one line).
        &["--help", "--version", "--verbose"],
    ));
    // And nothing documented that the binary no longer takes.
    for line in help.lines().filter(|l| l.starts_with("  ")) {
        for word in line.split_whitespace().filter(|w| w.starts_with("--")) {
            let word = word.trim_end_matches([',', ')', ']', '.', ';']);
            let word = word.split('=').next().unwrap();
            if word.len() > 2 && !FLAGS.iter().any(|f| f.long == word) {
                problems.push(format!(
                    "--help names {word}, which the binary does not take"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every mode of `mode::MODES` where a user looks for it: `--help`, the
/// man page, the README (its table of modes and a section of its own), the
/// Icinga 2 CheckCommand, the Zabbix template (a master item) and the
/// packages' descriptions. A new mode fails here until each names it.
#[test]
fn help_man_page_readme_icinga_and_zabbix_name_every_mode() {
    let help = read("src/help.txt");
    let man = read("packaging/man/check_gklm_backup.1");
    let readme = read("README.md");
    let icinga = read("packaging/icinga2/gklm_backup.conf");
    let zabbix = read("packaging/zabbix/template_gklm_backup.yaml");
    let cargo = read("Cargo.toml");
    let deb = read("packaging/deb/build.sh");
    let rpm = read("packaging/rpm/check_gklm_backup.spec");
    let mode_option = block(&icinga, |l| l.contains("= {"), "\"--mode\" = {").unwrap_or("");
    let mut problems = Vec::new();
    for kind in MODES {
        let name = kind.name;
        let places = [
            (
                "--help",
                help.contains(&format!("{name}: ")) || help.contains(&format!("{name} (default)")),
            ),
            (
                "--help performance data",
                help.contains(&format!("  {name}:")),
            ),
            ("man page", man.contains(&format!("\\fB{name}\\fR"))),
            (
                "README table of modes",
                readme.contains(&format!("| `{name}`")),
            ),
            ("README section", readme.contains(&format!("### {name}: "))),
            ("Icinga 2 CheckCommand --mode", mode_option.contains(name)),
            (
                "Zabbix template master item",
                zabbix.contains(&format!("key: 'gklm.backup[{name},")),
            ),
            (
                "Cargo.toml description",
                cargo.contains(&format!("({name})")),
            ),
            ("the .deb's Description", deb.contains(&format!("({name})"))),
            (
                "the .rpm's %description",
                rpm.contains(&format!("({name})")),
            ),
        ];
        for (place, named) in places {
            if !named {
                problems.push(format!("{place} does not name --mode {name}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
