//! Protocol abuse: old versions, Heartbeat, malformed and oversized
//! records, fragmented and interleaved handshakes, renegotiation, early data.

use std::io::Write;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use super::cases::{Ctx, Exchange, NO_GAP, sent};
use super::net::target_ip;
use super::records::{Hello, record, sslv2_hello};

pub(super) fn c_sslv2(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("server", &[sslv2_hello(0x0002)], NO_GAP, true),
        "SSLv2 CLIENT-HELLO",
    )
}
pub(super) fn c_sslv2_compat(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("https", &[sslv2_hello(0x0303)], NO_GAP, true),
        "SSLv2-format hello offering TLS 1.2",
    )
}
pub(super) fn old_hello(version: u16) -> Vec<u8> {
    Hello {
        legacy_version: version,
        versions: Vec::new(),
        suites: vec![0x002f, 0x0035, 0xc013, 0xc02b],
        key_share: false,
        extra: Vec::new(),
    }
    .record(version)
}
pub(super) fn c_sslv3(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("server", &[old_hello(0x0300)], NO_GAP, true),
        "SSLv3 ClientHello",
    )
}
pub(super) fn c_tls10(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("server", &[old_hello(0x0301)], NO_GAP, true),
        "TLS 1.0 ClientHello",
    )
}
pub(super) fn c_tls11(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("https", &[old_hello(0x0302)], NO_GAP, true),
        "TLS 1.1 ClientHello",
    )
}
/// A TLS 1.2-only hello without RFC 5746's indication (no
/// `renegotiation_info`, no SCSV): refused as the original piñata did.
pub(super) fn c_no_renegotiation_info(ctx: &Ctx) -> Exchange {
    let mut hello = Hello::tls12();
    hello.extra.retain(|(kind, _)| *kind != 0xff01);
    sent(
        ctx.raw("server", &[hello.record(0x0301)], NO_GAP, true),
        "TLS 1.2 ClientHello without renegotiation_info or its SCSV",
    )
}
/// Heartbeat request claiming 16 KiB of payload with 1 byte present.
pub(super) fn heartbeat() -> Vec<u8> {
    record(24, 0x0303, &[1, 0x40, 0x00, 0x41])
}
pub(super) fn c_heartbeat_first(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("server", &[heartbeat()], NO_GAP, true),
        "Heartbeat request (claims 16 KiB) before any hello",
    )
}
pub(super) fn c_heartbeat_after_hello(ctx: &Ctx) -> Exchange {
    let mut hello = Hello::tls12();
    hello.extra.push((15, vec![1])); // heartbeat extension, peer_allowed_to_send
    sent(
        ctx.raw(
            "server",
            &[hello.record(0x0301), heartbeat()],
            Duration::from_millis(200),
            true,
        ),
        "TLS 1.2 hello with heartbeat ext, then Heartbeat request",
    )
}
pub(super) fn c_unknown_record_version(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("server", &[Hello::modern().record(0x7f7f)], NO_GAP, true),
        "ClientHello in a record of version 0x7f7f",
    )
}
pub(super) fn c_unknown_content_type(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("server", &[record(99, 0x0303, b"hello?")], NO_GAP, true),
        "record of content type 99",
    )
}
pub(super) fn c_unknown_type_after_hello(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw(
            "https",
            &[Hello::modern().record(0x0301), record(0, 0x0303, &[0; 8])],
            Duration::from_millis(200),
            true,
        ),
        "hello, then a record of content type 0",
    )
}
pub(super) fn c_oversized_record(ctx: &Ctx) -> Exchange {
    // 2^14 + 256 + 1: over even the ciphertext limit.
    let payload = vec![0x16; (1 << 14) + 257];
    sent(
        ctx.raw("server", &[record(0x16, 0x0303, &payload)], NO_GAP, true),
        "handshake record of 16,641 B",
    )
}
pub(super) fn c_max_length_record(ctx: &Ctx) -> Exchange {
    let payload = vec![0x17; 0xffff];
    sent(
        ctx.raw("https", &[record(0x17, 0x0303, &payload)], NO_GAP, true),
        "application-data record of 65,535 B",
    )
}
pub(super) fn c_huge_handshake_length(ctx: &Ctx) -> Exchange {
    // A ClientHello header claiming 16 MiB, in valid records.
    let mut chunks = vec![record(0x16, 0x0301, &[1, 0xff, 0xff, 0xff])];
    for _ in 0..8 {
        chunks.push(record(0x16, 0x0303, &[0; 16384]));
    }
    sent(
        ctx.raw("server", &chunks, NO_GAP, true),
        "ClientHello claiming 16 MiB, then 128 KiB of it",
    )
}
pub(super) fn c_fragmented_hello(ctx: &Ctx) -> Exchange {
    let records: Vec<u8> = Hello::modern()
        .message()
        .iter()
        .flat_map(|b| record(0x16, 0x0301, &[*b]))
        .collect();
    sent(
        ctx.raw("server", &[records], NO_GAP, true),
        "ClientHello in 1-byte records",
    )
}
pub(super) fn c_interleaved_hello(ctx: &Ctx) -> Exchange {
    let message = Hello::modern().message();
    let (a, b) = message.split_at(20);
    let chunks = vec![
        record(0x16, 0x0301, a),
        record(0x17, 0x0303, b"interleaved"),
        record(0x15, 0x0303, &[1, 0]),
        record(0x16, 0x0301, b),
    ];
    sent(
        ctx.raw("server", &chunks, NO_GAP, true),
        "hello fragment, app data, alert, rest of hello",
    )
}
pub(super) fn c_two_hellos(ctx: &Ctx) -> Exchange {
    let hello = Hello::tls12().record(0x0301);
    sent(
        ctx.raw(
            "server",
            &[hello.clone(), hello],
            Duration::from_millis(300),
            true,
        ),
        "TLS 1.2 ClientHello, then a second one (renegotiation on the raw stream)",
    )
}
pub(super) fn c_two_hellos_13(ctx: &Ctx) -> Exchange {
    let hello = Hello::modern().record(0x0301);
    sent(
        ctx.raw(
            "https",
            &[hello.clone(), hello],
            Duration::from_millis(300),
            true,
        ),
        "TLS 1.3 ClientHello twice",
    )
}
pub(super) fn c_early_data(ctx: &Ctx) -> Exchange {
    let mut hello = Hello::modern();
    // early_data, and a PSK binder-less psk_key_exchange_modes.
    hello.extra.push((45, vec![1, 1]));
    hello.extra.push((42, Vec::new()));
    let early = record(0x17, 0x0303, &[0xee; 64]);
    sent(
        ctx.raw(
            "server",
            &[hello.record(0x0301), early.clone(), early],
            NO_GAP,
            true,
        ),
        "TLS 1.3 hello with early_data, then 0-RTT records",
    )
}
pub(super) fn c_ccs_first(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("server", &[record(0x14, 0x0303, &[1])], NO_GAP, true),
        "ChangeCipherSpec before the hello",
    )
}
pub(super) fn c_ccs_bad(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw(
            "server",
            &[
                Hello::modern().record(0x0301),
                record(0x14, 0x0303, &[2, 2]),
            ],
            Duration::from_millis(200),
            true,
        ),
        "hello, then a malformed ChangeCipherSpec",
    )
}
pub(super) fn c_ccs_many(ctx: &Ctx) -> Exchange {
    let ccs: Vec<u8> = (0..64).flat_map(|_| record(0x14, 0x0303, &[1])).collect();
    sent(
        ctx.raw(
            "server",
            &[Hello::modern().record(0x0301), ccs],
            Duration::from_millis(200),
            true,
        ),
        "hello, then 64 ChangeCipherSpec",
    )
}
pub(super) fn c_ccs_tls12(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw(
            "server",
            &[
                Hello::tls12().record(0x0301),
                record(0x14, 0x0303, &[1]),
                record(
                    0x16,
                    0x0303,
                    &[20, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                ),
            ],
            Duration::from_millis(200),
            true,
        ),
        "TLS 1.2 hello, CCS and Finished without a key exchange",
    )
}
pub(super) fn c_alert_mid_handshake(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw(
            "server",
            &[
                Hello::modern().record(0x0301),
                record(0x15, 0x0303, &[2, 40]),
            ],
            Duration::from_millis(200),
            true,
        ),
        "hello, then fatal handshake_failure alert",
    )
}
pub(super) fn c_warning_alerts(ctx: &Ctx) -> Exchange {
    let alerts: Vec<u8> = (0..32)
        .flat_map(|_| record(0x15, 0x0303, &[1, 90]))
        .collect();
    sent(
        ctx.raw("server", &[alerts], NO_GAP, true),
        "32 warning alerts before the hello",
    )
}
pub(super) fn c_zero_length(ctx: &Ctx) -> Exchange {
    let empty: Vec<u8> = (0..5000).flat_map(|_| record(0x16, 0x0303, &[])).collect();
    sent(
        ctx.raw("server", &[empty], NO_GAP, true),
        "5,000 empty handshake records",
    )
}
pub(super) fn c_zero_length_appdata(ctx: &Ctx) -> Exchange {
    let empty: Vec<u8> = (0..5000).flat_map(|_| record(0x17, 0x0303, &[])).collect();
    sent(
        ctx.raw(
            "https",
            &[Hello::modern().record(0x0301), empty],
            Duration::from_millis(200),
            true,
        ),
        "hello, then 5,000 empty application-data records",
    )
}
pub(super) fn c_client_port_garbage_server(ctx: &Ctx) -> Exchange {
    // On 10002 the piñata is the TLS client: answer its hello with a
    // ServerHello for SSLv3.
    let server_hello = {
        let mut body = 0x0300u16.to_be_bytes().to_vec();
        body.extend_from_slice(&[0x11; 32]);
        body.push(0);
        body.extend_from_slice(&[0x00, 0x2f, 0]);
        let mut msg = vec![2, 0, 0, body.len() as u8];
        msg.extend_from_slice(&body);
        record(0x16, 0x0300, &msg)
    };
    sent(
        ctx.raw(
            "client",
            &[server_hello, heartbeat()],
            Duration::from_millis(200),
            true,
        ),
        "as the server: an SSLv3 ServerHello and a Heartbeat",
    )
}

