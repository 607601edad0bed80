//! Reading key and PSBT files, writing new files.
//!
//! Every error names the file and says what is wrong with it; a key file's
//! contents are held only in wiping buffers.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

use wallet::Zeroizing;
use wallet::spend::VersionedPsbt;

/// Largest key file read: a WIF is 52 characters; anything much bigger is
/// not a key file and is refused before it is read into memory.
const MAX_KEY_FILE: u64 = 4096;
/// Largest PSBT file read. A PSBT carries whole previous transactions (up
/// to 4 MB each) for its legacy inputs; 64 MiB is room for many of those and
/// still a bound.
const MAX_PSBT_FILE: u64 = 64 << 20;

/// Opens `path` for reading, refusing anything but a regular file.
fn open_regular(path: &Path) -> Result<(File, std::fs::Metadata), String> {
    let file = File::open(path).map_err(|e| format!("{}: cannot open: {e}", path.display()))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{}: not a regular file", path.display()));
    }
    Ok((file, meta))
}

/// Reads `file` into `into`, refusing it once it passes `limit` bytes (it
/// reads at most one byte more). Errors: `Some(message)` for an I/O error,
/// `None` for a file over the limit, which the caller words.
fn read_at_most(
    file: File,
    limit: u64,
    into: &mut Vec<u8>,
    path: &Path,
) -> Result<(), Option<String>> {
    file.take(limit + 1)
        .read_to_end(into)
        .map_err(|e| Some(format!("{}: cannot read: {e}", path.display())))?;
    if into.len() as u64 > limit {
        return Err(None);
    }
    Ok(())
}

/// Reads a key file into a wiping buffer, warning when others can read it.
pub fn read_key_file(path: &Path) -> Result<Zeroizing<String>, String> {
    let (file, meta) = open_regular(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            eprintln!(
                "warning: {} is readable by others (mode {mode:o}); a key file should be 0600",
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    // A buffer allocated once, so the key is never copied by a reallocation.
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_KEY_FILE as usize + 1));
    read_at_most(file, MAX_KEY_FILE, &mut bytes, path).map_err(|e| {
        e.unwrap_or_else(|| {
            format!(
                "{}: too large to be a WIF key file (over {MAX_KEY_FILE} bytes)",
                path.display()
            )
        })
    })?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("{}: not a WIF key file (not text)", path.display()))?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// How a PSBT file is encoded; a signed PSBT is written back the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsbtEncoding {
    /// The raw serialization, starting with `psbt\xff` (Sparrow, HWI, …).
    Binary,
    /// Base64 text (Bitcoin Core's RPCs, most wallets' "copy" buttons).
    Base64,
    /// Hex text.
    Hex,
}

/// The magic bytes every PSBT starts with (BIP 174).
const PSBT_MAGIC: &[u8; 5] = b"psbt\xff";

/// Reads and decodes a PSBT file (version 0 or 2), in any of the three
/// usual encodings.
pub fn read_psbt_file(path: &Path) -> Result<(VersionedPsbt, PsbtEncoding), String> {
    let (file, _) = open_regular(path)?;
    let mut bytes = Vec::new();
    read_at_most(file, MAX_PSBT_FILE, &mut bytes, path).map_err(|e| {
        e.unwrap_or_else(|| {
            format!(
                "{}: too large for a PSBT (over {} MiB)",
                path.display(),
                MAX_PSBT_FILE >> 20
            )
        })
    })?;
    let not_psbt = |why: String| format!("{}: not a PSBT: {why}", path.display());
    let (raw, encoding) = if bytes.starts_with(PSBT_MAGIC) {
        (bytes, PsbtEncoding::Binary)
    } else {
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| not_psbt("neither binary (psbt\\xff…), base64 nor hex".into()))?
            .trim_ascii();
        if text.is_empty() {
            return Err(not_psbt("the file is empty".into()));
        }
        if text.len() >= 10 && text[..10].eq_ignore_ascii_case("70736274ff") {
            let raw = hex_decode(text).ok_or_else(|| not_psbt("malformed hex".into()))?;
            (raw, PsbtEncoding::Hex)
        } else {
            use bitcoin::base64::Engine as _;
            let raw = bitcoin::base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| not_psbt(format!("neither binary, hex nor base64 ({e})")))?;
            if !raw.starts_with(PSBT_MAGIC) {
                return Err(not_psbt(
                    "base64 text that does not decode to a PSBT".into(),
                ));
            }
            (raw, PsbtEncoding::Base64)
        }
    };
    let psbt = VersionedPsbt::deserialize(&raw).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((psbt, encoding))
}

/// Encodes a PSBT for writing (text encodings end in a newline).
pub fn encode_psbt(psbt: &VersionedPsbt, encoding: PsbtEncoding) -> Vec<u8> {
    let raw = psbt.serialize();
    match encoding {
        PsbtEncoding::Binary => raw,
        PsbtEncoding::Base64 => format!("{}\n", base64(&raw)).into_bytes(),
        PsbtEncoding::Hex => {
            use bitcoin::hex::DisplayHex as _;
            format!("{}\n", raw.to_lower_hex_string()).into_bytes()
        }
    }
}

/// Standard base64, as Bitcoin Core writes PSBTs.
pub fn base64(raw: &[u8]) -> String {
    use bitcoin::base64::Engine as _;
    bitcoin::base64::engine::general_purpose::STANDARD.encode(raw)
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    use bitcoin::hex::FromHex as _;
    Vec::<u8>::from_hex(text).ok()
}

/// Writes `contents` to a file that must not exist yet (an existing file is
/// never overwritten: it may be a key, or a transaction already broadcast).
/// `private` files are created with mode 0600 from the start.
pub fn write_new_file(path: &Path, contents: &[u8], private: bool) -> Result<(), String> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        // Set at creation, so the file is never readable by others, not
        // even between open and a later chmod.
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            format!(
                "{}: file already exists; refusing to overwrite it (choose another --out)",
                path.display()
            )
        } else {
            format!("{}: cannot create: {e}", path.display())
        }
    })?;
    let written = file.write_all(contents).and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        // A partial file is worse than none: remove what we created.
        let _ = std::fs::remove_file(path);
        return Err(format!("{}: cannot write: {e}", path.display()));
    }
    Ok(())
}
