//! The shipped Zabbix template and UserParameter, judged by a real Zabbix
//! server: PostgreSQL, `zabbix_server`, the frontend API and
//! `zabbix_agentd`, all private to this test on 127.0.0.1 (tests/util/
//! zabbix.rs). The template is imported through the API, a host is linked
//! to it, and GKLM's answers in all five modes (running, needed, result,
//! age, restore) are driven through the simulator while the server collects every
//! mode's master item with "check now" in the same steps: every dependent
//! item must get its value, each mode's WARNING, CRITICAL and UNKNOWN
//! triggers must go into and out of problem, no item may turn "not
//! supported" (UNKNOWN runs, null fields and an unreachable GKLM included),
//! and each mode's nodata trigger must fire when the agent goes away.
//! needed, result, age and restore run with the template's default options
//! macros: the template works for them out of the box.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::engine::{repo, say, wait_for};
use crate::util::zabbix::*;
use crate::util::*;
use gklm_simulator::answers::{backup_list, hours_ago};

const TEST: &str = "zabbix_server_collects_through_the_shipped_template";
const TEMPLATE: &str = "GKLM backup by Zabbix agent";

/// A dependent item on one of a mode's JSON fields.
#[derive(Clone, Copy)]
struct Field {
    name: &'static str,
    /// The history table its values land in: 0 float, 1 character,
    /// 3 unsigned.
    history: u8,
}

const fn field(name: &'static str, history: u8) -> Field {
    Field { name, history }
}

/// One `--mode`: its master item, its dependent items.
struct Mode {
    name: &'static str,
    /// How the simulator's request log names the mode's question.
    endpoint: &'static str,
    fields: &'static [Field],
}

const MODES: [Mode; 5] = [
    Mode {
        name: "running",
        endpoint: "/backups/isrunning",
        fields: &[
            field("running", 3),
            field("running_checks", 3),
            field("running_seconds", 3),
        ],
    },
    Mode {
        name: "needed",
        endpoint: "/backups/need",
        fields: &[
            field("needed", 3),
            field("needed_checks", 3),
            field("needed_seconds", 3),
        ],
    },
    Mode {
        name: "result",
        endpoint: "/backups/result",
        fields: &[field("result", 0)],
    },
    Mode {
        name: "age",
        endpoint: "/ckms/backups",
        fields: &[
            field("backup_age", 3),
            field("backups", 3),
            field("newest_backup", 1),
        ],
    },
    Mode {
        name: "restore",
        endpoint: "/restore/isrunning",
        fields: &[
            field("restore", 3),
            field("restore_phase", 3),
            field("restore_checks", 3),
            field("restore_seconds", 3),
        ],
    },
];

fn key(item: &str, mode: &Mode) -> String {
    format!("gklm.backup.{item}[{}]", mode.name)
}

/// What each mode's master item stored in one step, parsed.
type Runs = BTreeMap<&'static str, Value>;
/// How many values each field item has stored so far, by key.
type Counts = BTreeMap<String, u64>;

/// One item as the API reports it.
#[derive(Debug)]
struct Item {
    id: String,
    lastvalue: String,
    /// "0" normal, "1" not supported.
    state: String,
    error: String,
}

/// The host under test, seen through the API.
struct Host<'a> {
    api: Api<'a>,
    id: String,
    /// Mode name -> its master item's id.
    masters: BTreeMap<&'static str, String>,
    /// Per field item key: the value it must hold now (a null leaves it).
    model: BTreeMap<String, String>,
    logs: Vec<std::path::PathBuf>,
}

