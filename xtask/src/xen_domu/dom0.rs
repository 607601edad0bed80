//! The checks, run inside dom0 (`xtask xen-domu-dom0`, started by dom0's
//! `/init`): everything an operator and an attacker would do to the
//! piñata as an `xl create` guest behind a real netback.
//!
//! Each phase prints one marker line on the console —
//! `xen-domu: phase NAME ok N ms: what was seen` or
//! `xen-domu: phase NAME FAILED N ms: why` — and the run ends with
//! `xen-domu: dom0 checks passed` or `… failed: phases`. The host decides
//! from those lines only. Waits poll a readiness signal (a console line,
//! a counter on `/stats.json`, `xl` saying the domain is gone) within a
//! generous bound; no phase passes or fails on how long it took.
//!
//! Nothing here prints the prize: leaks are looked for with
//! [`carries_piece_of`] and reported as such.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{
    BATTERY_FILE, CANARY, DOM0_DIR, GUEST_IP, GUEST_LOG, NAME, SOURCES_FIRST, carries_piece_of,
    frames,
};

/// Console lines the guest prints.
const READY: &str = "pinata: ready;";
const ASKED_REBOOT: &str = "xen: the toolstack asked for a reboot";
const ASKED_POWEROFF: &str = "xen: the toolstack asked for poweroff";

/// Bounds on waits (not timing assertions: a run that needs them is broken).
const BOOT_LIMIT: Duration = Duration::from_secs(300);
const COUNTER_LIMIT: Duration = Duration::from_secs(60);

const CAPTURE: &str = "/tmp/guest.pcap";

struct Run {
    wif: String,
    address: String,
    mac: [u8; 6],
    capture: Option<Child>,
    failed: Vec<&'static str>,
}

/// `xtask xen-domu-dom0`.
pub fn main() -> Result<(), String> {
    let wif = std::fs::read_to_string(Path::new(DOM0_DIR).join("prize.wif"))
        .map_err(|e| format!("the prize file: {e}"))?
        .trim()
        .to_string();
    let address = wallet::PrizeKey::from_wif_for(&wif, wallet::Network::Regtest)
        .map_err(|e| format!("the prize file: {e}"))?
        .p2wpkh_address();
    let mut run = Run {
        wif,
        address,
        mac: [0; 6],
        capture: None,
        failed: Vec::new(),
    };
    if !run.phase("create", Run::create) {
        run.phase("console", Run::console);
        return run.finish();
    }
    run.phase("vif", Run::vif);
    run.phase("capture-start", Run::capture_start);
    run.phase("page", Run::page);
    run.phase("no-certificate", Run::no_certificate);
    run.phase("short-circuit", Run::short_circuit);
    run.phase("connect-back", Run::connect_back);
    // The capture goes on through the battery: every kind of frame the
    // guest sends (alerts, resets, records of every size) is checked.
    run.phase("battery", Run::battery);
    run.phase("frames", Run::frames);
    run.phase("reboot", Run::reboot);
    run.phase("shutdown", Run::shutdown);
    run.phase("destroy", Run::destroy);
    run.phase("console", Run::console);
    run.finish()
}

impl Run {
    /// Runs one phase and prints its marker; whether it passed.
    fn phase(&mut self, name: &'static str, f: fn(&mut Run) -> Result<String, String>) -> bool {
        println!("xen-domu: phase {name} starting");
        let started = Instant::now();
        let result = f(self);
        let ms = started.elapsed().as_millis();
        match result {
            Ok(detail) => {
                println!("xen-domu: phase {name} ok {ms} ms: {detail}");
                true
            }
            Err(why) => {
                // One line: the host parses it.
                println!(
                    "xen-domu: phase {name} FAILED {ms} ms: {}",
                    why.replace('\n', " | ")
                );
                self.failed.push(name);
                false
            }
        }
    }

    fn finish(self) -> Result<(), String> {
        if self.failed.is_empty() {
            println!("xen-domu: dom0 checks passed");
            Ok(())
        } else {
            println!("xen-domu: dom0 checks failed: {}", self.failed.join(", "));
            Err(format!("{} phase(s) failed", self.failed.len()))
        }
    }

    fn leaks(&self, bytes: &[u8]) -> bool {
        carries_piece_of(bytes, self.wif.as_bytes())
    }

    // --- phases -----------------------------------------------------------

