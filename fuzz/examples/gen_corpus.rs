//! Writes the seed corpora, `corpus/<target>/<name>`, from `corrigo_fuzz::seeds` (real messages, reports, configs
//! and packets built with the project's encoders). Run from `fuzz/`: `cargo run --example gen_corpus`. Files of
//! other names (inputs libFuzzer added) are left alone.

use std::path::Path;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let seeds = corrigo_fuzz::seeds::all();
    for s in &seeds {
        let dir = root.join(s.target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(&s.name), &s.bytes)?;
    }
    println!("{} seeds written under {}", seeds.len(), root.display());
    Ok(())
}
