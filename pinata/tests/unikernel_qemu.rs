//! The unikernel image under QEMU, driven by the same independent clients as
//! the hosted piñata (see tests/hosted.rs): `cargo xtask run` boots it with
//! user-mode networking and its services forwarded to free loopback ports.
//! KVM when usable, TCG otherwise (`cargo xtask run` decides).
//!
//! The guest has no filesystem, so the success paths that need the piñata's
//! own identities are exercised through the socat short-circuit, which needs
//! none.

mod common;

use std::net::TcpStream;
use std::process::Command;

use common::prometheus::{scrape_http, scrape_https};
use common::*;

/// P2WPKH (regtest) of the test vector "private key 1".
const REGTEST_ADDRESS_KEY1: &str = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";

#[test]
fn boots_with_a_module_secret_and_serves_the_page_and_refuses_strangers() {
    let mut p = Pinata::boot_vm(VmSecret::Module(TEST_WIF_KEY1), &[], &[]);
    // The boot timeline, with timestamps from the guest clock.
    let console = p.proc.out.lines().join("\n");
    for step in [
        "heap",
        "entropy",
        "net:",
        "pinata: listening service=server",
        "ms from PVH entry to listening",
    ] {
        assert!(
            console.contains(step),
            "no `{step}` in the boot log:\n{console}"
        );
    }
    let (status, page) = p.get("/");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(REGTEST_ADDRESS_KEY1), "{page}");
    let stats = p.stats();
    assert_eq!(stats["address"], REGTEST_ADDRESS_KEY1);
    assert_eq!(stats["network"], "regtest");
    assert_eq!(p.get("/ca.pem").0, 200);

    // No certificate, or a self-made one: no secret.
    let dir = p.tmp().to_path_buf();
    let leaf = other_pinata_identity(&dir, "client");
    let out = s_client(&p.addr("server"), &[]);
    assert!(!out.contains(&p.wif), "{out}");
    let line = p.wait_outcome("server", 1);
    assert!(line.contains("reason=no_certificate"), "{line}");
    let out = s_client(
        &p.addr("server"),
        &[
            "-cert",
            leaf.0.to_str().unwrap(),
            "-key",
            leaf.1.to_str().unwrap(),
        ],
    );
    assert!(!out.contains(&p.wif), "{out}");
    // Another piñata's CA has the same name as this one's: webpki finds
    // this CA by name, and the signature check refuses the impostor.
    let line = p.wait_outcome("server", 2);
    assert!(line.contains("reason=bad_signature"), "{line}");
    assert_eq!(p.counter("server", "secrets_sent"), 0);

    // The short-circuit: a real mutual handshake, the piñata with itself.
    run(
        Command::new("socat").args([
            format!("TCP:{}", p.addr("server")),
            format!("TCP:{}", p.addr("client")),
        ]),
        b"",
    );
    assert!(p.wait_outcome("server", 3).contains("outcome=secret_sent"));
    assert!(p.wait_outcome("client", 1).contains("outcome=secret_sent"));
    assert_eq!(p.counter("server", "secrets_sent"), 1);
    assert_eq!(p.counter("client", "secrets_sent"), 1);
}

