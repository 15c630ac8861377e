//! Replay store: round trips, frame de-duplication, eviction, torn tails, typed errors, and crash safety under
//! SIGKILL (the child is this test binary re-invoked with `CORRIGO_CRASH_CHILD_DIR` set).

use agent::replay::{Action, GripperAction, Observation, ReplayStore, StoreOptions, Transition};
use agent::{AgentError, CameraSpec, ObsSpec};
use rand::{Rng, SeedableRng};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn spec() -> ObsSpec {
    ObsSpec {
        proprio_dim: 3,
        cameras: vec![
            CameraSpec { name: "wrist".into(), height: 8, width: 6 },
            CameraSpec { name: "front".into(), height: 4, width: 4 },
        ],
        action_dim: 2,
        gripper: true,
    }
}

fn frame(i: u64, cam: &CameraSpec, c: usize) -> Vec<u8> {
    (0..cam.frame_bytes()).map(|k| (i as usize * 7 + c * 13 + k) as u8).collect()
}

/// Observation `i` of the deterministic stream; episodes are 10 steps long.
fn obs(i: u64, s: &ObsSpec) -> Observation {
    Observation {
        proprio: vec![i as f32, -(i as f32), 0.5],
        images: s.cameras.iter().enumerate().map(|(c, cam)| frame(i, cam, c)).collect(),
    }
}

/// Transition `i`: obs `i + episode` → obs `i + episode + 1` (each episode starts on a fresh observation).
fn transition(i: u64, s: &ObsSpec) -> Transition {
    let ep = i / 10;
    let o = i + ep;
    Transition {
        obs: obs(o, s),
        action: Action {
            continuous: vec![(i % 5) as f32 / 5.0, -0.25],
            gripper: GripperAction::from_index((i % 3) as u8).unwrap_or_default(),
        },
        reward: i as f32 * 0.5,
        next_obs: obs(o + 1, s),
        done: i % 10 == 9,
        truncated: i % 10 == 4,
        intervention: i.is_multiple_of(7),
        gripper_changed: i.is_multiple_of(4),
        episode: ep,
        obs_stamp_ns: 1_000 * i,
        next_stamp_ns: 1_000 * i + 100,
    }
}

fn opts(segment: usize) -> StoreOptions {
    StoreOptions { online_capacity: 1_000_000, segment_transitions: segment, flush_interval: Duration::from_millis(5) }
}

fn dir_bytes(p: &Path) -> u64 {
    std::fs::read_dir(p).map(|d| d.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum()).unwrap_or(0)
}

#[test]
fn reopen_returns_every_transition_and_stores_frames_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s = spec();
    {
        let mut st = ReplayStore::open(tmp.path(), &s, &opts(16)).expect("open");
        for i in 0..45 {
            st.append(&transition(i, &s)).expect("append");
        }
        st.append_demo(&transition(1000, &s)).expect("append demo");
        st.flush().expect("flush");
        assert_eq!(st.online_len(), 45);
    }
    let st = ReplayStore::open(tmp.path(), &s, &opts(16)).expect("reopen");
    assert_eq!(st.online_len(), 45);
    // interventions (i.is_multiple_of(7)) went to the demo buffer too, after the demonstration
    assert_eq!(st.demo_len(), 1 + (0u64..45).filter(|i| i.is_multiple_of(7)).count());
    for i in 0..45 {
        assert_eq!(st.get(false, i as usize).expect("present"), transition(i, &s), "online transition {i}");
    }
    assert_eq!(st.get(true, 0).expect("demo"), transition(0, &s));
    assert_eq!(st.get(true, 1).expect("demo"), transition(7, &s));
    assert_eq!(st.get(true, st.demo_len() - 1).expect("demo"), transition(1000, &s));
    assert!(st.recovery().online.truncated.is_empty());
    // In memory, frames once: 45 transitions with 2 frames each would be 90 frames; held are the next frames (45)
    // plus the first obs of each segment (3: transitions 0, 16, 32) and of each episode starting inside one (4:
    // transitions 10, 20, 30, 40).
    assert_eq!(st.online_frames(), 45 + 3 + 4);
    // On disk every record is self-contained (its obs and next frames: a damaged record costs only itself).
    let frame_bytes: u64 = s.cameras.iter().map(|c| c.frame_bytes() as u64).sum();
    let online = dir_bytes(&tmp.path().join("online"));
    assert!(online >= 90 * frame_bytes, "online segments take {online} bytes: obs frames left out of a record?");
    assert!(online < 90 * frame_bytes + 45 * 120, "online segments take {online} bytes");
}

