//! Hardware in the loop without hardware: the controller drives the simulated SO-101 through the real Feetech
//! serial code path (codec, bus, driver, serial port) and an emulated STS servo chain on a pseudo-terminal.

use tests::hil as common;
use tests::hil::RotateAbout;

use controller::core::ControllerCore;
use controller::drivers::feetech::{CalibrationError, Calibrator, FeetechArm};
use interfaces::config::{DriverConfig, EMULATOR_TIMESTEP, FeetechConfig, SafeStopKind};
use interfaces::drivers::{ArmDriver, DriverError, GripperDriver};
use interfaces::msg::{ControllerMode, GripperCommand, Pose};
use interfaces::{CellConfig, Clock};
use nalgebra::{Isometry3, Vector3};
use rand::{Rng, SeedableRng};
use serialport::TTYPort;
use sim::SimWorld;
use sim::emulators::feetech::{FeetechEmulator, FeetechEmulatorOptions, Hand, inject_status};
use std::sync::Arc;
use std::sync::atomic::Ordering;

type Core = ControllerCore<FeetechArm<TTYPort>>;

fn so101() -> CellConfig {
    let text = include_str!("../../../hardware_configs/so101.toml");
    CellConfig::from_toml_str(text, "hardware_configs/so101.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// The emulated SO-101 with the shipped config's servo figures, the config pointed at it, and the driver config.
fn emulator(safe_stop: SafeStopKind) -> (FeetechEmulator, CellConfig, FeetechConfig) {
    emulator_with(safe_stop, |_| {})
}

/// [`emulator`] with the emulator's options changed by `edit` (e.g. how the servos are mounted).
fn emulator_with(
    safe_stop: SafeStopKind,
    edit: impl FnOnce(&mut FeetechEmulatorOptions),
) -> (FeetechEmulator, CellConfig, FeetechConfig) {
    let mut cfg = so101();
    let DriverConfig::Feetech(shipped) = cfg.driver.clone() else { panic!("so101.toml is not a feetech cell") };
    let world = SimWorld::new(&cfg).expect("world");
    let mut opts = FeetechEmulatorOptions::for_dof(cfg.robot.dof());
    opts.ids = shipped.ids.clone();
    opts.gripper_id = shipped.gripper_id;
    opts.stiffness = shipped.position_stiffness.clone();
    opts.stall_torque = shipped.stall_torque.clone();
    opts.jaw_range = shipped.jaw_range;
    opts.steps_per_cycle = (1.0 / (cfg.controller.rate_hz * EMULATOR_TIMESTEP)).round() as u32;
    edit(&mut opts);
    let (emu, _observer) = FeetechEmulator::spawn(world, opts).expect("emulator");
    let d = emu.driver_config(1_000_000, safe_stop);
    cfg.driver = DriverConfig::Feetech(d.clone());
    (emu, cfg, d)
}

fn rig(safe_stop: SafeStopKind) -> (FeetechEmulator, Core) {
    let (emu, cfg, d) = emulator(safe_stop);
    let arm = FeetechArm::open(&d, &cfg.robot, &cfg.gripper, Arc::new(emu.clock())).expect("driver opens the bus");
    let core = ControllerCore::new(&cfg, arm).expect("core");
    (emu, core)
}

fn cycle(c: &mut Core, emu: &FeetechEmulator) -> Result<(), DriverError> {
    c.step(emu.clock().now()).map(|_| ())
}

fn run(c: &mut Core, emu: &FeetechEmulator, n: usize) {
    for k in 0..n {
        cycle(c, emu).unwrap_or_else(|e| panic!("cycle {k}: {e}"));
    }
}

fn wait_for(emu: &FeetechEmulator, what: &str, ok: impl Fn(&[sim::emulators::ServoView]) -> bool) {
    common::wait_until(|| emu.servos(), what, |s| ok(s));
}

#[test]
fn step_response_through_the_emulated_feetech_bus_reaches_3cm_and_0_2rad_within_1_5s() {
    let (emu, mut c) = rig(SafeStopKind::Hold);
    let rate = c.driver().timing().map(|t| t.achievable_rate_hz).unwrap_or_default();
    assert!(rate > 0.0, "the bus timing is probed at open");
    run(&mut c, &emu, 100);
    let cycles = 300; // 1.5 s at 200 Hz
    common::assert_step_response_within(&mut c, cycles, 10, (0.03, 0.2), RotateAbout::ToolZ, (0.003, 0.03), |c| {
        cycle(c, &emu)
    });
    let per_cycle = emu.steps() / 400;
    assert_eq!(emu.steps(), 400 * per_cycle, "a whole number of physics steps per control cycle");
    assert_eq!(c.driver().health().snapshot(), [0; 5], "a clean bus has no faults");
    wait_for(&emu, "torque on every servo", |s| s.iter().all(|s| s.torque_enabled));
}

#[test]
fn a_few_corrupt_or_dropped_replies_are_retried_and_counted() {
    let (emu, mut c) = rig(SafeStopKind::Hold);
    run(&mut c, &emu, 20);
    emu.faults().corrupt_replies.store(1, Ordering::Release);
    run(&mut c, &emu, 5);
    emu.faults().drop_replies.store(2, Ordering::Release);
    run(&mut c, &emu, 5);
    let [timeouts, corrupt, _, retries, _] = c.driver().health().snapshot();
    assert!(corrupt >= 1 && timeouts >= 1 && retries >= 2, "counted: {:?}", c.driver().health().snapshot());
    assert_ne!(c.mode(), ControllerMode::Fault);
}

#[test]
fn a_silent_servo_stops_the_arm_holding_with_an_error_naming_port_and_id() {
    let (emu, mut c) = rig(SafeStopKind::Hold);
    run(&mut c, &emu, 50);
    let held_q = c.status().q;
    emu.faults().mute_id.store(3, Ordering::Release);
    let err = cycle(&mut c, &emu).expect_err("a servo that never answers faults the controller");
    let msg = err.to_string();
    assert!(matches!(err, DriverError::Timeout { .. }), "{err:?}");
    assert!(msg.contains(emu.port()) && msg.contains("ID 3 (joint 3)"), "{msg}");
    assert_eq!(c.mode(), ControllerMode::Fault);
    wait_for(&emu, "holding", |s| s.iter().all(|s| s.torque_enabled));
    // The bus comes back; the arm keeps holding where it stopped, the fault stays latched.
    emu.faults().mute_id.store(0, Ordering::Release);
    run(&mut c, &emu, 200);
    assert_eq!(c.mode(), ControllerMode::Fault);
    let drift = (0..5).map(|j| (c.status().q[j] - held_q[j]).abs()).fold(0.0, f64::max);
    assert!(drift < 0.05, "hold drift {drift} rad");
}

#[test]
fn persistent_corruption_turns_torque_off_when_so_configured() {
    let (emu, mut c) = rig(SafeStopKind::TorqueOff);
    run(&mut c, &emu, 20);
    wait_for(&emu, "torque on", |s| s.iter().all(|s| s.torque_enabled));
    emu.faults().corrupt_replies.store(1000, Ordering::Release);
    let err = cycle(&mut c, &emu).expect_err("corruption beyond the retries faults");
    assert!(matches!(err, DriverError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains(emu.port()), "{err}");
    wait_for(&emu, "torque off", |s| s.iter().all(|s| !s.torque_enabled));
    assert_eq!(c.mode(), ControllerMode::Fault);
}

#[test]
fn overload_and_overheating_are_typed_faults_naming_the_servo_and_its_cause() {
    for (id, bits, unit, detail) in [
        (4, sim::emulators::feetech::status_bits::OVERLOAD, "ID 4 (joint 4)", "overload"),
        (6, sim::emulators::feetech::status_bits::OVERHEAT, "ID 6 (gripper)", "overheating"),
        (2, sim::emulators::feetech::status_bits::VOLTAGE, "ID 2 (joint 2)", "input voltage error"),
    ] {
        let (emu, mut c) = rig(SafeStopKind::Hold);
        run(&mut c, &emu, 20);
        emu.faults().hardware_error.store(inject_status(id, bits), Ordering::Release);
        let err = cycle(&mut c, &emu).expect_err("status bits");
        let DriverError::HardwareFault { device, unit: u, detail: d } = &err else { panic!("{err:?}") };
        assert_eq!((device.as_str(), u.as_str(), d.as_str()), (emu.port(), unit, detail));
        assert_eq!(c.mode(), ControllerMode::Fault);
    }
}

#[test]
fn an_unplugged_adapter_is_a_disconnection_naming_the_port() {
    let (emu, mut c) = rig(SafeStopKind::Hold);
    run(&mut c, &emu, 20);
    emu.faults().unplug.store(true, Ordering::Release);
    let err = (0..1000).find_map(|_| cycle(&mut c, &emu).err()).expect("the pulled cable is noticed");
    assert!(matches!(err, DriverError::Disconnected { .. } | DriverError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains(emu.port()), "{err}");
    assert_eq!(c.mode(), ControllerMode::Fault);
}

#[test]
fn a_missing_servo_is_refused_at_open_naming_it() {
    let (emu, cfg, mut d) = emulator(SafeStopKind::Hold);
    d.ids[2] = 9;
    d.max_retries = 1;
    d.timeout_ms = 20.0;
    let err = FeetechArm::open(&d, &cfg.robot, &cfg.gripper, Arc::new(emu.clock())).expect_err("ID 9 is absent");
    assert!(matches!(err, DriverError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("ID 9 (joint 3)") && err.to_string().contains(emu.port()), "{err}");
}

#[test]
fn the_envelope_holds_on_this_arm_under_random_pose_targets_and_the_estop_latches() {
    let (emu, mut c) = rig(SafeStopKind::Hold);
    let cfg = so101();
    let ws = cfg.workspace;
    run(&mut c, &emu, 50);
    let start = c.status().ee_pose.to_isometry();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let (lower, upper) = (*c.model().lower(), *c.model().upper());
    let margin = 0.01; // what the impedance law may overshoot the box while it pulls back
    for k in 0..1500 {
        if k % 20 == 0 {
            // Anywhere in a box twice the workspace's size around it, any yaw: many targets lie outside.
            let p: Vector3<f64> = Vector3::from_fn(|i, _| {
                let (lo, hi) = (ws.min[i], ws.max[i]);
                let (mid, half) = ((lo + hi) / 2.0, hi - lo);
                rng.random_range(mid - half..mid + half)
            });
            let yaw = nalgebra::UnitQuaternion::from_axis_angle(&Vector3::z_axis(), rng.random_range(-0.5..0.5));
            let target = Isometry3::from_parts(p.into(), yaw * start.rotation);
            c.set_target(&Pose::from_isometry(&target)).expect("target");
        }
        cycle(&mut c, &emu).unwrap_or_else(|e| panic!("cycle {k}: {e}"));
        let s = c.status();
        let t = s.ee_pose.to_isometry().translation.vector;
        for i in 0..3 {
            assert!(
                t[i] >= ws.min[i] - margin && t[i] <= ws.max[i] + margin,
                "cycle {k}: TCP {t:?} left the workspace {ws:?}"
            );
        }
        for j in 0..5 {
            assert!(s.q[j] >= lower[j] - 1e-3 && s.q[j] <= upper[j] + 1e-3, "cycle {k}: joint {j} at {}", s.q[j]);
        }
        assert_ne!(c.mode(), ControllerMode::Fault, "cycle {k}");
    }
    c.estop();
    assert_eq!(c.mode(), ControllerMode::EStopped);
    run(&mut c, &emu, 5);
    let held = c.status().q;
    assert!(c.set_target(&Pose::from_isometry(&start)).is_err(), "a latched e-stop ignores targets");
    run(&mut c, &emu, 200);
    assert_eq!(c.mode(), ControllerMode::EStopped, "the e-stop stays latched");
    wait_for(&emu, "holding", |s| s.iter().all(|s| s.torque_enabled));
    let drift = (0..5).map(|j| (c.status().q[j] - held[j]).abs()).fold(0.0, f64::max);
    assert!(drift < 0.05, "e-stop hold drift {drift} rad");
}

#[test]
fn the_jaw_servo_is_the_gripper_on_the_same_bus() {
    let (emu, mut c) = rig(SafeStopKind::Hold);
    let max_width = so101().gripper.max_width;
    let mut jaw = c.driver().gripper().expect("gripper_id is set");
    run(&mut c, &emu, 5);
    let open = jaw.read().expect("jaw state");
    assert!((open.width - max_width).abs() < 0.1 * max_width, "starts open: {open:?}");
    jaw.command(GripperCommand { width: 0.0, force: 5.0 }).expect("close");
    let closed = (0..400).find_map(|_| {
        cycle(&mut c, &emu).expect("cycle");
        jaw.read().ok().filter(|s| s.width < 0.1 * max_width)
    });
    let closed = closed.unwrap_or_else(|| panic!("the jaw did not close: {:?}", jaw.read()));
    assert_eq!(closed.target_width, 0.0);
}

#[test]
fn open_arm_opens_the_emulated_so101_with_its_gripper_at_a_rate_the_bus_sustains() {
    let (_emu, cfg, _) = emulator(SafeStopKind::Hold);
    let opened = controller::drivers::open_arm(&cfg).expect("open_arm");
    assert!(opened.gripper.is_some(), "the jaw comes with the arm");
    assert!(opened.bus_health.is_some());
    assert!(opened.rate_hz <= cfg.controller.rate_hz && opened.rate_hz >= 10.0, "{}", opened.rate_hz);
    let mut missing = cfg.clone();
    let DriverConfig::Feetech(d) = &mut missing.driver else { unreachable!() };
    d.port = "/dev/corrigo-no-such-adapter".into();
    let err = controller::drivers::open_arm(&missing).expect_err("no adapter");
    assert!(matches!(err, DriverError::Disconnected { .. }), "{err:?}");
    assert!(err.to_string().contains("/dev/corrigo-no-such-adapter"), "{err}");
}

/// Servos mounted at arbitrary angles (and two of them reversed), as on an assembled SO-101.
const MOUNT: [f64; 5] = [0.31, -0.42, 0.17, -0.9, 0.2];
const INVERTED: [bool; 5] = [true, false, false, false, true];

fn hand(q: &[f64], jaw: f64) -> Option<Hand> {
    let mut h = Hand { q: [0.0; interfaces::drivers::MAX_DOF], jaw };
    h.q[..q.len()].copy_from_slice(q);
    Some(h)
}

/// Zero pose, then each joint swept by hand from its lower to its upper limit and back to 0 (except `skip`), then
/// the jaw opened; returns the calibrator.
fn calibrate_by_hand(skip: Option<usize>) -> (FeetechEmulator, CellConfig, FeetechConfig, Calibrator<TTYPort>) {
    let (emu, cfg, mut d) = emulator_with(SafeStopKind::Hold, |o| {
        o.mount_offset = MOUNT.to_vec();
        o.mount_inverted = INVERTED.to_vec();
    });
    d.inverted = INVERTED.to_vec();
    let dof = cfg.robot.dof();
    let mut q = vec![0.0; dof];
    emu.hand(hand(&q, 0.0));
    let arm = FeetechArm::open(&d, &cfg.robot, &cfg.gripper, Arc::new(emu.clock())).expect("opens, torque off");
    let names = cfg.robot.joints.iter().map(|j| j.name.clone()).collect();
    let mut cal = Calibrator::new(arm, &d, names);
    cal.sample().expect("read");
    cal.record_zero().expect("zero pose");
    for j in (0..dof).filter(|&j| Some(j) != skip) {
        let (lo, hi) = (cfg.robot.joints[j].lower, cfg.robot.joints[j].upper);
        for k in 0..=40 {
            q[j] = lo + (hi - lo) * f64::from(k) / 40.0;
            emu.hand(hand(&q, 0.0));
            cal.sample().expect("read");
        }
        q[j] = 0.0;
    }
    for k in 0..=10 {
        emu.hand(hand(&q, 1.5 * f64::from(k) / 10.0));
        cal.sample().expect("read");
    }
    (emu, cfg, d, cal)
}

#[test]
fn calibration_by_hand_finds_the_servo_zeros_ranges_and_jaw_and_the_calibrated_driver_reads_true_angles() {
    let (emu, cfg, mut d, cal) = calibrate_by_hand(None);
    wait_for(&emu, "torque off on every servo throughout", |s| s.iter().all(|s| !s.torque_enabled));
    let margin = 0.05;
    let c = cal.result(margin).expect("calibrated");
    let count = controller::drivers::feetech::control_table::RAD_PER_COUNT;
    for (j, joint) in cfg.robot.joints.iter().enumerate() {
        assert!(
            (c.zero_offset[j] - MOUNT[j]).abs() <= count,
            "joint {}: zero {} vs {}",
            j + 1,
            c.zero_offset[j],
            MOUNT[j]
        );
        assert!((c.lower[j] - (joint.lower + margin)).abs() <= 2.0 * count, "joint {} lower {}", j + 1, c.lower[j]);
        assert!((c.upper[j] - (joint.upper - margin)).abs() <= 2.0 * count, "joint {} upper {}", j + 1, c.upper[j]);
    }
    let [closed, open] = c.jaw_range.expect("the jaw");
    assert!(closed.abs() <= count && (open - 1.5).abs() <= count, "jaw {closed} … {open}");
    // The calibrated driver reads the arm's true angles.
    drop(cal);
    d.zero_offset = c.zero_offset.clone();
    let pose = [0.4, -0.3, 0.5, 0.6, -0.7];
    emu.hand(hand(&pose, 0.0));
    let mut arm = FeetechArm::open(&d, &cfg.robot, &cfg.gripper, Arc::new(emu.clock())).expect("opens");
    let s = arm.read_state().expect("read");
    for (j, &p) in pose.iter().enumerate() {
        assert!((s.q[j] - p).abs() <= 2.0 * count, "joint {}: {} vs {p}", j + 1, s.q[j]);
    }
}

#[test]
fn a_joint_not_moved_during_calibration_is_named() {
    let (_emu, _cfg, _d, cal) = calibrate_by_hand(Some(2));
    let err = cal.result(0.05).expect_err("joint 3 never moved");
    assert!(matches!(err, CalibrationError::JointNotMoved { joint: 3, id: 3, .. }), "{err:?}");
    assert!(err.to_string().contains("elbow_flex"), "{err}");
}

/// The leader and the follower share the SO-101's kinematics; the follower holds still where the leader starts.
#[test]
fn a_leader_arm_moved_by_hand_takes_over_through_the_arbiter_and_letting_go_gives_control_back() {
    use controller::model::RobotModel;
    use interfaces::config::TeleopConfig;
    use interfaces::msg::TeleopCommand;
    use interfaces::time::Stamp;
    use teleop::{Action, ArbiterConfig, GripperAction, InterventionArbiter, LeaderArm, TeleopInput, TeleopSource};

    let (emu, cfg, d) = emulator(SafeStopKind::Hold);
    let mut q = cfg.controller.nullspace_posture[..cfg.robot.dof()].to_vec();
    emu.hand(hand(&q, 1.5));
    let arm = FeetechArm::open(&d, &cfg.robot, &cfg.gripper, Arc::new(emu.clock())).expect("the leader opens");
    let teleop_cfg = TeleopConfig::default();
    let policy_dt = 1.0 / cfg.task.policy_hz;
    let mut leader = LeaderArm::new(arm, &cfg, &teleop_cfg.leader, teleop_cfg.hold_ms, policy_dt).expect("leader");
    let model = RobotModel::from_config(&cfg.robot).expect("model");
    let mut qv = [0.0; interfaces::drivers::MAX_DOF];
    qv[..q.len()].copy_from_slice(&q);
    let follower = model.tcp_pose(&qv);
    leader.follower_pose(&follower);
    let mut arbiter = InterventionArbiter::new(ArbiterConfig::new(&teleop_cfg, &cfg.task));
    let policy = Action { continuous: vec![0.3, 0.0, 0.0, 0.0, 0.0, 0.0], gripper: GripperAction::Stay };
    let mut now = Stamp(1_000_000_000);
    let tick = 20_000_000; // the teleop node at 50 Hz
    let mut decisions = Vec::new();
    let mut step = |leader: &mut LeaderArm<TTYPort>, now: Stamp| {
        let s = leader.sample(now).expect("sample").reading;
        let cmd = TeleopCommand {
            twist: s.twist,
            gripper_close: s.gripper_close,
            takeover: s.takeover,
            device: "leader".into(),
            ..Default::default()
        };
        let mut cmd = cmd;
        cmd.header.stamp_ns = now;
        let a = arbiter.arbitrate(now, &policy, Some(TeleopInput::stamped(&cmd)));
        decisions.push(a.clone());
        (s, a)
    };
    // Resting leader: the policy acts.
    for _ in 0..10 {
        now = now.plus_ns(tick);
        let (s, a) = step(&mut leader, now);
        assert!(!s.takeover && s.twist == [0.0; 6] && s.gripper_close.is_none(), "{s:?}");
        assert!(!a.intervention && a.executed == policy, "{a:?}");
    }
    // The human lifts the forearm and closes the jaw: takeover, the follower is steered towards the leader.
    let mut saw_close = false;
    for k in 1..=15 {
        q[2] -= 0.01;
        emu.hand(hand(&q, 1.5 - 0.1 * f64::from(k)));
        now = now.plus_ns(tick);
        let (s, a) = step(&mut leader, now);
        let lead = leader.last().expect("sampled");
        assert!(s.takeover && lead.leading, "sample {k}: {s:?}");
        assert!(a.intervention && a.routing().demo && a.routing().online, "sample {k}: stored as a flagged correction");
        let towards = lead.tcp.translation.vector - follower.translation.vector;
        let act = nalgebra::Vector3::new(a.executed.continuous[0], a.executed.continuous[1], a.executed.continuous[2]);
        if towards.norm() > 0.003 {
            assert!(
                act.cast::<f64>().dot(&towards) > 0.0,
                "sample {k}: action {act:?} not towards the leader {towards:?}"
            );
        }
        saw_close |= a.executed.gripper == GripperAction::Close;
    }
    assert!(saw_close, "the leader's jaw closed below half its opening: the gripper closes");
    // The human lets go: after teleop.hold_ms the leader stops leading and the policy acts again.
    let hold = teleop_cfg.hold_ms * 1_000_000;
    let mut released_at = None;
    for k in 0..60u64 {
        now = now.plus_ns(tick);
        let (s, a) = step(&mut leader, now);
        if !s.takeover && !a.intervention {
            assert_eq!(a.executed, policy);
            released_at = Some(k * tick);
            break;
        }
    }
    let released = released_at.expect("control returns to the policy");
    assert!(released >= hold, "released {released} ns after the last motion, before the hold of {hold} ns");
    // Every step into the replay store as the actor stores it: the leader's steps land in both buffers, flagged.
    let spec = agent::ObsSpec { proprio_dim: 1, cameras: vec![], action_dim: 6, gripper: true };
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = agent::replay::StoreOptions {
        online_capacity: 1000,
        segment_transitions: 64,
        flush_interval: std::time::Duration::from_millis(100),
    };
    let mut store = agent::replay::ReplayStore::open(dir.path(), &spec, &opts).expect("store");
    for (k, a) in decisions.iter().enumerate() {
        let obs = agent::replay::Observation { proprio: vec![k as f32], images: vec![] };
        let t = agent::replay::Transition {
            obs: obs.clone(),
            action: a.executed.clone(),
            reward: 0.0,
            next_obs: obs,
            done: false,
            truncated: false,
            intervention: a.intervention,
            gripper_changed: false,
            episode: 1,
            obs_stamp_ns: k as u64,
            next_stamp_ns: k as u64 + 1,
        };
        store.append(&t).expect("append");
    }
    store.flush().expect("flush");
    let flagged = decisions.iter().filter(|a| a.intervention).count();
    assert!(flagged >= 15, "{flagged} flagged steps");
    assert_eq!(store.online_len(), decisions.len());
    assert_eq!(store.demo_len(), flagged, "the leader's steps, and only they, are in the demo buffer");
    assert!(store.get(true, 0).expect("a correction").intervention);
}

#[test]
fn dropping_the_driver_performs_the_safe_stop() {
    // Hold: every arm servo's goal becomes the position measured last (not the goal of the last command).
    let (emu, mut c) = rig(SafeStopKind::Hold);
    run(&mut c, &emu, 30);
    let dof = c.driver().info().dof;
    let mut tau = [0.0; interfaces::drivers::MAX_DOF];
    tau[..dof].fill(0.5);
    c.driver_mut().write_torque(&tau).expect("a command that moves the goals off the arm's position");
    let held: Vec<i32> = c.driver().raw_positions()[..dof].to_vec();
    let commanded = c.driver().goal_counts(&tau);
    assert_ne!(&commanded[..dof], &held[..], "the last command's goals are not the measured positions");
    drop(c);
    wait_for(&emu, "holding where measured after the drop", |s| {
        s.iter().all(|s| s.torque_enabled) && s[..dof].iter().map(|s| s.goal_position).eq(held.iter().copied())
    });
    // Torque off.
    let (emu, mut c) = rig(SafeStopKind::TorqueOff);
    run(&mut c, &emu, 30);
    wait_for(&emu, "torque on", |s| s.iter().all(|s| s.torque_enabled));
    drop(c);
    wait_for(&emu, "torque off after the drop", |s| s.iter().all(|s| !s.torque_enabled));
}

#[test]
fn a_panic_on_the_loop_thread_unwinds_into_the_drivers_safe_stop() {
    let (emu, cfg, d) = emulator(SafeStopKind::TorqueOff);
    let arm = FeetechArm::open(&d, &cfg.robot, &cfg.gripper, Arc::new(emu.clock())).expect("driver opens the bus");
    let panic = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let arm = common::PanicsWhenTold { inner: arm, panic: panic.clone() };
    let core = ControllerCore::new(&cfg, arm).expect("core");
    let handle = common::spawn_loop(core, &cfg, emu.clock());
    wait_for(&emu, "torque on", |s| s.iter().all(|s| s.torque_enabled));
    panic.store(true, Ordering::Release);
    common::wait_until(|| handle.is_running(), "the loop thread ends", |running| !running);
    wait_for(&emu, "torque off after the panic", |s| s.iter().all(|s| !s.torque_enabled));
    assert!(handle.stop().is_none(), "the loop thread panicked");
}
