//! Stable-Rust replay of the checked-in corpora: every file of `corpus/<target>/` goes through its target's
//! contract (no libFuzzer, no instrumentation), and every seed `corrigo_fuzz::seeds` generates is on disk.

use std::path::Path;

#[test]
fn every_corpus_file_passes_its_targets_contract() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (target, check) in corrigo_fuzz::TARGETS {
        let dir = root.join(target);
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .collect();
        assert!(!files.is_empty(), "{}: no seeds", dir.display());
        for f in files {
            println!("{}", f.display());
            check(&std::fs::read(&f).expect("read"));
        }
    }
}

/// Every generated seed is checked in. Contents may lag behind the generator (the config seeds follow
/// `hardware_configs/`, the message seeds the message types): a seed is an input, not an expectation; regenerate
/// with `cargo run --example gen_corpus` when the formats move.
#[test]
fn every_generated_seed_is_checked_in() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for s in corrigo_fuzz::seeds::all() {
        let path = root.join(s.target).join(&s.name);
        assert!(path.is_file(), "{} is missing: run `cargo run --example gen_corpus`", path.display());
    }
}

#[test]
fn every_target_has_a_binary_and_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seeds = corrigo_fuzz::seeds::all();
    for (target, _) in corrigo_fuzz::TARGETS {
        assert!(root.join("fuzz_targets").join(format!("{target}.rs")).is_file(), "{target}: no fuzz target");
        assert!(seeds.iter().filter(|s| s.target == target).count() >= 3, "{target}: fewer than 3 seeds");
    }
}
