//! `--full`: the external TLS scanners against the HTTPS port (443, hosted
//! 8443) and the bounty server (10000).
//!
//! - `testssl.sh` (Debian installs it as `testssl`): a full run (`-9`:
//!   every default check, implementation bugs and the ciphers per
//!   protocol). It uses the system `openssl` and its own sockets for what
//!   OpenSSL 3 no longer speaks (SSLv2, SSLv3, export ciphers), so no
//!   `--openssl` is given. Findings come from its JSON file.
//! - `sslscan`: protocols, accepted ciphers, Heartbleed, renegotiation.
//! - `nmap --script ssl-enum-ciphers`: protocols, ciphers and grades.
//!
//! Each run is bounded with coreutils' `timeout` and is a table row: the
//! page is probed while it runs and after; its output (stdout, stderr,
//! testssl's JSON) is searched for the secret, `secrets_sent` must not move
//! and the console must show no fault. A missing scanner is a problem row,
//! not a silent skip: `--full` asked for it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::probe::{Prober, counters_moved, probe_page, stats};
use super::target::Target;
use super::*;

/// What a scanner reported, for the table.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Findings {
    /// Protocols the scanner found offered, in its words.
    pub(super) protocols: Vec<String>,
    /// Cipher suites it found accepted.
    pub(super) ciphers: Vec<String>,
    /// Lines a reader must look at: VULNERABLE, NOT ok, warnings, grades
    /// below A.
    pub(super) flagged: Vec<String>,
    /// Other lines worth a glance (ratings, Heartbleed, renegotiation).
    pub(super) notes: Vec<String>,
}

impl Findings {
    fn summary(&self) -> String {
        format!(
            "offers {}; {} cipher suites; {} flagged",
            if self.protocols.is_empty() {
                "nothing it could see".to_string()
            } else {
                self.protocols.join(" ")
            },
            self.ciphers.len(),
            self.flagged.len()
        )
    }
}

/// testssl's JSON (`--jsonfile`: a flat array of `{id, severity, finding}`)
/// plus its text output for "NOT ok" lines.
pub(super) fn parse_testssl(json: &str, text: &str) -> Findings {
    let mut findings = Findings::default();
    let entries: Vec<serde_json::Value> = serde_json::from_str(json).unwrap_or_default();
    for entry in &entries {
        let id = entry["id"].as_str().unwrap_or("");
        let finding = entry["finding"].as_str().unwrap_or("");
        let severity = entry["severity"].as_str().unwrap_or("");
        let protocol = matches!(
            id,
            "SSLv2" | "SSLv3" | "TLS1" | "TLS1_1" | "TLS1_2" | "TLS1_3"
        );
        if protocol && finding.starts_with("offered") {
            findings.protocols.push(id.to_string());
        }
        if id.starts_with("cipher-") || id.starts_with("cipher_x") {
            // "cipher-tls1_3_x1301": one accepted suite; the finding names it.
            let name = finding.split_whitespace().collect::<Vec<_>>().join(" ");
            if !findings.ciphers.contains(&name) {
                findings.ciphers.push(name);
            }
        }
        let serious = matches!(severity, "MEDIUM" | "HIGH" | "CRITICAL");
        if serious || finding.contains("VULNERABLE") {
            findings.flagged.push(format!("{severity} {id}: {finding}"));
        } else if matches!(id, "overall_grade" | "final_score")
            || severity == "LOW"
            || severity == "WARN"
        {
            findings.notes.push(format!("{severity} {id}: {finding}"));
        }
    }
    for line in text.lines() {
        let line = line.trim();
        if line.contains("NOT ok") {
            let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
            if !findings.flagged.iter().any(|f| f.contains(&line)) {
                findings.flagged.push(format!("text: {line}"));
            }
        }
    }
    findings
}

/// sslscan's text output.
pub(super) fn parse_sslscan(text: &str) -> Findings {
    let mut findings = Findings::default();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [protocol, "enabled"]
                if protocol.starts_with("SSLv") || protocol.starts_with("TLSv") =>
            {
                findings.protocols.push(protocol.to_string());
            }
            ["Preferred" | "Accepted", protocol, bits, "bits", cipher, ..] => {
                findings
                    .ciphers
                    .push(format!("{protocol} {cipher} ({bits} bits)"));
            }
            // Section headings ("  Heartbleed:") are not findings.
            _ if line.trim_end().ends_with(':') => {}
            _ => {
                let lower = line.to_ascii_lowercase();
                if lower.contains("vulnerable") && !lower.contains("not vulnerable") {
                    findings.flagged.push(line.trim().to_string());
                } else if lower.contains("heartbleed")
                    || lower.contains("renegotiation")
                    || lower.contains("compression")
                    || lower.contains("fallback")
                {
                    findings.notes.push(line.trim().to_string());
                }
            }
        }
    }
    findings
}