/// A real TLS 1.2 handshake on 443, then `R` (renegotiate) in s_client.
pub(super) fn c_renegotiation(ctx: &Ctx) -> Exchange {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-tls1_2", "-connect"])
        .arg(format!("{}:{}", target_ip(), ctx.port("https")))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let Ok(mut child) = cmd.spawn() else {
        return Exchange {
            sent: "openssl s_client -tls1_2, R".into(),
            reply: "skipped: no openssl".into(),
            ..Default::default()
        };
    };
    let mut stdin = child.stdin.take();
    thread::sleep(Duration::from_millis(1500));
    if let Some(stdin) = stdin.as_mut() {
        let _ = stdin.write_all(b"R\n");
    }
    thread::sleep(Duration::from_millis(1500));
    if let Some(stdin) = stdin.as_mut() {
        let _ = stdin.write_all(b"GET / HTTP/1.0\r\n\r\n");
    }
    thread::sleep(Duration::from_millis(1000));
    let _ = child.kill();
    drop(stdin);
    let out = child.wait_with_output().ok();
    let text = out
        .map(|o| {
            let mut v = o.stdout;
            v.extend_from_slice(&o.stderr);
            v
        })
        .unwrap_or_default();
    let s = String::from_utf8_lossy(&text);
    let handshake = if s.contains("Protocol: TLSv1.2") || s.contains("Protocol  : TLSv1.2") {
        "TLS 1.2 handshake done"
    } else {
        "no TLS 1.2 handshake"
    };
    let reneg = s
        .lines()
        .find(|l| l.contains("alert") || l.contains("RENEGOTIATING") || l.contains("renegotiation"))
        .unwrap_or("-")
        .trim()
        .to_string();
    let reneg = reneg.rsplit(':').next().unwrap_or(&reneg).to_string();
    Exchange {
        sent: "openssl s_client -tls1_2, then R (renegotiate), then GET".into(),
        reply: format!("{handshake}; {reneg}"),
        seen: text,
        settle: Duration::from_millis(300),
        details: Vec::new(),
        problems: Vec::new(),
    }
}
