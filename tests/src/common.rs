//! Shared by the app's integration tests: a small, fast `reach` cell on a private loopback bus port.

use std::path::Path;

/// The text of `hardware_configs/sim_panda.toml` turned into a quick `reach` cell: bus on `port`, 3 s episodes,
/// the simulation as fast as possible, a small learner (batch 32, hidden [32, 32], weights every 5 updates), plus
/// `agent_extra` lines in `[agent]` and `tail` appended at the end.
pub fn reach_cell_text(port: u16, agent_extra: &str, tail: &str) -> String {
    let base =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../hardware_configs/sim_panda.toml"))
            .unwrap();
    let ep = format!("\"tcp/127.0.0.1:{port}\"");
    let agent = format!("batch_size = 32\nhidden = [32, 32]\npublish_every = 5\n{agent_extra}");
    let text = base
        .replace("listen = [\"tcp/127.0.0.1:7447\"]", &format!("listen = [{ep}]"))
        .replace("connect = [\"tcp/127.0.0.1:7447\"]", &format!("connect = [{ep}]"))
        .replace("kind = \"pick_cube\"", "kind = \"reach\"")
        .replace("episode_time_s = 10.0", "episode_time_s = 3.0")
        .replace("realtime = true\n\n[controller]", "realtime = false\n\n[controller]")
        .replace("batch_size = 256", agent.trim_end());
    assert_ne!(text, base, "sim_panda.toml no longer has the keys this test rewrites");
    text + tail
}

/// A free loopback TCP port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