/// nmap's `ssl-enum-ciphers` script output.
pub(super) fn parse_nmap(text: &str) -> Findings {
    let mut findings = Findings::default();
    let mut in_warnings = false;
    for line in text.lines() {
        let Some(body) = line.strip_prefix('|') else {
            continue;
        };
        let body = body.trim_start_matches('_');
        let trimmed = body.trim();
        let indent = body.len() - body.trim_start().len();
        if indent == 3 && (trimmed.starts_with("TLSv") || trimmed.starts_with("SSLv")) {
            findings
                .protocols
                .push(trimmed.trim_end_matches(':').to_string());
            in_warnings = false;
        } else if trimmed.starts_with("TLS_") || trimmed.starts_with("SSL_") {
            let suite = trimmed.to_string();
            // Grades: A is best; anything else is worth a look.
            if !suite.ends_with(" - A") {
                findings.flagged.push(format!("grade: {suite}"));
            }
            findings.ciphers.push(suite);
        } else if trimmed.starts_with("warnings:") {
            in_warnings = true;
        } else if trimmed.starts_with("least strength:") {
            if trimmed != "least strength: A" {
                findings.flagged.push(trimmed.to_string());
            } else {
                findings.notes.push(trimmed.to_string());
            }
            in_warnings = false;
        } else if in_warnings && indent >= 6 {
            findings.flagged.push(format!("warning: {trimmed}"));
        } else if indent == 5 && !trimmed.ends_with(':') {
            in_warnings = false;
        }
    }
    findings
}

/// One scanner run: which program, its arguments, its time limit and how
/// to read what it said.
struct Scan {
    name: String,
    service: &'static str,
    program: PathBuf,
    args: Vec<String>,
    limit: Duration,
    /// testssl writes its findings here.
    json: Option<PathBuf>,
    /// Reads (stdout, the JSON file's text or "").
    parse: fn(&str, &str) -> Findings,
}

/// The first of `names` found on PATH.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn scans(target: &Target, dir: &Path) -> (Vec<Scan>, Vec<String>) {
    let mut scans = Vec::new();
    let mut missing = Vec::new();
    let testssl = on_path(&["testssl.sh", "testssl"]);
    let sslscan = on_path(&["sslscan"]);
    let nmap = on_path(&["nmap"]);
    for (what, found) in [
        ("testssl.sh (Debian: apt-get install testssl.sh)", &testssl),
        ("sslscan (apt-get install sslscan)", &sslscan),
        ("nmap (apt-get install nmap)", &nmap),
    ] {
        if found.is_none() {
            missing.push(format!("{what} is not on PATH"));
        }
    }
    for service in ["https", "server"] {
        let port = target.port(service);
        let address = format!("{}:{port}", super::net::target_ip());
        if let Some(program) = &testssl {
            let json = dir.join(format!("testssl-{service}.json"));
            let _ = std::fs::remove_file(&json);
            scans.push(Scan {
                name: format!("testssl_{service}"),
                service,
                program: program.clone(),
                args: vec![
                    "-9".into(),
                    "--quiet".into(),
                    "--color".into(),
                    "0".into(),
                    "--warnings".into(),
                    "off".into(),
                    "--openssl-timeout".into(),
                    "10".into(),
                    "--jsonfile".into(),
                    json.display().to_string(),
                    address.clone(),
                ],
                limit: Duration::from_secs(20 * 60),
                json: Some(json),
                // The JSON is the primary source; the text adds "NOT ok".
                parse: |text, json| parse_testssl(json, text),
            });
        }
        if let Some(program) = &sslscan {
            scans.push(Scan {
                name: format!("sslscan_{service}"),
                service,
                program: program.clone(),
                args: vec!["--no-colour".into(), address.clone()],
                limit: Duration::from_secs(5 * 60),
                json: None,
                parse: |text, _| parse_sslscan(text),
            });
        }
        if let Some(program) = &nmap {
            scans.push(Scan {
                name: format!("nmap_ssl_enum_{service}"),
                service,
                program: program.clone(),
                args: vec![
                    "-Pn".into(),
                    "-n".into(),
                    "-p".into(),
                    port.to_string(),
                    "--script".into(),
                    "ssl-enum-ciphers".into(),
                    super::net::target_ip().to_string(),
                ],
                limit: Duration::from_secs(5 * 60),
                json: None,
                parse: |text, _| parse_nmap(text),
            });
        }
    }
    (scans, missing)
}

