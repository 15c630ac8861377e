//! The layout of a lab across machines, on one host: network namespaces made by the test (`ip netns`, veth pairs,
//! addresses inside its own namespaces only) stand for three machines. The learner host runs `corrigo router` and
//! `corrigo learner` (a fleet of two cells); each robot host runs `corrigo controller` (the simulated arm) and
//! `corrigo actor --env bus`, its nodes peers of each other on the host's loopback and connected to the router.
//! Transitions of both robot hosts are stored once each, the weights reach both, and a robot host unplugged (its
//! link taken down) and plugged back in: the learner goes on training from the other one, and the returning actor
//! resends what was not acknowledged, stored exactly once.
//!
//! Needs root (to make namespaces): elsewhere it is skipped with the reason printed.

use tests::common;

use agent::replay::ReplayStore;
use interfaces::CellConfig;
use interfaces::config::{BusMode, DriverConfig};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Namespaces and processes of the test, removed and killed when dropped.
struct Lab {
    tag: String,
    namespaces: Vec<String>,
    children: Vec<(String, Child)>,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("running ip: {e} (install iproute2)"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

impl Lab {
    fn new() -> Self {
        Self { tag: format!("{}", std::process::id() % 100_000), namespaces: Vec::new(), children: Vec::new() }
    }

    fn ns(&self, name: &str) -> String {
        format!("cg{name}{}", self.tag)
    }

    fn add_ns(&mut self, name: &str) -> Result<String, String> {
        let ns = self.ns(name);
        ip(&["netns", "add", &ns])?;
        self.namespaces.push(ns.clone());
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// A veth pair between namespaces `a` and `b` with addresses `a_addr` / `b_addr` (CIDR); returns the name of
    /// `a`'s end.
    fn link(&self, a: &str, a_addr: &str, b: &str, b_addr: &str, name: &str) -> Result<String, String> {
        let (ea, eb) = (format!("{name}a{}", self.tag), format!("{name}b{}", self.tag));
        ip(&["link", "add", &ea, "type", "veth", "peer", "name", &eb])?;
        ip(&["link", "set", &ea, "netns", a])?;
        ip(&["link", "set", &eb, "netns", b])?;
        for (ns, e, addr) in [(a, &ea, a_addr), (b, &eb, b_addr)] {
            ip(&["-n", ns, "addr", "add", addr, "dev", e])?;
            ip(&["-n", ns, "link", "set", e, "up"])?;
        }
        Ok(ea)
    }

    /// Starts `corrigo ARGS` in namespace `ns`, stdout and stderr to `log`.
    fn spawn(&mut self, name: &str, ns: &str, args: &[&str], log: &Path) -> &mut Child {
        let out = std::fs::File::create(log).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(tests::corrigo_bin())
            .args(args)
            .env("RUST_LOG", "info,zenoh=warn")
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("ip netns exec corrigo");
        self.children.push((name.to_string(), child));
        &mut self.children.last_mut().expect("just pushed").1
    }

    fn child(&mut self, name: &str) -> &mut Child {
        &mut self.children.iter_mut().find(|(n, _)| n == name).expect("a started node").1
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, c) in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in &self.namespaces {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

/// The last lines of every log, for a failure message.
fn log_tails(logs: &Path) -> String {
    let mut text = String::new();
    for e in std::fs::read_dir(logs).into_iter().flatten().flatten() {
        let body = std::fs::read_to_string(e.path()).unwrap_or_default();
        let tail: Vec<&str> = body.lines().rev().take(15).collect();
        text += &format!("\n--- {}\n", e.path().display());
        text += &tail.into_iter().rev().collect::<Vec<_>>().join("\n");
    }
    text
}

impl Lab {
    /// Waits (bounded) until `what` holds, checking every 200 ms; panics with `msg` and the logs when the deadline
    /// passes or a node other than an actor has exited.
    fn wait_for(&mut self, within: Duration, msg: &str, logs: &Path, mut what: impl FnMut() -> bool) {
        let deadline = Instant::now() + within;
        while !what() {
            let gone = self
                .children
                .iter_mut()
                .filter(|(n, _)| !n.starts_with("actor"))
                .find_map(|(n, c)| c.try_wait().ok().flatten().map(|s| format!("{n} exited ({s})")));
            if let Some(g) = gone {
                panic!("{msg}: {g}{}", log_tails(logs));
            }
            if Instant::now() > deadline {
                panic!("{msg}{}", log_tails(logs));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits (bounded) until node `name` exits; its status.
    fn wait_exit(&mut self, name: &str, within: Duration, logs: &Path) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.child(name).try_wait().ok().flatten() {
                return s;
            }
            assert!(Instant::now() < deadline, "{name} did not finish{}", log_tails(logs));
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The transitions of `cell` the learner's newest progress lines count (`  cell NAME: transitions N …`).
fn stored_of(log: &Path, cell: &str) -> u64 {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let prefix = format!("  cell {cell}: transitions ");
    text.lines().rev().find_map(|l| l.strip_prefix(&prefix)?.split(' ').next()?.parse().ok()).unwrap_or(0)
}

/// Update cycles in the learner's newest progress line.
fn updates_of(log: &Path) -> u64 {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines().rev().find_map(|l| l.split(", updates ").nth(1)?.split(' ').next()?.parse().ok()).unwrap_or(0)
}

fn write(cfg: &CellConfig, dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(format!("{name}.toml"));
    common::write_cell(cfg, &p);
    p
}

#[test]
fn a_fleet_across_network_namespaces_survives_a_robot_host_unplugged() {
    if !nix_is_root() {
        println!("SKIPPED: making network namespaces needs root (run the suite as root to include this test)");
        return;
    }
    let mut lab = Lab::new();
    // The three hosts and their links; a machine that cannot make them (a container without the rights to add
    // namespaces, veth pairs or to enter a namespace) skips the test, saying why.
    let made = (|| -> Result<(String, String, String, String), String> {
        let learner_ns = lab.add_ns("l")?;
        let (r1, r2) = (lab.add_ns("a")?, lab.add_ns("b")?);
        let unplug = lab.link(&learner_ns, "10.77.1.1/24", &r1, "10.77.1.2/24", "cv1")?;
        lab.link(&learner_ns, "10.77.2.1/24", &r2, "10.77.2.2/24", "cv2")?;
        ip(&["netns", "exec", &r1, "ping", "-c", "1", "-W", "5", "10.77.1.1"])
            .or_else(|_| ip(&["netns", "exec", &r1, "true"]))?;
        Ok((learner_ns, r1, r2, unplug))
    })();
    let (learner_ns, r1, r2, unplug) = match made {
        Ok(m) => m,
        Err(e) if e.starts_with("running ip") => panic!("{e}: `make test` installs it (scripts/setup.sh)"),
        Err(e) => {
            println!("SKIPPED: cannot make the test's network namespaces here ({e})");
            return;
        }
    };

    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mut base = common::reach_cell(7447);
    let DriverConfig::Sim { realtime, .. } = &mut base.driver else { panic!("a simulated arm") };
    *realtime = true;
    base.bus.multicast_scouting = false;
    base.bus.router_listen = vec!["tcp/0.0.0.0:7447".into()];
    // The learner host: the router, and the learner as its client serving both cells.
    let mut learner_cfg = base.clone();
    learner_cfg.cell.name = "lab_learner".into();
    learner_cfg.bus.mode = BusMode::Client;
    learner_cfg.bus.listen = Vec::new();
    learner_cfg.bus.connect = vec!["tcp/127.0.0.1:7447".into()];
    learner_cfg.fleet.cells = vec!["lab_a".into(), "lab_b".into()];
    let learner_toml = write(&learner_cfg, dir.path(), "learner");
    // Each robot host: its nodes peers on its loopback, connected to the router over its link.
    let robot = |cell: &str, router: &str| {
        let mut c = base.clone();
        c.cell.name = cell.into();
        c.bus.mode = BusMode::Peer;
        c.bus.listen = vec!["tcp/127.0.0.1:7447".into()];
        c.bus.connect = vec!["tcp/127.0.0.1:7447".into(), format!("tcp/{router}:7447")];
        c
    };
    let a_toml = write(&robot("lab_a", "10.77.1.1"), dir.path(), "lab_a");
    let b_toml = write(&robot("lab_b", "10.77.2.1"), dir.path(), "lab_b");
    let run = dir.path().join("run");
    let (lt, at, bt, rs) = (
        learner_toml.to_str().unwrap(),
        a_toml.to_str().unwrap(),
        b_toml.to_str().unwrap(),
        run.to_str().unwrap().to_string(),
    );
    let learner_log = logs.join("learner.log");
    let router_log = logs.join("router.log");
    lab.spawn("router", &learner_ns, &["router", "--config", lt], &router_log);
    lab.wait_for(Duration::from_secs(120), "the router runs", &logs, || {
        std::fs::read_to_string(&router_log).unwrap_or_default().contains("router running")
    });
    lab.spawn(
        "learner",
        &learner_ns,
        &["learner", "--config", lt, "--run-dir", &rs, "--progress", "0.5"],
        &learner_log,
    );
    const STEPS: u64 = 240;
    let steps = STEPS.to_string();
    for (host, ns, toml) in [("a", &r1, at), ("b", &r2, bt)] {
        lab.spawn(
            &format!("controller {host}"),
            ns,
            &["controller", "--config", toml],
            &logs.join(format!("controller_{host}.log")),
        );
        let spool = dir.path().join(format!("robot_{host}"));
        let args = [
            "actor",
            "--config",
            toml,
            "--env",
            "bus",
            "--steps",
            &steps,
            "--ack-wait",
            "600",
            "--run-dir",
            spool.to_str().unwrap(),
        ];
        lab.spawn(&format!("actor {host}"), ns, &args, &logs.join(format!("actor_{host}.log")));
    }
    // Both robot hosts deliver.
    lab.wait_for(Duration::from_secs(300), "both robot hosts' transitions stored", &logs, || {
        stored_of(&learner_log, "lab_a") >= 20 && stored_of(&learner_log, "lab_b") >= 20
    });
    // Robot host a unplugged: the learner keeps storing from b and keeps training.
    ip(&["-n", &learner_ns, "link", "set", &unplug, "down"]).expect("link down");
    let (b0, u0) = (stored_of(&learner_log, "lab_b"), updates_of(&learner_log));
    lab.wait_for(Duration::from_secs(300), "the learner stores from b and trains while a is away", &logs, || {
        stored_of(&learner_log, "lab_b") >= b0 + 30 && updates_of(&learner_log) > u0
    });
    let a_away = stored_of(&learner_log, "lab_a");
    // Plugged back in: a's actor resends what was not acknowledged; both finish with everything acknowledged.
    ip(&["-n", &learner_ns, "link", "set", &unplug, "up"]).expect("link up");
    for host in ["a", "b"] {
        let name = format!("actor {host}");
        let status = Some(lab.wait_exit(&name, Duration::from_secs(900), &logs));
        let out = std::fs::read_to_string(logs.join(format!("actor_{host}.log"))).unwrap_or_default();
        assert!(status.is_some_and(|s| s.success()), "{name} left transitions unacknowledged:\n{out}");
        let summary = out.lines().rev().find(|l| l.starts_with("actor: ")).unwrap_or_default().to_string();
        assert!(summary.contains(&format!("{STEPS} acknowledged")), "{name}: {summary}");
        let version: u64 = summary.rsplit(" weights v").next().and_then(|v| v.trim().parse().ok()).unwrap_or(0);
        assert!(version >= 1, "{name} got the learner's weights: {summary}");
    }
    assert!(stored_of(&learner_log, "lab_a") >= a_away, "a delivered after it came back");
    let _ = Command::new("kill").args(["-INT", &lab.child("learner").id().to_string()]).status();
    lab.wait_exit("learner", Duration::from_secs(120), &logs);
    let store = ReplayStore::open_read_only(run.join("replay"), &interfaces::env::obs_spec(&base))
        .expect("the learner's store");
    let delivered: Vec<(String, u64)> =
        store.delivered().into_iter().map(|(s, n)| (s.split('@').next().unwrap_or_default().to_string(), n)).collect();
    assert_eq!(
        delivered,
        [("lab_a/actor-0".to_string(), STEPS), ("lab_b/actor-0".to_string(), STEPS)],
        "each robot host's transitions, numbered 1..{STEPS}"
    );
    assert_eq!(store.online_len() as u64, 2 * STEPS, "stored exactly once each");
    assert_eq!(store.recovery().online.repeats, 0);
}

fn nix_is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
