//! Key-exchange interop with independent TLS stacks, in both of the
//! piñata's roles: the hybrid post-quantum group X25519MLKEM768 with
//! rustls + aws-lc-rs (whose ML-KEM is aws-lc's, not ours), X25519 with
//! OpenSSL 3.0 (which has no ML-KEM), and the HelloRetryRequest paths.
//!
//! The aws-lc-rs peers are the benchmark's (`bench/`, its own workspace:
//! `loadgen` is the client, `refserver` the server); they are built once per
//! test process into `bench/target`, as `cargo xtask bench` builds them.
//! Each prints what every handshake agreed on (`group=… version=…
//! [hello_retry]`). The piñata runs hosted on loopback ports of its own.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use common::*;

/// The bench's client and server binaries.
struct Peers {
    loadgen: PathBuf,
    refserver: PathBuf,
}

/// Builds `bench/` once (release, locked, into `bench/target`).
fn peers() -> &'static Peers {
    static PEERS: OnceLock<Peers> = OnceLock::new();
    PEERS.get_or_init(|| {
        let bench = workspace_root().join("bench");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args(["build", "--release", "--locked", "--manifest-path"])
            .arg(bench.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(bench.join("target"))
            .arg("--message-format=json-render-diagnostics")
            .stderr(Stdio::inherit())
            .output()
            .expect("run cargo for bench/");
        assert!(out.status.success(), "building bench/ failed");
        let mut found = std::collections::HashMap::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if let (Some(name), Some(exe)) = (
                message["target"]["name"].as_str(),
                message["executable"].as_str(),
            ) {
                found.insert(name.to_string(), PathBuf::from(exe));
            }
        }
        Peers {
            loadgen: found.remove("loadgen").expect("loadgen built"),
            refserver: found.remove("refserver").expect("refserver built"),
        }
    })
}