#[test]
fn online_buffer_evicts_oldest_segments_demo_never() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s = ObsSpec::state(3, 2);
    let o = StoreOptions { online_capacity: 100, segment_transitions: 20, flush_interval: Duration::from_secs(1) };
    let mut st = ReplayStore::open(tmp.path(), &s, &o).expect("open");
    let mut t = transition(0, &spec());
    t.obs.images.clear();
    t.next_obs.images.clear();
    for i in 0..330 {
        t.reward = i as f32;
        t.intervention = true;
        st.append(&t).expect("append");
    }
    assert!(st.online_len() <= 100 && st.online_len() >= 80, "online holds {}", st.online_len());
    assert_eq!(st.demo_len(), 330);
    // the newest transition is the last one, the oldest kept ones are the newest segments'
    let last = st.get(false, st.online_len() - 1).expect("last");
    assert_eq!(last.reward, 329.0);
    drop(st);
    let segs = std::fs::read_dir(tmp.path().join("online")).expect("ls").count();
    assert!(segs <= 6, "{segs} online segment files left");
}

/// A store with transitions `0..n` in one closed online segment: `(its directory, the spec, the segment file)`.
fn one_online_segment(n: u64) -> (tempfile::TempDir, ObsSpec, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s = spec();
    {
        let mut st = ReplayStore::open(tmp.path(), &s, &opts(1000)).expect("open");
        for i in 0..n {
            st.append(&transition(i, &s)).expect("append");
        }
    }
    let seg = tmp.path().join("online").join("seg-0000000000.log");
    (tmp, s, seg)
}

/// Regression (a flipped byte in record 1 181 of 2 362 of a closed segment truncated the file there and
/// deleted the 1 180 intact records after it; later the next record went too, its observation frames stored only
/// in the damaged one): damage costs only the damaged record; the file is left as it is for inspection.
#[test]
fn a_flipped_byte_mid_segment_costs_only_the_damaged_record() {
    let (tmp, s, seg) = one_online_segment(40);
    let mut bytes = std::fs::read(&seg).expect("read");
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    std::fs::write(&seg, &bytes).expect("write");
    let st = ReplayStore::open(tmp.path(), &s, &opts(1000)).expect("reopen");
    let n = st.online_len();
    assert_eq!(n, 39, "kept {n} of 40: only the damaged record may go");
    let kept: Vec<Transition> = (0..n).map(|i| st.get(false, i).expect("kept")).collect();
    let all: Vec<Transition> = (0..40).map(|i| transition(i, &s)).collect();
    let mut j = 0;
    for t in &kept {
        while j < all.len() && all[j] != *t {
            j += 1;
        }
        assert!(j < all.len(), "a kept transition is one that was appended, in order");
    }
    assert_eq!(kept.last(), all.last(), "the records after the damage are kept");
    let rec = &st.recovery().online;
    // The damaged stretch, reported once.
    assert_eq!(rec.skipped.len(), 1, "{:?}", rec.skipped);
    assert!(rec.skipped.iter().all(|s| s.0 == seg));
    assert!(rec.skipped[0].1 as usize <= at && at < (rec.skipped[0].1 + rec.skipped[0].2) as usize);
    assert!(rec.truncated.is_empty());
    assert_eq!(std::fs::read(&seg).expect("read"), bytes, "the damaged file is left as it is");
}

/// Regression (a damaged first record of a segment of image records made the open checksum candidate records
/// of up to 256 MiB at nearly every offset: minutes to hours): the resynchronisation examines each damaged offset
/// once and checksums only candidates whose header fits the spec, every later record is kept, and the segment is
/// read through a bounded window, not whole.
#[test]
fn a_damaged_first_record_of_an_image_segment_is_skipped_in_one_pass() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cam = |name: &str| CameraSpec { name: name.into(), height: 96, width: 128 };
    let s = ObsSpec { cameras: vec![cam("wrist"), cam("front")], ..spec() };
    // Dark frames: small pixel values, so most 4-byte windows read as a short, in-range record length.
    let dark = |i: u64, c: usize| -> Vec<u8> {
        (0..96 * 128 * 3).map(|k| if k % 4 < 2 { ((k / 4) as u64 + i + c as u64) as u8 % 40 } else { 0 }).collect()
    };
    let n = 40;
    let ts: Vec<Transition> = (0..n)
        .map(|i| {
            let mut t = transition(i, &s);
            t.obs.images = vec![dark(i, 0), dark(i, 1)];
            t.next_obs.images = vec![dark(i + 1, 0), dark(i + 1, 1)];
            t
        })
        .collect();
    {
        let mut st = ReplayStore::open(tmp.path(), &s, &opts(1000)).expect("open");
        for t in &ts {
            st.append(t).expect("append");
        }
    }
    let seg = tmp.path().join("online").join("seg-0000000000.log");
    let mut bytes = std::fs::read(&seg).expect("read");
    let first_len = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes")) as u64 + 8;
    bytes[3] ^= 0x20; // the first record's length field
    std::fs::write(&seg, &bytes).expect("write");
    let st = ReplayStore::open_read_only(tmp.path(), &s).expect("reopen");
    assert_eq!(st.online_len(), n as usize - 1, "every record after the damaged one");
    for i in 1..n {
        assert_eq!(st.get(false, i as usize - 1).expect("kept"), ts[i as usize]);
    }
    let rec = &st.recovery().online;
    assert_eq!(rec.skipped, vec![(seg.clone(), 0, first_len)]);
    assert_eq!(rec.resync_offsets, first_len, "each damaged offset examined once");
    assert_eq!(rec.resync_checksums, 1, "one checksum: the next record's");
    assert!(rec.read_window < bytes.len() / 2, "read through a window of {} of {} bytes", rec.read_window, bytes.len());
}

