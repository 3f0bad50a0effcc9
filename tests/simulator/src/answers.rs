//! What the simulated GKLM answers to each backup question, in the shapes
//! IBM documents and, where it does not, in the shapes the check must read
//! liberally (bare or wrapped lists, epoch or ISO times, file-name stamps).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::{Config, Request};

/// The backup questions the simulator serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Question {
    IsRunning,
    Need,
    Result,
    List,
    Restore,
}

impl Question {
    pub fn at(endpoint: &str) -> Option<Question> {
        match endpoint {
            "backups/isrunning" => Some(Question::IsRunning),
            "backups/need" => Some(Question::Need),
            "backups/result" => Some(Question::Result),
            "backups" => Some(Question::List),
            "restore/isrunning" => Some(Question::Restore),
            _ => None,
        }
    }
}

pub(crate) fn answer(question: Question, request: &Request, config: &Config) -> String {
    let german = request
        .header("accept-language")
        .is_some_and(|l| l.starts_with("de"));
    match question {
        Question::IsRunning => is_running(config, german),
        Question::Need => {
            let (code, text) = match (config.needed, german) {
                (false, _) => ("0", "CTGKM1304I All keys and certificates have been backed up."),
                (true, false) => (
                    "1",
                    "CTGKM1305I There are keys and certificates which have not been backed up. Make a backup.",
                ),
                (true, true) => ("1", "CTGKM1305I Es gibt Schlüssel, die nicht gesichert wurden."),
            };
            format!(r#"{{"code":"{code}","status":"{text}"}}"#)
        }
        Question::Result => {
            let text = match config.result_code.trim_matches('"') {
                "0" => "CTGKM1301I Backup operation succeeded.",
                "1" => "CTGKM1302E Backup operation failed.",
                "-1" => "CTGKM1303I The backup result cannot be determined.",
                "2" => "Backup operation suc",
                _ => "Something else.",
            };
            format!(r#"{{"code":{},"status":"{text}"}}"#, config.result_code)
        }
        Question::List => config.backup_list.clone(),
        Question::Restore => {
            let phase = config.restore_phase;
            let name = RESTORE_PHASES[usize::from(phase.min(7))];
            format!(r#"{{"code":"{phase}","status":"{name}"}}"#)
        }
    }
}

/// IBM's names of the restore phases, by code.
pub const RESTORE_PHASES: [&str; 8] = [
    "IDLE",
    "INITIALIZE",
    "CREATE_TEMP_DIR",
    "RESTORE_CONFIG_FILES",
    "RESTORE_KEYSTORES",
    "RESTORE_DATABASES",
    "CLEANUP",
    "COMPLETED",
];

fn is_running(config: &Config, german: bool) -> String {
    let (code, text) = match (config.running, german) {
        (true, false) => ("0", "CTGKM3290I Backup process is running."),
        (false, false) => ("1", "CTGKM3291I Backup process is not running."),
        (true, true) => ("0", "CTGKM3290I Der Sicherungsprozess wird ausgeführt."),
        (false, true) => ("1", "CTGKM3291I Der Sicherungsprozess wird nicht ausgeführt."),
    };
    let code = if config.code_as_number {
        code.to_string()
    } else {
        format!("\"{code}\"")
    };
    format!(r#"{{"code":{code},"status":"{text}"}}"#)
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Unix seconds `hours` ago.
pub fn hours_ago(hours: u64) -> u64 {
    now() - hours * 3600
}

/// A bare array of entries whose `timestamp` is epoch milliseconds, as a
/// GKLM 4.x list might look.
pub fn backup_list(created: &[u64]) -> String {
    let entries: Vec<String> = created
        .iter()
        .map(|t| {
            format!(
                r#"{{"status":"Success","timestamp":{},"backupFilePath":"/opt/IBM/backups/sklm_v4.2.0.0_{}+0000_backup.jar","description":"sim"}}"#,
                t * 1000,
                file_stamp(*t)
            )
        })
        .collect();
    format!("[{}]", entries.join(","))
}

/// `count` backups one hour apart, the newest two hours old, inside an
/// object, with every documented field: about 250 bytes an entry, as a
/// GKLM that keeps every backup lists them (10,000 make some 2.5 MB).
pub fn long_backup_list(count: u64) -> String {
    let newest = hours_ago(2);
    let home = "/opt/IBM/WebSphere/Liberty/products/sklm";
    let entries: Vec<String> = (0..count)
        .map(|i| {
            let t = newest - i * 3600;
            format!(
                r#"{{"status":"Success","productHomeDir":"{home}","backupFilePath":"{home}/data/sklm_v4.2.1.0_{}+0000_backup.jar","timestamp":{},"description":"scheduled"}}"#,
                file_stamp(t),
                t * 1000
            )
        })
        .collect();
    format!(r#"{{"code":"0","backups":[{}]}}"#, entries.join(","))
}

/// `yyyyMMddHHmmss` (UTC) of a Unix time, as in GKLM's backup file names.
/// Counted out day by day on purpose, unlike the check's own arithmetic in
/// `timestamp.rs`: a test oracle that shared the code under test would
/// share its mistakes. The tests below pin it to literal known stamps.
pub fn file_stamp(t: u64) -> String {
    let (mut days, s) = (t / 86_400, t % 86_400);
    let mut year = 1970;
    while days >= days_in_year(year) {
        days -= days_in_year(year);
        year += 1;
    }
    let mut month = 1;
    while days >= days_in_month(year, month) {
        days -= days_in_month(year, month);
        month += 1;
    }
    let day = days + 1;
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

fn leap(year: u64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_year(year: u64) -> u64 {
    if leap(year) { 366 } else { 365 }
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

