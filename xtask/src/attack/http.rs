//! HTTP abuse on the page's ports: big headers, long lines, bad methods,
//! pipelining and request smuggling.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use super::cases::{Ctx, Exchange, NO_GAP, sent};
use super::certs::{AnyServer, provider, short_error};
use super::net::connect_from;
use super::records::describe;
use rustls::pki_types::ServerName;

pub(super) fn http(ctx: &Ctx, request: &[u8], what: &str) -> Exchange {
    sent(ctx.raw("http", &[request.to_vec()], NO_GAP, false), what)
}
pub(super) fn c_http_big_headers(ctx: &Ctx) -> Exchange {
    let mut req = b"GET / HTTP/1.1\r\nHost: p\r\n".to_vec();
    for i in 0..1000 {
        req.extend_from_slice(format!("X-Pad-{i}: {}\r\n", "a".repeat(60)).as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    http(ctx, &req, "GET with 70 KB of headers")
}
pub(super) fn c_http_long_line(ctx: &Ctx) -> Exchange {
    let mut req = b"GET /".to_vec();
    req.extend(std::iter::repeat_n(b'a', 100_000));
    req.extend_from_slice(b" HTTP/1.1\r\n\r\n");
    http(ctx, &req, "a 100 KB request line")
}
pub(super) fn c_http_methods(ctx: &Ctx) -> Exchange {
    let mut replies = Vec::new();
    let mut seen = Vec::new();
    for req in [
        &b"FOO / HTTP/1.1\r\nHost: p\r\n\r\n"[..],
        b"G\x00T / HTTP/1.1\r\n\r\n",
        b"DELETE /stats.json HTTP/1.1\r\n\r\n",
        b"CONNECT 127.0.0.1:10000 HTTP/1.1\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
    ] {
        let x = ctx.raw("http", &[req.to_vec()], NO_GAP, false);
        replies.push(x.reply.split(" (").next().unwrap_or("").to_string());
        seen.extend(x.seen);
    }
    Exchange {
        sent: "FOO, G\\0T, DELETE, CONNECT, HTTP/0.9, HTTP/9.9".into(),
        reply: replies.join(" | "),
        seen,
        settle: Duration::ZERO,
        details: Vec::new(),
        problems: Vec::new(),
    }
}
pub(super) fn c_http_pipelining(ctx: &Ctx) -> Exchange {
    http(
        ctx,
        b"GET / HTTP/1.1\r\nHost: p\r\n\r\nGET /stats.json HTTP/1.1\r\nHost: p\r\n\r\nGET /ca.pem HTTP/1.1\r\nHost: p\r\n\r\n",
        "three pipelined GETs",
    )
}
pub(super) fn c_http_cl_te(ctx: &Ctx) -> Exchange {
    http(
        ctx,
        b"POST / HTTP/1.1\r\nHost: p\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /stats.json HTTP/1.1\r\nHost: p\r\n\r\n",
        "smuggling: Content-Length + Transfer-Encoding",
    )
}
pub(super) fn c_http_double_cl(ctx: &Ctx) -> Exchange {
    http(
        ctx,
        b"GET / HTTP/1.1\r\nHost: p\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\nGET /ca.pem HTTP/1.1\r\nHost: p\r\n\r\n",
        "smuggling: two Content-Length",
    )
}
pub(super) fn c_http_obs_fold(ctx: &Ctx) -> Exchange {
    http(
        ctx,
        b"GET / HTTP/1.1\r\nHost: p\r\nX-Folded: a\r\n Transfer-Encoding: chunked\r\n\r\n",
        "smuggling: obs-fold header continuation",
    )
}
pub(super) fn c_http_bare_lf(ctx: &Ctx) -> Exchange {
    http(ctx, b"GET / HTTP/1.1\nHost: p\n\n", "bare LF line ends")
}
pub(super) fn c_https_smuggling(ctx: &Ctx) -> Exchange {
    // Over TLS too: a real handshake on 443, then two requests.
    let config = match rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
    {
        Ok(b) => b
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServer))
            .with_no_client_auth(),
        Err(e) => {
            return Exchange {
                reply: e.to_string(),
                ..Default::default()
            };
        }
    };
    let name = ServerName::try_from("localhost").expect("name");
    let Ok(mut conn) = rustls::ClientConnection::new(Arc::new(config), name) else {
        return Exchange {
            reply: "client".into(),
            ..Default::default()
        };
    };
    let mut sock = match connect_from(None, ctx.port("https"), Duration::from_secs(3)) {
        Ok(s) => s,
        Err(e) => {
            return Exchange {
                reply: format!("connect failed: {e}"),
                ..Default::default()
            };
        }
    };
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    let _ = tls.write_all(b"GET / HTTP/1.1\r\nHost: p\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /ca.pem HTTP/1.1\r\nHost: p\r\n\r\n");
    let mut plaintext = Vec::new();
    let end = match tls.read_to_end(&mut plaintext) {
        Ok(_) => "closed".to_string(),
        Err(e) => short_error(&e.to_string()),
    };
    Exchange {
        sent: "HTTPS: CL+TE and a second request".into(),
        reply: describe(&plaintext, &end),
        seen: plaintext,
        settle: Duration::ZERO,
        details: Vec::new(),
        problems: Vec::new(),
    }
}
