//! What the deployment configurations (`firecracker-config`, and the
//! same steps in `xl-config`) share: the image copied next to the
//! configuration file, and the paths the file names as the host that runs
//! the VM will see them.

use std::path::{Path, PathBuf};

/// The files a configuration names, staged.
#[derive(Debug)]
pub struct Staged {
    /// The output directory, absolute.
    pub out_dir: PathBuf,
    /// The image's copy in it.
    pub copy: PathBuf,
    /// The image's path on the VM's host.
    pub kernel: PathBuf,
    /// The prize's path on the VM's host (never copied: only named).
    pub prize: Option<PathBuf>,
}

/// Builds the image unless `image` names one, copies it into `out_dir` as
/// `pinata-unikernel`, and resolves the paths the configuration will
/// name: absolute under `out_dir`, or under `dest_dir` when the files will
/// be moved to another host (the prize keeps its file name there).
pub fn stage(
    root: &Path,
    image: Option<&Path>,
    secret: Option<&Path>,
    out_dir: &Path,
    dest_dir: Option<&Path>,
) -> Result<Staged, String> {
    let image = match image {
        Some(image) => image.to_path_buf(),
        None => crate::image::build_image(root)?,
    };
    if let Some(secret) = secret
        && !secret.is_file()
    {
        return Err(format!("--secret-file {}: no such file", secret.display()));
    }
    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let out_dir =
        std::fs::canonicalize(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let copy = out_dir.join(crate::image::BINARY);
    if std::fs::canonicalize(&image).ok() != Some(copy.clone()) {
        std::fs::copy(&image, &copy)
            .map_err(|e| format!("copying {} to {}: {e}", image.display(), copy.display()))?;
    }
    let dest = dest_dir.map_or_else(|| out_dir.clone(), Path::to_path_buf);
    let prize = match (secret, dest_dir) {
        (Some(secret), Some(_)) => Some(
            dest.join(
                secret
                    .file_name()
                    .ok_or_else(|| format!("--secret-file {}: no file name", secret.display()))?,
            ),
        ),
        (Some(secret), None) => {
            Some(std::fs::canonicalize(secret).map_err(|e| format!("{}: {e}", secret.display()))?)
        }
        (None, _) => None,
    };
    Ok(Staged {
        kernel: dest.join(crate::image::BINARY),
        out_dir,
        copy,
        prize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_the_image_and_names_the_prize_without_copying_it() {
        let dir = std::env::temp_dir().join(format!("deploy-stage-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let image = dir.join("built.elf");
        std::fs::write(&image, b"\x7fELF...").unwrap();
        let secret = dir.join("prize.wif");
        std::fs::write(&secret, b"cXXX\n").unwrap();
        let out = dir.join("out");
        let nowhere = Path::new("/nonexistent");

        let here = stage(nowhere, Some(&image), Some(&secret), &out, None).unwrap();
        let out_abs = std::fs::canonicalize(&out).unwrap();
        assert_eq!(here.out_dir, out_abs);
        assert_eq!(here.kernel, out_abs.join("pinata-unikernel"));
        assert_eq!(here.prize, Some(std::fs::canonicalize(&secret).unwrap()));
        assert_eq!(std::fs::read(&here.copy).unwrap(), b"\x7fELF...");
        assert!(!out.join("prize.wif").exists(), "the prize is never copied");

        let remote = Path::new("/var/lib/pinata");
        let there = stage(nowhere, Some(&image), Some(&secret), &out, Some(remote)).unwrap();
        assert_eq!(there.kernel, remote.join("pinata-unikernel"));
        assert_eq!(there.prize, Some(remote.join("prize.wif")));

        let missing = dir.join("missing.wif");
        assert!(stage(nowhere, Some(&image), Some(&missing), &out, None).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
