//! Several monitoring nodes (Icinga 2 HA zones and satellites, mod_gearman
//! workers, Zabbix proxies) running one check against one GKLM, each with
//! its own state directory: what the README's "Several monitoring nodes"
//! section promises, with runs alternating between two nodes.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::util::engine::state_after;
use crate::util::*;

/// One monitoring node: its own state directory (MP_STATE_PATH).
struct Node {
    name: &'static str,
    ws: Workspace,
}

impl Node {
    fn new(name: &'static str) -> Node {
        Node {
            name,
            ws: Workspace::new(),
        }
    }

    /// One check from this node, logging in as `monitor`.
    fn check(&self, sim: &Simulator, args: &[&str]) -> Run {
        run_with(sim, &self.ws, args)
    }

    fn state(&self) -> serde_json::Value {
        self.ws.state_json()
    }

    /// The session id this node keeps.
    fn session(&self) -> String {
        self.state()["session"]
            .as_str()
            .unwrap_or_else(|| panic!("node {} keeps no session", self.name))
            .to_string()
    }

    /// Pretend this node first saw the running backup `seconds` ago: only
    /// the running streak's `since` moves, so the gap since its last run
    /// stays short.
    fn first_saw_it_ago(&self, seconds: u64) {
        let path = self.ws.state_files().remove(0);
        let mut state = self.state();
        let streak = &mut state["streaks"]["running"];
        assert!(streak["since"].as_u64().is_some(), "{state}");
        streak["since"] = (now() - seconds).into();
        std::fs::write(&path, state.to_string()).unwrap();
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn checks(r: &Run) -> u64 {
    r.perf_number("running_checks")
        .unwrap_or_else(|| panic!("no running_checks: {}", r.stdout)) as u64
}

#[test]
fn each_node_counts_only_the_running_checks_it_made_itself() {
    let sim = Simulator::start();
    sim.set_running(true);
    let (a, b) = (Node::new("a"), Node::new("b"));
    // Alternating A, B, A, B, ...: six checks saw the backup running, but
    // each node saw three, so -w 2 -c 4 warns at each node's third check
    // and never reaches CRITICAL (which one shared count would at the 5th).
    let mut seen = Vec::new();
    for round in 1..=3u64 {
        for node in [&a, &b] {
            let r = node.check(&sim, &["-w", "2", "-c", "4"]);
            let (state, code) = state_after(round);
            r.expect(state, code as i32);
            assert_eq!(checks(&r), round, "node {}: {}", node.name, r.stdout);
            seen.push(checks(&r));
        }
    }
    assert_eq!(seen, [1, 1, 2, 2, 3, 3]);
    assert_eq!(sim.count("GET", "/backups/isrunning"), 6);

    // The backup stops and starts again between two of B's checks: only A
    // saw it stop, so B carries its streak into the new backup.
    sim.set_running(false);
    a.check(&sim, &["-w", "2", "-c", "4"]).expect("OK", 0);
    assert!(a.state()["streaks"]["running"].is_null(), "streak ended");
    sim.set_running(true);
    let r = b.check(&sim, &["-w", "2", "-c", "4"]);
    r.expect("WARNING", 1);
    assert_eq!(checks(&r), 4, "{}", r.stdout);
    let r = a.check(&sim, &["-w", "2", "-c", "4"]);
    r.expect("OK", 0);
    assert_eq!(checks(&r), 1, "{}", r.stdout);
}

#[test]
fn time_thresholds_fire_under_alternation_from_each_nodes_first_sighting() {
    let sim = Simulator::start();
    sim.set_running(true);
    let (a, b) = (Node::new("a"), Node::new("b"));
    let limits = ["--warning-time", "30m", "--critical-time", "44m"];
    a.check(&sim, &limits).expect("OK", 0);
    b.check(&sim, &limits).expect("OK", 0);
    // The backup started 46 minutes ago; with checks every 5 minutes that
    // alternate, A first saw it at once and B one interval later.
    a.first_saw_it_ago(46 * 60);
    b.first_saw_it_ago(41 * 60);
    for round in 2..=4u64 {
        let r = a.check(&sim, &limits);
        r.expect("CRITICAL", 2)
            .expect_text("--critical-time 44m 0s crossed");
        let seconds = r.perf_number("running_seconds").unwrap();
        assert!((2760.0..2820.0).contains(&seconds), "A: {}", r.stdout);
        assert_eq!(checks(&r), round, "A: {}", r.stdout);

        let r = b.check(&sim, &limits);
        r.expect("WARNING", 1)
            .expect_text("--warning-time 30m 0s crossed");
        let seconds = r.perf_number("running_seconds").unwrap();
        assert!((2460.0..2520.0).contains(&seconds), "B: {}", r.stdout);
        assert_eq!(checks(&r), round, "B: {}", r.stdout);
    }
    // A node that has only just seen the backup knows nothing older.
    let c = Node::new("c");
    let r = c.check(&sim, &limits);
    r.expect("OK", 0);
    assert!(
        r.perf_number("running_seconds").unwrap() < 60.0,
        "{}",
        r.stdout
    );
}

#[test]
fn two_nodes_keep_two_sessions_and_each_logs_in_again_once_when_gklm_forgets() {
    let sim = Simulator::start();
    let (a, b) = (Node::new("a"), Node::new("b"));
    for node in [&a, &b] {
        node.check(&sim, &[]).expect("OK", 0);
    }
    assert_eq!(sim.count("POST", "/ckms/login"), 2, "one login per node");
    let (first_a, first_b) = (a.session(), b.session());
    assert_ne!(first_a, first_b);

    // Each node reuses its own session: no login, and every status request
    // carries the id of the node that made it.
    sim.clear_log();
    for _ in 0..3 {
        for node in [&a, &b] {
            let r = node.check(&sim, &[]);
            r.expect("OK", 0);
            let requests = sim.requests();
            let last = requests.last().unwrap();
            assert!(last.path.ends_with("/backups/isrunning"), "{last:?}");
            assert_eq!(
                last.authorization.as_deref(),
                Some(format!("SKLMAuth userAuthId={}", node.session()).as_str()),
                "node {} used another session",
                node.name
            );
        }
    }
    assert_eq!(sim.count("POST", "/ckms/login"), 0);
    assert_eq!(sim.requests().len(), 6);
    assert_eq!(
        (a.session(), b.session()),
        (first_a.clone(), first_b.clone())
    );

    // GKLM forgets both sessions (15 idle minutes, a restart): each node
    // logs in again exactly once, on its next run, and no run fails.
    sim.forget_sessions();
    sim.clear_log();
    for _ in 0..3 {
        for node in [&a, &b] {
            node.check(&sim, &[]).expect("OK", 0);
        }
    }
    assert_eq!(
        sim.count("POST", "/ckms/login"),
        2,
        "one new login per node"
    );
    assert_eq!(sim.count("DELETE", "/ckms/logout"), 0);
    // 2 rejected status requests + 2 logins + 6 answered status requests.
    assert_eq!(sim.requests().len(), 10);
    let (second_a, second_b) = (a.session(), b.session());
    assert!(second_a != first_a && second_b != first_b && second_a != second_b);
}
