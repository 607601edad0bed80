//! Writes the fuzz targets' seed corpora: `cargo run -p fuzzkit --bin
//! fuzz_seeds -- DIR` (what `cargo xtask fuzz` and ClusterFuzzLite's build
//! run). Seeds are generated, not checked in: real handshakes recorded in the
//! deterministic fuzzing mode (this crate), so they are the same on every
//! machine and follow the code when it changes.
//!
//! Layout: `DIR/<target>/<name>`, cargo-fuzz's corpus layout, and
//! `DIR/IDENTITIES`, the fingerprint of the certificates the corpora were
//! recorded against.
//!
//! **Stale corpora.** The fuzzing mode's keys are fixed, so a change to how
//! the PKI encodes certificates (an extension, a name) gives new certificate
//! bytes under the *same* CA key. Inputs saved by earlier campaigns still
//! carry the old, validly signed client certificate: the piñata rightly
//! accepts it, but it is not the leaf the oracle expects, and the oracle
//! reports a leak to an unauthenticated peer that is no leak. So when the
//! fingerprint differs from the one in `DIR/IDENTITIES` (or corpora exist
//! without one), the old corpora are moved aside to
//! `DIR/../corpus-stale/<old fingerprint>/` before the seeds are written,
//! and that is said on stderr.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn main() {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: fuzz_seeds DIR");
        std::process::exit(2);
    };
    let fingerprint = fingerprint(&fuzzkit::world().ids);
    if let Err(e) = set_aside_stale(&dir, &fingerprint) {
        eprintln!("fuzz_seeds: {e}");
        std::process::exit(1);
    }
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
    let marker = dir.join("IDENTITIES");
    std::fs::write(&marker, format!("{fingerprint}\n"))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", marker.display()));
    println!("fuzz_seeds: {count} seeds written under {}", dir.display());
}

/// SHA-256 over every certificate of the fuzzing mode's identities, in hex.
fn fingerprint(ids: &fuzzkit::Identities) -> String {
    let mut hash = Sha256::new();
    let chains = [
        &ids.server,
        &ids.client,
        &ids.web,
        &ids.evil_server,
        &ids.evil_client,
    ];
    for cert in core::iter::once(&ids.ca).chain(chains.into_iter().flatten()) {
        hash.update((cert.len() as u64).to_be_bytes());
        hash.update(cert.as_ref());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Moves the corpora under `dir` aside when they were recorded against
/// other certificates than `fingerprint`'s (see the module docs).
fn set_aside_stale(dir: &Path, fingerprint: &str) -> Result<(), String> {
    let recorded = std::fs::read_to_string(dir.join("IDENTITIES"))
        .ok()
        .map(|s| s.trim().to_string());
    if recorded.as_deref() == Some(fingerprint) {
        return Ok(());
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(()); // no corpora yet
    };
    let targets: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    if targets.is_empty() {
        return Ok(());
    }
    let old = recorded.unwrap_or_else(|| "unrecorded".into());
    let parent = dir.parent().unwrap_or(Path::new("."));
    let stale = parent.join("corpus-stale");
    let aside = (0..)
        .map(|n| match n {
            0 => stale.join(&old),
            n => stale.join(format!("{old}-{n}")),
        })
        .find(|p| !p.exists())
        .unwrap_or_else(|| stale.join(&old));
    std::fs::create_dir_all(&aside)
        .map_err(|e| format!("cannot create {}: {e}", aside.display()))?;
    for target in &targets {
        let Some(name) = target.file_name() else {
            continue;
        };
        let to = aside.join(name);
        std::fs::rename(target, &to)
            .map_err(|e| format!("cannot move {} to {}: {e}", target.display(), to.display()))?;
    }
    eprintln!(
        "fuzz_seeds: the corpora under {} were recorded against other certificates \
         (fingerprint {old}, now {fingerprint}): their inputs would replay certificates the \
         fixed CA key signed in another encoding, which the oracle cannot tell from a leak; \
         moved to {}",
        dir.display(),
        aside.display()
    );
    Ok(())
}