/// Runs every scanner, one after the other, each as a table row; stops
/// after a crash.
pub(super) fn scanners(target: &mut Target, dir: &Path) -> Vec<Row> {
    let (scans, missing) = scans(target, dir);
    let mut rows = Vec::new();
    if !missing.is_empty() {
        rows.push(Row {
            name: "scanners_installed".into(),
            service: "-".into(),
            sent: "looked for testssl.sh, sslscan, nmap".into(),
            reply: format!("{} missing", missing.len()),
            leak: false,
            during_ms: 0,
            after_ms: Some(0),
            counters: String::new(),
            details: Vec::new(),
            problems: missing,
        });
    }
    for scan in scans {
        let row = run_scan(target, &scan);
        let crashed = row.problems.iter().any(|p| p.starts_with("CRASH"));
        super::print_row(&row);
        rows.push(row);
        if crashed {
            break;
        }
    }
    rows
}

fn run_scan(target: &mut Target, scan: &Scan) -> Row {
    let kind = target.kind;
    let http = target.visitor_port;
    let before = stats(kind, http);
    let log_from = target.log_len();
    let prober = Prober::start(kind, http);
    let started = Instant::now();
    // coreutils' timeout: TERM at the limit, KILL 10 s later.
    let output = Command::new("timeout")
        .arg("--kill-after=10s")
        .arg(format!("{}s", scan.limit.as_secs()))
        .arg(&scan.program)
        .args(&scan.args)
        .stdin(Stdio::null())
        .output();
    let took = started.elapsed();
    let (during, mut problems) = prober.finish();
    let after_page = probe_page(kind, http);
    if let Err(e) = &after_page {
        problems.push(format!("page after: {e}"));
    }
    let (stdout, stderr, status) = match output {
        Ok(out) => (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.code(),
        ),
        Err(e) => {
            problems.push(format!(
                "cannot run timeout {}: {e}",
                scan.program.display()
            ));
            (String::new(), String::new(), None)
        }
    };
    if status == Some(124) || status == Some(137) {
        problems.push(format!(
            "{} did not finish within {} s",
            scan.name,
            scan.limit.as_secs()
        ));
    }
    let json = scan
        .json
        .as_ref()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .unwrap_or_default();
    let findings = (scan.parse)(&stdout, &json);

    let after = stats(kind, http);
    let (counters, secrets_moved) = counters_moved(&before, &after, &mut problems);
    let log_leak = target
        .log_since(log_from)
        .iter()
        .any(|l| contains_secret(l.as_bytes()) || l.contains("outcome=secret_sent"));
    let leak = contains_secret(stdout.as_bytes())
        || contains_secret(stderr.as_bytes())
        || contains_secret(json.as_bytes())
        || secrets_moved
        || log_leak;
    if leak {
        problems.push("SECRET SEEN".into());
    }
    if let Err(e) = target.alive() {
        problems.push(format!("CRASH: {e}"));
    }

    let mut details = vec![
        format!(
            "{} {} ({} s, exit {})",
            scan.program.display(),
            scan.args.join(" "),
            took.as_secs(),
            status.map_or("by signal".to_string(), |c| c.to_string())
        ),
        format!("protocols: {}", findings.protocols.join(" ")),
        format!("ciphers: {}", findings.ciphers.join("; ")),
    ];
    details.extend(findings.flagged.iter().map(|f| format!("flagged: {f}")));
    details.extend(findings.notes.iter().map(|n| format!("note: {n}")));
    if findings.protocols.is_empty() && findings.ciphers.is_empty() {
        // Nothing parsed: show the end of what it said instead.
        let tail: Vec<&str> = stdout.lines().rev().take(8).collect();
        details.extend(tail.into_iter().rev().map(|l| format!("output: {l}")));
    }
    Row {
        name: scan.name.clone(),
        service: scan.service.into(),
        sent: format!("{} run, {} s", scan.name, took.as_secs()),
        reply: findings.summary(),
        leak,
        during_ms: during.as_millis(),
        after_ms: after_page.as_ref().ok().map(|t| t.as_millis()),
        counters,
        details,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_testssl_json_and_not_ok_lines() {
        let json = r#"[
            {"id":"SSLv3","ip":"127.0.0.1/127.0.0.1","port":"8443","severity":"OK","finding":"not offered"},
            {"id":"TLS1_2","ip":"127.0.0.1/127.0.0.1","port":"8443","severity":"OK","finding":"offered"},
            {"id":"TLS1_3","ip":"127.0.0.1/127.0.0.1","port":"8443","severity":"OK","finding":"offered with final"},
            {"id":"cipher-tls1_3_x1301","ip":"127.0.0.1/127.0.0.1","port":"8443","severity":"OK","finding":"TLSv1.3   x1301   TLS_AES_128_GCM_SHA256   ECDH 253   AESGCM   128   TLS_AES_128_GCM_SHA256"},
            {"id":"BREACH","ip":"127.0.0.1/127.0.0.1","port":"8443","severity":"HIGH","cve":"CVE-2013-3587","finding":"potentially VULNERABLE, uses gzip HTTP compression"},
            {"id":"OCSP_stapling","ip":"127.0.0.1/127.0.0.1","port":"8443","severity":"LOW","finding":"not offered"}
        ]"#;
        let text = " Secure Client-Initiated Renegotiation     not vulnerable (OK)\n Certificate Validity (UTC)   expires < 30 days (NOT ok)\n";
        let findings = parse_testssl(json, text);
        assert_eq!(findings.protocols, ["TLS1_2", "TLS1_3"]);
        assert_eq!(findings.ciphers.len(), 1);
        assert!(findings.ciphers[0].contains("TLS_AES_128_GCM_SHA256"));
        assert_eq!(findings.flagged.len(), 2);
        assert!(findings.flagged[0].starts_with("HIGH BREACH"));
        assert!(findings.flagged[1].contains("expires < 30 days (NOT ok)"));
        assert_eq!(findings.notes, ["LOW OCSP_stapling: not offered"]);
        assert_eq!(parse_testssl("not json", ""), Findings::default());
    }

    #[test]
    fn reads_sslscan_text() {
        let text = "\
  SSL/TLS Protocols:
SSLv2     disabled
SSLv3     disabled
TLSv1.0   disabled
TLSv1.2   enabled
TLSv1.3   enabled

  Heartbleed:
TLSv1.3 not vulnerable to heartbleed
TLSv1.2 not vulnerable to heartbleed

  Supported Server Cipher(s):
Preferred TLSv1.3  128 bits  TLS_AES_128_GCM_SHA256        Curve 25519 DHE 253
Accepted  TLSv1.2  256 bits  ECDHE-ECDSA-CHACHA20-POLY1305  Curve 25519 DHE 253
TLSv1.1 VULNERABLE to something
";
        let findings = parse_sslscan(text);
        assert_eq!(findings.protocols, ["TLSv1.2", "TLSv1.3"]);
        assert_eq!(
            findings.ciphers,
            [
                "TLSv1.3 TLS_AES_128_GCM_SHA256 (128 bits)",
                "TLSv1.2 ECDHE-ECDSA-CHACHA20-POLY1305 (256 bits)"
            ]
        );
        assert_eq!(findings.flagged, ["TLSv1.1 VULNERABLE to something"]);
        assert_eq!(findings.notes.len(), 2);
    }

    #[test]
    fn reads_nmap_ssl_enum_ciphers() {
        let text = "\
PORT     STATE SERVICE
8443/tcp open  https-alt
| ssl-enum-ciphers: 
|   TLSv1.2: 
|     ciphers: 
|       TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (secp256r1) - A
|       TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 (secp256r1) - A
|     compressors: 
|       NULL
|     cipher preference: client
|     warnings: 
|       Key exchange (secp256r1) of lower strength than certificate key
|   TLSv1.3: 
|     ciphers: 
|       TLS_AKE_WITH_AES_128_GCM_SHA256 (ecdh_x25519) - A
|     cipher preference: client
|_  least strength: A
";
        let findings = parse_nmap(text);
        assert_eq!(findings.protocols, ["TLSv1.2", "TLSv1.3"]);
        assert_eq!(findings.ciphers.len(), 3);
        assert_eq!(
            findings.flagged,
            ["warning: Key exchange (secp256r1) of lower strength than certificate key"]
        );
        assert_eq!(findings.notes, ["least strength: A"]);
    }
}
