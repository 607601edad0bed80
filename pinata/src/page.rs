//! The web page: what the bounty is, where the coins are, how to try.
//!
//! The counters are rendered per request, so they are live; what never
//! changes while the piñata runs — the prize, the rules, the CA certificate —
//! is rendered once at start ([`Frame`]), which saves the request the
//! address encodings and escaping the certificate (about 2 % of an HTTPS
//! handshake's CPU time when done per request). Everything interpolated is
//! escaped, although every value comes from the appliance itself (address,
//! counters, the CA certificate) and none from the requester.

use alloc::string::String;
use core::fmt::Write as _;

use wallet::PrizeKey;

use crate::app::Pinata;
use crate::stats::{FailureReason, KxGroup, Service, TlsVersion};
use crate::time::Instant;

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

/// [`escape`] appended to `out`: no string of its own, and the runs
/// without markup copied whole (the per-request part of the page).
fn push_escaped(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:52em;margin:2em auto;padding:0 1em;line-height:1.45;color:#222}\
code,pre{font-family:ui-monospace,monospace;background:#f4f4f4}pre{padding:.8em;overflow-x:auto}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}th:first-child,td:first-child{text-align:left}\
.address{font-size:1.2em;word-break:break-all}";

/// The HTML page: the [`Frame`] around the live counters.
pub fn render(app: &Pinata, now: Instant) -> String {
    let frame = app.page_frame();
    let mut page = String::with_capacity(frame.head.len() + frame.tail.len() + 4 * 1024);
    page.push_str(&frame.head);
    let _ = write!(
        page,
        "<h2>Counters</h2>\n<p>Up {} s. <a href=\"/stats.json\">stats.json</a>, <a href=\"/metrics\">metrics</a> (Prometheus)</p>\n\
         <table><tr><th>service</th><th>connections</th><th>handshakes ok</th><th>handshakes failed</th><th>secrets sent</th></tr>",
        app.uptime_secs(now)
    );
    for service in Service::ALL {
        let s = app.stats().service(service);
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            service.name(),
            s.connections(),
            s.handshakes_ok(),
            s.handshakes_failed(),
            s.secrets_sent()
        );
    }
    page.push_str(
        "</table>\n<h3>Completed handshakes by key exchange and TLS version</h3>\n\
         <p>X25519MLKEM768 is the hybrid post-quantum key exchange (ML-KEM-768 with X25519), \
         chosen whenever the client lists it first.</p>\n<table><tr><th>service</th>",
    );
    for group in KxGroup::ALL {
        let _ = write!(page, "<th>{}</th>", group.name());
    }
    for version in TlsVersion::ALL {
        let _ = write!(page, "<th>{}</th>", version.name());
    }
    page.push_str("</tr>");
    for service in Service::ALL.iter().filter(|s| **s != Service::Http) {
        let s = app.stats().service(*service);
        let _ = write!(page, "<tr><td>{}</td>", service.name());
        for group in KxGroup::ALL {
            let _ = write!(page, "<td>{}</td>", s.group(group));
        }
        for version in TlsVersion::ALL {
            let _ = write!(page, "<td>{}</td>", s.version(version));
        }
        page.push_str("</tr>");
    }
    page.push_str(
        "</table>\n<h3>Why attempts failed</h3>\n\
         <table><tr><th>reason</th><th>count</th><th>what it means</th></tr>",
    );
    // The original's reasons always, then any other reason seen.
    let others = FailureReason::ALL
        .iter()
        .filter(|r| !FailureReason::HEADLINE.contains(r))
        .filter(|r| app.stats().total(|s| s.failures(**r)) > 0);
    for reason in FailureReason::HEADLINE.iter().chain(others) {
        let _ = write!(
            page,
            "<tr><td><code>{}</code></td><td>{}</td><td style=\"text-align:left\">",
            reason.name(),
            app.stats().total(|s| s.failures(*reason)),
        );
        push_escaped(&mut page, reason.description());
        page.push_str("</td></tr>");
    }
    page.push_str("</table>\n");
    if let Some(memory) = app.memory() {
        let _ = writeln!(
            page,
            "<p>Memory ({}): {} KiB in use, at most {} KiB so far.</p>",
            memory.source.name(),
            memory.used_bytes / 1024,
            memory.high_water_bytes / 1024
        );
    }
    page.push_str(&frame.tail);
    page
}

/// The page around its counters: everything before them and everything
/// after, rendered once.
#[derive(Debug)]
pub struct Frame {
    head: String,
    tail: String,
}

impl Frame {
    /// The frame for this prize (or none) and this CA certificate (PEM).
    pub fn new(prize: Option<&PrizeKey>, ca_pem: &str) -> Frame {
        Frame {
            head: head(prize),
            tail: tail(ca_pem),
        }
    }
}

/// The page down to the counters: title, prize, rules.
fn head(prize: Option<&PrizeKey>) -> String {
    let mut page = String::with_capacity(4 * 1024);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Bitcoin Piñata</title><style>{STYLE}</style></head><body>\n\
         <h1>Bitcoin Piñata</h1>\n\
         <p>This appliance holds the private key of a bitcoin address. Break it and the coins are yours.</p>\n"
    );
    match prize {
        Some(prize) => {
            let address = escape(&prize.p2wpkh_address());
            let network = prize.network();
            let _ = write!(page, "<h2>The prize</h2>\n<p class=\"address\">");
            match network.explorer_address_url(&prize.p2wpkh_address()) {
                Some(url) => {
                    let _ = write!(
                        page,
                        "<a href=\"{}\"><code>{address}</code></a>",
                        escape(&url)
                    );
                }
                None => {
                    let _ = write!(page, "<code>{address}</code>");
                }
            }
            let _ = write!(
                page,
                "</p>\n<p>Network: <strong>{}</strong>. Legacy address of the same key: <code>{}</code>.</p>\n",
                escape(&alloc::format!("{network}")),
                escape(&prize.p2pkh_address())
            );
            if network != wallet::Network::Bitcoin {
                page.push_str(
                    "<p><em>This is a demonstration piñata on a test network: the key has no value.</em></p>\n",
                );
            }
        }
        None => page.push_str(
            "<h2>The prize</h2>\n<p><strong>No prize is loaded.</strong> The services run, \
             but a successful connection receives nothing.</p>\n",
        ),
    }
    page.push_str(
        "<h2>The rules</h2>\n<p>The piñata generated a certificate authority when it started. \
         Its private key signed the piñata's own certificates and was then erased: it exists nowhere. \
         The piñata hands out the private key of the address above, in Wallet Import Format, to any peer \
         that completes a TLS handshake with a certificate signed by that authority. Nobody holds one, \
         so the only way in is to break something: the TLS implementation, the X.509 validation, the \
         cryptography, the network stack, or the code around them.</p>\n\
         <table><tr><th>port</th><th>what it does</th></tr>\
         <tr><td>10000</td><td>TLS server: requires a client certificate signed by the CA, then sends the key</td></tr>\
         <tr><td>10001</td><td>connect-back: closes your connection, then connects to <em>your</em> port 40001 as a TLS client; \
         your server certificate must be signed by the CA</td></tr>\
         <tr><td>10002</td><td>TLS client on the connection you open: you play the server; same rule</td></tr>\
         <tr><td>80 / 443</td><td>this page</td></tr></table>\n\
         <h2>How to try</h2>\n<pre>openssl s_client -connect HOST:10000 -cert yours.pem -key yours.key\n\
         openssl s_server -accept 40001 -cert yours.pem -key yours.key   # then: nc HOST 10001\n\
         socat TCP:HOST:10002 TCP:localhost:4433   # with openssl s_server -accept 4433 ...</pre>\n\
         <p>Short-circuit: <code>socat TCP:HOST:10000 TCP:HOST:10002</code> makes the piñata talk to itself. \
         A real handshake completes and the key crosses your machine, encrypted: you see it pass and cannot read it.</p>\n",
    );
    page
}

/// The page after the counters: the CA certificate, the credits.
fn tail(ca_pem: &str) -> String {
    let mut page = String::new();
    let _ = write!(
        page,
        "<h2>The certificate authority</h2>\n<p>Also at <a href=\"/ca.pem\">/ca.pem</a>.</p>\n<pre>{}</pre>\n\
         <p>The piñata is written in Rust: rustls, RustCrypto, smoltcp. A re-creation of the MirageOS Bitcoin Piñata (2015–2018).</p>\n\
         </body></html>\n",
        escape(ca_pem)
    );
    page
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(
            escape("piñata <b>ünï</b> & text"),
            "piñata &lt;b&gt;ünï&lt;/b&gt; &amp; text"
        );
        assert_eq!(escape("no markup"), "no markup");
        assert_eq!(escape(""), "");
    }
}