/// A segment file numbered `u64::MAX` (a corrupt or hostile name) does not overflow the next segment's number:
/// a writer refuses to start with an error naming the buffer's next file, a reader reads it.
#[test]
fn a_segment_numbered_u64_max_is_refused_for_writing_and_read_back() {
    let (tmp, s, seg) = one_online_segment(3);
    let last = tmp.path().join("online").join(format!("seg-{}.log", u64::MAX));
    std::fs::rename(&seg, &last).expect("rename");
    let st = ReplayStore::open_read_only(tmp.path(), &s).expect("read only");
    assert_eq!(st.online_len(), 3);
    drop(st);
    match ReplayStore::open(tmp.path(), &s, &opts(1000)) {
        Err(AgentError::Io { op: "create", source, .. }) => {
            assert!(source.to_string().contains("no segment number"), "{source}")
        }
        other => panic!("expected a refusal to create a segment, got {other:?}"),
    }
}

#[test]
fn a_torn_tail_is_cut_off_keeping_every_record_before_it() {
    let (tmp, s, seg) = one_online_segment(20);
    let bytes = std::fs::read(&seg).expect("read");
    // a crash in the middle of the last write
    std::fs::write(&seg, &bytes[..bytes.len() - 10]).expect("write");
    let st = ReplayStore::open(tmp.path(), &s, &opts(1000)).expect("reopen");
    assert_eq!(st.online_len(), 19);
    for i in 0..19 {
        assert_eq!(st.get(false, i).expect("kept"), transition(i as u64, &s));
    }
    let cut = &st.recovery().online.truncated;
    assert_eq!(cut.len(), 1);
    assert_eq!(std::fs::metadata(&seg).expect("stat").len(), cut[0].1, "file truncated to its valid prefix");
}

#[test]
fn wrong_sizes_are_rejected_with_the_field_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s = spec();
    let mut st = ReplayStore::open(tmp.path(), &s, &opts(10)).expect("open");
    let mut t = transition(0, &s);
    t.next_obs.images[1].pop();
    match st.append(&t) {
        Err(AgentError::SpecMismatch { field, expected, got }) => {
            assert_eq!(field, "next_obs.images[front]");
            assert_eq!((expected, got), (48, 47));
        }
        other => panic!("expected SpecMismatch, got {other:?}"),
    }
    assert_eq!(st.online_len(), 0);
}

#[test]
fn io_errors_name_the_path() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, b"x").expect("write");
    match ReplayStore::open(file.join("store"), &spec(), &opts(10)) {
        Err(AgentError::Io { file: f, .. }) => assert!(f.starts_with(&file), "{}", f.display()),
        other => panic!("expected Io, got {other:?}"),
    }
}

const CHILD_ENV: &str = "CORRIGO_CRASH_CHILD_DIR";

/// Child side of the crash test: appends forever, printing `flushed <online> <demo>` after each explicit flush.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else { return };
    let s = spec();
    let mut st = ReplayStore::open(&dir, &s, &opts(37)).expect("child open");
    let mut i = st.online_len() as u64;
    loop {
        st.append(&transition(i, &s)).expect("child append");
        i += 1;
        if i.is_multiple_of(5) {
            st.flush().expect("child flush");
            println!("flushed {} {}", st.online_len(), st.demo_len());
        }
    }
}