#[test]
fn serves_prometheus_metrics_that_move_with_traffic() {
    let mut p = Pinata::boot_vm(VmSecret::Module(TEST_WIF_KEY1), &[], &[]);
    // Read by promtool and the Python client (see common/prometheus.rs).
    let before = scrape_http(&p.addr("http"));
    let no_certificate = [
        ("service", "server"),
        ("outcome", "failed"),
        ("reason", "no_certificate"),
    ];
    assert_eq!(
        before.value("pinata_handshakes_total", &no_certificate),
        0.0
    );
    // The guest's own heap, its high-water mark and its size.
    let heap = [("source", "heap")];
    let used = before.value("pinata_memory_used_bytes", &heap);
    let peak = before.value("pinata_memory_high_water_bytes", &heap);
    let capacity = before.value("pinata_memory_capacity_bytes", &heap);
    assert!(
        0.0 < used && used <= peak && peak <= capacity,
        "used {used}, peak {peak}, capacity {capacity}"
    );
    assert_eq!(
        before.value(
            "pinata_prize_info",
            &[("network", "regtest"), ("address", REGTEST_ADDRESS_KEY1)]
        ),
        1.0
    );

    // No certificate, then the short-circuit: rustls with rustls, which
    // agree on the hybrid post-quantum group in TLS 1.3.
    let out = s_client(&p.addr("server"), &[]);
    assert!(!out.contains(&p.wif), "{out}");
    assert!(
        p.wait_outcome("server", 1)
            .contains("reason=no_certificate")
    );
    run(
        Command::new("socat").args([
            format!("TCP:{}", p.addr("server")),
            format!("TCP:{}", p.addr("client")),
        ]),
        b"",
    );
    assert!(p.wait_outcome("server", 2).contains("outcome=secret_sent"));
    assert!(p.wait_outcome("client", 1).contains("outcome=secret_sent"));

    // Over HTTPS, checked against the CA the guest publishes.
    let (status, ca) = p.get("/ca.pem");
    assert_eq!(status, 200);
    let ca_file = p.tmp().join("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let after = scrape_https(p.port("https"), &ca_file);
    assert_eq!(after.value("pinata_handshakes_total", &no_certificate), 1.0);
    assert_eq!(
        after.value(
            "pinata_failures_total",
            &[("service", "server"), ("reason", "no_certificate")]
        ),
        1.0
    );
    for service in ["server", "client"] {
        let labels = [("service", service)];
        assert_eq!(after.value("pinata_secrets_sent_total", &labels), 1.0);
        assert_eq!(
            after.value(
                "pinata_handshakes_total",
                &[("service", service), ("outcome", "ok")]
            ),
            1.0
        );
        assert_eq!(
            after.value(
                "pinata_handshakes_by_group_total",
                &[("service", service), ("group", "X25519MLKEM768")]
            ),
            1.0
        );
        assert_eq!(
            after.value(
                "pinata_handshakes_by_version_total",
                &[("service", service), ("version", "TLSv1.3")]
            ),
            1.0
        );
    }
    assert_eq!(
        after.value("pinata_connections_total", &[("service", "server")]),
        2.0
    );
    assert!(after.value("pinata_memory_high_water_bytes", &heap) >= peak);
    assert!(
        after.value("pinata_uptime_seconds", &[]) >= before.value("pinata_uptime_seconds", &[])
    );
}

#[test]
fn connect_back_reaches_the_host_and_refuses_a_wrong_certificate() {
    let mut p = Pinata::boot_vm(VmSecret::Module(TEST_WIF_KEY1), &[], &[]);
    let dir = p.tmp().to_path_buf();
    let wrong = other_pinata_identity(&dir, "server");
    // The guest dials its gateway, which user-mode networking maps to the
    // host's 127.0.0.1.
    let server = s_server(p.connect_back_port, &wrong.0, &wrong.1, None);
    TcpStream::connect(p.addr("connect_back")).unwrap();
    let line = p.wait_outcome("connect_back", 1);
    assert!(
        line.contains("outcome=failed reason=bad_signature"),
        "{line}"
    );
    let out = server.finish(WAIT).unwrap();
    assert!(
        out.contains("alert"),
        "the handshake reached s_server: {out}"
    );
    assert!(!out.contains(&p.wif), "{out}");
    // Nobody listening now: a counted failure, and the guest carries on.
    TcpStream::connect(p.addr("connect_back")).unwrap();
    assert!(
        p.wait_outcome("connect_back", 2)
            .contains("reason=connect_failed")
    );
    assert_eq!(p.get("/").0, 200);
}

#[test]
fn bad_input_does_not_take_the_guest_down() {
    let mut p = Pinata::boot_vm(VmSecret::Module(TEST_WIF_KEY1), &[], &[]);
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    exchange(&p.addr("server"), &garbage);
    assert!(p.wait_outcome("server", 1).contains("outcome=failed"));
    let hello = client_hello(0x0301, 0x0303);
    exchange(&p.addr("server"), &hello[..hello.len() / 2]);
    assert!(p.wait_outcome("server", 2).contains("outcome=failed"));
    exchange(&p.addr("server"), b"GET / HTTP/1.1\r\n\r\n");
    assert!(p.wait_outcome("server", 3).contains("outcome=failed"));
    for hello in [client_hello(0x0300, 0x0300), client_hello(0x0301, 0x0301)] {
        let reply = exchange(&p.addr("server"), &hello);
        assert_eq!(
            reply.first(),
            Some(&0x15),
            "expected an alert: {reply:02x?}"
        );
    }
    let mut huge = b"GET /".to_vec();
    huge.resize(1 << 20, b'a');
    exchange(&p.addr("http"), &huge);
    assert!(p.wait_outcome("http", 1).contains("status=431"));
    exchange(&p.addr("https"), &garbage);
    assert!(p.wait_outcome("https", 1).contains("outcome=failed"));
    let (status, page) = p.get("/");
    assert_eq!(status, 200);
    assert!(page.contains(REGTEST_ADDRESS_KEY1));
    assert_eq!(p.counter("server", "secrets_sent"), 0);
}

#[test]
fn a_secret_on_the_command_line_is_used_and_never_echoed() {
    let p = Pinata::boot_vm(VmSecret::Cmdline(TEST_WIF_KEY1), &[], &[]);
    let (_, page) = p.get("/");
    assert!(page.contains(REGTEST_ADDRESS_KEY1), "{page}");
    let console = p.proc.out.lines().join("\n");
    assert!(
        !console.contains(TEST_WIF_KEY1),
        "the console shows the secret:\n{console}"
    );
}

#[test]
fn without_a_prize_the_page_says_so() {
    let p = Pinata::boot_vm(VmSecret::None, &[], &[]);
    let (status, page) = p.get("/");
    assert_eq!(status, 200);
    assert!(page.contains("No prize is loaded"), "{page}");
    assert_eq!(p.stats()["address"], serde_json::Value::Null);
}

#[test]
fn without_an_entropy_source_the_guest_refuses_to_make_keys() {
    // TCG with a CPU model lacking RDRAND/RDSEED, and no virtio-rng.
    let (p, line) = Pinata::boot_vm_until(
        VmSecret::Module(TEST_WIF_KEY1),
        &["--accel", "tcg", "--cpu", "qemu64", "--no-rng"],
        &[],
        "refusing to generate keys",
    );
    let proc = p.proc;
    let all = proc.out.wait_closed(WAIT).unwrap().join("\n");
    assert!(all.contains("refusing to generate keys"), "{line}\n{all}");
    assert!(!all.contains("pinata: ready"), "{all}");
}