    fn create(&mut self) -> Result<String, String> {
        let before = count(READY);
        xl(&["create", &format!("{DOM0_DIR}/pinata.xl")])?;
        let line = wait_ready(before)?;
        Ok(format!(
            "xl create {DOM0_DIR}/pinata.xl (as `cargo xtask xl-config` wrote it); the guest says: {line}"
        ))
    }

    fn vif(&mut self) -> Result<String, String> {
        let (vif, mac, state) = vif()?;
        self.mac = mac;
        if state != "4" {
            return Err(format!("{vif}: backend state {state}, not 4 (connected)"));
        }
        Ok(format!(
            "{vif}, MAC {}, backend state 4 (connected)",
            mac.map(|b| format!("{b:02x}")).join(":")
        ))
    }

    fn capture_start(&mut self) -> Result<String, String> {
        let (vif, mac, _) = vif()?;
        let _ = std::fs::remove_file(CAPTURE);
        // Only what the guest sends: half the work for tcpdump while the
        // battery runs, and the other direction is not checked anyway.
        let from_guest = format!("ether src {}", mac.map(|b| format!("{b:02x}")).join(":"));
        let mut child = Command::new("tcpdump")
            .args([
                "-i",
                &vif,
                "-w",
                CAPTURE,
                "-U",
                "-s",
                "0",
                "-n",
                &from_guest,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("tcpdump: {e}"))?;
        let lines = follow(child.stderr.take().expect("stderr"));
        let listening = wait_until(Duration::from_secs(60), "tcpdump listening", || {
            Ok(lines
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains("listening on"))
                .cloned())
        });
        match listening {
            Ok(line) => {
                self.capture = Some(child);
                Ok(format!(
                    "tcpdump -i {vif} -w {CAPTURE} {from_guest}: {line}"
                ))
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("{e}: {:?}", lines.lock().unwrap()))
            }
        }
    }

    fn page(&mut self) -> Result<String, String> {
        let page = curl("/")?;
        if !page.contains(&self.address) {
            return Err(format!(
                "the page lacks the prize's address {}",
                self.address
            ));
        }
        if !page.contains("BEGIN CERTIFICATE") {
            return Err("the page shows no CA certificate".into());
        }
        let stats = stats()?;
        if stats["address"] != self.address.as_str() || stats["network"] != "regtest" {
            return Err(format!(
                "/stats.json says address {} network {}, expected {} regtest",
                stats["address"], stats["network"], self.address
            ));
        }
        Ok(format!(
            "GET / ({} bytes) and /stats.json show {} (derived from the prize), network regtest",
            page.len(),
            self.address
        ))
    }

    fn no_certificate(&mut self) -> Result<String, String> {
        let before = stats()?;
        let out = bounded(
            Command::new("openssl")
                .args(["s_client", "-connect", &format!("{GUEST_IP}:10000")])
                .arg("-ign_eof"),
            Duration::from_secs(60),
        )?;
        if self.leaks(&out) {
            return Err("openssl without a certificate received a piece of the prize".into());
        }
        let moved = wait_counter(&before, "server", "no_certificate")?;
        no_secret_moved(&before)?;
        Ok(format!(
            "openssl s_client without a certificate: refused, server failures.no_certificate +{moved}, no secret in its {} bytes of output, secrets_sent unchanged",
            out.len()
        ))
    }

    fn short_circuit(&mut self) -> Result<String, String> {
        let before = stats()?;
        let out = bounded(
            Command::new("socat").args([
                "-T",
                "30",
                &format!("TCP:{GUEST_IP}:10000"),
                &format!("TCP:{GUEST_IP}:10002"),
            ]),
            Duration::from_secs(90),
        )?;
        if self.leaks(&out) {
            return Err("socat printed a piece of the prize".into());
        }
        let server = wait_counter(&before, "server", "secrets_sent")?;
        let client = wait_counter(&before, "client", "secrets_sent")?;
        Ok(format!(
            "socat TCP:{GUEST_IP}:10000 TCP:{GUEST_IP}:10002: secrets_sent server +{server}, client +{client}"
        ))
    }

    fn connect_back(&mut self) -> Result<String, String> {
        let (key, cert) = ("/tmp/wrong.key", "/tmp/wrong.pem");
        let made = bounded(
            Command::new("openssl").args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                key,
                "-out",
                cert,
                "-days",
                "2",
                "-subj",
                "/CN=not the pinata's CA",
            ]),
            Duration::from_secs(60),
        )?;
        if !Path::new(cert).is_file() {
            return Err(format!(
                "openssl req made no certificate: {}",
                String::from_utf8_lossy(&made)
            ));
        }
        let mut server = Command::new("openssl")
            .args([
                "s_server", "-accept", "40001", "-cert", cert, "-key", key, "-naccept", "1",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("openssl s_server: {e}"))?;
        let out = follow(server.stdout.take().expect("stdout"));
        let err = follow(server.stderr.take().expect("stderr"));
        let result = (|| {
            wait_until(Duration::from_secs(60), "s_server's ACCEPT", || {
                Ok(out
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|l| l.contains("ACCEPT"))
                    .then_some(()))
            })?;
            let before = stats()?;
            // Connect-back: the piñata closes this and dials us on 40001.
            let trigger = TcpStream::connect_timeout(
                &format!("{GUEST_IP}:10001").parse().expect("address"),
                Duration::from_secs(20),
            )
            .map_err(|e| format!("connect to {GUEST_IP}:10001: {e}"))?;
            drop(trigger);
            let failed = wait_counter(&before, "connect_back", "handshakes_failed")?;
            no_secret_moved(&before)?;
            let after = stats()?;
            let reasons = moved_failures(&before, &after, "connect_back");
            Ok::<_, String>(format!(
                "openssl s_server -accept 40001 with a certificate from another CA: the piñata dialled it and refused it (connect_back handshakes_failed +{failed}; {reasons}), secrets_sent unchanged"
            ))
        })();
        // s_server exits after its one connection; stop it in any case.
        let _ = server.kill();
        let _ = server.wait();
        let seen: Vec<String> = out
            .lock()
            .unwrap()
            .iter()
            .chain(err.lock().unwrap().iter())
            .cloned()
            .collect();
        if self.leaks(seen.join("\n").as_bytes()) {
            return Err("s_server received a piece of the prize".into());
        }
        result.map(|detail| format!("{detail}; s_server saw no secret"))
    }

    fn frames(&mut self) -> Result<String, String> {
        // Large frames for certain: the page and the CA once more.
        curl("/")?;
        curl("/ca.pem")?;
        let mut child = self.capture.take().ok_or("no capture running")?;
        // SIGINT: tcpdump flushes and closes the file.
        let pid = libc::pid_t::try_from(child.id()).map_err(|e| e.to_string())?;
        // SAFETY: kill(2) on the tcpdump this process started and still
        // owns (not yet waited for, so the pid is not reused).
        unsafe { libc::kill(pid, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().map_err(|e| e.to_string())?.is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            thread::sleep(Duration::from_millis(100));
        }
        let pcap = std::fs::read(CAPTURE).map_err(|e| format!("{CAPTURE}: {e}"))?;
        let report = frames::check(&pcap, self.mac, &self.wif, CANARY)?;
        let summary = format!(
            "{} frames captured on the vif, {} from the guest: {} small (under 60 bytes by their headers; {} padded to 60), {} large (largest {} bytes)",
            report.frames,
            report.from_guest,
            report.small,
            report.padded,
            report.large,
            report.largest
        );
        if !report.problems.is_empty() {
            return Err(format!("{summary}; {}", report.problems.join("; ")));
        }
        if report.small == 0 || report.large == 0 {
            return Err(format!(
                "{summary}: the capture needs small and large frames to show anything"
            ));
        }
        Ok(format!(
            "{summary}; every length matches its headers, padding is zeros, no 16-byte piece of the WIF or of the heap canary"
        ))
    }

    fn battery(&mut self) -> Result<String, String> {
        // The visitor, the flood's 200 sources and the hostile-load cases'
        // 64, as addresses on the bridge (`xtask attack --sources`).
        let first = u32::from(SOURCES_FIRST);
        // Host addresses: off the guest's link, routed through dom0.
        let prefix = 32;
        let batch: String = (0..=200u32 + 64)
            .map(|i| {
                format!(
                    "addr add {}/{prefix} dev xenbr0\n",
                    std::net::Ipv4Addr::from(first + i)
                )
            })
            .collect();
        let mut ip = Command::new("ip")
            .args(["-batch", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|e| format!("ip: {e}"))?;
        {
            use std::io::Write;
            let mut stdin = ip.stdin.take().expect("stdin");
            stdin
                .write_all(batch.as_bytes())
                .map_err(|e| format!("ip -batch: {e}"))?;
        }
        let status = ip.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("ip -batch (adding 265 addresses) failed: {status}"));
        }
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(exe);
        cmd.args([
            "attack",
            "--target",
            &format!("external:{GUEST_IP}"),
            "--sources",
            &SOURCES_FIRST.to_string(),
            "--console",
            GUEST_LOG,
            // The capture running since capture-start: the guest's SYN-ACKs
            // for the initial-sequence-number case.
            "--pcap",
            CAPTURE,
        ]);
        let patterns =
            std::fs::read_to_string(BATTERY_FILE).map_err(|e| format!("{BATTERY_FILE}: {e}"))?;
        let patterns: Vec<&str> = patterns.lines().filter(|l| !l.is_empty()).collect();
        if !patterns.contains(&"all") {
            for case in &patterns {
                cmd.args(["--case", case]);
            }
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("xtask attack: {e}"))?;
        let err = follow(child.stderr.take().expect("stderr"));
        let mut summary = String::new();
        let mut late = Vec::new();
        let mut in_problems = false;
        let (mut crashes, mut page_down_after) = (Vec::new(), 0);
        for line in BufReader::new(child.stdout.take().expect("stdout"))
            .lines()
            .map_while(Result::ok)
        {
            println!("battery| {line}");
            if line.contains(" cases, ") && line.contains(" leaks, ") {
                summary = line.clone();
            }
            // A row's own problem lines: `    !! CRASH: …`, `    !! page after: …`.
            if let Some(problem) = line.trim_start().strip_prefix("!! ") {
                if problem.starts_with("CRASH") {
                    crashes.push(problem.to_string());
                } else if problem.starts_with("page after") {
                    page_down_after += 1;
                }
            }
            in_problems = (in_problems && line.starts_with("  ")) || line == "problems:";
            if in_problems && line.starts_with("  ") && late.len() < 5 {
                late.push(line.trim().to_string());
            }
        }
        let status = child.wait().map_err(|e| e.to_string())?;
        for line in err.lock().unwrap().iter() {
            println!("battery| {line}");
        }
        let verdict = BatteryVerdict::parse(&summary)
            .ok_or_else(|| format!("the battery ended without its summary line ({status})"))?;
        let detail = format!(
            "xtask attack --target external:{GUEST_IP} ({}): {summary}",
            patterns.join(", ")
        );
        if verdict.cases == 0 || verdict.leaks > 0 || !crashes.is_empty() {
            return Err(format!(
                "{detail}; {}; {}",
                crashes.join("; "),
                late.join("; ")
            ));
        }
        // Behaviour is the gate: no leak, no crash (the console's fault
        // lines included), and the page served after the battery. The
        // battery's own 1 s bar on every page probe, during and after each
        // case, is a timing figure here, with Xen, dom0 and the guest all
        // inside QEMU's TCG on a shared machine.
        let page = curl("/")?;
        if !page.contains(&self.address) {
            return Err(format!(
                "{detail}; after the battery the page lacks the address"
            ));
        }
        if status.success() {
            Ok(format!("{detail}; the page served after it"))
        } else {
            Ok(format!(
                "{detail}; the page served after it; over the battery's 1 s bar (figures, not gated on inside TCG): {page_down_after} probe(s) right after a case, and {}",
                late.join("; ")
            ))
        }
    }

    fn reboot(&mut self) -> Result<String, String> {
        let ca_before = curl("/ca.pem")?;
        let (asked, ready) = (count(ASKED_REBOOT), count(READY));
        let domid = xl(&["domid", NAME])?;
        xl(&["reboot", NAME])?;
        let line = wait_until(BOOT_LIMIT, "the guest back after xl reboot", || {
            if count(ASKED_REBOOT) > asked && count(READY) > ready {
                Ok(last_line(READY))
            } else {
                Ok(None)
            }
        })?;
        let new_domid = xl(&["domid", NAME])?;
        let ca_after = curl("/ca.pem")?;
        if !ca_after.contains("BEGIN CERTIFICATE") || ca_after == ca_before {
            return Err("after the reboot /ca.pem is not a new CA certificate".into());
        }
        let stats = stats()?;
        if stats["address"] != self.address.as_str() {
            return Err(format!(
                "after the reboot the address is {}, not {}",
                stats["address"], self.address
            ));
        }
        Ok(format!(
            "xl reboot obeyed (\"{ASKED_REBOOT}\"), on_reboot=restart: domain {} → {}, {line}; a new CA, the same prize address",
            domid.trim(),
            new_domid.trim()
        ))
    }

    fn shutdown(&mut self) -> Result<String, String> {
        let asked = count(ASKED_POWEROFF);
        let started = Instant::now();
        xl(&["shutdown", "-w", NAME])?;
        let took = started.elapsed().as_millis();
        if count(ASKED_POWEROFF) <= asked {
            return Err(format!("the console lacks \"{ASKED_POWEROFF}\""));
        }
        // on_poweroff = "destroy": xl's monitor for the domain destroys it.
        wait_gone("xl shutdown")?;
        Ok(format!(
            "xl shutdown -w obeyed (\"{ASKED_POWEROFF}\") after {took} ms; on_poweroff=destroy: domain gone {} ms after the request",
            started.elapsed().as_millis()
        ))
    }

    fn destroy(&mut self) -> Result<String, String> {
        let before = count(READY);
        xl(&["create", &format!("{DOM0_DIR}/pinata.xl")])?;
        wait_ready(before)?;
        xl(&["destroy", NAME])?;
        wait_gone("xl destroy")?;
        Ok("created again, serving; xl destroy: domain gone".into())
    }

    fn console(&mut self) -> Result<String, String> {
        let log = std::fs::read(GUEST_LOG).map_err(|e| format!("{GUEST_LOG}: {e}"))?;
        let text = String::from_utf8_lossy(&log);
        let mut connections = 0;
        for line in text.lines() {
            if line.contains("pinata: service=") {
                connections += 1;
            } else {
                println!("guest| {line}");
            }
        }
        if self.leaks(&log) {
            return Err(format!("{GUEST_LOG} holds a piece of the prize"));
        }
        let dmesg = xl(&["dmesg"])?;
        if self.leaks(dmesg.as_bytes()) {
            return Err("xl dmesg (Xen's console) holds a piece of the prize".into());
        }
        Ok(format!(
            "no piece of the prize in the guest's console ({} lines, {connections} connection lines not shown) or in Xen's (xl dmesg)",
            text.lines().count()
        ))
    }
}

