//! The CA key must not outlive the boot: after [`pki::bootstrap`] (and after
//! the TLS configurations are built from its identities, as the appliance
//! does), no copy of the CA's secret scalar is left anywhere in the
//! process's writable memory — heap, stacks, data — and each leaf key
//! survives only as the one live signing key rustls holds.
//!
//! How: this test runs itself again as a child process (`erasure_child`,
//! ignored unless asked for). The child bootstraps from a fixed random
//! source (SplitMix64 over a counter: its state never holds the bytes it
//! hands out), builds the server, web and client configurations, drops the
//! PKI, says "ready" and waits. The parent, which knows the source, computes
//! every encoding of the keys it can think of and scans the child's writable
//! mappings through `/proc/PID/mem`. A control run, in which the child
//! deliberately keeps a copy of the CA's bytes on its heap and on its stack,
//! checks that the scan would find them.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use pinata::pki::{self, KeyType, PkiOptions};
use pinata::random::{GetRandomFailed, OS_RANDOM, SecureRandom};
use rustls::pki_types::UnixTime;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

const CHILD_ENV: &str = "PINATA_KEY_ERASURE_CHILD";

/// SplitMix64 over a counter, written straight into the caller's buffer.
#[derive(Debug)]
struct FixedRandom(AtomicU64);

impl FixedRandom {
    const fn new() -> Self {
        Self(AtomicU64::new(0x5eed_0fb0_07aa))
    }
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl SecureRandom for FixedRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        for chunk in buf.chunks_mut(8) {
            let word = splitmix(self.0.fetch_add(1, Ordering::Relaxed)).to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        Ok(())
    }
}

fn key_type(name: &str) -> KeyType {
    name.parse().expect("key type")
}

/// The child: bootstrap, build the TLS configurations, drop the PKI, wait.
#[test]
#[ignore = "run by keys_are_erased_after_bootstrap as its child process"]
fn erasure_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        panic!("run by keys_are_erased_after_bootstrap only");
    };
    let (key_type_name, mode) = spec.split_once(':').expect("KEYTYPE:MODE");
    static RANDOM: FixedRandom = FixedRandom::new();
    let mut options = PkiOptions::new(UnixTime::now());
    options.bounty_key_type = key_type(key_type_name);
    let pki = pki::bootstrap(&RANDOM, &options).expect("bootstrap");
    if mode == "bootstrap" {
        ready_then_wait();
        std::hint::black_box(&pki);
        return;
    }

    // As the appliance does: one configuration per identity, keys loaded
    // through the piñata's provider from `key_der()` copies.
    let provider = Arc::new(pinata::provider::provider(&OS_RANDOM));
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca_cert.clone()).expect("CA");
    let roots = Arc::new(roots);
    let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
        .build()
        .expect("verifier");
    let server = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(pki.server.cert_chain.clone(), pki.server.key_der())
        .expect("server config");
    let web = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pki.web.cert_chain.clone(), pki.web.key_der())
        .expect("web config");
    let client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(pki.client.cert_chain.clone(), pki.client.key_der())
        .expect("client config");
    drop(pki);

    // The control: the CA's first 32 bytes, drawn again, kept on the heap
    // and on this stack while the parent scans.
    let mut heap_copy = Vec::new();
    let mut stack_copy = [0u8; 32];
    if mode == "control" {
        FixedRandom::new().fill(&mut stack_copy).unwrap();
        heap_copy = stack_copy.to_vec();
    }
    std::hint::black_box((&heap_copy, &stack_copy));

    ready_then_wait();
    std::hint::black_box((&server, &web, &client, &heap_copy, &stack_copy));
}

/// Tells the parent to scan, and waits until it closes our stdin.
fn ready_then_wait() {
    println!("erasure-child: ready");
    std::io::stdout().flush().unwrap();
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
}

