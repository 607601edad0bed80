//! `cargo xtask xl-config`: an `xl` domain configuration for running the
//! piñata as a Xen PVH guest.
//!
//! It builds the image (or takes `--image`), copies it next to the config
//! as `pinata-unikernel`, and writes `pinata.xl` there — in
//! `target/xl-config/` unless `--out` names another directory:
//!
//! ```text
//! name = "pinata"
//! type = "pvh"                       # the image's Xen PVH entry note
//! kernel = "<dir>/pinata-unikernel"
//! ramdisk = "<dir>/prize.wif"        # the prize as a boot module (--secret-file)
//! memory = 64
//! vcpus = 1
//! vif = [ 'bridge=xenbr0' ]          # netfront; DHCP unless `extra` has ip=
//! on_poweroff = "destroy"
//! on_reboot = "restart"
//! on_crash = "restart"               # a panic once serving: a fresh domain, a new CA
//! extra = "…"                        # the kernel command line (--append)
//! ```
//!
//! Paths in the file are absolute: the output directory's, or
//! `--dest-dir`'s when the files will be copied to a Xen host elsewhere.
//! The prize file is never copied: it is only named.

use std::path::{Path, PathBuf};

/// Settings of one configuration: `cargo xtask xl-config`'s flags.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(
    after_help = "Prints the path of pinata.xl. Then, on the Xen host: xl create -c pinata.xl"
)]
pub struct XlOptions {
    /// The domain's name
    #[arg(long, default_value = "pinata", value_parser = domain_name)]
    pub name: String,
    /// The prize WIF, named as the boot module (ramdisk=); not copied
    #[arg(long, value_name = "F")]
    pub secret_file: Option<PathBuf>,
    /// The dom0 bridge the vif joins
    #[arg(long, default_value = "xenbr0", value_parser = crate::cli::interface_name)]
    pub bridge: String,
    /// Guest RAM in MiB (at least 16)
    #[arg(long = "memory", value_name = "MiB", default_value = "64", value_parser = crate::cli::guest_memory_mib)]
    pub memory_mib: u32,
    /// Kernel command line (extra=), e.g. "network=regtest ip=192.0.2.10/24 gw=192.0.2.1"; repeatable
    #[arg(long, value_name = "TEXT")]
    pub append: Vec<String>,
    /// Use this ELF instead of building the image
    #[arg(long, value_name = "PATH")]
    pub image: Option<PathBuf>,
    /// Where to write pinata.xl and the image copy [default: target/xl-config/]
    #[arg(long = "out", value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Where the files will be on the Xen host [default: --out, absolute]
    #[arg(long, value_name = "DIR")]
    pub dest_dir: Option<PathBuf>,
}

impl Default for XlOptions {
    fn default() -> Self {
        XlOptions {
            name: "pinata".into(),
            secret_file: None,
            bridge: "xenbr0".into(),
            memory_mib: 64,
            append: Vec::new(),
            image: None,
            out_dir: None,
            dest_dir: None,
        }
    }
}

/// A name xl's config can quote: not empty, no quotes, backslashes or
/// newlines.
fn domain_name(name: &str) -> Result<String, String> {
    if name.is_empty() || name.contains(['"', '\'', '\n', '\\']) {
        return Err(format!("`{name}` is not a usable domain name"));
    }
    Ok(name.to_string())
}

