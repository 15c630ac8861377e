//! A cell surviving faults: an actor's spool outlives the actor and is delivered exactly once; a full disk pauses
//! the learner, which resumes by itself losing and duplicating nothing; a second learner on a run directory is
//! refused; a flipped byte in a closed segment costs only the damaged record.

use tests::common;

use agent::node::actor as actor_node;
use agent::replay::ReplayStore;
use interfaces::CellConfig;
use interfaces::keys::EVENT;
use interfaces::msg::Event;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tests::corrigo;

fn stored(cfg: &CellConfig, run_dir: &Path) -> ReplayStore {
    ReplayStore::open_read_only(run_dir.join("replay"), &interfaces::env::obs_spec(cfg)).expect("the store")
}

#[test]
fn an_actors_spool_survives_its_restart_and_is_delivered_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::reach_cell(common::free_port());
    let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name).expect("bus");
    let spool = dir.path().join("spool");
    let run_dir = dir.path().join("run");
    // No learner: everything stays in the spool.
    let mut env = sim::SimEnv::new(&cfg, 5).expect("the simulated cell");
    let stop = Arc::new(AtomicBool::new(false));
    let first = actor_node::run(
        &bus,
        &cfg,
        &common::random_actor(&cfg, &spool, 60, 5, false, Duration::ZERO),
        stop.clone(),
        &mut env,
    )
    .expect("first actor");
    assert_eq!((first.steps, first.acked, first.spooled), (60, 0, 60), "{first:?}");
    // The learner comes; the actor restarts on the same spool and resends it before its new transitions.
    let learner_stop = Arc::new(AtomicBool::new(false));
    let learner = common::start_learner(&bus, &cfg, &run_dir, learner_stop.clone(), 0.2, None);
    let opts = common::random_actor(&cfg, &spool, 40, 5, false, Duration::from_secs(180));
    let second = actor_node::run(&bus, &cfg, &opts, stop, &mut env).expect("second actor");
    learner_stop.store(true, Ordering::Release);
    let l = learner.join().unwrap().expect("learner");
    assert_eq!((second.steps, second.spooled), (40, 0), "everything acknowledged: {second:?}");
    assert_eq!(second.acked, 100, "the first start's 60 and the second's 40: {second:?}");
    assert_eq!(l.stored, 100, "{l:?}");
    let store = stored(&cfg, &run_dir);
    assert_eq!(store.online_len(), 100, "each transition stored once");
    let mut per_session: Vec<u64> = store.delivered().into_values().collect();
    per_session.sort();
    assert_eq!(per_session, vec![40, 60], "both sessions, numbered 1..n each");
    let left = std::fs::read_dir(&spool)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "spool"));
    assert_eq!(left.count(), 0, "an acknowledged spool is deleted");
}

/// A tmpfs of `mib` MiB mounted at a directory for the test's lifetime.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, mib: u64) -> Result<Self, String> {
        std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs", at.to_str().unwrap()])
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("running mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Self(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the filesystem of `path` with one file; returns its path.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).expect("filler");
    let chunk = vec![0u8; 64 << 10];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    path
}

fn wait_for_event(events: &bus::Subscriber<Event>, what: &str, within: Duration) -> Event {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(e) = events.recv_timeout(Duration::from_millis(200))
            && e.msg.node == "learner"
            && e.msg.text.contains(what)
        {
            return e.msg;
        }
    }
    panic!("no learner event containing {what:?} within {within:?}");
}

