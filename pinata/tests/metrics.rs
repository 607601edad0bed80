//! `/metrics` on the hosted piñata, read by independent parsers (promtool
//! and the Prometheus Python client, see `common/prometheus.rs`) over HTTP
//! and HTTPS, before and after real traffic from openssl and raw sockets.
//! The unikernel's `/metrics` is checked in tests/unikernel_qemu.rs.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

use common::prometheus::{Scrape, scrape_http, scrape_https};
use common::*;

fn server(reason: &str) -> [(&'static str, &str); 3] {
    [
        ("service", "server"),
        ("outcome", "failed"),
        ("reason", reason),
    ]
}

#[test]
fn metrics_parse_and_count_real_traffic_on_http_and_https() {
    let mut p = Pinata::start();

    // Before any traffic: every series is there, at zero, with its type.
    let before = scrape_http(&p.addr("http"));
    for (family, kind) in [
        ("pinata_connections", "counter"),
        ("pinata_http_requests", "counter"),
        ("pinata_handshakes", "counter"),
        ("pinata_failures", "counter"),
        ("pinata_secrets_sent", "counter"),
        ("pinata_handshakes_by_group", "counter"),
        ("pinata_handshakes_by_version", "counter"),
        ("pinata_open_connections", "gauge"),
        ("pinata_max_connections", "gauge"),
        ("pinata_memory_used_bytes", "gauge"),
        ("pinata_memory_high_water_bytes", "gauge"),
        ("pinata_uptime_seconds", "gauge"),
        ("pinata_prize_info", "gauge"),
    ] {
        assert_eq!(
            before.types.get(family).map(String::as_str),
            Some(kind),
            "{family} in {:?}",
            before.types
        );
    }
    assert_eq!(
        before.value("pinata_handshakes_total", &server("no_certificate")),
        0.0
    );
    assert_eq!(
        before.value("pinata_secrets_sent_total", &[("service", "server")]),
        0.0
    );
    // The scrape counts itself, as /stats.json does.
    assert_eq!(
        before.value("pinata_http_requests_total", &[("service", "http")]),
        1.0
    );

    // Traffic: no certificate, another CA's certificate, the exported
    // (CA-signed) client identity in TLS 1.3 and 1.2, a malformed HTTP
    // request, and a connect-back with nobody listening.
    let dir = p.tmp().to_path_buf();
    let other_ca = self_signed(&dir, "otherca", "/CN=Other CA");
    let other_leaf = signed_by(&dir, "otherleaf", "/CN=client", &other_ca);
    let out = s_client(&p.addr("server"), &[]);
    assert!(!out.contains(&p.wif), "{out}");
    let out = s_client(
        &p.addr("server"),
        &[
            "-cert",
            other_leaf.0.to_str().unwrap(),
            "-key",
            other_leaf.1.to_str().unwrap(),
        ],
    );
    assert!(!out.contains(&p.wif), "{out}");
    for version in ["-tls1_3", "-tls1_2"] {
        let (cert, key) = (p.id("client.pem"), p.id("client.key"));
        let out = s_client(
            &p.addr("server"),
            &[
                version,
                "-cert",
                cert.to_str().unwrap(),
                "-key",
                key.to_str().unwrap(),
            ],
        );
        assert!(out.lines().any(|l| l == p.wif), "{version}: {out}");
    }
    for n in 1..=4 {
        p.wait_outcome("server", n);
    }
    let mut raw = TcpStream::connect(p.addr("http")).unwrap();
    raw.write_all(b"GET\x01 / HTTP/1.1\r\n\r\n").unwrap();
    let mut reply = String::new();
    raw.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    TcpStream::connect(p.addr("connect_back")).unwrap();
    assert!(
        p.wait_outcome("connect_back", 1)
            .contains("reason=connect_failed")
    );

    // Over HTTPS this time, the certificate checked against the CA.
    let after = scrape_https(p.port("https"), &p.id("ca.pem"));
    let value = |name: &str, labels: &[(&str, &str)]| after.value(name, labels);
    assert_eq!(
        value("pinata_handshakes_total", &server("no_certificate")),
        1.0
    );
    assert_eq!(value("pinata_handshakes_total", &server("unknown_ca")), 1.0);
    assert_eq!(
        value(
            "pinata_handshakes_total",
            &[("service", "server"), ("outcome", "ok")]
        ),
        2.0
    );
    assert_eq!(
        value(
            "pinata_failures_total",
            &[("service", "server"), ("reason", "unknown_ca")]
        ),
        1.0
    );
    assert_eq!(
        value("pinata_secrets_sent_total", &[("service", "server")]),
        2.0
    );
    assert_eq!(
        value("pinata_connections_total", &[("service", "server")]),
        4.0
    );
    assert_eq!(
        value(
            "pinata_handshakes_by_version_total",
            &[("service", "server"), ("version", "TLSv1.3")]
        ),
        1.0
    );
    assert_eq!(
        value(
            "pinata_handshakes_by_version_total",
            &[("service", "server"), ("version", "TLSv1.2")]
        ),
        1.0
    );
    assert_eq!(
        after.sum("pinata_handshakes_by_group_total", &[("service", "server")]),
        2.0
    );
    // Not handshake failures: only in pinata_failures_total.
    assert_eq!(
        value(
            "pinata_failures_total",
            &[("service", "http"), ("reason", "bad_request")]
        ),
        1.0
    );
    assert_eq!(
        value(
            "pinata_failures_total",
            &[("service", "connect_back"), ("reason", "connect_failed")]
        ),
        1.0
    );
    assert_eq!(
        after.sum(
            "pinata_handshakes_total",
            &[("service", "connect_back"), ("outcome", "failed")]
        ),
        0.0
    );
    // This scrape's own TLS handshake and request.
    assert_eq!(
        value(
            "pinata_handshakes_total",
            &[("service", "https"), ("outcome", "ok")]
        ),
        1.0
    );
    assert_eq!(
        value("pinata_http_requests_total", &[("service", "https")]),
        1.0
    );

    // The same figures as /stats.json.
    let stats = p.stats();
    let server_json = &stats["services"]["server"];
    assert_eq!(
        after.sum(
            "pinata_handshakes_total",
            &[("service", "server"), ("outcome", "failed")]
        ),
        server_json["handshakes_failed"].as_u64().unwrap() as f64
    );
    assert_eq!(
        value(
            "pinata_prize_info",
            &[
                ("network", "regtest"),
                ("address", stats["address"].as_str().unwrap())
            ]
        ),
        1.0
    );
    let used = value("pinata_memory_used_bytes", &[("source", "process")]);
    let peak = value("pinata_memory_high_water_bytes", &[("source", "process")]);
    assert!(used > 0.0 && peak >= used, "used {used}, peak {peak}");
    assert!(value("pinata_open_connections", &[]) >= 0.0);
    assert_eq!(value("pinata_max_connections", &[]), 512.0);

    counters_never_went_down(&before, &after);
}

/// Every counter sample of `before` is in `after`, no smaller.
fn counters_never_went_down(before: &Scrape, after: &Scrape) {
    let mut compared = 0;
    for sample in before.samples.iter().filter(|s| s.name.ends_with("_total")) {
        let labels: Vec<(&str, &str)> = sample
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let now = after.value(&sample.name, &labels);
        assert!(now >= sample.value, "{} {labels:?} went down", sample.name);
        compared += 1;
    }
    assert!(compared > 200, "only {compared} counter samples");
}

#[test]
fn metrics_answers_head_is_linked_from_the_page_and_other_paths_stay_404() {
    let p = Pinata::start();
    let mut stream = TcpStream::connect(p.addr("http")).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
        .write_all(b"HEAD /metrics HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200 "), "{reply}");
    assert!(reply.contains(&format!(
        "Content-Type: {}\r\n",
        common::prometheus::CONTENT_TYPE
    )));
    assert!(reply.ends_with("\r\n\r\n"), "HEAD has no body: {reply}");
    let (_, page) = p.get("/");
    assert!(
        page.contains("<a href=\"/metrics\">"),
        "the page links /metrics"
    );
    assert_eq!(p.get("/metrics/").0, 404);
    assert_eq!(p.get("/metric").0, 404);
}

