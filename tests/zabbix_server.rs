//! The shipped Zabbix template and UserParameter, judged by a real Zabbix
//! server: PostgreSQL, `zabbix_server`, the frontend API and
//! `zabbix_agentd`, all private to this test on 127.0.0.1 (tests/util/
//! zabbix.rs). The template is imported through the API, a host is linked
//! to it, and a backup is driven through the simulator while the server
//! collects with "check now": every dependent item must get its value, the
//! WARNING, CRITICAL and UNKNOWN triggers must go into and out of problem,
//! no item may turn "not supported" (UNKNOWN runs and an unreachable GKLM
//! included), and the nodata trigger must fire when the agent goes away.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::engine::{repo, say, wait_for};
use crate::util::zabbix::*;
use crate::util::*;

const TEST: &str = "zabbix_server_collects_through_the_shipped_template";
const TEMPLATE: &str = "GKLM backup by Zabbix agent";
const STATE_KEY: &str = "gklm.backup.state[running]";
const MESSAGE_KEY: &str = "gklm.backup.message[running]";
/// Dependent numeric items and the JSON field each one carries.
const NUMBERS: [(&str, &str); 3] = [
    ("gklm.backup.running[running]", "running"),
    ("gklm.backup.running_checks[running]", "running_checks"),
    ("gklm.backup.running_seconds[running]", "running_seconds"),
];