#[test]
fn a_full_disk_pauses_the_learner_which_resumes_by_itself_losing_and_duplicating_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let _fs = match Tmpfs::mount(&run_dir, 16) {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!("SKIPPED: cannot mount a small tmpfs for the full-disk test (needs root): {why}");
            return;
        }
    };
    let mut cfg = common::reach_cell(common::free_port());
    cfg.task.policy_hz = 50.0;
    let cfg = common::checked(cfg);
    let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name).expect("bus");
    let events = bus.subscribe::<Event>(EVENT, Some("*")).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let learner_stop = Arc::new(AtomicBool::new(false));
    let learner = common::start_learner(&bus, &cfg, &run_dir, learner_stop.clone(), 0.2, None);
    let steps = 500;
    let actor = {
        let (bus, cfg, stop) = (bus.clone(), cfg.clone(), stop.clone());
        let opts = common::random_actor(&cfg, &dir.path().join("spool"), steps, 5, true, Duration::from_secs(240));
        std::thread::spawn(move || {
            let mut env = sim::SimEnv::new(&cfg, 5).expect("the simulated cell");
            actor_node::run(&bus, &cfg, &opts, stop, &mut env)
        })
    };
    // Once the learner writes, the disk fills up.
    let online = run_dir.join("replay").join("online");
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::fs::read_dir(&online)
        .map(|d| d.flatten().filter_map(|e| e.metadata().ok()).all(|m| m.len() == 0))
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "the learner wrote nothing in 120 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let filler = fill(&run_dir);
    let e = wait_for_event(&events, "cannot write the run directory", Duration::from_secs(120));
    assert!(e.text.contains("MiB free"), "the event says the free space: {}", e.text);
    assert!(e.text.contains(&run_dir.display().to_string()), "the event names the file: {}", e.text);
    std::fs::remove_file(&filler).unwrap();
    wait_for_event(&events, "works again", Duration::from_secs(120));
    let a = actor.join().unwrap().expect("actor");
    learner_stop.store(true, Ordering::Release);
    let l = learner.join().unwrap().expect("the learner survives the full disk");
    assert_eq!((a.steps, a.spooled), (steps, 0), "every transition acknowledged in the end: {a:?}");
    assert!(l.storage_faults >= 1, "{l:?}");
    let store = stored(&cfg, &run_dir);
    assert_eq!(store.online_len(), steps as usize, "nothing lost, nothing stored twice");
    assert_eq!(store.delivered().into_values().collect::<Vec<_>>(), vec![steps]);
}

fn demo_segment(run: &Path) -> PathBuf {
    let dir = run.join("replay").join("demo");
    let mut segs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0))
        .collect();
    segs.sort();
    segs.into_iter().next().expect("a demo segment")
}

