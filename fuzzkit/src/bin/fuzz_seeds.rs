//! Writes the fuzz targets' seed corpora: `cargo run -p fuzzkit --bin
//! fuzz_seeds -- DIR` (what `cargo xtask fuzz` and ClusterFuzzLite's build
//! run). Seeds are generated, not checked in: real handshakes recorded in the
//! deterministic fuzzing mode (this crate), so they are the same on every
//! machine and follow the code when it changes.
//!
//! Layout: `DIR/<target>/<name>`, cargo-fuzz's corpus layout.

use std::path::PathBuf;

fn main() {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: fuzz_seeds DIR");
        std::process::exit(2);
    };
    let mut count = 0;
    for (target, name, data) in fuzzkit::targets::seeds() {
        let target_dir = dir.join(target);
        std::fs::create_dir_all(&target_dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", target_dir.display()));
        let path = target_dir.join(format!("seed-{name}"));
        std::fs::write(&path, data)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        count += 1;
    }
    println!("fuzz_seeds: {count} seeds written under {}", dir.display());
}
