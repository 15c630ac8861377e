use super::*;

const DEFAULT: &str = include_str!("../../../hardware_configs/sim_panda.toml");
const FILE: &str = "hardware_configs/sim_panda.toml";

fn load(text: &str) -> Result<CellConfig, ConfigError> {
    CellConfig::from_toml_str(text, FILE)
}

#[test]
fn the_default_cell_is_valid() {
    let cfg = load(DEFAULT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.cell.name, "sim_panda");
    assert_eq!(cfg.robot.dof(), 7);
    assert_eq!(cfg.cameras.len(), 2);
    assert_eq!(cfg.task.episode_steps(), 100);
    assert!(matches!(cfg.driver, DriverConfig::Sim { .. }));
}

#[test]
fn unknown_key_names_file_key_and_line() {
    let text = DEFAULT.replace("watchdog_ms = 200.0", "watchdog_ms = 200.0\nwatchdog_sec = 0.2");
    let err = load(&text).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(FILE), "{msg}");
    assert!(msg.contains("watchdog_sec"), "{msg}");
    assert!(msg.contains("controller"), "{msg}");
    let ConfigError::Schema { line, .. } = err else { panic!("expected a schema error, got {err:?}") };
    let expected_line = text.lines().position(|l| l.starts_with("watchdog_sec")).unwrap() + 1;
    assert_eq!(line, expected_line);
}

#[test]
fn wrong_type_names_the_key_path() {
    let text = DEFAULT.replace("rate_hz = 1000.0", "rate_hz = \"fast\"");
    let msg = load(&text).unwrap_err().to_string();
    assert!(msg.contains("controller.rate_hz"), "{msg}");
    assert!(msg.contains("string") || msg.contains("invalid type"), "{msg}");
}

#[test]
fn out_of_range_gain_names_key_value_and_range() {
    let text = DEFAULT.replace(
        "translational_stiffness = [2000.0, 2000.0, 2000.0]",
        "translational_stiffness = [2000.0, 90000.0, 2000.0]",
    );
    let err = load(&text).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(FILE), "{msg}");
    assert!(msg.contains("controller.gains.translational_stiffness[1]"), "{msg}");
    assert!(msg.contains("90000"), "{msg}");
    assert!(msg.contains("0 ≤ value ≤ 5000"), "{msg}");
    let ConfigError::Invalid { problems, .. } = err else { panic!() };
    assert_eq!(problems.len(), 1, "only the bad value is reported: {problems:?}");
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let text = DEFAULT
        .replace("rate_hz = 1000.0", "rate_hz = 5.0")
        .replace("min = [0.25, -0.25, 0.005]", "min = [0.8, -0.25, 0.005]")
        .replace("name = \"sim_panda\"", "name = \"sim/panda\"");
    let ConfigError::Invalid { problems, .. } = load(&text).unwrap_err() else { panic!() };
    let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
    assert!(keys.contains(&"controller.rate_hz"), "{keys:?}");
    assert!(keys.contains(&"workspace.max[0]"), "{keys:?}");
    assert!(keys.contains(&"cell.name"), "{keys:?}");
}

#[test]
fn posture_outside_joint_limits_is_rejected() {
    let text =
        DEFAULT.replace("nullspace_posture = [0.0, -0.785, 0.0, -2.356", "nullspace_posture = [0.0, -0.785, 0.0, 0.5");
    let msg = load(&text).unwrap_err().to_string();
    assert!(msg.contains("controller.nullspace_posture[3]"), "{msg}");
}

#[test]
fn malformed_toml_reports_position() {
    let err = load("[cell\nname = 1").unwrap_err();
    let ConfigError::Schema { line, file, .. } = &err else { panic!("{err:?}") };
    assert_eq!(file, FILE);
    assert_eq!(*line, 1);
}

#[test]
fn runtime_gain_check_uses_the_same_ranges() {
    let cfg = load(DEFAULT).unwrap();
    let mut g = cfg.controller.gains;
    assert!(check_gains(&g, "gains").is_empty());
    g.rotational_clip[2] = f64::NAN;
    let p = check_gains(&g, "gains");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].key, "gains.rotational_clip[2]");
}

#[test]
fn camera_crop_must_fit_the_capture() {
    let text = DEFAULT.replacen("fps = 30.0", "fps = 30.0\ncrop = { x = 100, y = 0, width = 64, height = 64 }", 1);
    let msg = load(&text).unwrap_err().to_string();
    assert!(msg.contains("cameras[0].crop"), "{msg}");
}

