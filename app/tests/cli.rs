//! The `corrigo` binary's command line: the commands it lists, `config check` on a good and a malformed config,
//! and the exit codes. (The end-to-end tests that run the nodes as processes are in the workspace's `tests/`.)

use std::process::Command;

fn corrigo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_corrigo"))
}

#[test]
fn help_lists_every_command() {
    let out = corrigo().arg("--help").output().expect("run corrigo --help");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in ["run", "learner", "actor", "record", "classifier", "camera", "ui", "controller", "teleop", "config"] {
        assert!(text.lines().any(|l| l.trim_start().starts_with(cmd)), "`{cmd}` missing from:\n{text}");
    }
}

#[test]
fn config_check_accepts_the_sample_cell_and_names_the_problem_of_a_malformed_one() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let ok = corrigo().args(["config", "check"]).arg(root.join("hardware_configs/sim_panda.toml")).output().unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "ok");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[cell]\nname = 3\n").unwrap();
    let out = corrigo().args(["config", "check"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "exit code 3 is a config error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml"), "the error names the file: {err}");
}
