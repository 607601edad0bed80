//! The hosted rows: the target rows (bounty mutual TLS 1.3 with the default
//! chain, classical and X25519MLKEM768, and the HTTPS page, judged per
//! CPU-second), then the detail rows (TLS 1.2, other key types, the
//! short-circuit).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::json;

use super::Options;
use super::builds::Binaries;
use super::measure::{Figure, Server, compare};
use super::report::{Results, ratio, ratio_text};
use super::servers::{
    DEFAULT_KEY_TYPE, OPENSSL, PINATA, PINATA_SOFT, REFERENCE, REFERENCE_P256, Servers,
    bounty_servers, loadgen_args, start_hosted, start_openssl, start_refserver,
};

/// Measures `servers` in turn and records the rows; the first `ours` are
/// piñatas, the rest references: a ratio line for each pair. The figures,
/// by label.
pub(super) fn measure(
    b: &Binaries,
    o: &Options,
    r: &mut Results,
    group: &str,
    servers: &[Server],
    ours: usize,
) -> BTreeMap<String, Figure> {
    let figures = compare(b, o, servers);
    for (s, f) in servers.iter().zip(&figures) {
        r.add(group, &s.label, f.clone());
    }
    for (mine, fm) in servers.iter().zip(&figures).take(ours) {
        for (theirs, ft) in servers.iter().zip(&figures).skip(ours) {
            r.fact(
                &format!("{group}: {} / {}", mine.label, theirs.label),
                ratio_text(fm, ft),
            );
        }
    }
    r.json.insert(
        group.into(),
        json!(servers.iter().zip(&figures).map(|(s, f)| json!({
            "server": s.label, "rate": f.rate, "per_cpu_second": f.per_cpu, "failed": f.failed, "note": f.note,
        })).collect::<Vec<_>>()),
    );
    servers
        .iter()
        .zip(figures)
        .map(|(s, f)| (s.label.clone(), f))
        .collect()
}

/// One target row: `ours` against `theirs`, per CPU-second (the fair
/// figure, see docs/PERFORMANCE.md), with the wall-clock ratio beside it.
fn cpu_target(
    r: &mut Results,
    name: &str,
    ours: Option<&Figure>,
    theirs: Option<&Figure>,
    goal: f64,
    extra: &str,
) {
    let (Some(ours), Some(theirs)) = (ours, theirs) else {
        r.target(
            name,
            "not measured".into(),
            &format!("≥ {goal:.1}×"),
            None,
            String::new(),
        );
        return;
    };
    let (Some(a), Some(b)) = (ours.per_cpu, theirs.per_cpu) else {
        r.target(
            name,
            "no CPU time".into(),
            &format!("≥ {goal:.1}×"),
            None,
            String::new(),
        );
        return;
    };
    let x = a / b.max(1e-9);
    let wall = ratio(ours.rate, theirs.rate).unwrap_or(0.0);
    r.target(
        name,
        format!("{x:.2}× per CPU-second ({a:.0} vs {b:.0}; wall {wall:.2}×){extra}"),
        &format!("≥ {goal:.1}×"),
        Some(x >= goal),
        if x >= goal {
            format!("{:+.0} %", (x / goal - 1.0) * 100.0)
        } else {
            format!("{:.0} % short", (1.0 - x / goal) * 100.0)
        },
    );
}

fn per_cpu_ratio(ours: Option<&Figure>, theirs: Option<&Figure>) -> String {
    match (ours.and_then(|f| f.per_cpu), theirs.and_then(|f| f.per_cpu)) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "n/a".into(),
    }
}