// --- helpers ------------------------------------------------------------------

/// The battery's last line: `N cases, L leaks, C crashes, max page latency X ms`
/// (crashes include the page not answering after a case).
#[derive(Debug, PartialEq, Eq)]
struct BatteryVerdict {
    cases: usize,
    leaks: usize,
    crashes: usize,
}

impl BatteryVerdict {
    fn parse(line: &str) -> Option<BatteryVerdict> {
        let mut words = line.split(", ");
        let mut number =
            |unit: &str| -> Option<usize> { words.next()?.strip_suffix(unit)?.trim().parse().ok() };
        Some(BatteryVerdict {
            cases: number(" cases")?,
            leaks: number(" leaks")?,
            crashes: number(" crashes")?,
        })
    }
}

/// The guest's console so far (every boot of the domain, appended).
fn guest_log() -> String {
    std::fs::read(GUEST_LOG)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn count(marker: &str) -> usize {
    guest_log().lines().filter(|l| l.contains(marker)).count()
}

fn last_line(marker: &str) -> Option<String> {
    guest_log()
        .lines()
        .rev()
        .find(|l| l.contains(marker))
        .map(|l| l.trim().to_string())
}

/// Waits for one more `pinata: ready` line than `before`; a fatal line or
/// the domain vanishing ends the wait early.
fn wait_ready(before: usize) -> Result<String, String> {
    wait_until(BOOT_LIMIT, "the guest's \"pinata: ready\"", || {
        if count(READY) > before {
            return Ok(last_line(READY));
        }
        if let Some(fatal) = last_line("FATAL") {
            return Err(format!("the guest stopped: {fatal}"));
        }
        Ok(None)
    })
}

/// Waits until `xl` no longer knows the domain.
fn wait_gone(after: &str) -> Result<(), String> {
    wait_until(
        COUNTER_LIMIT,
        &format!("end of the domain after {after}"),
        || Ok(xl(&["domid", NAME]).is_err().then_some(())),
    )
}

/// Polls `check` every 200 ms until it yields, fails, or `limit` passes.
fn wait_until<T>(
    limit: Duration,
    what: &str,
    mut check: impl FnMut() -> Result<Option<T>, String>,
) -> Result<T, String> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check()? {
            return Ok(value);
        }
        if Instant::now() > deadline {
            return Err(format!("no {what} within {} s", limit.as_secs()));
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// Collects a pipe's lines in the background.
fn follow(pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

/// Runs `cmd` under coreutils' `timeout`; stdout and stderr together. An
/// unsuccessful exit is not an error here: callers judge the output.
fn bounded(cmd: &mut Command, limit: Duration) -> Result<Vec<u8>, String> {
    let mut full = Command::new("timeout");
    full.args(["-k", "5", &limit.as_secs().to_string()])
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .stdin(Stdio::null());
    let out = full
        .output()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    if out.status.code() == Some(124) {
        return Err(format!(
            "{cmd:?} did not finish within {} s",
            limit.as_secs()
        ));
    }
    let mut all = out.stdout;
    all.extend_from_slice(&out.stderr);
    Ok(all)
}

/// `xl ARGS`, bounded; its output, or why it failed.
fn xl(args: &[&str]) -> Result<String, String> {
    let out = Command::new("timeout")
        .args(["-k", "5", "240", "xl"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("xl: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "xl {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The guest's vif in dom0, its MAC and backend state (`xl network-list`).
fn vif() -> Result<(String, [u8; 6], String), String> {
    let domid = xl(&["domid", NAME])?;
    let list = xl(&["network-list", NAME])?;
    let row = list
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() >= 5 && f[0] == "0")
        .ok_or_else(|| format!("xl network-list shows no vif: {list}"))?;
    let mut mac = [0u8; 6];
    let parts: Vec<&str> = row[2].split(':').collect();
    if parts.len() != 6 {
        return Err(format!("xl network-list: `{}` is not a MAC", row[2]));
    }
    for (byte, part) in mac.iter_mut().zip(parts) {
        *byte = u8::from_str_radix(part, 16).map_err(|_| format!("bad MAC {}", row[2]))?;
    }
    Ok((format!("vif{}.0", domid.trim()), mac, row[4].to_string()))
}

/// GET `path` from the guest with curl.
fn curl(path: &str) -> Result<String, String> {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "30"])
        .arg(format!("http://{GUEST_IP}{path}"))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("curl: {e}"))?;
    if !out.status.success() || out.stdout.is_empty() {
        return Err(format!(
            "curl http://{GUEST_IP}{path} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn stats() -> Result<Value, String> {
    let text = curl("/stats.json")?;
    serde_json::from_str(&text).map_err(|e| format!("/stats.json: {e}"))
}

/// A service's counter, or one of its failure reasons.
fn counter(stats: &Value, service: &str, name: &str) -> u64 {
    let s = &stats["services"][service];
    s[name]
        .as_u64()
        .or_else(|| s["failures"][name].as_u64())
        .unwrap_or(0)
}

/// Waits until `service`'s `name` has moved past `before`; by how much.
fn wait_counter(before: &Value, service: &str, name: &str) -> Result<u64, String> {
    let was = counter(before, service, name);
    wait_until(COUNTER_LIMIT, &format!("{service}.{name} moving"), || {
        let now = counter(&stats()?, service, name);
        Ok((now > was).then(|| now - was))
    })
}

/// Fails if any service's `secrets_sent` moved since `before`.
fn no_secret_moved(before: &Value) -> Result<(), String> {
    let after = stats()?;
    for service in ["http", "https", "server", "connect_back", "client"] {
        if counter(&after, service, "secrets_sent") != counter(before, service, "secrets_sent") {
            return Err(format!("{service}.secrets_sent moved"));
        }
    }
    Ok(())
}

/// `reason +n` for each failure reason of `service` that moved.
fn moved_failures(before: &Value, after: &Value, service: &str) -> String {
    let Some(reasons) = after["services"][service]["failures"].as_object() else {
        return "no failure reasons".into();
    };
    let moved: Vec<String> = reasons
        .iter()
        .filter_map(|(reason, n)| {
            let n = n.as_u64()?;
            let was = counter(before, service, reason);
            (n > was).then(|| format!("{reason} +{}", n - was))
        })
        .collect();
    moved.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_battery_summary() {
        assert_eq!(
            BatteryVerdict::parse("67 cases, 0 leaks, 1 crashes, max page latency 1241 ms"),
            Some(BatteryVerdict {
                cases: 67,
                leaks: 0,
                crashes: 1
            })
        );
        assert_eq!(BatteryVerdict::parse("xtask: attack battery failed"), None);
        assert_eq!(BatteryVerdict::parse(""), None);
    }
}
