//! The one table of modes the tests drive: what each mode of the registry
//! (`mode::MODES`) needs, answers and says, for the fault matrix and every
//! other test that runs each mode. `every_mode` checks the table against
//! the registry, so a new mode is a row here before any test runs it.

use gklm_simulator::answers;

use super::Simulator;

/// The table, after checking that it has a row for every mode of the
/// registry, in its order, and nothing else.
pub fn every_mode() -> &'static [Mode] {
    let rows: Vec<&str> = MODES.iter().map(|m| m.name).collect();
    let registry: Vec<&str> = check_gklm_backup::mode::MODES
        .iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(
        rows, registry,
        "add a row to tests/util/modes.rs for each new mode"
    );
    &MODES
}

/// The modes that take `option`, as the registry says.
pub fn taking(option: &str) -> Vec<&'static Mode> {
    every_mode().iter().filter(|m| m.takes(option)).collect()
}

impl Mode {
    /// Whether the registry says this mode takes `option`.
    pub fn takes(&self, option: &str) -> bool {
        check_gklm_backup::mode::kind_of(self.name).is_some_and(|k| k.options.contains(&option))
    }
}

/// One mode, as the tests need to know it.
pub struct Mode {
    pub name: &'static str,
    /// How messages name its request: "backup status request".
    pub what: &'static str,
    /// Its endpoint below `.../ckms`.
    pub path: &'static str,
    /// Whether it keeps a streak (and so takes `-w`).
    pub streak: bool,
    /// An answer that sees the condition its streak counts (for streak
    /// modes; unused otherwise).
    pub seen: &'static str,
    /// The options it cannot run without.
    pub needs: &'static [&'static str],
    /// A well-formed answer that reads as OK.
    pub fine: fn() -> String,
    /// The most of an answer it reads.
    pub limit: &'static str,
    /// Answers whose fields disagree, each with a text the message must
    /// quote from each side.
    pub contradictions: &'static [(&'static str, [&'static str; 2])],
    /// The shapes of IBM's published material and public clients (see
    /// ../shared/gklm-api.md), each with the state and a text it must give.
    pub published: fn() -> Vec<(String, &'static str, &'static str)>,
    /// Makes the simulator show the condition its streak counts, or end it
    /// (streak modes; a no-op otherwise).
    pub condition: fn(&Simulator, bool),
    /// How its streak reads, `(running for 2 checks, ...)` (streak modes).
    pub verb: &'static str,
}