pub(super) fn hosted_figures(
    b: &Binaries,
    o: &Options,
    dir: &Path,
    r: &mut Results,
) -> Result<BTreeMap<String, f64>, String> {
    let mut key_figures = BTreeMap::new();
    let mut s = Servers {
        b,
        dir: dir.to_path_buf(),
        pinatas: BTreeMap::new(),
        soft: None,
        references: BTreeMap::new(),
        openssl: BTreeMap::new(),
        openssl_ok: o.openssl && Command::new("openssl").arg("version").output().is_ok(),
    };
    if let Some(soft) = &b.soft {
        s.soft = Some(start_hosted(soft, DEFAULT_KEY_TYPE, dir, "soft")?);
    }

    // The target rows. Bounty mutual TLS 1.3 with the default chain; the
    // load generator lists X25519 first, so every server uses it.
    let group = format!("bounty mutual TLS 1.3 {DEFAULT_KEY_TYPE}");
    let (servers, ours) = bounty_servers(&mut s, DEFAULT_KEY_TYPE, "13", false)?;
    let classical = measure(b, o, r, &group, &servers, ours);
    drop(servers);
    // The same with X25519MLKEM768 on both sides: the load generator offers
    // only the hybrid, which the piñata and aws-lc-rs both have.
    let group = format!("bounty mutual TLS 1.3 {DEFAULT_KEY_TYPE} X25519MLKEM768");
    let (servers, ours) = bounty_servers(&mut s, DEFAULT_KEY_TYPE, "13", true)?;
    let hybrid = measure(b, o, r, &group, &servers, ours);
    drop(servers);
    for (key, figures) in [("13", &classical), ("13pq", &hybrid)] {
        if let Some(f) = figures.get(PINATA) {
            key_figures.insert(format!("{DEFAULT_KEY_TYPE}/{key}/pinata"), f.rate);
        }
    }

    // The page (P-256 always: port 443's certificate), classical and with
    // X25519MLKEM768 on both sides (as browsers offer it).
    let (page_classical, page_hybrid) = {
        let main = s.pinata(DEFAULT_KEY_TYPE)?;
        let response = super::process::get(main.services.addr("http"), "/")?;
        let page = dir.join("page.http");
        std::fs::write(&page, &response).map_err(|e| e.to_string())?;
        let www = dir.join("www");
        std::fs::create_dir_all(&www).map_err(|e| e.to_string())?;
        let body = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| response[i + 4..].to_vec())
            .unwrap_or_default();
        std::fs::write(www.join("index.html"), body).map_err(|e| e.to_string())?;
        let ids = main.ids.clone();
        let (ref_proc, ref_addr) = start_refserver(b, "https", &ids, "web", Some(&page), &[])?;
        let openssl = if s.openssl_ok {
            Some(start_openssl(&ids, "web", false, Some(&www))?)
        } else {
            None
        };
        let main = &s.pinatas[DEFAULT_KEY_TYPE];
        let page_servers = |groups: &'static [&'static str], with_openssl: bool| {
            let mut servers = vec![Server {
                label: PINATA.into(),
                proc: &main.proc,
                loadgen_args: loadgen_args(
                    "https",
                    &main.addr("https"),
                    &main.ids,
                    Some("13"),
                    groups,
                ),
                by_log: false,
            }];
            if let Some(soft) = &s.soft {
                servers.push(Server {
                    label: PINATA_SOFT.into(),
                    proc: &soft.proc,
                    loadgen_args: loadgen_args(
                        "https",
                        &soft.addr("https"),
                        &soft.ids,
                        Some("13"),
                        groups,
                    ),
                    by_log: false,
                });
            }
            let ours = servers.len();
            servers.push(Server {
                label: REFERENCE.into(),
                proc: &ref_proc,
                loadgen_args: loadgen_args("https", &ref_addr, &ids, Some("13"), groups),
                by_log: false,
            });
            if let (true, Some((p, addr))) = (with_openssl, &openssl) {
                servers.push(Server {
                    label: OPENSSL.into(),
                    proc: p,
                    loadgen_args: loadgen_args(
                        "https",
                        addr,
                        &ids,
                        Some("13"),
                        &["--request", "GET /index.html HTTP/1.0\\r\\n\\r\\n"],
                    ),
                    by_log: false,
                });
            }
            (servers, ours)
        };
        let (servers, ours) = page_servers(&[], true);
        let classical = measure(b, o, r, "HTTPS page TLS 1.3 (P-256)", &servers, ours);
        let (servers, ours) = page_servers(&["--groups", "x25519mlkem768"], false);
        let hybrid = measure(
            b,
            o,
            r,
            "HTTPS page TLS 1.3 (P-256) X25519MLKEM768",
            &servers,
            ours,
        );
        (classical, hybrid)
    };
    if let Some(f) = page_classical.get(PINATA) {
        key_figures.insert("https/pinata".into(), f.rate);
    }

    cpu_target(
        r,
        "bounty mutual TLS 1.3, default chain (Ed25519), against rustls + aws-lc-rs with P-256",
        classical.get(PINATA),
        classical.get(REFERENCE_P256),
        1.0,
        &format!(
            "; {} against the reference with the same chain",
            per_cpu_ratio(classical.get(PINATA), classical.get(REFERENCE))
        ),
    );
    cpu_target(
        r,
        "the same, the image's soft back ends on the host",
        classical.get(PINATA_SOFT),
        classical.get(REFERENCE_P256),
        0.8,
        &format!(
            "; {} against the reference with the same chain",
            per_cpu_ratio(classical.get(PINATA_SOFT), classical.get(REFERENCE))
        ),
    );
    cpu_target(
        r,
        "bounty mutual TLS 1.3, default chain, X25519MLKEM768 both sides, against rustls + aws-lc-rs with P-256 and X25519MLKEM768",
        hybrid.get(PINATA),
        hybrid.get(REFERENCE_P256),
        1.0,
        &format!(
            "; {} against the reference with the same chain; image back ends {}",
            per_cpu_ratio(hybrid.get(PINATA), hybrid.get(REFERENCE)),
            per_cpu_ratio(hybrid.get(PINATA_SOFT), hybrid.get(REFERENCE_P256)),
        ),
    );
    cpu_target(
        r,
        "HTTPS page, TLS 1.3 (P-256 web certificate), against rustls + aws-lc-rs",
        page_classical.get(PINATA),
        page_classical.get(REFERENCE),
        1.0,
        &format!(
            "; with X25519MLKEM768 {}; image back ends {}",
            per_cpu_ratio(page_hybrid.get(PINATA), page_hybrid.get(REFERENCE)),
            per_cpu_ratio(
                page_classical.get(PINATA_SOFT),
                page_classical.get(REFERENCE)
            ),
        ),
    );
    if !o.details {
        return Ok(key_figures);
    }

    // The detail rows: TLS 1.2, the other key types, the short-circuit.
    for key_type in &o.key_types {
        let mut rows = vec![("12", false)];
        if key_type != DEFAULT_KEY_TYPE {
            rows.extend([("13", false), ("13", true)]);
        }
        for (tls, pq) in rows {
            let suffix = if pq { " X25519MLKEM768" } else { "" };
            let group = format!("bounty mutual TLS 1.{} {key_type}{suffix}", &tls[1..]);
            let (servers, ours) = bounty_servers(&mut s, key_type, tls, pq)?;
            measure(b, o, r, &group, &servers, ours);
        }
        // The short-circuit: 10000 joined to 10002, counted by the server's
        // log. Both run X25519MLKEM768: the piñata's client role offers it
        // first, so the reference's client role does too.
        let hosted = s.pinata(key_type)?;
        let ids = hosted.ids.clone();
        let (bounty, client_role) = (hosted.addr("server"), hosted.addr("client"));
        let (ref_server, ref_server_addr) =
            start_refserver(b, "server", &ids, "server", None, &[])?;
        let (_ref_client, ref_client_addr) = start_refserver(
            b,
            "client",
            &ids,
            "client",
            None,
            &["--groups", "x25519mlkem768,x25519,secp256r1"],
        )?;
        let short = |target: String, target2: String| {
            vec![
                "--mode".into(),
                "short".into(),
                "--target".into(),
                target,
                "--target2".into(),
                target2,
            ]
        };
        let servers = [
            Server {
                label: PINATA.into(),
                proc: &s.pinatas[key_type].proc,
                loadgen_args: short(bounty, client_role),
                by_log: true,
            },
            Server {
                label: REFERENCE.into(),
                proc: &ref_server,
                loadgen_args: short(ref_server_addr, ref_client_addr),
                by_log: true,
            },
        ];
        let group = format!("short-circuit {key_type}");
        let figures = compare(b, o, &servers);
        for (s, f) in servers.iter().zip(&figures) {
            // CPU time: only the server side's process is sampled for the
            // reference (its client role is another process), so leave it out.
            let mut f = f.clone();
            if s.label != PINATA {
                f.per_cpu = None;
            }
            r.add(&group, &s.label, f);
        }
        r.fact(
            &format!("{group}: piñata / rustls + aws-lc-rs"),
            ratio_text(
                &figures[0],
                &Figure {
                    per_cpu: None,
                    ..figures[1].clone()
                },
            ),
        );
        key_figures.insert(format!("{key_type}/short/pinata"), figures[0].rate);
        r.json.insert(
            group,
            json!(servers.iter().zip(&figures).map(|(s, f)| json!({"server": s.label, "rate": f.rate, "per_cpu_second": f.per_cpu})).collect::<Vec<_>>()),
        );
    }
    Ok(key_figures)
}