/// The child process, killed (by its pid) when dropped.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the child in `mode` and returns it once it is ready.
fn start_child(key_type: &str, mode: &str) -> ChildGuard {
    let mut child = ChildGuard(
        Command::new(std::env::current_exe().unwrap())
            .args(["erasure_child", "--exact", "--ignored", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(CHILD_ENV, format!("{key_type}:{mode}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the child"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("erasure-child: ready") => break,
            Some(Ok(_)) => {}
            other => panic!("the child ended before it was ready: {other:?}"),
        }
    }
    child
}

/// Named byte strings to look for, by their 16-byte halves, so that a copy
/// half overwritten still counts.
struct Patterns {
    names: Vec<String>,
    /// 16-byte needle → (index into `names`, which half).
    needles: HashMap<[u8; 16], (usize, usize)>,
}

/// What the scan found of one pattern.
#[derive(Clone, Default)]
struct Hits {
    /// Occurrences of each half.
    halves: [usize; 2],
    places: Vec<String>,
}

impl Hits {
    /// Copies, whole or half.
    fn copies(&self) -> usize {
        self.halves[0].max(self.halves[1])
    }
}

impl Patterns {
    fn new() -> Self {
        Self {
            names: Vec::new(),
            needles: HashMap::new(),
        }
    }

    fn add(&mut self, name: String, bytes: &[u8]) {
        let index = self.names.len();
        self.names.push(name);
        for (which, half) in bytes.chunks_exact(16).enumerate() {
            self.needles
                .insert(half.try_into().unwrap(), (index, which));
        }
    }

    /// Where each pattern's halves occur in the child's writable mappings.
    fn scan(&self, pid: u32) -> Vec<Hits> {
        let mut hits = vec![Hits::default(); self.names.len()];
        let mut first_two = vec![false; 1 << 16];
        for needle in self.needles.keys() {
            first_two[usize::from(u16::from_le_bytes([needle[0], needle[1]]))] = true;
        }
        let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
        let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
        for line in maps.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if !fields[1].starts_with("rw") {
                continue;
            }
            let (start, end) = fields[0].split_once('-').unwrap();
            let start = u64::from_str_radix(start, 16).unwrap();
            let end = u64::from_str_radix(end, 16).unwrap();
            let region = fields.get(5).copied().unwrap_or("[anonymous]");
            let mut bytes = vec![0u8; (end - start) as usize];
            if mem.seek(SeekFrom::Start(start)).is_err() || mem.read_exact(&mut bytes).is_err() {
                continue;
            }
            for i in 0..bytes.len().saturating_sub(15) {
                if !first_two[usize::from(u16::from_le_bytes([bytes[i], bytes[i + 1]]))] {
                    continue;
                }
                let window: [u8; 16] = bytes[i..i + 16].try_into().unwrap();
                if let Some(&(index, which)) = self.needles.get(&window) {
                    hits[index].halves[which] += 1;
                    hits[index].places.push(format!("{region}+{i:#x}"));
                }
            }
        }
        hits
    }
}

/// The fixed source's bytes `from..from + 32`.
fn drawn(from: usize) -> [u8; 32] {
    let source = FixedRandom::new();
    let mut bytes = vec![0u8; from + 32];
    source.fill(&mut bytes).unwrap();
    bytes[from..].try_into().unwrap()
}

/// Every encoding of a key drawn as `secret` that a crate might keep.
fn encodings(patterns: &mut Patterns, who: &str, key_type: KeyType, secret: [u8; 32]) {
    let mut reversed = secret;
    reversed.reverse();
    patterns.add(format!("{who}: the drawn bytes"), &secret);
    patterns.add(format!("{who}: the drawn bytes reversed"), &reversed);
    match key_type {
        KeyType::EcdsaP256 => {
            // Montgomery form x·R mod n (R = 2^256 mod n), in either order.
            use p256::elliptic_curve::PrimeField;
            let x = p256::Scalar::from_repr(secret.into()).unwrap();
            let two_128 = p256::Scalar::from_u128(1 << 127).double();
            let montgomery = x * two_128 * two_128;
            let mut bytes: [u8; 32] = montgomery.to_repr().into();
            patterns.add(format!("{who}: Montgomery form"), &bytes);
            bytes.reverse();
            patterns.add(format!("{who}: Montgomery form reversed"), &bytes);
        }
        KeyType::Ed25519 => {
            use sha2::{Digest, Sha512};
            let hash = Sha512::digest(secret);
            let mut scalar: [u8; 32] = hash[..32].try_into().unwrap();
            scalar[0] &= 248;
            scalar[31] &= 127;
            scalar[31] |= 64;
            patterns.add(format!("{who}: clamped scalar"), &scalar);
            patterns.add(format!("{who}: nonce prefix"), &hash[32..]);
        }
    }
}

/// Offsets of the draws `bootstrap` makes, in order: each certificate's
/// key (32 bytes) then its serial number (16 bytes).
const CA_KEY_AT: usize = 0;
const SERVER_KEY_AT: usize = 48;
const CLIENT_KEY_AT: usize = 96;
const WEB_KEY_AT: usize = 144;

fn check(key_type_name: &str) {
    let key_type = key_type(key_type_name);
    let mut ca = Patterns::new();
    encodings(&mut ca, "CA", key_type, drawn(CA_KEY_AT));
    let mut leaves = Patterns::new();
    encodings(&mut leaves, "server", key_type, drawn(SERVER_KEY_AT));
    encodings(&mut leaves, "client", key_type, drawn(CLIENT_KEY_AT));
    encodings(&mut leaves, "web", KeyType::EcdsaP256, drawn(WEB_KEY_AT));

    // The control: the scan finds the copies the child keeps on purpose.
    let control = start_child(key_type_name, "control");
    let hits = ca.scan(control.0.id());
    assert!(
        hits[0].copies() >= 2,
        "the scan missed the control copies (found at {:?})",
        hits[0].places
    );
    drop(control);

    let mut failures = Vec::new();
    // Right after the bootstrap (the leaves' PKCS#8 keys still in the
    // `Pki`), then once the configurations hold the keys and the `Pki` is
    // gone.
    for (stage, leaf_copies) in [("bootstrap", 1), ("configs", 1)] {
        let child = start_child(key_type_name, stage);
        let ca_hits = ca.scan(child.0.id());
        let leaf_hits = leaves.scan(child.0.id());
        drop(child);
        for (name, hits) in ca.names.iter().zip(&ca_hits) {
            println!("{key_type_name} after {stage}: {name}: {:?}", hits.places);
            if hits.copies() > 0 {
                failures.push(format!("after {stage}: {name} at {:?}", hits.places));
            }
        }
        // Each leaf key lives on, once: in the `Pki`'s PKCS#8 after the
        // bootstrap, then as the signing key its configuration holds. Any
        // further copy (a `key_der` copy, a stack temporary) is too many.
        for who in ["server", "client", "web"] {
            let mut total = 0;
            for (name, hits) in leaves.names.iter().zip(&leaf_hits) {
                if name.starts_with(who) {
                    println!("{key_type_name} after {stage}: {name}: {:?}", hits.places);
                    total += hits.copies();
                }
            }
            if total > leaf_copies {
                failures.push(format!("after {stage}: {who} key: {total} copies"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{key_type_name}: key material left behind:\n{}",
        failures.join("\n")
    );
}

#[test]
fn keys_are_erased_after_bootstrap_ed25519() {
    check("ed25519");
}

#[test]
fn keys_are_erased_after_bootstrap_p256() {
    check("ecdsa-p256");
}