#[test]
fn the_independent_parsers_refuse_what_prometheus_would() {
    use common::prometheus::{parse_with_python_client, promtool_check_metrics};
    use std::panic::catch_unwind;
    // A counter without `_total` (promtool's lint) and a broken label value.
    let unlinted = "# HELP x Things.\n# TYPE x counter\nx 1\n";
    assert!(catch_unwind(|| promtool_check_metrics(unlinted)).is_err());
    let broken = "# HELP y_total Things.\n# TYPE y_total counter\ny_total{a=\"b} 1\n";
    assert!(catch_unwind(|| promtool_check_metrics(broken)).is_err());
    assert!(catch_unwind(|| parse_with_python_client(broken)).is_err());
    // And take a good one, escapes included.
    let good =
        "# HELP z_total A \\\\ b.\n# TYPE z_total counter\nz_total{a=\"q\\\"x\\\\y\\nz\"} 2\n";
    promtool_check_metrics(good);
    let (_, samples) = parse_with_python_client(good);
    assert_eq!(samples.len(), 1);
    assert_eq!(samples[0].labels["a"], "q\"x\\y\nz");
    assert_eq!(samples[0].value, 2.0);
}

/// docs/prometheus.yml pointed at `p` (its ports, a 1 s interval), in a
/// directory with the rules and the CA it names, as an operator sets it up.
fn sample_config_for(p: &Pinata, dir: &std::path::Path) -> std::path::PathBuf {
    let docs = workspace_root().join("docs");
    let config = std::fs::read_to_string(docs.join("prometheus.yml")).unwrap();
    for token in [
        "127.0.0.1:8080",
        "127.0.0.1:8443",
        "scrape_interval: 15s",
        "evaluation_interval: 15s",
        "ca_file: pinata-ca.pem",
    ] {
        assert!(config.contains(token), "docs/prometheus.yml lost {token}");
    }
    let config = config
        .replace("127.0.0.1:8080", &p.addr("http"))
        .replace("127.0.0.1:8443", &p.addr("https"))
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("evaluation_interval: 15s", "evaluation_interval: 1s");
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    std::fs::copy(
        docs.join("prometheus-rules.yml"),
        dir.join("prometheus-rules.yml"),
    )
    .unwrap();
    // As the config's comment says: the CA from the piñata's /ca.pem.
    let (status, ca) = p.get("/ca.pem");
    assert_eq!(status, 200);
    std::fs::write(dir.join("pinata-ca.pem"), ca).unwrap();
    dir.join("prometheus.yml")
}

