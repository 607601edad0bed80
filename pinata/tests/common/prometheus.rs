//! `/metrics` as independent parsers read it: Prometheus's own `promtool
//! check metrics` (Debian package `prometheus`) and the parser of the
//! Prometheus Python client (`prometheus_client.parser`, PyPI
//! `prometheus-client`). The values the tests assert on come from the
//! Python parser, never from our own reading of the text.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use super::{WAIT, run};

/// The content type of the text exposition format, version 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One sample as the Python client parsed it.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A scrape: the text served and what the parsers made of it.
#[derive(Debug)]
pub struct Scrape {
    pub text: String,
    /// Family name (as the Python client names it: counters without
    /// `_total`) → its type.
    pub types: BTreeMap<String, String>,
    pub samples: Vec<Sample>,
}

impl Scrape {
    /// Checks `text` with promtool and parses it with the Python client;
    /// panics with either's complaint.
    pub fn parse(text: String) -> Scrape {
        promtool_check_metrics(&text);
        let (types, samples) = parse_with_python_client(&text);
        Scrape {
            text,
            types,
            samples,
        }
    }

    /// The value of the sample `name` with exactly `labels`; panics if
    /// there is none (or more than one).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let found: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| s.name == name && s.labels == want)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{name}{labels:?}: {} samples in:\n{}",
            found.len(),
            self.text
        );
        found[0].value
    }

    /// The sum of every `name` sample whose labels include `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
            })
            .map(|s| s.value)
            .sum()
    }
}

/// `promtool check metrics` (syntax and Prometheus's naming lints) on
/// `text`; panics with its output unless it is clean.
pub fn promtool_check_metrics(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if e.kind() == ErrorKind::NotFound => panic!(
            "promtool not found: install Debian's `prometheus` package \
             (apt-get install prometheus), as .ci/run does"
        ),
        Err(e) => panic!("cannot start promtool: {e}"),
    };
    let mut stdin = child.stdin.take().unwrap();
    let input = text.to_string();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().expect("promtool");
    let _ = writer.join();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool check metrics: {} {said}\non:\n{text}",
        out.status
    );
}

const PYTHON_PARSER: &str = r#"
import json, sys
try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    sys.exit("NO_PROMETHEUS_CLIENT")
families = []
for family in text_string_to_metric_families(sys.stdin.read()):
    families.append({
        "name": family.name,
        "type": family.type,
        "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in family.samples],
    })
print(json.dumps(families))
"#;

/// Parses `text` with `prometheus_client.parser`: (family types, samples).
pub fn parse_with_python_client(text: &str) -> (BTreeMap<String, String>, Vec<Sample>) {
    let out = run(
        Command::new("python3").args(["-c", PYTHON_PARSER]),
        text.as_bytes(),
    );
    assert!(
        !out.contains("NO_PROMETHEUS_CLIENT"),
        "the Python Prometheus client is missing: \
         python3 -m pip install prometheus-client (as .ci/run does)"
    );
    let json = out
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no output from the Python parser"));
    let families: serde_json::Value = serde_json::from_str(json)
        .unwrap_or_else(|e| panic!("the Python parser refused the text ({e}): {out}\non:\n{text}"));
    let mut types = BTreeMap::new();
    let mut samples = Vec::new();
    for family in families.as_array().expect("a list of families") {
        types.insert(
            family["name"].as_str().unwrap().to_string(),
            family["type"].as_str().unwrap().to_string(),
        );
        for s in family["samples"].as_array().unwrap() {
            samples.push(Sample {
                name: s["name"].as_str().unwrap().to_string(),
                labels: s["labels"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect(),
                value: s["value"].as_f64().unwrap(),
            });
        }
    }
    (types, samples)
}

/// `GET /metrics` over plain HTTP at `addr`: checks status and content
/// type, then parses the body with both parsers.
pub fn scrape_http(addr: &str) -> Scrape {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: test\r\nAccept: text/plain\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8(response).expect("UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .unwrap_or_else(|| panic!("no Content-Type in {head}"));
    assert_eq!(content_type, CONTENT_TYPE);
    Scrape::parse(body.to_string())
}

/// `GET /metrics` over HTTPS with curl, the server's certificate checked
/// against `ca_pem`; checks the content type and parses the body.
pub fn scrape_https(port: u16, ca_pem: &std::path::Path) -> Scrape {
    let dir = tempfile::tempdir().unwrap();
    let headers = dir.path().join("headers");
    let body = run(
        Command::new("curl")
            .args(["-sS", "--fail", "--max-time", "30", "--cacert"])
            .arg(ca_pem)
            .arg("-D")
            .arg(&headers)
            .arg(format!("https://127.0.0.1:{port}/metrics")),
        b"",
    );
    let head = std::fs::read_to_string(&headers)
        .unwrap_or_else(|e| panic!("curl wrote no headers ({e}): {body}"));
    assert!(
        head.lines()
            .any(|l| l.eq_ignore_ascii_case(&format!("content-type: {CONTENT_TYPE}"))),
        "{head}"
    );
    Scrape::parse(body)
}

/// A Prometheus server (Debian package `prometheus`) run by a test on a
/// free loopback port, with its storage in a temporary directory; killed
/// when dropped.
pub struct PrometheusServer {
    pub proc: super::Process,
    pub port: u16,
    _storage: tempfile::TempDir,
}

impl PrometheusServer {
    /// Starts Prometheus with `config` and waits for its "ready" log line.
    pub fn start(config: &std::path::Path) -> PrometheusServer {
        let storage = tempfile::tempdir().unwrap();
        let port = super::free_port().unwrap();
        let mut cmd = Command::new("prometheus");
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", storage.path().display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"));
        if let Err(e) = Command::new("prometheus").arg("--version").output() {
            panic!(
                "cannot run prometheus ({e}): install Debian's `prometheus` \
                 package (apt-get install prometheus), as .ci/run does"
            );
        }
        let proc = super::Process::spawn(&mut cmd).unwrap();
        proc.out
            .wait_for("Prometheus ready", WAIT, |l| {
                l.contains("Server is ready to receive web requests")
            })
            .unwrap();
        PrometheusServer {
            proc,
            port,
            _storage: storage,
        }
    }

    /// `GET /api/v1/<path>` with `query` URL-encoded by curl; the `data`
    /// of a successful answer (panics otherwise).
    pub fn api(&self, path: &str, query: Option<&str>) -> serde_json::Value {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "20", "-G"]);
        if let Some(query) = query {
            cmd.arg("--data-urlencode").arg(format!("query={query}"));
        }
        cmd.arg(format!("http://127.0.0.1:{}/api/v1/{path}", self.port));
        let out = run(&mut cmd, b"");
        let answer: serde_json::Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("Prometheus {path} {query:?}: {e}: {out}"));
        assert_eq!(answer["status"], "success", "{path} {query:?}: {answer}");
        answer["data"].clone()
    }

    /// Polls the instant query `query` until `done` accepts its result
    /// vector, or fails after [`WAIT`]; returns that result.
    pub fn wait_query(
        &self,
        query: &str,
        done: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let data = self.api("query", Some(query));
            let result = data["result"].as_array().cloned().unwrap_or_default();
            if done(&result) {
                return result;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{query}: still {result:?} after {WAIT:?}; targets: {}",
                self.api("targets", None)
            );
            // The next scrape is at most one interval away; ask again soon.
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
}

/// The value of an instant-vector element as Prometheus's API gives it.
pub fn sample_value(element: &serde_json::Value) -> f64 {
    element["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no value in {element}"))
}