/// A string as an xl config literal (double-quoted, escaped).
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The configuration text; `kernel` and `ramdisk` are the paths as the
/// Xen host will see them.
pub fn render(options: &XlOptions, kernel: &Path, ramdisk: Option<&Path>) -> String {
    let mut text = String::new();
    text.push_str(
        "# The piñata unikernel as a Xen PVH guest (written by `cargo xtask xl-config`).\n",
    );
    text.push_str(
        "# Start it with its console attached: xl create -c pinata.xl  (Ctrl-] detaches)\n",
    );
    text.push_str(&format!("name = {}\n", quoted(&options.name)));
    text.push_str("type = \"pvh\"\n");
    text.push_str(&format!("kernel = {}\n", quoted(&kernel.to_string_lossy())));
    match ramdisk {
        Some(path) => {
            text.push_str("# The prize (a WIF): read at boot, wiped from memory, never printed.\n");
            text.push_str(&format!("ramdisk = {}\n", quoted(&path.to_string_lossy())));
        }
        None => text.push_str("# No prize: add ramdisk = \"/path/to/prize.wif\" to load one.\n"),
    }
    text.push_str(&format!("memory = {}\n", options.memory_mib));
    text.push_str("vcpus = 1\n");
    text.push_str(&format!(
        "vif = [ {} ]\n",
        quoted(&format!("bridge={}", options.bridge)).replace('"', "'")
    ));
    text.push_str("on_poweroff = \"destroy\"\n");
    text.push_str("on_reboot = \"restart\"\n");
    text.push_str("on_crash = \"restart\"\n");
    if !options.append.is_empty() {
        text.push_str("# Kernel command line (docs/UNIKERNEL.md).\n");
        text.push_str(&format!("extra = {}\n", quoted(&options.append.join(" "))));
    }
    text
}