type Counts = BTreeMap<&'static str, u64>;

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
    master: String,
    /// Per numeric item: the value it must hold now (a null leaves it).
    model: BTreeMap<&'static str, String>,
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

    /// Short names (WARNING, CRITICAL, UNKNOWN, nodata) of the triggers in
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

    /// How many values each numeric item has stored so far.
    fn counts(&self) -> Counts {
        let items = self.items();
        NUMBERS
            .iter()
            .map(|(key, _)| (*key, self.history_count(&items[*key].id, 3)))
            .collect()
    }

    fn check_now(&self) {
        self.api.call(
            "task.create",
            json!({"type": 6, "request": {"itemid": self.master}}),
        );
    }

    /// Ask the server to check now and return the JSON the master item
    /// stored. The request is repeated only while the check has not run at
    /// all (a task sent before the server's configuration knew the item is
    /// dropped), so each call is one run of the check.
    fn collect(&self, sim: Option<&Simulator>) -> Value {
        let text = self.collect_text(sim);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("master item value is not JSON ({e}): {text}"))
    }

    /// `collect`, the value as the agent gave it.
    fn collect_text(&self, sim: Option<&Simulator>) -> String {
        let before = self.history_count(&self.master, 4);
        let runs = || sim.map(|s| s.count("GET", "/isrunning"));
        let runs_before = runs();
        self.check_now();
        let mut asked = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(240);
        while self.history_count(&self.master, 4) <= before {
            assert!(
                Instant::now() < deadline,
                "no new value of the master item after check now\n{}",
                self.diagnosis()
            );
            let master = self.items().into_values().find(|i| i.id == self.master);
            if let Some(master) = master.filter(|m| m.state != "0") {
                panic!(
                    "the master item is not supported: {}\n{}",
                    master.error,
                    self.diagnosis()
                );
            }
            if asked.elapsed() > Duration::from_secs(20) && runs() == runs_before {
                self.check_now();
                asked = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        let last = self.api.call(
            "history.get",
            json!({"history": 4, "itemids": [self.master], "output": "extend",
                   "sortfield": "clock", "sortorder": "DESC", "limit": 1}),
        );
        last[0]["value"].as_str().unwrap().to_string()
    }

    /// After a run that printed `json`: the dependent items hold its values
    /// (a null field leaves the item as it was, without a new history
    /// value), exactly `problems` are in problem, and nothing is "not
    /// supported".
    fn expect(&mut self, step: &str, json: &Value, problems: &[&str], counts: &Counts) {
        let mut fresh = BTreeSet::new();
        for (key, field) in NUMBERS {
            let value = match &json[field] {
                Value::Null => continue,
                Value::Bool(b) => u8::from(*b).to_string(),
                other => other.to_string(),
            };
            self.model.insert(key, value);
            fresh.insert(key);
        }
        let want: BTreeSet<String> = problems.iter().map(|p| p.to_string()).collect();
        let state = json["state"].as_str().unwrap();
        let message = json["message"].as_str().unwrap();
        let settled = wait_for(Duration::from_secs(120), || {
            let items = self.items();
            let numbers_done = NUMBERS.iter().all(|(key, _)| {
                items[*key].lastvalue == self.model[key]
                    && (!fresh.contains(key)
                        || self.history_count(&items[*key].id, 3) > counts[key])
            });
            (items[STATE_KEY].lastvalue == state
                && items[MESSAGE_KEY].lastvalue == message
                && numbers_done
                && self.problems() == want)
                .then_some(())
        });
        assert!(
            settled.is_some(),
            "{step}: expected state {state}, numbers {:?}, problems {want:?}\n{}",
            self.model,
            self.diagnosis()
        );
        for (key, _) in NUMBERS {
            if !fresh.contains(key) {
                let items = self.items();
                assert_eq!(
                    self.history_count(&items[key].id, 3),
                    counts[key],
                    "{step}: {key} got a value from a null field"
                );
            }
        }
        self.all_supported(step);
        say(&format!(
            "{step}: {state}, problems {want:?}, fields {json}"
        ));
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

/// WARNING, CRITICAL, UNKNOWN or nodata, from a trigger's name.
fn short(name: &str) -> String {
    ["WARNING", "CRITICAL", "UNKNOWN"]
        .into_iter()
        .find(|s| name.contains(&format!(": {s} ")))
        .map(str::to_string)
        .unwrap_or_else(|| {
            assert!(
                name.contains("no check result"),
                "unexpected trigger {name}"
            );
            "nodata".to_string()
        })
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
            "items": create, "triggers": create}}),
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
    let options = format!(
        "-t 5 -w 1 -c 2 --cacert {} --state-file {}",
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
        master: String::new(),
        model: BTreeMap::new(),
        logs: vec![server.log.clone(), agent.log.clone(), pg.log.clone()],
    };
    let items = host.items();
    let master = items
        .keys()
        .find(|k| k.starts_with("gklm.backup[running,"))
        .unwrap_or_else(|| panic!("no master item: {items:?}"));
    assert!(
        master.contains("{HOST.CONN}"),
        "the key must name {{HOST.CONN}} itself: {master}"
    );
    host.master = items[master].id.clone();
    let mut expected_keys: Vec<&str> = NUMBERS.iter().map(|(k, _)| *k).collect();
    expected_keys.extend([STATE_KEY, MESSAGE_KEY, master.as_str()]);
    expected_keys.sort();
    assert_eq!(
        items.keys().map(String::as_str).collect::<Vec<_>>(),
        expected_keys
    );
    let names: BTreeSet<String> = host.triggers().keys().map(|n| short(n)).collect();
    assert_eq!(
        names,
        ["CRITICAL", "UNKNOWN", "WARNING", "nodata"]
            .map(String::from)
            .into(),
    );
    say(&format!(
        "template imported, host linked after {:?}",
        started.elapsed()
    ));

    let mut step = |name: &str, sim: &Option<Simulator>, problems: &[&str], state: &str| {
        let before = host.history_count(&host.master, 4);
        let counts = host.counts();
        let json = host.collect(sim.as_ref());
        assert_eq!(json["state"], state, "{name}: {json}");
        host.expect(name, &json, problems, &counts);
        assert_eq!(
            host.history_count(&host.master, 4),
            before + 1,
            "{name}: the check ran more than once, so the counts are off"
        );
        json
    };

    let json = step("not running", &sim, &[], "OK");
    assert_eq!(
        (json["running"].clone(), json["running_checks"].clone()),
        (json!(false), json!(0))
    );
    sim.as_ref().unwrap().set_running(true);
    let json = step("running, 1st check", &sim, &[], "OK");
    assert_eq!(json["running_checks"], 1);
    let json = step("running, 2nd check (-w 1)", &sim, &["WARNING"], "WARNING");
    assert_eq!(json["running_checks"], 2);
    let json = step("running, 3rd check (-c 2)", &sim, &["CRITICAL"], "CRITICAL");
    assert_eq!(json["running_checks"], 3);
    sim.as_ref().unwrap().set_status_behavior(Behavior::json(
        500,
        r#"{"code":"CTGKM0001E","message":"boom"}"#,
    ));
    let json = step("GKLM answers HTTP 500", &sim, &["UNKNOWN"], "UNKNOWN");
    assert!(json["running_checks"].is_null(), "{json}");

    // GKLM goes away: connection refused.
    sim = None;
    let json = step("GKLM unreachable", &sim, &["CRITICAL"], "CRITICAL");
    assert!(json["running_checks"].is_null(), "{json}");

    // GKLM is back on the same port (a new CA, written where the check
    // reads it; the old session is gone), the backup finished.
    sim = Some(Simulator::serve(
        Config::default(),
        Cert::Good,
        &format!("127.0.0.1:{gklm_port}"),
        &sim_dir,
        None,
    ));
    let json = step("GKLM back, not running", &sim, &[], "OK");
    assert_eq!(json["running_checks"], 0);

    // The check is missing: the agent stores the shell's complaint, which
    // is no JSON. The state falls back to UNKNOWN, the message says so, the
    // numbers keep their values, and nothing turns unsupported.
    let plugin = plugins.join("check_gklm_backup");
    let aside = plugins.join("check_gklm_backup.aside");
    std::fs::rename(&plugin, &aside).unwrap();
    let counts = host.counts();
    let text = host.collect_text(sim.as_ref());
    assert!(text.contains("not found"), "{text}");
    let garbage = json!({"state": "UNKNOWN", "running": null, "running_checks": null,
        "running_seconds": null, "message": "check_gklm_backup printed no JSON: \
        see the latest value of the check result item"});
    host.expect("check missing", &garbage, &["UNKNOWN"], &counts);
    std::fs::rename(&aside, &plugin).unwrap();

    // The agent goes away: the master item gets no value, which the
    // nodata trigger turns into a problem, and nothing turns unsupported.
    let nodata_macro = host.api.call(
        "usermacro.get",
        json!({"hostids": [host.id], "filter": {"macro": "{$GKLM.NODATA}"}, "output": ["hostmacroid"]}),
    )[0]["hostmacroid"]
        .clone();
    host.api.call(
        "usermacro.update",
        json!({"hostmacroid": nodata_macro, "value": "30s"}),
    );
    agent.stop();
    let fired = wait_for(Duration::from_secs(240), || {
        host.problems().contains("nodata").then_some(())
    });
    assert!(
        fired.is_some(),
        "the nodata trigger did not fire with the agent stopped\n{}",
        host.diagnosis()
    );
    host.all_supported("agent stopped");
    say(&format!(
        "agent stopped: nodata in problem after {:?}",
        started.elapsed()
    ));

    agent.resume(&tools);
    let json = host.collect(sim.as_ref());
    assert_eq!(json["state"], "OK", "{json}");
    let cleared = wait_for(Duration::from_secs(240), || {
        host.problems().is_empty().then_some(())
    });
    assert!(
        cleared.is_some(),
        "the nodata trigger did not clear with the agent back\n{}",
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
    let values = host.api.call(
        "history.get",
        json!({"history": 4, "itemids": [host.master], "output": ["value"]}),
    );
    // Eight steps and at least one run after the agent came back.
    assert!(values.as_array().unwrap().len() >= 9, "{values}");
    assert!(!values.to_string().contains(PASSWORD), "{values}");
    say(&format!("{TEST}: passed in {:?}", started.elapsed()));
}

fn first_line_of_php(tools: &Tools) -> String {
    crate::util::engine::first_line_of(std::process::Command::new(&tools.php).arg("--version"))
}
