//! Transport abuse: garbage, slowloris, resets, half-open connections.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::thread;
use std::time::Duration;

use super::cases::{Ctx, Exchange, NO_GAP, sent};
use super::net::{connect_from, read_until_close, reset};
use super::records::{Hello, describe};

pub(super) fn garbage(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}
pub(super) fn c_garbage_server(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("server", &[garbage(4096, 7)], NO_GAP, true),
        "4 KiB of random bytes",
    )
}
pub(super) fn c_garbage_https(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("https", &[garbage(4096, 8)], NO_GAP, true),
        "4 KiB of random bytes",
    )
}
pub(super) fn c_garbage_client(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("client", &[garbage(4096, 9)], NO_GAP, true),
        "4 KiB of random bytes",
    )
}
pub(super) fn c_give_me_the_key(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("server", &[b"give me the key\r\n".to_vec()], NO_GAP, true),
        "plain text \"give me the key\"",
    )
}
pub(super) fn c_http_to_tls(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw(
            "server",
            &[b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()],
            NO_GAP,
            true,
        ),
        "an HTTP request",
    )
}
pub(super) fn c_slowloris_tls(ctx: &Ctx) -> Exchange {
    let hello = Hello::modern().record(0x0301);
    let chunks: Vec<Vec<u8>> = hello.iter().take(5).map(|b| vec![*b]).collect();
    sent(
        ctx.raw("server", &chunks, Duration::from_secs(1), true),
        "a ClientHello, one byte a second for 5 s",
    )
}
pub(super) fn c_slowloris_http(ctx: &Ctx) -> Exchange {
    let chunks: Vec<Vec<u8>> = b"GET / ".iter().map(|b| vec![*b]).collect();
    sent(
        ctx.raw("http", &chunks, Duration::from_secs(1), true),
        "GET, one byte a second for 6 s",
    )
}
pub(super) fn c_slowloris_many(ctx: &Ctx) -> Exchange {
    // 30 connections on every TLS port, a byte a second each, 4 s.
    let mut streams = Vec::new();
    for service in ["server", "https", "http"] {
        for _ in 0..10 {
            if let Ok(s) = connect_from(None, ctx.port(service), Duration::from_secs(2)) {
                streams.push(s);
            }
        }
    }
    let hello = Hello::modern().record(0x0301);
    for i in 0..4 {
        for s in &mut streams {
            let _ = s.write_all(&hello[i..i + 1]);
        }
        thread::sleep(Duration::from_secs(1));
    }
    let n = streams.len();
    let mut seen = Vec::new();
    for mut s in streams {
        let _ = s.shutdown(Shutdown::Write);
        let (bytes, _) = read_until_close(&mut s, Duration::from_secs(2));
        seen.extend(bytes);
    }
    Exchange {
        sent: format!("{n} connections, one byte a second each for 4 s"),
        reply: format!("{} B in all; closed", seen.len()),
        seen,
        settle: Duration::from_millis(300),
        details: Vec::new(),
        problems: Vec::new(),
    }
}
pub(super) fn c_half_open(ctx: &Ctx) -> Exchange {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for service in ["http", "https", "server", "client"] {
        match connect_from(None, ctx.port(service), Duration::from_secs(2)) {
            Ok(mut s) => {
                let _ = s.shutdown(Shutdown::Write);
                let (bytes, end) = read_until_close(&mut s, Duration::from_secs(3));
                out.push(format!("{service}: {} B, {end}", bytes.len()));
                seen.extend(bytes);
            }
            Err(e) => out.push(format!("{service}: {e}")),
        }
    }
    Exchange {
        sent: "connect, send nothing, FIN (http, https, server, client)".into(),
        reply: out.join("; "),
        seen,
        settle: Duration::ZERO,
        details: Vec::new(),
        problems: Vec::new(),
    }
}
pub(super) fn c_reset_mid_handshake(ctx: &Ctx) -> Exchange {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for service in ["server", "https", "client"] {
        match connect_from(None, ctx.port(service), Duration::from_secs(2)) {
            Ok(mut s) => {
                if service != "client" {
                    let _ = s.write_all(&Hello::modern().record(0x0301));
                }
                let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
                let mut buf = [0u8; 64];
                let n = s.read(&mut buf).unwrap_or(0);
                seen.extend_from_slice(&buf[..n]);
                out.push(format!("{service}: {}", describe(&buf[..n], "reset")));
                reset(s);
            }
            Err(e) => out.push(format!("{service}: {e}")),
        }
    }
    Exchange {
        sent: "hello, read the first answer, RST (SO_LINGER 0)".into(),
        reply: out.join("; "),
        seen,
        settle: Duration::from_millis(300),
        details: Vec::new(),
        problems: Vec::new(),
    }
}
pub(super) fn c_reset_at_once(ctx: &Ctx) -> Exchange {
    let mut n = 0;
    for _ in 0..100 {
        for service in ["http", "https", "server", "client"] {
            if let Ok(s) = connect_from(None, ctx.port(service), Duration::from_secs(1)) {
                reset(s);
                n += 1;
            }
        }
    }
    Exchange {
        sent: "400 connections reset right after connecting".into(),
        reply: format!("{n} connected and reset"),
        seen: Vec::new(),
        settle: Duration::from_millis(500),
        details: Vec::new(),
        problems: Vec::new(),
    }
}
