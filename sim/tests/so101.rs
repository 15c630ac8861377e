//! The shipped simulated SO-101 cell (`hardware_configs/sim_so101.toml`): the 5-joint arm reaches the task's goals
//! and picks its 2.5 cm cube under the real controller, driven by the environment's scripted expert.

use interfaces::CellConfig;
use interfaces::config::TaskKind;
use interfaces::env::Env;
use sim::SimEnv;

fn sim_so101() -> CellConfig {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../hardware_configs/sim_so101.toml");
    let text = std::fs::read_to_string(file).expect("hardware_configs/sim_so101.toml");
    let cfg = CellConfig::from_toml_str(&text, file).expect("sim_so101.toml parses");
    assert!(cfg.validate().is_empty(), "sim_so101.toml: {:?}", cfg.validate());
    cfg
}

/// Runs `episodes` episodes of the scripted expert; returns the successes and the steps each took.
fn expert_episodes(cfg: &CellConfig, episodes: usize) -> Vec<(bool, usize)> {
    let mut env = SimEnv::new(cfg, 7).expect("the sim_so101 cell builds");
    (0..episodes)
        .map(|_| {
            env.reset().expect("reset");
            let mut steps = 0;
            loop {
                let action = env.expert_action().expect("a scripted expert");
                let step = env.step(&action).expect("step");
                steps += 1;
                if step.done || step.truncated {
                    return (step.success, steps);
                }
            }
        })
        .collect()
}

#[test]
fn the_sim_so101_expert_reaches_every_goal() {
    let mut cfg = sim_so101();
    cfg.task.kind = TaskKind::Reach;
    let runs = expert_episodes(&cfg, 6);
    println!("reach: {runs:?}");
    assert!(runs.iter().all(|r| r.0), "every goal is reached within the episode: {runs:?}");
}

#[test]
fn the_sim_so101_expert_picks_the_small_cube() {
    let cfg = sim_so101();
    assert_eq!(cfg.task.kind, TaskKind::PickCube);
    let runs = expert_episodes(&cfg, 6);
    println!("pick_cube: {runs:?}");
    let ok = runs.iter().filter(|r| r.0).count();
    // The demos that learning starts from are the expert's successful episodes: most must succeed.
    assert!(ok >= 5, "{ok} of 6 picks lifted the cube: {runs:?}");
}