impl Host<'_> {
    fn items(&self) -> BTreeMap<String, Item> {
        let list = self.api.call(
            "item.get",
            json!({"hostids": [self.id], "output": ["itemid", "key_", "lastvalue", "state", "error"]}),
        );
        list.as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let s = |f: &str| i[f].as_str().unwrap_or_default().to_string();
                (
                    s("key_"),
                    Item {
                        id: s("itemid"),
                        lastvalue: s("lastvalue"),
                        state: s("state"),
                        error: s("error"),
                    },
                )
            })
            .collect()
    }

    /// Trigger name -> (value, state, error).
    fn triggers(&self) -> BTreeMap<String, (String, String, String)> {
        let list = self.api.call(
            "trigger.get",
            json!({"hostids": [self.id], "output": ["description", "value", "state", "error"]}),
        );
        list.as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let s = |f: &str| t[f].as_str().unwrap_or_default().to_string();
                (s("description"), (s("value"), s("state"), s("error")))
            })
            .collect()
    }

    /// Short names ("needed WARNING", "age nodata", ...) of the triggers in
    /// problem.
    fn problems(&self) -> BTreeSet<String> {
        self.triggers()
            .into_iter()
            .filter(|(_, (value, _, _))| value == "1")
            .map(|(name, _)| short(&name))
            .collect()
    }

    fn history_count(&self, itemid: &str, history: u8) -> u64 {
        let count = self.api.call(
            "history.get",
            json!({"history": history, "itemids": [itemid], "countOutput": true}),
        );
        count.as_str().unwrap().parse().unwrap()
    }

    fn master_count(&self, mode: &Mode) -> u64 {
        self.history_count(&self.masters[mode.name], 4)
    }

    /// How many values each field item has stored so far.
    fn counts(&self) -> Counts {
        let items = self.items();
        MODES
            .iter()
            .flat_map(|m| m.fields.iter().map(move |f| (m, f)))
            .map(|(m, f)| {
                let key = key(f.name, m);
                let count = self.history_count(&items[&key].id, f.history);
                (key, count)
            })
            .collect()
    }

    fn check_now(&self, modes: &[&Mode]) {
        let tasks: Vec<Value> = modes
            .iter()
            .map(|m| json!({"type": 6, "request": {"itemid": self.masters[m.name]}}))
            .collect();
        self.api.call("task.create", json!(tasks));
    }

    /// Ask the server to check every mode now and return the JSON each
    /// master item stored. A request is repeated only while its check has
    /// not run at all (a task sent before the server's configuration knew
    /// the item is dropped), so each call is one run of each mode's check.
    fn collect(&self, sim: Option<&Simulator>) -> Runs {
        self.collect_text(sim)
            .into_iter()
            .map(|(mode, text)| {
                let json = serde_json::from_str(&text).unwrap_or_else(|e| {
                    panic!("{mode} master item value is not JSON ({e}): {text}")
                });
                (mode, json)
            })
            .collect()
    }

    /// `collect`, the values as the agent gave them.
    fn collect_text(&self, sim: Option<&Simulator>) -> BTreeMap<&'static str, String> {
        let before: BTreeMap<&str, u64> = MODES
            .iter()
            .map(|m| (m.name, self.master_count(m)))
            .collect();
        let runs = |m: &Mode| sim.map(|s| s.count("GET", m.endpoint));
        let runs_before: BTreeMap<&str, Option<usize>> =
            MODES.iter().map(|m| (m.name, runs(m))).collect();
        self.check_now(&MODES.iter().collect::<Vec<_>>());
        let mut asked = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            let pending: Vec<&Mode> = MODES
                .iter()
                .filter(|m| self.master_count(m) <= before[m.name])
                .collect();
            if pending.is_empty() {
                break;
            }
            let names: Vec<&str> = pending.iter().map(|m| m.name).collect();
            assert!(
                Instant::now() < deadline,
                "no new value of the master items {names:?} after check now\n{}",
                self.diagnosis()
            );
            let items = self.items();
            for (key, item) in &items {
                if self.masters.values().any(|id| *id == item.id) && item.state != "0" {
                    panic!(
                        "the master item {key} is not supported: {}\n{}",
                        item.error,
                        self.diagnosis()
                    );
                }
            }
            if asked.elapsed() > Duration::from_secs(20) {
                let again: Vec<&Mode> = pending
                    .into_iter()
                    .filter(|m| runs(m) == runs_before[m.name])
                    .collect();
                if !again.is_empty() {
                    self.check_now(&again);
                }
                asked = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        MODES
            .iter()
            .map(|m| {
                let last = self.api.call(
                    "history.get",
                    json!({"history": 4, "itemids": [self.masters[m.name]], "output": "extend",
                           "sortfield": "clock", "sortorder": "DESC", "limit": 1}),
                );
                (m.name, last[0]["value"].as_str().unwrap().to_string())
            })
            .collect()
    }

    /// After runs that printed `runs` (one JSON per mode): the dependent
    /// items hold their values (a null field leaves the item as it was,
    /// without a new history value), exactly `problems` are in problem, and
    /// nothing is "not supported".
    fn expect(&mut self, step: &str, runs: &Runs, problems: &[&str], counts: &Counts) {
        let mut fresh = BTreeSet::new();
        for mode in &MODES {
            for f in mode.fields {
                let value = match &runs[mode.name][f.name] {
                    Value::Null => continue,
                    Value::Bool(b) => u8::from(*b).to_string(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let key = key(f.name, mode);
                self.model.insert(key.clone(), value);
                fresh.insert(key);
            }
        }
        let want: BTreeSet<String> = problems.iter().map(|p| p.to_string()).collect();
        let fields: Vec<(String, u8)> = MODES
            .iter()
            .flat_map(|m| m.fields.iter().map(move |f| (key(f.name, m), f.history)))
            .collect();
        let settled = wait_for(Duration::from_secs(120), || {
            let items = self.items();
            let texts_done = MODES.iter().all(|m| {
                let run = &runs[m.name];
                items[&key("state", m)].lastvalue == run["state"].as_str().unwrap()
                    && items[&key("message", m)].lastvalue == run["message"].as_str().unwrap()
            });
            let fields_done = fields.iter().all(|(key, history)| {
                let Some(want) = self.model.get(key) else {
                    return items[key].lastvalue.is_empty();
                };
                same_value(&items[key].lastvalue, want)
                    && (!fresh.contains(key)
                        || self.history_count(&items[key].id, *history) > counts[key])
            });
            (texts_done && fields_done && self.problems() == want).then_some(())
        });
        let states: BTreeMap<&str, &Value> =
            runs.iter().map(|(m, run)| (*m, &run["state"])).collect();
        assert!(
            settled.is_some(),
            "{step}: expected states {states:?}, fields {:?}, problems {want:?}\n{}",
            self.model,
            self.diagnosis()
        );
        let items = self.items();
        for (key, history) in &fields {
            if !fresh.contains(key) {
                assert_eq!(
                    self.history_count(&items[key].id, *history),
                    counts[key],
                    "{step}: {key} got a value from a null field"
                );
            }
        }
        self.all_supported(step);
        say(&format!("{step}: {states:?}, problems {want:?}"));
    }

    fn all_supported(&self, step: &str) {
        for (key, item) in self.items() {
            assert!(
                item.state == "0" && item.error.is_empty(),
                "{step}: item {key} is not supported: {}\n{}",
                item.error,
                self.diagnosis()
            );
        }
        for (name, (_, state, error)) in self.triggers() {
            assert_eq!(state, "0", "{step}: trigger {name} is unknown: {error}");
        }
    }

    fn set_macro(&self, name: &str, value: &str) {
        let id = self.api.call(
            "usermacro.get",
            json!({"hostids": [self.id], "filter": {"macro": name}, "output": ["hostmacroid"]}),
        )[0]["hostmacroid"]
            .clone();
        if id.is_string() {
            self.api.call(
                "usermacro.update",
                json!({"hostmacroid": id, "value": value}),
            );
        } else {
            self.api.call(
                "usermacro.create",
                json!({"hostid": self.id, "macro": name, "value": value}),
            );
        }
    }

    fn diagnosis(&self) -> String {
        let mut text = format!(
            "items: {:#?}\ntriggers: {:#?}\n",
            self.items(),
            self.triggers()
        );
        for log in &self.logs {
            text += &tail(log, 25);
            text.push('\n');
        }
        text
    }
}

/// Whether an item's last value is `want`: a float item shows 1 as "1" or
/// "1.0000", so numbers compare as numbers.
fn same_value(last: &str, want: &str) -> bool {
    last == want || matches!((last.parse::<f64>(), want.parse::<f64>()), (Ok(a), Ok(b)) if a == b)
}

/// "MODE WARNING", "MODE CRITICAL", "MODE UNKNOWN" or "MODE nodata", from a
/// trigger's name ("GKLM backup MODE: ...").
fn short(name: &str) -> String {
    let mode = name
        .strip_prefix("GKLM backup ")
        .and_then(|rest| rest.split_once(':'))
        .map(|(mode, _)| mode)
        .filter(|mode| MODES.iter().any(|m| m.name == *mode))
        .unwrap_or_else(|| panic!("unexpected trigger {name}"));
    let what = ["WARNING", "CRITICAL", "UNKNOWN"]
        .into_iter()
        .find(|s| name.contains(&format!(": {s} ")))
        .map(str::to_string)
        .unwrap_or_else(|| {
            assert!(
                name.contains("no check result"),
                "unexpected trigger {name}"
            );
            "nodata".to_string()
        });
    format!("{mode} {what}")
}

/// One step: every mode's check runs once through "check now", each ends in
/// its `states` (MODES order), and `expect` holds.
fn step(
    host: &mut Host,
    name: &str,
    sim: &Option<Simulator>,
    problems: &[&str],
    states: [&str; 5],
) -> Runs {
    let before: Vec<u64> = MODES.iter().map(|m| host.master_count(m)).collect();
    let counts = host.counts();
    let runs = host.collect(sim.as_ref());
    for (mode, state) in MODES.iter().zip(states) {
        let run = &runs[mode.name];
        assert_eq!(run["state"], state, "{name}: {run}");
        assert_eq!(run["mode"], mode.name, "{name}: {run}");
    }
    host.expect(name, &runs, problems, &counts);
    for (mode, before) in MODES.iter().zip(before) {
        assert_eq!(
            host.master_count(mode),
            before + 1,
            "{name}: the {} check ran more than once, so the counts are off",
            mode.name
        );
    }
    runs
}

/// The table above is written by hand so that each step can say what each
/// mode must do; it must still name every mode the binary has, with its
/// JSON fields, or a new mode would escape the real server.
#[test]
fn the_mode_table_names_every_mode_and_field_the_binary_has() {
    let table: Vec<(&str, Vec<&str>)> = MODES
        .iter()
        .map(|m| (m.name, m.fields.iter().map(|f| f.name).collect()))
        .collect();
    let binary: Vec<(&str, Vec<&str>)> = check_gklm_backup::mode::MODES
        .iter()
        .map(|k| (k.name, k.fields.to_vec()))
        .collect();
    assert_eq!(table, binary);
}

/// The simulator, while GKLM is there.
fn gklm(sim: &Option<Simulator>) -> &Simulator {
    sim.as_ref().expect("GKLM is up")
}

fn d(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn zabbix_server_collects_through_the_shipped_template() {
    let Some(tools) = Tools::find(TEST) else {
        return;
    };
    let started = Instant::now();
    for version in tools.versions() {
        say(&format!("engine: {version}"));
    }
    let ws = Workspace::new();
    let dir = ws.path();
    // The daemons run as postgres and zabbix: they must reach their parts.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();

    // GKLM, its CA where user zabbix can read it.
    let sim_dir = dir.join("gklm");
    std::fs::create_dir_all(&sim_dir).unwrap();
    let mut sim = Some(Simulator::serve(
        Config::default(),
        Cert::Good,
        "127.0.0.1:0",
        &sim_dir,
        None,
    ));
    let gklm_port = sim.as_ref().unwrap().port();

    // The check, its password file and state, all for user zabbix.
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(BIN, plugins.join("check_gklm_backup")).unwrap();
    let check_home = private_dir(&dir.join("check"), tools.zabbix);
    let password = ws.secret_file("check/password", &format!("{PASSWORD}\n"));
    std::os::unix::fs::chown(&password, Some(tools.zabbix.uid), Some(tools.zabbix.gid)).unwrap();
    let shipped =
        std::fs::read_to_string(repo().join("packaging/zabbix/userparameter_gklm_backup.conf"))
            .unwrap();
    assert!(shipped.contains("/usr/lib/nagios/plugins/check_gklm_backup "));
    let userparameter = dir.join("userparameter_gklm_backup.conf");
    std::fs::write(
        &userparameter,
        shipped.replace("/usr/lib/nagios/plugins", &d(&plugins)),
    )
    .unwrap();

    let pg = Postgres::start(&tools, dir);
    let mut server = Server::start(&tools, dir, pg.port);
    let mut agent = Agent::start(&tools, dir, &userparameter);
    let frontend = Frontend::start(&tools, dir, pg.port, server.port);
    say(&format!(
        "Zabbix API {} (frontend under {}), PostgreSQL on port {}; stack up after {:?}",
        frontend.version(),
        first_line_of_php(&tools),
        pg.port,
        started.elapsed()
    ));
    server.assert_running();

    let api = frontend.login();
    let template =
        std::fs::read_to_string(repo().join("packaging/zabbix/template_gklm_backup.yaml")).unwrap();
    let create = json!({"createMissing": true, "updateExisting": true});
    api.call(
        "configuration.import",
        json!({"format": "yaml", "source": template, "rules": {
            "groups": {"createMissing": true}, "templates": create,
            "items": create, "triggers": create, "valueMaps": create}}),
    );
    let templateid = api.call(
        "template.get",
        json!({"filter": {"host": [TEMPLATE]}, "output": ["templateid"]}),
    )[0]["templateid"]
        .clone();
    assert!(
        templateid.is_string(),
        "template {TEMPLATE} was not imported"
    );
    // The database comes with a monitored host "Zabbix server" whose agent
    // is not there: keep its polls out of the server's queues.
    let own = api.call(
        "host.get",
        json!({"filter": {"host": ["Zabbix server"]}, "output": ["hostid"]}),
    );
    if let Some(own) = own[0]["hostid"].as_str() {
        api.call("host.update", json!({"hostid": own, "status": 1}));
    }
    let groupid = api.call("hostgroup.create", json!({"name": "GKLM test"}))["groupids"][0].clone();
    // Scheduled once a day, twelve hours from now: only "check now" runs it
    // while the test lasts, so every run is one the test asked for.
    let hour = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 3600
        + 12)
        % 24;
    // Options for every mode; only running gets thresholds of its own (the
    // template's -w 6 -c 12 would take too many checks). needed, result and
    // age run with the template's default options macros.
    let options = format!(
        "-t 5 --cacert {} --state-file {}",
        d(&sim_dir.join("ca.pem")),
        d(&check_home.join("state.json"))
    );
    let macro_ = |name: &str, value: &str| json!({"macro": name, "value": value});
    let hostid = api.call(
        "host.create",
        json!({
            "host": "gklm01",
            "groups": [{"groupid": groupid}],
            "templates": [{"templateid": templateid}],
            // The default {$GKLM.HOST} (empty) makes the check use
            // {HOST.CONN}: 127.0.0.1, which the simulator's certificate carries.
            "interfaces": [{"type": 1, "main": 1, "useip": 1, "ip": "127.0.0.1",
                            "dns": "", "port": agent.port.to_string()}],
            "macros": [
                macro_("{$GKLM.PORT}", &gklm_port.to_string()),
                macro_("{$GKLM.USER}", USER),
                macro_("{$GKLM.PASSWORD.FILE}", &d(&password)),
                macro_("{$GKLM.OPTIONS}", &options),
                macro_("{$GKLM.RUNNING.OPTIONS}", "-w 1 -c 2"),
                macro_("{$GKLM.INTERVAL}", &format!("0;h{hour}m0s0")),
                macro_("{$GKLM.NODATA}", "1h"),
            ],
        }),
    )["hostids"][0]
        .as_str()
        .unwrap()
        .to_string();

    let mut host = Host {
        api,
        id: hostid,
        masters: BTreeMap::new(),
        model: BTreeMap::new(),
        logs: vec![server.log.clone(), agent.log.clone(), pg.log.clone()],
    };
    let items = host.items();
    let mut expected_keys = Vec::new();
    for mode in &MODES {
        let prefix = format!("gklm.backup[{},", mode.name);
        let master = items
            .keys()
            .find(|k| k.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {} master item: {items:?}", mode.name));
        assert!(
            master.contains("{HOST.CONN}")
                && master.ends_with(&format!(
                    ",{{$GKLM.OPTIONS}},{{$GKLM.{}.OPTIONS}}]",
                    mode.name.to_uppercase()
                )),
            "the key must name {{HOST.CONN}} itself and end on the common and the mode's options: {master}"
        );
        host.masters.insert(mode.name, items[master].id.clone());
        expected_keys.push(master.clone());
        expected_keys.extend(["state", "message"].map(|f| key(f, mode)));
        expected_keys.extend(mode.fields.iter().map(|f| key(f.name, mode)));
    }
    expected_keys.sort();
    assert_eq!(items.keys().cloned().collect::<Vec<_>>(), expected_keys);
    let names: BTreeSet<String> = host.triggers().keys().map(|n| short(n)).collect();
    let all = |what: &str| -> Vec<String> {
        MODES.iter().map(|m| format!("{} {what}", m.name)).collect()
    };
    let every: BTreeSet<String> = ["WARNING", "CRITICAL", "UNKNOWN", "nodata"]
        .iter()
        .flat_map(|w| all(w))
        .collect();
    assert_eq!(names, every);
    say(&format!(
        "template imported, host linked after {:?}",
        started.elapsed()
    ));

    let nulls = |run: &Value, mode: &Mode| {
        for f in mode.fields {
            assert!(run[f.name].is_null(), "{}: {run}", f.name);
        }
    };

    // States in MODES order: running, needed, result, age, restore.
    let runs = step(
        &mut host,
        "all quiet",
        &sim,
        &[],
        ["OK", "OK", "OK", "OK", "OK"],
    );
    assert_eq!(
        (
            &runs["running"]["running"],
            &runs["running"]["running_checks"]
        ),
        (&json!(false), &json!(0))
    );
    assert_eq!(runs["needed"]["needed"], false);
    assert_eq!(runs["result"]["result"], 0);
    assert_eq!(runs["age"]["backups"], 1);
    let age = runs["age"]["backup_age"].as_u64().unwrap();
    assert!((3600..3900).contains(&age), "{}", runs["age"]);
    assert_eq!(
        (
            &runs["restore"]["restore"],
            &runs["restore"]["restore_phase"],
            &runs["restore"]["restore_checks"]
        ),
        (&json!(false), &json!(0), &json!(0))
    );

    // A backup runs, GKLM needs one, the last one failed, the newest
    // listed is three days old (the template's --critical-time 2d), and a
    // restore is replacing the keystores (WARNING at once by default).
    gklm(&sim).set_running(true);
    gklm(&sim).set_restore_phase(4);
    gklm(&sim).set_needed(true);
    gklm(&sim).set_result_code("\"1\"");
    gklm(&sim).set_backup_list(&backup_list(&[hours_ago(80), hours_ago(72)]));
    let runs = step(
        &mut host,
        "running 1st check, backup needed, last one failed, newest 3 days old, \
         restoring keystores",
        &sim,
        &[
            "needed WARNING",
            "result CRITICAL",
            "age CRITICAL",
            "restore WARNING",
        ],
        ["OK", "WARNING", "CRITICAL", "CRITICAL", "WARNING"],
    );
    assert_eq!(runs["running"]["running_checks"], 1);
    assert_eq!(
        (&runs["needed"]["needed"], &runs["needed"]["needed_checks"]),
        (&json!(true), &json!(1))
    );
    assert_eq!(runs["result"]["result"], 1);
    assert_eq!(runs["age"]["backups"], 2);
    assert!(runs["age"]["backup_age"].as_u64().unwrap() >= 72 * 3600);
    assert_eq!(
        (
            &runs["restore"]["restore"],
            &runs["restore"]["restore_phase"],
            &runs["restore"]["restore_checks"]
        ),
        (&json!(true), &json!(4), &json!(1))
    );

    gklm(&sim).set_result_code("\"0\"");
    gklm(&sim).set_backup_list(&backup_list(&[hours_ago(80), hours_ago(72), hours_ago(1)]));
    gklm(&sim).set_restore_phase(5);
    let runs = step(
        &mut host,
        "running 2nd check (-w 1), still needed, last one succeeded, a new backup, \
         restoring databases",
        &sim,
        &["running WARNING", "needed WARNING", "restore WARNING"],
        ["WARNING", "WARNING", "OK", "OK", "WARNING"],
    );
    assert_eq!(runs["running"]["running_checks"], 2);
    assert_eq!(runs["needed"]["needed_checks"], 2);
    assert_eq!(runs["result"]["result"], 0);
    assert_eq!(runs["age"]["backups"], 3);
    assert_eq!(
        (
            &runs["restore"]["restore_phase"],
            &runs["restore"]["restore_checks"]
        ),
        (&json!(5), &json!(2))
    );

    // GKLM lists no backup at all: CRITICAL, backup_age and newest_backup
    // null (their items keep the last value), backups 0.
    gklm(&sim).set_needed(false);
    gklm(&sim).set_result_code("\"2\"");
    gklm(&sim).set_backup_list("[]");
    gklm(&sim).set_restore_phase(7);
    let runs = step(
        &mut host,
        "running 3rd check (-c 2), all backed up, result code 2, no backup listed, \
         restore completed",
        &sim,
        &["running CRITICAL", "result WARNING", "age CRITICAL"],
        ["CRITICAL", "OK", "WARNING", "CRITICAL", "OK"],
    );
    assert_eq!(runs["running"]["running_checks"], 3);
    assert_eq!(
        (&runs["needed"]["needed"], &runs["needed"]["needed_checks"]),
        (&json!(false), &json!(0))
    );
    assert_eq!(runs["result"]["result"], 2);
    assert_eq!(runs["age"]["backups"], 0);
    assert!(runs["age"]["backup_age"].is_null(), "{}", runs["age"]);
    assert!(runs["age"]["newest_backup"].is_null(), "{}", runs["age"]);
    assert_eq!(
        (
            &runs["restore"]["restore"],
            &runs["restore"]["restore_phase"],
            &runs["restore"]["restore_checks"]
        ),
        (&json!(false), &json!(7), &json!(0))
    );

    gklm(&sim).set_status_behavior(Behavior::json(
        500,
        r#"{"code":"CTGKM0001E","message":"boom"}"#,
    ));
    let runs = step(
        &mut host,
        "GKLM answers HTTP 500",
        &sim,
        &all("UNKNOWN")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["UNKNOWN"; 5],
    );
    for mode in &MODES {
        nulls(&runs[mode.name], mode);
    }

    // GKLM goes away: connection refused.
    sim = None;
    let runs = step(
        &mut host,
        "GKLM unreachable",
        &sim,
        &all("CRITICAL")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["CRITICAL"; 5],
    );
    for mode in &MODES {
        nulls(&runs[mode.name], mode);
    }

    // GKLM is back on the same port (a new CA, written where the check
    // reads it; the old session is gone), nothing running or needed, the
    // newest backup an hour old. The host's own {$GKLM.AGE.OPTIONS}
    // reaches the age check: an hour is past its --warning-time 30m. A
    // restore is cleaning up, and the host's {$GKLM.RESTORE.OPTIONS}
    // reaches the restore check: with thresholds given they decide, and
    // one check is below -w 3.
    host.set_macro(
        "{$GKLM.AGE.OPTIONS}",
        "--warning-time 30m --critical-time 2d",
    );
    host.set_macro("{$GKLM.RESTORE.OPTIONS}", "-w 3 -c 5");
    sim = Some(Simulator::serve(
        Config::default(),
        Cert::Good,
        &format!("127.0.0.1:{gklm_port}"),
        &sim_dir,
        None,
    ));
    // A restarted GKLM has run no backup yet: result code -1, OK by
    // default, and a negative number the result item must take.
    gklm(&sim).set_result_code("-1");
    gklm(&sim).set_restore_phase(6);
    // The server reads its configuration every second.
    std::thread::sleep(Duration::from_secs(3));
    let runs = step(
        &mut host,
        "GKLM back, all quiet, result -1, restore cleaning up, \
         {$GKLM.AGE.OPTIONS} and {$GKLM.RESTORE.OPTIONS} on the host",
        &sim,
        &["age WARNING"],
        ["OK", "OK", "OK", "WARNING", "OK"],
    );
    assert_eq!(runs["running"]["running_checks"], 0);
    assert_eq!(runs["needed"]["needed_checks"], 0);
    assert_eq!(runs["result"]["result"], -1);
    assert!(
        runs["age"]["message"]
            .as_str()
            .unwrap()
            .contains("--warning-time"),
        "{}",
        runs["age"]
    );
    assert_eq!(
        (
            &runs["restore"]["restore"],
            &runs["restore"]["restore_phase"],
            &runs["restore"]["restore_checks"]
        ),
        (&json!(true), &json!(6), &json!(1))
    );
    assert!(
        runs["restore"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Restore phase 6 CLEANUP. (restoring for 1 check"),
        "{}",
        runs["restore"]
    );

    // The check is missing: the agent stores the shell's complaint, which
    // is no JSON. The state falls back to UNKNOWN, the message says so, the
    // fields keep their values, and nothing turns unsupported.
    let plugin = plugins.join("check_gklm_backup");
    let aside = plugins.join("check_gklm_backup.aside");
    std::fs::rename(&plugin, &aside).unwrap();
    let counts = host.counts();
    let texts = host.collect_text(sim.as_ref());
    let mut garbage = Runs::new();
    for mode in &MODES {
        assert!(texts[mode.name].contains("not found"), "{texts:?}");
        let mut run = json!({"state": "UNKNOWN", "message": "check_gklm_backup printed no JSON: \
            see the latest value of the check result item"});
        for f in mode.fields {
            run[f.name] = Value::Null;
        }
        garbage.insert(mode.name, run);
    }
    host.expect(
        "check missing",
        &garbage,
        &all("UNKNOWN")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        &counts,
    );
    std::fs::rename(&aside, &plugin).unwrap();

    // The agent goes away: the master items get no value, which each
    // mode's nodata trigger turns into a problem, and nothing turns
    // unsupported.
    host.set_macro("{$GKLM.NODATA}", "30s");
    agent.stop();
    let nodata: BTreeSet<String> = all("nodata").into_iter().collect();
    let fired = wait_for(Duration::from_secs(240), || {
        host.problems().is_superset(&nodata).then_some(())
    });
    assert!(
        fired.is_some(),
        "the nodata triggers did not all fire with the agent stopped\n{}",
        host.diagnosis()
    );
    host.all_supported("agent stopped");
    say(&format!(
        "agent stopped: nodata in problem after {:?}",
        started.elapsed()
    ));

    agent.resume(&tools);
    // A backup made just now: the age check is OK again. The restore is
    // still cleaning up: its second check, still below -w 3.
    gklm(&sim).set_backup_list(&backup_list(&[hours_ago(0)]));
    let runs = host.collect(sim.as_ref());
    for mode in &MODES {
        assert_eq!(runs[mode.name]["state"], "OK", "{}", runs[mode.name]);
    }
    assert_eq!(runs["restore"]["restore_checks"], 2, "{}", runs["restore"]);
    let cleared = wait_for(Duration::from_secs(240), || {
        host.problems().is_empty().then_some(())
    });
    assert!(
        cleared.is_some(),
        "the problems did not clear with the agent back\n{}",
        host.diagnosis()
    );
    host.all_supported("agent back");
    server.assert_running();

    // No secret in what the stack wrote: the GKLM password (read from its
    // file by the check), the API session id or password.
    for log in [&server.log, &agent.log, &pg.log, &frontend.log] {
        let text = std::fs::read_to_string(log).unwrap();
        assert!(
            !text.contains(PASSWORD),
            "GKLM password in {}",
            log.display()
        );
        assert!(
            !host.api.leaks_into(&text),
            "API secret in {}",
            log.display()
        );
    }
    for mode in &MODES {
        let values = host.api.call(
            "history.get",
            json!({"history": 4, "itemids": [host.masters[mode.name]], "output": ["value"]}),
        );
        // Eight steps and at least one run after the agent came back.
        assert!(values.as_array().unwrap().len() >= 9, "{values}");
        assert!(!values.to_string().contains(PASSWORD), "{values}");
    }
    say(&format!("{TEST}: passed in {:?}", started.elapsed()));
}

fn first_line_of_php(tools: &Tools) -> String {
    crate::util::engine::first_line_of(std::process::Command::new(&tools.php).arg("--version"))
}