#[test]
fn a_second_learner_is_refused_and_a_flipped_byte_costs_only_the_damaged_record() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("cell.toml");
    let cell = common::reach_cell(common::free_port());
    common::write_cell(&cell, &cfg_path);
    let cfg = cfg_path.to_str().unwrap();
    let run = dir.path().join("run");
    let runs = run.to_str().unwrap();
    let status = corrigo(&["record", "--scripted", "--episodes", "2", "--config", cfg, "--run-dir", runs])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "recording demos");
    let before = stored(&cell, &run).demo_len();
    assert!(before > 10);
    // One byte flipped in the middle of the closed demo segment.
    let seg = demo_segment(&run);
    let mut bytes = std::fs::read(&seg).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    std::fs::write(&seg, &bytes).unwrap();

    let log1 = dir.path().join("learner1.log");
    let mut first = corrigo(&["learner", "--config", cfg, "--run-dir", runs])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log1).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !std::fs::read_to_string(&log1).unwrap_or_default().contains("replay store opened") {
        if Instant::now() > deadline || first.try_wait().unwrap().is_some() {
            let _ = first.kill();
            panic!("the first learner did not open its store:\n{}", std::fs::read_to_string(&log1).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let second = corrigo(&["learner", "--config", cfg, "--run-dir", runs]).output().unwrap();
    let _ = Command::new("kill").args(["-INT", &first.id().to_string()]).status();
    let first_status = first.wait().unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "a second learner on the run directory is refused");
    assert!(err.contains(runs), "the refusal names the run directory: {err}");
    assert!(err.contains(&format!("pid {}", first.id())), "the refusal names the holder: {err}");
    assert!(first_status.success(), "the first learner was not disturbed ({first_status})");
    let log = std::fs::read_to_string(&log1).unwrap();
    assert!(log.contains("damaged"), "the damage is reported:\n{log}");
    assert_eq!(std::fs::read(&seg).unwrap(), bytes, "the damaged file is kept as it is for inspection");
    let after = stored(&cell, &run).demo_len();
    assert_eq!(after + 1, before, "only the damaged record lost: {before} → {after}");
}

/// Random payloads and a valid message of another type on every key of the cell, while an actor and a learner
/// work: both keep running and every real transition is stored once.
#[test]
fn hostile_payloads_on_every_key_leave_actor_and_learner_working() {
    use interfaces::keys::{ALL_TOPICS, ARM_STATE, Topic};
    use interfaces::msg::{ArmState, Command as OpCommand, Header, OperatorCommand};
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::reach_cell(common::free_port());
    let bus = bus::Bus::open(&cfg.bus, &cfg.cell.name).expect("bus");
    let run_dir = dir.path().join("run");
    let learner_stop = Arc::new(AtomicBool::new(false));
    let learner = common::start_learner(&bus, &cfg, &run_dir, learner_stop.clone(), 0.2, None);
    let hostile_done = Arc::new(AtomicBool::new(false));
    let hostile = {
        let (bus, done) = (bus.clone(), hostile_done.clone());
        std::thread::spawn(move || {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
            let mut sent = 0u64;
            // Every key, as the node that owns it (placeholders filled with a plausible instance).
            let keys: Vec<(Topic<ArmState>, Topic<OperatorCommand>, Option<&str>)> = ALL_TOPICS
                .iter()
                .map(|t| {
                    let inst = t.name.contains("{}").then_some("front").or(t.node.contains("{}").then_some("learner"));
                    (Topic::new(t.node, t.name, t.class), Topic::new(t.node, t.name, t.class), inst)
                })
                .collect();
            let pubs: Vec<_> = keys
                .iter()
                .map(|(a, o, inst)| {
                    (
                        bus.publisher::<ArmState>(*a, *inst).unwrap(),
                        bus.publisher::<OperatorCommand>(*o, *inst).unwrap(),
                    )
                })
                .collect();
            // At least 150 rounds (300 payloads per key), and on while the actor works.
            let mut rounds = 0;
            while rounds < 150 || !done.load(Ordering::Acquire) {
                rounds += 1;
                for (k, (state_pub, cmd_pub)) in pubs.iter().enumerate() {
                    let n = rng.random_range(0..512);
                    let garbage: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                    state_pub.put_raw(garbage).unwrap();
                    // A valid message of a type the key does not carry.
                    if keys[k].0.key("c") == ARM_STATE.key("c") {
                        let c = OperatorCommand { header: Header::default(), command: OpCommand::StartEpisode };
                        cmd_pub.publish_as_is(&c).unwrap();
                    } else {
                        state_pub.publish_as_is(&ArmState::default()).unwrap();
                    }
                    sent += 2;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            sent
        })
    };
    let mut env = sim::SimEnv::new(&cfg, 5).expect("the simulated cell");
    let opts = common::random_actor(&cfg, &dir.path().join("spool"), 300, 5, false, Duration::from_secs(180));
    let a = actor_node::run(&bus, &cfg, &opts, Arc::new(AtomicBool::new(false)), &mut env).expect("the actor survives");
    hostile_done.store(true, Ordering::Release);
    let sent = hostile.join().unwrap();
    learner_stop.store(true, Ordering::Release);
    let l = learner.join().unwrap().expect("the learner survives");
    assert!(sent >= 300 * ALL_TOPICS.len() as u64, "hostile payloads sent: {sent}");
    assert_eq!((a.steps, a.spooled), (300, 0), "{a:?}");
    assert_eq!(l.stored, 300, "{l:?}");
    assert_eq!(stored(&cfg, &run_dir).online_len(), 300, "every real transition stored once");
}