#[test]
fn prometheus_scrapes_with_the_sample_config_and_answers_the_dashboards_queries() {
    use common::prometheus::{PrometheusServer, sample_value};

    let mut p = Pinata::start();
    let dir = tempfile::tempdir().unwrap();
    let config = sample_config_for(&p, dir.path());
    let checked = run(
        Command::new("promtool")
            .arg("check")
            .arg("config")
            .arg(&config),
        b"",
    );
    assert!(
        checked.contains("SUCCESS: 4 rules found") && !checked.contains("FAILED"),
        "{checked}"
    );
    let prometheus = PrometheusServer::start(&config);

    // Both jobs up: plain HTTP, and HTTPS verified against the CA.
    let up = prometheus.wait_query("up", |r| {
        r.len() == 2 && r.iter().all(|e| sample_value(e) == 1.0)
    });
    let mut jobs: Vec<&str> = up
        .iter()
        .map(|e| e["metric"]["job"].as_str().unwrap())
        .collect();
    jobs.sort();
    assert_eq!(jobs, ["pinata", "pinata-https"]);

    // A visitor without a certificate: both jobs see the counter move.
    let out = s_client(&p.addr("server"), &[]);
    assert!(!out.contains(&p.wif), "{out}");
    assert!(
        p.wait_outcome("server", 1)
            .contains("reason=no_certificate")
    );
    let query =
        r#"pinata_handshakes_total{service="server",outcome="failed",reason="no_certificate"}"#;
    prometheus.wait_query(query, |r| {
        r.len() == 2 && r.iter().all(|e| sample_value(e) == 1.0)
    });

    // The alerting rules loaded and evaluate.
    let groups = prometheus.api("rules", None)["groups"].clone();
    let rules = groups[0]["rules"].as_array().expect("rules").clone();
    assert_eq!(rules.len(), 4, "{groups}");
    for rule in &rules {
        assert_eq!(rule["health"], "ok", "{rule}");
    }

    // Every query of the Grafana dashboard, with Grafana's variables as
    // Grafana fills them in, is valid PromQL over metrics /metrics has.
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("docs/grafana-dashboard.json")).unwrap(),
    )
    .expect("docs/grafana-dashboard.json is JSON");
    assert_eq!(dashboard["uid"], "pinata");
    let families: std::collections::BTreeSet<String> =
        common::prometheus::scrape_http(&p.addr("http"))
            .samples
            .into_iter()
            .map(|s| s.name)
            .collect();
    let mut queries = 0;
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            for name in metric_names(expr) {
                // The heap's size: only the unikernel knows one (its
                // /metrics is checked in tests/unikernel_qemu.rs).
                assert!(
                    families.contains(&name) || name == "pinata_memory_capacity_bytes",
                    "panel {}: {name} is not on /metrics",
                    panel["title"]
                );
            }
            let expr = expr
                .replace("$__rate_interval", "1m")
                .replace("$__range", "1h")
                .replace("$instance", ".*");
            prometheus.api("query", Some(&expr));
            queries += 1;
        }
    }
    assert!(queries >= 15, "only {queries} queries");
}

/// The `pinata_…` names in a PromQL expression.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("pinata_") {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[at + name.len()..];
        names.push(name);
    }
    names
}