#[test]
fn sigkill_at_random_points_loses_nothing_flushed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let s = spec();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut acked = (0usize, 0usize);
    let rounds = 25;
    for round in 0..rounds {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, tmp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel::<(usize, usize)>();
        let reader = std::thread::Builder::new()
            .name("crash-child-reader".into())
            .spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let mut it = line.split_whitespace();
                    if it.next() == Some("flushed") {
                        let on = it.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                        let de = it.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                        let _ = tx.send((on, de));
                    }
                }
            })
            .expect("reader thread");
        // wait until the child is writing, then kill it at a random moment
        let first = rx.recv_timeout(Duration::from_secs(60)).expect("child never flushed");
        acked = acked.max(first);
        // One writer per run directory: while the child writes, a second writer is refused, naming the child.
        match ReplayStore::open(tmp.path(), &s, &opts(37)) {
            Err(AgentError::Locked { holder, .. }) => {
                assert!(holder.contains(&format!("pid {}", child.id())), "round {round}: holder {holder}")
            }
            other => panic!("round {round}: a second writer beside the child was not refused: {other:?}"),
        }
        std::thread::sleep(Duration::from_micros(rng.random_range(0..40_000)));
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        let _ = reader.join();
        for a in rx.try_iter() {
            acked = acked.max(a);
        }
        // The killed child's lock is gone with it: the next writer opens at once.
        let st = ReplayStore::open(tmp.path(), &s, &opts(37)).expect("reopen after kill");
        let (on, de) = (st.online_len(), st.demo_len());
        assert!(on >= acked.0 && de >= acked.1, "round {round}: kept {on}/{de}, acknowledged {acked:?}");
        for i in 0..on {
            assert_eq!(st.get(false, i).expect("kept"), transition(i as u64, &s), "round {round}: online {i}");
        }
        // Demo: the interventions in order. A child killed between the demo and the online flush re-appends
        // the same intervention after restart (it resumes from the online length), so an entry may repeat, but
        // none may be missing.
        let mut m = 0u64;
        for k in 0..de {
            let t = st.get(true, k).expect("kept");
            let idx = (t.reward * 2.0) as u64;
            assert!(idx == m || idx == m + 7 || (k == 0 && idx == 0), "round {round}: demo {k} is {idx} after {m}");
            assert_eq!(t, transition(idx, &s), "round {round}: demo {k}");
            m = idx;
        }
        assert!(on == 0 || m + 7 > (on as u64 - 1) / 7 * 7, "round {round}: demo ends at {m}, online at {on}");
        acked = (on, de);
    }
    assert!(acked.0 > 50, "the children wrote only {} transitions", acked.0);
}

/// A damaged segment left on disk without a usable record does not stop the store from starting a new one after
/// it (the new segment's number is past every file found, not only past the usable ones).
#[test]
fn a_segment_kept_for_inspection_does_not_block_new_segments() {
    // Two records of another spec (a wider proprio), the first one damaged: the second is intact but unusable.
    let tmp = tempfile::tempdir().expect("tempdir");
    let s = spec();
    let wide = ObsSpec { proprio_dim: 4, ..s.clone() };
    {
        let mut st = ReplayStore::open(tmp.path(), &wide, &opts(1000)).expect("open");
        for i in 0..2 {
            let mut t = transition(i, &s);
            t.obs.proprio.push(1.0);
            t.next_obs.proprio.push(1.0);
            st.append(&t).expect("append");
        }
    }
    let seg = tmp.path().join("online").join("seg-0000000000.log");
    let mut bytes = std::fs::read(&seg).expect("read");
    bytes[20] ^= 0xff; // inside the first record
    std::fs::write(&seg, &bytes).expect("write");
    {
        let mut st = ReplayStore::open(tmp.path(), &s, &opts(1000)).expect("reopen");
        assert_eq!(st.online_len(), 0, "neither record is usable");
        assert!(seg.exists(), "the damaged segment is kept");
        st.append(&transition(5, &s)).expect("append after the damaged segment");
        st.flush().expect("flush");
    }
    let st = ReplayStore::open(tmp.path(), &s, &opts(1000)).expect("reopen");
    assert_eq!(st.online_len(), 1);
    assert_eq!(st.get(false, 0).expect("kept"), transition(5, &s));
}

#[test]
fn records_keep_their_origin_and_a_reopened_store_says_what_each_session_delivered() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s = spec();
    {
        let mut st = ReplayStore::open(tmp.path(), &s, &opts(8)).expect("open");
        for i in 0..20 {
            let session = if i < 12 { "a@1" } else { "b@2" };
            st.append_from(&transition(i, &s), Some((session, i + 1))).expect("append");
        }
        st.append_demo_from(&transition(100, &s), Some(("d@3", 4))).expect("append demo");
        st.append(&transition(101, &s)).expect("an append without origin");
        st.flush().expect("flush");
    }
    let st = ReplayStore::open(tmp.path(), &s, &opts(8)).expect("reopen");
    let want: std::collections::BTreeMap<String, u64> =
        [("a@1".to_string(), 12), ("b@2".to_string(), 20), ("d@3".to_string(), 4)].into();
    assert_eq!(st.delivered(), want);
    assert_eq!(st.online_len(), 21);
    assert_eq!(st.get(false, 3).expect("present"), transition(3, &s), "the origin does not change the transition");
}
