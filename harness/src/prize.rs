//! The prize a piñata under test guards: a worthless, well-known key.
//!
//! Private key 1 (the famous test vector), as a compressed testnet WIF; the
//! piñata is told `--network regtest` (or `network=regtest` on the guest's
//! command line) and reads it as regtest. Never a key with value.

use std::io;
use std::path::{Path, PathBuf};

/// Private key 1, compressed, testnet WIF (worthless).
pub const TEST_WIF: &str = "cMahea7zqjxrtgAbB7LSGbcQUr1uX1ojuat9jZodMN87JcbXMTcA";

/// Writes `wif` and a newline to `dir/prize.wif`, the file the hosted
/// runner's `--secret-file` and QEMU's `-initrd` read; returns its path.
pub fn write_secret_file(dir: &Path, wif: &str) -> io::Result<PathBuf> {
    let path = dir.join("prize.wif");
    std::fs::write(&path, format!("{wif}\n"))?;
    Ok(path)
}