pub const MODES: [Mode; 5] = [
    Mode {
        name: "running",
        condition: |sim, on| sim.set_running(on),
        verb: "running",
        what: "backup status request",
        path: "/backups/isrunning",
        streak: true,
        seen: r#"{"code":"0","status":"CTGKM3290I Backup process is running."}"#,
        needs: &[],
        fine: || r#"{"code":"1","status":"CTGKM3291I Backup process is not running."}"#.to_string(),
        limit: "larger than 64 KiB; this is not a GKLM answer",
        contradictions: &[
            (
                r#"{"code":"1","status":"CTGKM0001E Backup status unavailable."}"#,
                ["'code' is \"1\"", "CTGKM0001E Backup status unavailable."],
            ),
            (
                r#"{"code":"0","status":"CTGKM3291I Backup process is not running."}"#,
                [
                    "'code' is \"0\"",
                    "CTGKM3291I Backup process is not running.",
                ],
            ),
            (
                r#"{"code":"CTGKM0001E","status":"CTGKM3291I Backup process is not running."}"#,
                ["'code' is \"CTGKM0001E\"", "CTGKM3291I Backup process"],
            ),
            (
                r#"{"code":"7","status":"CTGKM3291I Backup process is not running."}"#,
                ["'code' is \"7\"", "CTGKM3291I Backup process"],
            ),
            (
                r#"{"code":"1","status":"CTGKM3291I Not running. CTGKM3290I Running."}"#,
                ["CTGKM3291I", "CTGKM3290I"],
            ),
            (
                r#"{"code":"1","status":"CTGKM3290I-Backup process is running."}"#,
                ["'code' is \"1\"", "CTGKM3290I-Backup process is running."],
            ),
        ],
        published: || {
            shapes(&[
                (
                    r#"{"code":"CTGKM3291I","status":"CTGKM3291I Backup process is not running."}"#,
                    "OK",
                    "CTGKM3291I Backup process is not running.",
                ),
                (
                    r#"{"status":"CTGKM3291I Backup process is not running."}"#,
                    "OK",
                    "CTGKM3291I Backup process is not running.",
                ),
                (
                    r#"[{"code":"1","status":"CTGKM3291I Backup process is not running."}]"#,
                    "OK",
                    "CTGKM3291I Backup process is not running.",
                ),
                (
                    r#"{"code":"0","status":"CTGKM3290I Backup process is running.","messageId":"CTGKM3290I"}"#,
                    "OK",
                    "CTGKM3290I Backup process is running. (running for 1 check",
                ),
                (
                    r#"{"status":"CTGKM3290I Backup process is running."}"#,
                    "OK",
                    "(running for 1 check",
                ),
                (
                    r#"{"code":"CTGKM6004E","message":"CTGKM6004E User is not authenticated."}"#,
                    "UNKNOWN",
                    "CTGKM6004E",
                ),
                (
                    r#"{"code":"1","code":"0","status":"CTGKM3291I Backup process is not running."}"#,
                    "UNKNOWN",
                    "the member 'code' appears twice",
                ),
                (
                    r#"{"code":1e-400,"status":"CTGKM3290I Backup process is running."}"#,
                    "UNKNOWN",
                    "'code' is 1e-400",
                ),
                (
                    r#"{"code":"1","status":"CTGKM3291I Backup process is not running.","message":"CTGKM1305I Make a backup."}"#,
                    "UNKNOWN",
                    "GKLM answered another question",
                ),
            ])
        },
    },
    Mode {
        name: "needed",
        condition: |sim, on| sim.set_needed(on),
        verb: "needed",
        what: "backup needed request",
        path: "/backups/need",
        streak: true,
        seen: r#"{"code":"1","status":"CTGKM1305I Make a backup."}"#,
        needs: &[],
        fine: || {
            r#"{"code":"0","status":"CTGKM1304I All keys and certificates have been backed up."}"#
                .to_string()
        },
        limit: "larger than 64 KiB; this is not a GKLM answer",
        contradictions: &[
            (
                r#"{"code":"CTGKM0001E","status":"CTGKM1304I All keys and certificates have been backed up."}"#,
                ["'code' is \"CTGKM0001E\"", "CTGKM1304I All keys"],
            ),
            (
                r#"{"code":"500","status":"CTGKM1304I All keys and certificates have been backed up."}"#,
                ["'code' is \"500\"", "CTGKM1304I All keys"],
            ),
            (
                r#"{"code":"0","status":"CTGKM1304I All backed up. CTGKM0815E Key store unreadable."}"#,
                ["'code' is \"0\"", "CTGKM0815E Key store unreadable."],
            ),
            (
                r#"{"code":"0","status":"CTGKM1304I All backed up. CTGKM1305I Make a backup."}"#,
                ["CTGKM1304I", "CTGKM1305I"],
            ),
            (
                r#"{"code":"0","status":"CTGKM1305I Make a backup. CTGKM1304I All backed up."}"#,
                ["CTGKM1305I", "CTGKM1304I"],
            ),
            (
                r#"{"code":"0","status":"CTGKM1304I All backed up.","message":"CTGKM1305I Make a backup."}"#,
                [
                    "'status' says CTGKM1304I All backed up.",
                    "'message' says CTGKM1305I Make a backup.",
                ],
            ),
        ],
        published: || {
            shapes(&[
                (
                    r#"{"code":"CTGKM1304I","status":"CTGKM1304I All keys and certificates have been backed up."}"#,
                    "OK",
                    "CTGKM1304I All keys",
                ),
                (
                    r#"{"status":"CTGKM1305I Cryptographic objects were added or modified since the last backup, or no previous backups exist. Create a backup."}"#,
                    "WARNING",
                    "CTGKM1305I Cryptographic objects",
                ),
                (
                    r#"[{"code":"0","status":"CTGKM1304I All keys and certificates have been backed up."}]"#,
                    "OK",
                    "CTGKM1304I",
                ),
                (
                    r#"{"messageId":"CTGKM1304I","message":"CTGKM1304I All keys and certificates have been backed up."}"#,
                    "OK",
                    "CTGKM1304I",
                ),
                (
                    r#"{"code":"CTGKM0002E","message":"CTGKM0002E Command failed."}"#,
                    "UNKNOWN",
                    "CTGKM0002E",
                ),
                (
                    r#"{"status":"CTGKM1304I All keys and certificates have been backed up.","error":"CTGKM0001E failed"}"#,
                    "UNKNOWN",
                    "CTGKM0001E failed",
                ),
                (
                    r#"{"status":"CTGKM1304I All keys and certificates have been backed up.","message":"CTGKM1314W Check the backup."}"#,
                    "UNKNOWN",
                    "CTGKM1314W",
                ),
            ])
        },
    },
    Mode {
        name: "result",
        condition: |_, _| {},
        verb: "",
        what: "backup result request",
        path: "/backups/result",
        streak: false,
        seen: r#""#,
        needs: &[],
        fine: || r#"{"code":"0","status":"CTGKM1301I Backup operation succeeded."}"#.to_string(),
        limit: "larger than 64 KiB; this is not a GKLM answer",
        contradictions: &[
            (
                r#"{"code":"0","status":"CTGKM1313E Backup operation failed."}"#,
                ["'code' is \"0\"", "CTGKM1313E Backup operation failed."],
            ),
            (
                r#"{"code":"0","status":"Backup operation failed: 'CTGKM1313E'!"}"#,
                ["'code' is \"0\"", "Backup operation failed: 'CTGKM1313E'!"],
            ),
            (
                r#"{"code":-1,"status":"CTGKM1313E Backup operation failed."}"#,
                ["'code' is -1", "CTGKM1313E Backup operation failed."],
            ),
            (
                r#"{"code":"2","message":"CTGKM1313E Backup operation failed."}"#,
                ["'code' is \"2\"", "CTGKM1313E Backup operation failed."],
            ),
            (
                r#"{"code":"1","status":"CTGKM1301I Backup operation succeeded."}"#,
                ["'code' is \"1\"", "CTGKM1301I Backup operation succeeded."],
            ),
            (
                r#"{"code":"CTGKM0001E","status":"CTGKM1301I Backup operation succeeded."}"#,
                ["'code' is \"CTGKM0001E\"", "CTGKM1301I Backup operation"],
            ),
        ],
        published: || {
            shapes(&[
                (
                    r#"[{"code":"0","status":"CTGKM1312I Backup operation succeeded."}]"#,
                    "OK",
                    "CTGKM1312I Backup operation succeeded.",
                ),
                (
                    r#"{"code":"CTGKM0001E","message":"CTGKM0001E Backup result unavailable."}"#,
                    "UNKNOWN",
                    "CTGKM0001E",
                ),
                (
                    r#"{"code":"0","status":"CTGKM1312I Backup operation succeeded.","error":"CTGKM1313E Backup operation failed."}"#,
                    "UNKNOWN",
                    "'error' says error CTGKM1313E",
                ),
                (
                    r#"{"code":"0","status":["CTGKM1313E Backup operation failed."]}"#,
                    "UNKNOWN",
                    "CTGKM1313E",
                ),
                (
                    r#"{"code":"0","status":"CTGKM1305I There are keys and certificates which have not been backed up."}"#,
                    "UNKNOWN",
                    "GKLM answered another question",
                ),
                (
                    r#"{"code":"0","status":"CTGKM1314W Backup operation completed with warnings."}"#,
                    "UNKNOWN",
                    "CTGKM1314W",
                ),
                (
                    r#"{"code":"1","code":"0"}"#,
                    "UNKNOWN",
                    "the member 'code' appears twice",
                ),
                (r#"{"code":1e-400}"#, "UNKNOWN", "'code' is 1e-400"),
                (
                    r#"{"code":"1","status":"CTGKM1313E Backup operation failed.","error":"CTGKM1313E Backup operation failed."}"#,
                    "CRITICAL",
                    "CTGKM1313E",
                ),
            ])
        },
    },
    Mode {
        name: "age",
        condition: |_, _| {},
        verb: "",
        what: "backup list request",
        path: "/backups",
        streak: false,
        seen: r#""#,
        needs: &["--critical-time", "2d"],
        fine: || answers::backup_list(&[answers::hours_ago(1)]),
        limit: "larger than 8 MiB; the backup list is too long to read; narrow it with --backup-dir, or prune old backups in GKLM",
        contradictions: &[
            (
                r#"{"code":"CTGKM0001E","message":"CTGKM0001E Failed to list backups","errors":[]}"#,
                [
                    "'code' is \"CTGKM0001E\"",
                    "CTGKM0001E Failed to list backups",
                ],
            ),
            (
                r#"{"code":"0","status":"CTGKM0002E Directory not readable.","backups":[]}"#,
                ["'code' is \"0\"", "CTGKM0002E Directory not readable."],
            ),
            (
                r#"{"code":"1","backups":[]}"#,
                ["GKLM reports an error", "'code' is \"1\""],
            ),
            (
                r#"{"backups":[],"errors":["backup directory not found"]}"#,
                ["GKLM reports an error", "'errors' holds"],
            ),
        ],
        published: || {
            let t = answers::hours_ago(2);
            let newer = answers::now() - 60;
            vec![
                (
                    format!(
                        r#"{{"status":"found","backupFilePath":"/opt/IBM/sklm/data/sklm_v4.2.1.0_{}_backup.jar","timestamp":"{}"}}"#,
                        answers::file_stamp(t),
                        java_date(t)
                    ),
                    "OK",
                    "newest backup is 2h 0m ",
                ),
                (
                    format!(
                        r#"[{{"backupFilePath":"/opt/IBM/sklm/data/backup","timestamp":"{}"}}]"#,
                        java_date(t)
                    ),
                    "OK",
                    "newest backup is 2h 0m ",
                ),
                (
                    format!(
                        r#"[{{"backupFilePath":"/opt/IBM/sklm/data/backup","timestamp":"{}"}}]"#,
                        zoneless(t)
                    ),
                    "UNKNOWN",
                    "--time-zone",
                ),
                (
                    format!(
                        r#"[{{"backupFilePath":"/opt/IBM/sklm/data/backup","timestamp":"{}"}}]"#,
                        java_date(t).replace("UTC", "CST")
                    ),
                    "UNKNOWN",
                    " CST 20",
                ),
                (
                    format!(
                        r#"[{{"status":"found","timestamp":{}}},{{"status":"Failed","timestamp":{}}}]"#,
                        hours_ago_ms(120),
                        newer * 1000
                    ),
                    "CRITICAL",
                    "is no finished backup: status \"Failed\"",
                ),
                (
                    format!(
                        r#"[{{"status":"found","timestamp":{}}},{{"status":"In progress","timestamp":{}}}]"#,
                        hours_ago_ms(120),
                        newer * 1000
                    ),
                    "CRITICAL",
                    "is no finished backup: status \"In progress\"",
                ),
                (
                    format!(
                        r#"[{{"status":"found","timestamp":{}}},{{"status":"CTGKM1313E Backup failed.","timestamp":{}}}]"#,
                        hours_ago_ms(120),
                        newer * 1000
                    ),
                    "CRITICAL",
                    "is no finished backup",
                ),
                (
                    format!(r#"[{{"timestamp":{0},"timestamp":{0}}}]"#, newer * 1000),
                    "UNKNOWN",
                    "the member 'timestamp' appears twice",
                ),
            ]
        },
    },
    Mode {
        name: "restore",
        condition: |sim, on| sim.set_restore_phase(if on { 4 } else { 0 }),
        verb: "restoring",
        what: "restore status request",
        path: "/restore/isrunning",
        streak: true,
        seen: r#"{"code":"4","status":"RESTORE_KEYSTORES"}"#,
        needs: &[],
        fine: || r#"{"code":"0","status":"IDLE"}"#.to_string(),
        limit: "larger than 64 KiB; this is not a GKLM answer",
        contradictions: &[
            (
                r#"{"code":"4","status":"IDLE"}"#,
                ["'code' is \"4\"", "'status' says IDLE"],
            ),
            (
                r#"{"code":"0","status":"RESTORE_KEYSTORES, then IDLE"}"#,
                ["names two phases", "RESTORE_KEYSTORES, then IDLE"],
            ),
            (
                r#"{"code":"0","status":"CTGKM0001E Restore failed."}"#,
                ["'code' is \"0\"", "CTGKM0001E Restore failed."],
            ),
            (
                r#"{"code":"CTGKM0001E","status":"CTGKM0001E Restore status unavailable."}"#,
                [
                    "'code' is \"CTGKM0001E\"",
                    "CTGKM0001E Restore status unavailable.",
                ],
            ),
            (
                r#"{"code":"9","status":"CTGKM1250I Restore phase nine."}"#,
                ["'code' is \"9\"", "CTGKM1250I Restore phase nine."],
            ),
        ],
        published: || {
            shapes(&[
                (r#"{"status":"0 IDLE"}"#, "OK", "Restore phase 0 IDLE."),
                (
                    r#"[{"code":"4","status":"4 RESTORE_KEYSTORES"}]"#,
                    "WARNING",
                    "RESTORE_KEYSTORES",
                ),
                (
                    r#"{"code":"0","status":"IDLE","error":"CTGKM0001E Restore failed."}"#,
                    "UNKNOWN",
                    "CTGKM0001E Restore failed.",
                ),
                (
                    r#"{"code":"0","status":"IDLE","message":"CTGKM3290I Backup process is running."}"#,
                    "UNKNOWN",
                    "GKLM answered another question",
                ),
                (
                    r#"{"code":0,"code":4}"#,
                    "UNKNOWN",
                    "the member 'code' appears twice",
                ),
                (r#"{"code":4e-400}"#, "UNKNOWN", "'code' is 4e-400"),
            ])
        },
    },
];

/// Fixed bodies, as the matrix's published shapes.
fn shapes(
    rows: &[(&str, &'static str, &'static str)],
) -> Vec<(String, &'static str, &'static str)> {
    rows.iter()
        .map(|(body, state, text)| (body.to_string(), *state, *text))
        .collect()
}

fn hours_ago_ms(hours: u64) -> u64 {
    answers::hours_ago(hours) * 1000
}

/// `t` as Java's `Date.toString()` writes it in UTC:
/// `Tue Dec 01 10:00:00 UTC 2026`.
fn java_date(t: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let iso = check_gklm_backup::mode::timestamp::to_rfc3339(t);
    let month: usize = iso[5..7].parse().unwrap();
    format!(
        "{} {} {} {} UTC {}",
        DAYS[(t / 86_400 % 7) as usize],
        MONTHS[month - 1],
        &iso[8..10],
        &iso[11..19],
        &iso[..4]
    )
}

/// `t` in UTC without a zone: `2026-12-01 10:00:00`.
fn zoneless(t: u64) -> String {
    check_gklm_backup::mode::timestamp::to_rfc3339(t)[..19].replace('T', " ")
}