/// `cargo xtask xl-config`.
pub fn run(options: XlOptions, root: &Path) -> Result<(), String> {
    let image = match &options.image {
        Some(image) => image.clone(),
        None => crate::image::build_image(root)?,
    };
    if let Some(secret) = &options.secret_file
        && !secret.is_file()
    {
        return Err(format!("--secret-file {}: no such file", secret.display()));
    }
    let out_dir = options
        .out_dir
        .clone()
        .unwrap_or_else(|| crate::image::target_dir(root).join("xl-config"));
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let out_dir =
        std::fs::canonicalize(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let copy = out_dir.join(crate::image::BINARY);
    if std::fs::canonicalize(&image).ok() != Some(copy.clone()) {
        std::fs::copy(&image, &copy)
            .map_err(|e| format!("copying {} to {}: {e}", image.display(), copy.display()))?;
    }
    let dest = options.dest_dir.clone().unwrap_or_else(|| out_dir.clone());
    let kernel = dest.join(crate::image::BINARY);
    let ramdisk = match &options.secret_file {
        Some(secret) if options.dest_dir.is_some() => {
            let name = secret
                .file_name()
                .ok_or_else(|| format!("--secret-file {}: no file name", secret.display()))?;
            Some(dest.join(name))
        }
        Some(secret) => {
            Some(std::fs::canonicalize(secret).map_err(|e| format!("{}: {e}", secret.display()))?)
        }
        None => None,
    };
    let config = out_dir.join("pinata.xl");
    std::fs::write(&config, render(&options, &kernel, ramdisk.as_deref()))
        .map_err(|e| format!("{}: {e}", config.display()))?;
    eprintln!(
        "xtask: wrote {} and {}; on the Xen host: xl create -c pinata.xl",
        config.display(),
        copy.display()
    );
    println!("{}", config.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &[&str]) -> Result<XlOptions, String> {
        crate::cli::parse_flags(list)
    }

    #[test]
    fn defaults_and_flags() {
        assert_eq!(parse(&[]).unwrap(), XlOptions::default());
        let o = parse(&[
            "--secret-file",
            "prize.wif",
            "--bridge",
            "br-dmz",
            "--memory",
            "128",
            "--append",
            "network=regtest",
            "--append",
            "ip=192.0.2.10/24",
            "--name",
            "pinata-2",
        ])
        .unwrap();
        assert_eq!(o.secret_file, Some(PathBuf::from("prize.wif")));
        assert_eq!(o.bridge, "br-dmz");
        assert_eq!(o.memory_mib, 128);
        assert_eq!(o.append, ["network=regtest", "ip=192.0.2.10/24"]);
        assert_eq!(o.name, "pinata-2");
        for bad in [
            &["--memory", "8"][..],
            &["--memory", "lots"],
            &["--bridge", "x'y"],
            &["--name", "a\"b"],
            &["--frobnicate"],
            &["--bridge"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn renders_a_pvh_config_with_every_key() {
        let o = XlOptions {
            append: vec![
                "network=regtest".into(),
                "ip=192.0.2.10/24 gw=192.0.2.1".into(),
            ],
            ..XlOptions::default()
        };
        let text = render(
            &o,
            Path::new("/srv/pinata/pinata-unikernel"),
            Some(Path::new("/srv/pinata/prize.wif")),
        );
        for line in [
            "name = \"pinata\"\n",
            "type = \"pvh\"\n",
            "kernel = \"/srv/pinata/pinata-unikernel\"\n",
            "ramdisk = \"/srv/pinata/prize.wif\"\n",
            "memory = 64\n",
            "vcpus = 1\n",
            "vif = [ 'bridge=xenbr0' ]\n",
            "on_crash = \"restart\"\n",
            "on_poweroff = \"destroy\"\n",
            "extra = \"network=regtest ip=192.0.2.10/24 gw=192.0.2.1\"\n",
        ] {
            assert!(text.contains(line), "no {line:?} in\n{text}");
        }
        let bare = render(&XlOptions::default(), Path::new("/k"), None);
        assert!(!bare.contains("\nramdisk"), "{bare}");
        assert!(!bare.contains("\nextra"), "{bare}");
        assert_eq!(quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }

    #[test]
    fn writes_the_config_and_copies_the_image() {
        let dir = std::env::temp_dir().join(format!("xl-config-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let image = dir.join("built.elf");
        std::fs::write(&image, b"\x7fELF...").unwrap();
        let secret = dir.join("prize.wif");
        std::fs::write(&secret, b"cXXX\n").unwrap();
        let out = dir.join("out");
        let options = XlOptions {
            image: Some(image.clone()),
            secret_file: Some(secret.clone()),
            out_dir: Some(out.clone()),
            ..XlOptions::default()
        };
        run(options.clone(), Path::new("/nonexistent")).unwrap();
        let text = std::fs::read_to_string(out.join("pinata.xl")).unwrap();
        let out_abs = std::fs::canonicalize(&out).unwrap();
        assert!(
            text.contains(&format!(
                "kernel = \"{}/pinata-unikernel\"",
                out_abs.display()
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "ramdisk = \"{}\"",
                std::fs::canonicalize(&secret).unwrap().display()
            )),
            "{text}"
        );
        assert_eq!(
            std::fs::read(out.join("pinata-unikernel")).unwrap(),
            b"\x7fELF..."
        );
        assert!(!out.join("prize.wif").exists(), "the prize is never copied");
        // For another host: paths under --dest-dir.
        let remote = XlOptions {
            dest_dir: Some(PathBuf::from("/var/lib/pinata")),
            ..options
        };
        run(remote, Path::new("/nonexistent")).unwrap();
        let text = std::fs::read_to_string(out.join("pinata.xl")).unwrap();
        assert!(
            text.contains("kernel = \"/var/lib/pinata/pinata-unikernel\""),
            "{text}"
        );
        assert!(
            text.contains("ramdisk = \"/var/lib/pinata/prize.wif\""),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn writes_under_the_target_directory_by_default() {
        let root = std::env::temp_dir().join(format!("xl-config-root-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let image = root.join("built.elf");
        std::fs::write(&image, b"\x7fELF...").unwrap();
        let options = XlOptions {
            image: Some(image),
            ..XlOptions::default()
        };
        run(options, &root).unwrap();
        let dir = crate::image::target_dir(&root).join("xl-config");
        assert!(dir.join("pinata.xl").is_file(), "{}", dir.display());
        assert!(dir.join("pinata-unikernel").is_file());
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&root);
    }
}