#[test]
fn a_reward_classifier_needs_the_cameras() {
    let text = DEFAULT.replacen("use_images = false", "use_images = false\nreward_classifier = \"c.safetensors\"", 1);
    let msg = load(&text).unwrap_err().to_string();
    assert!(msg.contains("agent.reward_classifier") && msg.contains("use_images = true"), "{msg}");
    let text = DEFAULT.replacen("use_images = false", "use_images = true\nreward_classifier = \"c.safetensors\"", 1);
    assert_eq!(load(&text).unwrap().agent.reward_classifier.as_deref(), Some("c.safetensors"));
}

fn with_driver(driver: &str) -> String {
    let start = DEFAULT.find("[driver]").unwrap();
    let end = DEFAULT.find("[controller]").unwrap();
    format!("{}{driver}\n{}", &DEFAULT[..start], &DEFAULT[end..])
}

const DXL: &str = r#"[driver]
kind = "dynamixel"
port = "/dev/ttyUSB0"
baud = 4000000
series = "p"
ids = [1, 2, 3, 4, 5, 6, 7]
torque_constant = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
"#;

#[test]
fn a_dynamixel_driver_loads_with_defaults() {
    let cfg = load(&with_driver(DXL)).unwrap_or_else(|e| panic!("{e}"));
    let DriverConfig::Dynamixel(d) = &cfg.driver else { panic!("expected dynamixel, got {:?}", cfg.driver) };
    assert_eq!(d.ids, vec![1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(d.safe_stop, SafeStopKind::Hold);
    assert_eq!(d.max_retries, 3);
    assert_eq!(cfg.driver.sim_timestep(), EMULATOR_TIMESTEP);
}

#[test]
fn dynamixel_problems_name_key_value_and_range() {
    let bad = DXL
        .replace("baud = 4000000", "baud = 1500000\nreturn_delay_us = 3")
        .replace("ids = [1, 2, 3, 4, 5, 6, 7]", "ids = [1, 2, 3, 4, 5, 6, 6]")
        .replace("torque_constant = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]", "torque_constant = [1.0]");
    let ConfigError::Invalid { problems, .. } = load(&with_driver(&bad)).unwrap_err() else {
        panic!("expected range problems")
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    for k in ["driver.baud", "driver.return_delay_us", "driver.ids[6]", "driver.torque_constant"] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }
    let msg = load(&with_driver(&DXL.replace("port", "prot"))).unwrap_err().to_string();
    assert!(msg.contains("prot"), "{msg}");
}

const UR5E: &str = include_str!("../../../hardware_configs/ur5e.toml");

#[test]
fn the_ur5e_config_loads_with_its_rtde_driver() {
    let cfg = CellConfig::from_toml_str(UR5E, "hardware_configs/ur5e.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.robot.dof(), UR_DOF);
    let DriverConfig::UrRtde(u) = &cfg.driver else { panic!("expected ur_rtde, got {:?}", cfg.driver) };
    assert_eq!((u.port, u.frequency_hz, u.register_offset), (30004, 500.0, 24));
    assert!(u.gravity_compensated);
    assert_eq!(cfg.driver.sim_timestep(), EMULATOR_TIMESTEP);
}

#[test]
fn ur_rtde_defaults_fill_what_is_left_out() {
    let start = UR5E.find("[driver]").unwrap();
    let end = UR5E.find("[controller]").unwrap();
    let text = format!("{}[driver]\nkind = \"ur_rtde\"\nhost = \"10.0.0.2\"\n\n{}", &UR5E[..start], &UR5E[end..]);
    let cfg = CellConfig::from_toml_str(&text, "ur.toml").unwrap_or_else(|e| panic!("{e}"));
    let DriverConfig::UrRtde(u) = &cfg.driver else { panic!("{:?}", cfg.driver) };
    assert_eq!((u.port, u.frequency_hz, u.deadline_ms, u.watchdog_cycles), (30004, 500.0, 10.0, 10));
    assert!(u.torque_constant.is_empty());
}

#[test]
fn ur_rtde_problems_name_key_value_and_range() {
    let bad = UR5E
        .replace("frequency_hz = 500.0", "frequency_hz = 1000.0")
        .replace("deadline_ms = 10.0 ", "deadline_ms = 0.5 ")
        .replace("register_offset = 24 ", "register_offset = 44 ")
        .replace("torque_constant = []", "torque_constant = [1.0, 2.0]");
    let Err(ConfigError::Invalid { problems, .. }) = CellConfig::from_toml_str(&bad, "ur.toml") else {
        panic!("expected range problems")
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    for k in ["driver.frequency_hz", "driver.deadline_ms", "driver.register_offset", "driver.torque_constant"] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }
    let p = problems.iter().find(|p| p.key == "driver.register_offset").unwrap();
    assert_eq!(p.value, "44");
    assert!(p.allowed.contains("41"), "{}", p.allowed);
    // A UR driver on the 7-joint panda is refused, naming the joints.
    let start = DEFAULT.find("[driver]").unwrap();
    let end = DEFAULT.find("[controller]").unwrap();
    let on_panda = format!("{}[driver]\nkind = \"ur_rtde\"\nhost = \"h\"\n\n{}", &DEFAULT[..start], &DEFAULT[end..]);
    let msg = load(&on_panda).unwrap_err().to_string();
    assert!(msg.contains("robot.joints") && msg.contains("6 joints"), "{msg}");
    let short = UR5E.replace("deadline_ms = 10.0 ", "deadline_ms = 2.0 ");
    let msg = CellConfig::from_toml_str(&short, "ur.toml").unwrap_err().to_string();
    assert!(msg.contains("driver.deadline_ms") && msg.contains("1.5 periods"), "{msg}");
    let msg = CellConfig::from_toml_str(&UR5E.replace("host =", "hots ="), "ur.toml").unwrap_err().to_string();
    assert!(msg.contains("hots"), "{msg}");
}

const FRANKA: &str = include_str!("../../../hardware_configs/franka_panda.toml");

#[test]
fn the_franka_config_loads_with_its_fci_driver() {
    let cfg = CellConfig::from_toml_str(FRANKA, "hardware_configs/franka_panda.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.robot.dof(), FRANKA_DOF);
    let DriverConfig::Franka(f) = &cfg.driver else { panic!("expected franka, got {:?}", cfg.driver) };
    assert_eq!((f.command_port, f.udp_port, f.deadline_ms), (1337, 0, 5.0));
    assert_eq!(f.collision_torque.len(), 7);
    assert!(!f.recover_on_open);
}

#[test]
fn franka_problems_name_key_value_and_range() {
    let bad = FRANKA
        .replace("deadline_ms = 5.0 ", "deadline_ms = 0.5 ")
        .replace("contact_force = [20.0, 20.0, 20.0, 25.0, 25.0, 25.0]", "contact_force = [20.0]")
        .replace("contact_torque = [20.0, 20.0, 18.0,", "contact_torque = [90.0, 20.0, 18.0,");
    let Err(ConfigError::Invalid { problems, .. }) = CellConfig::from_toml_str(&bad, "f.toml") else {
        panic!("expected range problems")
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    for k in ["driver.deadline_ms", "driver.contact_force", "driver.contact_torque[0]"] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }
    let p = problems.iter().find(|p| p.key == "driver.contact_torque[0]").unwrap();
    assert!(p.value == "90" && p.allowed.contains("collision_torque[0] = 40"), "{p:?}");
    // On the 6-joint UR5e model a Franka driver is refused.
    let start = UR5E.find("[driver]").unwrap();
    let end = UR5E.find("[controller]").unwrap();
    let on_ur = format!("{}[driver]\nkind = \"franka\"\nhost = \"h\"\n\n{}", &UR5E[..start], &UR5E[end..]);
    let msg = CellConfig::from_toml_str(&on_ur, "x.toml").unwrap_err().to_string();
    assert!(msg.contains("7 joints (a Franka arm)"), "{msg}");
}

#[test]
fn every_shipped_config_survives_a_round_trip_through_toml_text() {
    let dynamixel = include_str!("../../../hardware_configs/dynamixel_xm_arm6.toml");
    for (text, file) in [
        (DEFAULT, FILE),
        (UR5E, "ur5e.toml"),
        (FRANKA, "franka_panda.toml"),
        (dynamixel, "dynamixel_xm_arm6.toml"),
        (SO101, "so101.toml"),
        (include_str!("../../../hardware_configs/sim_so101.toml"), "sim_so101.toml"),
        (include_str!("../../../hardware_configs/so101_leader.toml"), "so101_leader.toml"),
    ] {
        let cfg = CellConfig::from_toml_str(text, file).unwrap_or_else(|e| panic!("{e}"));
        let written = cfg.to_toml_string().unwrap_or_else(|e| panic!("{file}: {e}"));
        let back = CellConfig::from_toml_str(&written, file).unwrap_or_else(|e| panic!("{file} written back: {e}"));
        assert_eq!(back, cfg, "{file}");
    }
}

const SO101: &str = include_str!("../../../hardware_configs/so101.toml");

#[test]
fn a_feetech_driver_section_with_wrong_lengths_ids_or_baud_is_refused_naming_each_key() {
    let bad = SO101
        .replace("baud = 1000000", "baud = 4000000")
        .replace("gripper_id = 6", "gripper_id = 3")
        .replace("position_stiffness = [20.0, 20.0, 20.0, 20.0, 20.0]", "position_stiffness = [20.0, 20.0]")
        .replace("jaw_range = [0.0, 1.5]", "jaw_range = [1.0, 1.0]");
    let msg = CellConfig::from_toml_str(&bad, "so101.toml").expect_err("invalid").to_string();
    for key in ["driver.baud", "driver.gripper_id", "driver.position_stiffness", "driver.jaw_range"] {
        assert!(msg.contains(key), "{key} not named in: {msg}");
    }
}

#[test]
fn a_cube_section_sets_the_simulated_cube_and_a_bad_one_is_refused_naming_the_key() {
    let cfg = CellConfig::from_toml_str(DEFAULT, FILE).expect("default");
    assert_eq!(cfg.task.cube, CubeConfig::default(), "the Panda cell keeps the 4.5 cm cube");
    let so = CellConfig::from_toml_str(include_str!("../../../hardware_configs/sim_so101.toml"), "sim_so101.toml")
        .expect("sim_so101");
    assert_eq!(so.task.cube.size, 0.025);
    let bad = format!("{DEFAULT}\n[task.cube]\nsize = 0.5\nregion = [0.5, 0.4, -0.1, 0.1]\n");
    let msg = CellConfig::from_toml_str(&bad, FILE).expect_err("invalid").to_string();
    assert!(msg.contains("task.cube.size") && msg.contains("task.cube.region"), "{msg}");
}

/// The task fills in what the agent leaves unset: a sparse reward gets no entropy backup and the HL-Gauss critic,
/// a shaped one both the other way; a setting in the file wins. The offline-to-online and HL-Gauss keys parse and
/// are range-checked.
#[test]
fn the_task_fills_in_the_agents_unset_defaults() {
    let cfg = load(DEFAULT).unwrap_or_else(|e| panic!("{e}"));
    let sparse = cfg.agent.with_task_defaults(RewardKind::Sparse);
    assert_eq!((sparse.backup_entropy, sparse.critic), (Some(false), Some(CriticKind::HlGauss)));
    let shaped = cfg.agent.with_task_defaults(RewardKind::Shaped);
    assert_eq!((shaped.backup_entropy, shaped.critic), (Some(true), Some(CriticKind::Mse)));
    let text = DEFAULT.replace("[agent]", "[agent]\ncritic = \"mse\"\npretrain_updates = 500\nretain_offline = false");
    let set = load(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(set.agent.with_task_defaults(RewardKind::Sparse).critic, Some(CriticKind::Mse));
    assert_eq!((set.agent.pretrain_updates, set.agent.retain_offline), (Some(500), false));
    assert_eq!(sparse.pretrain_updates, Some(SPARSE_PRETRAIN_UPDATES));
    assert_eq!(shaped.pretrain_updates, Some(0));
    // The behaviour prior: on for a sparse reward with images only.
    assert_eq!((sparse.bc_prior, shaped.bc_prior), (Some(cfg.agent.use_images), Some(false)));
    let images = crate::config::AgentConfig { use_images: true, ..cfg.agent.clone() };
    assert!(images.with_task_defaults(RewardKind::Sparse).uses_bc_prior());
    assert!(!images.with_task_defaults(RewardKind::Shaped).uses_bc_prior());
    let off = crate::config::AgentConfig { bc_prior: Some(false), ..images.clone() };
    assert!(!off.with_task_defaults(RewardKind::Sparse).uses_bc_prior(), "a setting in the file wins");
    let bad =
        DEFAULT.replace("[agent]", "[agent]\nretain_offline = false\npretrain_updates = 0\nhl_gauss = { bins = 1 }");
    let msg = load(&bad).unwrap_err().to_string();
    assert!(msg.contains("agent.retain_offline") && msg.contains("agent.hl_gauss.bins"), "{msg}");
    // Unset, pretraining follows the task: a sparse reward pretrains (WSRL is valid), a shaped one does not.
    let mut wsrl = cfg.clone();
    wsrl.agent.retain_offline = false;
    wsrl.task.reward = RewardKind::Sparse;
    assert!(wsrl.validate().is_empty(), "{:?}", wsrl.validate());
    wsrl.task.reward = RewardKind::Shaped;
    assert!(wsrl.validate().iter().any(|p| p.to_string().contains("agent.retain_offline")), "{:?}", wsrl.validate());
}