/// A piñata with an Ed25519 bounty chain and its identities exported.
fn pinata() -> Pinata {
    Pinata::start_with(
        TEST_WIF_KEY1,
        &["--network", "regtest", "--bounty-key-type", "ed25519"],
        true,
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `loadgen` against the piñata's bounty server (`mode` "bounty", mutual
/// TLS) or page ("https"), two connections, the client offering `groups`.
fn loadgen(p: &Pinata, mode: &str, groups: Option<&str>) -> String {
    let service = if mode == "bounty" { "server" } else { "https" };
    let mut cmd = Command::new(&peers().loadgen);
    cmd.args(["--mode", mode, "--target", &p.addr(service)])
        .args(["--ca", path(&p.id("ca.pem"))])
        .args(["--tls", "13", "--max", "2", "--concurrency", "1"]);
    if mode == "bounty" {
        cmd.args(["--cert", path(&p.id("client-chain.pem"))])
            .args(["--key", path(&p.id("client.key"))]);
    }
    if let Some(groups) = groups {
        cmd.args(["--groups", groups]);
    }
    let out = run(&mut cmd, b"");
    assert!(out.contains("loadgen: completed 2 failed 0"), "{out}");
    out
}

#[test]
fn aws_lc_rs_clients_get_x25519mlkem768_from_the_pinata_servers() {
    let p = pinata();
    for mode in ["bounty", "https"] {
        // A client that lists the hybrid first (as browsers do) gets it.
        let out = loadgen(&p, mode, Some("x25519mlkem768,x25519"));
        assert!(
            out.contains("negotiated group=X25519MLKEM768 version=TLSv1_3 count 2"),
            "{mode}: {out}"
        );
        // Its first key share is for a group the piñata lacks: the piñata
        // asks again (HelloRetryRequest) for the hybrid, its first choice
        // among the client's groups.
        let out = loadgen(&p, mode, Some("secp384r1,x25519mlkem768"));
        assert!(
            out.contains("negotiated group=X25519MLKEM768 version=TLSv1_3 hello_retry count 2"),
            "{mode}: {out}"
        );
        // aws-lc-rs's defaults list X25519 first: the client's order decides.
        let out = loadgen(&p, mode, None);
        assert!(
            out.contains("negotiated group=X25519 version=TLSv1_3 count 2"),
            "{mode}: {out}"
        );
    }
}

/// Joins the piñata's bounty client role (port 10002) to a server at
/// `server` once, with `loadgen`'s relay.
fn relay_pinata_client_to(p: &Pinata, server: &str) {
    let out = run(
        Command::new(&peers().loadgen)
            .args(["--mode", "short", "--target", server])
            .args(["--target2", &p.addr("client")])
            .args(["--max", "1", "--concurrency", "1"]),
        b"",
    );
    assert!(out.contains("loadgen: completed 1 failed 0"), "{out}");
}

#[test]
fn the_pinata_client_gets_x25519mlkem768_from_an_aws_lc_rs_server() {
    let mut p = pinata();
    // The reference server plays the bounty server with the piñata's own
    // exported server identity, so the piñata's client accepts it.
    for (groups, expected) in [
        // aws-lc-rs supports the hybrid: the piñata's first choice wins.
        (None, "group=X25519MLKEM768 version=TLSv1_3"),
        // A server with P-256 only: HelloRetryRequest, then P-256.
        (
            Some("secp256r1"),
            "group=secp256r1 version=TLSv1_3 hello_retry",
        ),
    ] {
        let mut cmd = Command::new(&peers().refserver);
        cmd.args(["--mode", "server", "--listen", "127.0.0.1:0"])
            .args(["--cert", path(&p.id("server-chain.pem"))])
            .args(["--key", path(&p.id("server.key"))])
            .args(["--ca", path(&p.id("ca.pem"))]);
        if let Some(groups) = groups {
            cmd.args(["--groups", groups]);
        }
        let server = Process::spawn(&mut cmd).unwrap();
        let listening = server
            .out
            .wait_for("refserver listening", WAIT, |l| {
                l.starts_with("refserver: listening")
            })
            .unwrap();
        let addr = listening.rsplit(' ').next().unwrap().to_string();
        relay_pinata_client_to(&p, &addr);
        let outcome = server
            .out
            .wait_for("refserver outcome", WAIT, |l| l.contains("outcome="))
            .unwrap();
        assert_eq!(
            outcome,
            format!("refserver: outcome=secret_sent {expected}"),
            "{groups:?}"
        );
    }
    // Both times the piñata's client finished its handshake.
    for nth in 1..=2 {
        let line = p.wait_outcome("client", nth);
        assert!(line.contains("outcome=secret_sent"), "{line}");
    }
}

/// OpenSSL's version as (major, minor).
fn openssl_version() -> (u32, u32) {
    let out = run(&mut openssl(&["version"]), b"");
    let version = out.split_whitespace().nth(1).expect("openssl version");
    let mut parts = version.split('.').map(|n| n.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

#[test]
fn openssl_without_ml_kem_gets_x25519_in_both_roles() {
    let version = openssl_version();
    // OpenSSL gained ML-KEM in 3.5; this is about the versions before.
    if version >= (3, 5) {
        panic!("OpenSSL {version:?} has ML-KEM: this test wants OpenSSL 3.0–3.4");
    }
    let p = pinata();
    let ca = path(&p.id("ca.pem")).to_string();

    // The piñata as the server: the page and the bounty server.
    let out = s_client(&p.addr("https"), &["-CAfile", &ca]);
    assert!(out.contains("Server Temp Key: X25519"), "{out}");
    assert!(out.contains("Verify return code: 0 (ok)"), "{out}");
    let out = s_client(
        &p.addr("server"),
        &[
            "-CAfile",
            &ca,
            "-cert",
            path(&p.id("client.pem")),
            "-key",
            path(&p.id("client.key")),
        ],
    );
    assert!(out.contains("Server Temp Key: X25519"), "{out}");
    assert!(
        out.contains(&p.wif),
        "the bounty server sent its secret: {out}"
    );

    // The piñata as the client: it offers the hybrid first and its X25519
    // half as a second key share, so OpenSSL picks X25519 from the first
    // ClientHello, with no HelloRetryRequest. `-trace` shows the messages.
    let port = free_port().unwrap();
    let mut cmd = openssl(&[
        "s_server",
        "-accept",
        &format!("127.0.0.1:{port}"),
        "-naccept",
        "1",
        "-trace",
        "-Verify",
        "1",
    ]);
    cmd.args(["-cert", path(&p.id("server.pem"))])
        .args(["-key", path(&p.id("server.key"))])
        .args(["-CAfile", &ca]);
    let server = Process::spawn(&mut cmd).unwrap();
    server
        .out
        .wait_for("s_server ACCEPT", WAIT, |l| l.starts_with("ACCEPT"))
        .unwrap();
    relay_pinata_client_to(&p, &format!("127.0.0.1:{port}"));
    let trace = server.finish(WAIT).unwrap();
    assert!(
        !trace.contains("HelloRetryRequest"),
        "no HelloRetryRequest expected:\n{trace}"
    );
    // In the ServerHello, after the ClientHello: the X25519 key share.
    let server_hello = trace
        .split("ServerHello")
        .nth(1)
        .unwrap_or_else(|| panic!("no ServerHello in the trace:\n{trace}"));
    let key_share = server_hello
        .split("key_share")
        .nth(1)
        .unwrap_or_else(|| panic!("no key_share in the ServerHello:\n{trace}"));
    assert!(
        key_share
            .lines()
            .take(3)
            .any(|l| l.contains("NamedGroup: ecdh_x25519")),
        "{trace}"
    );
    // The ClientHello did offer the hybrid (0x11ec = 4588).
    assert!(trace.contains("NamedGroup: UNKNOWN (4588)"), "{trace}");
}
