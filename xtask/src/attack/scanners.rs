//! `--full`: the external TLS scanners.

use std::process::Command;

use super::target::Target;
use super::*;

/// `--full`: the external scanners that are installed.
pub(super) fn scanners(target: &Target) {
    let https = format!("127.0.0.1:{}", target.port("https"));
    let server = format!("127.0.0.1:{}", target.port("server"));
    let runs: Vec<(&str, Vec<String>)> = vec![
        (
            "testssl.sh",
            vec![
                "--quiet".into(),
                "--color".into(),
                "0".into(),
                https.clone(),
            ],
        ),
        (
            "testssl.sh",
            vec![
                "--quiet".into(),
                "--color".into(),
                "0".into(),
                server.clone(),
            ],
        ),
        ("sslscan", vec![https.clone()]),
        ("sslscan", vec![server.clone()]),
        (
            "nmap",
            vec![
                "-Pn".into(),
                "-p".into(),
                format!("{},{}", target.port("https"), target.port("server")),
                "--script".into(),
                "ssl-enum-ciphers".into(),
                "127.0.0.1".into(),
            ],
        ),
    ];
    for (tool, args) in runs {
        let status = Command::new(tool).args(&args).status();
        match status {
            Ok(s) => println!("xtask attack: {tool} {} → {s}", args.join(" ")),
            Err(_) => println!("xtask attack: {tool} not installed, skipped"),
        }
        match probe_page(target.kind, target.port("http")) {
            Ok(t) => println!("xtask attack: page after {tool}: {} ms", t.as_millis()),
            Err(e) => println!("xtask attack: page after {tool}: {e}"),
        }
    }
}
