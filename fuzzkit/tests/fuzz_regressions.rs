//! Fuzzing, replayed by the normal test suite.
//!
//! - Every input kept under `fuzz/regressions/<target>/` (each crash ever
//!   found, and a few hand-made attacks) goes through the same target body
//!   the fuzzer runs (`fuzzkit::targets`), so a fixed bug stays fixed.
//! - The fuzzing mode itself is checked: its recorded handshakes and seeds
//!   run clean, and the oracle can fail — with the test-only planted bug
//!   (`--features planted-bug`) it must catch a certificate from a
//!   look-alike CA; without it, that input must be harmless.
//!
//! Plain `cargo test` (or `cargo test -p fuzzkit`) runs all of this.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use fuzzkit::targets;

fn regressions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions")
}

// With the planted bug, the hand-made attacks among the saved inputs and
// seeds are (rightly) crashes: only the planted-bug check below runs.
#[test]
#[cfg_attr(feature = "planted-bug", ignore)]
fn saved_inputs_replay_cleanly() {
    let mut replayed = 0;
    for target in targets::TARGETS {
        let dir = regressions().join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
            .collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).expect("regression input");
            let result = catch_unwind(|| targets::run(target, &data));
            match result {
                Ok(true) => replayed += 1,
                Ok(false) => panic!("unknown fuzz target directory {}", dir.display()),
                Err(_) => panic!("{} fails again (see the panic above)", file.display()),
            }
        }
    }
    assert!(
        replayed > 0,
        "no regression inputs found under {}",
        regressions().display()
    );
}

#[test]
#[cfg_attr(feature = "planted-bug", ignore)]
fn recorded_handshakes_and_seeds_run_clean() {
    let world = fuzzkit::world();
    assert!(world.transcripts.len() >= 12);
    for (target, name, data) in targets::seeds() {
        let result = catch_unwind(|| targets::run(target, &data));
        assert!(
            matches!(result, Ok(true)),
            "seed {target}/{name} trips the target"
        );
        // The network seeds are recorded conversations: replayed, the TCP
        // and TLS handshakes must go through again (determinism).
        if target == "stack_ingress" && !name.starts_with("http") && !name.starts_with("arp") {
            assert!(
                fuzzkit::network::delivers_secret(&data),
                "stack_ingress seed {name} no longer replays to the end"
            );
        }
    }
}

#[test]
fn look_alike_ca_is_refused_or_the_planted_bug_is_caught() {
    let input = targets::self_made_ca_input();
    let result = catch_unwind(AssertUnwindSafe(|| targets::handshake_transcript(&input)));
    let message = result.as_ref().err().map(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    });
    if cfg!(feature = "planted-bug") {
        let message = message.expect("the planted bug went unnoticed: the oracle cannot fail");
        assert!(
            message.starts_with("ORACLE: the secret went to an unauthenticated peer"),
            "{message}"
        );
    } else {
        assert!(message.is_none(), "{message:?}");
    }
}

/// The first crash the fuzzer found, replayed with the production crypto
/// provider: a TLS 1.3 client (rustls, which sends Certificate,
/// CertificateVerify and Finished in one record) presenting a certificate
/// from a look-alike CA made the TLS driver panic while draining the alert.
#[test]
fn rejected_certificate_coalesced_with_finished_is_refused_without_panic() {
    use pinata::random::OS_RANDOM;
    use pinata::time::{Instant, SystemClock, UnixTime};
    use pinata::{Accepted, Config, Limits, Pinata, Service, pki, provider, tls::TlsStream};
    use std::sync::Arc;

    let options = pki::PkiOptions::new(UnixTime::now());
    let ours = pki::bootstrap(&OS_RANDOM, &options).unwrap();
    let look_alike = pki::bootstrap(&OS_RANDOM, &options).unwrap();
    let provider = Arc::new(provider::provider(&OS_RANDOM));
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ours.ca_cert.clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(
            look_alike.client.cert_chain.clone(),
            look_alike.client.key_der(),
        )
        .unwrap();
    let config = Config {
        prize: None,
        limits: Limits::default(),
        web_identity: None,
    };
    let now = Instant::from_millis(0);
    let app = Arc::new(Pinata::new(ours, config, provider, Arc::new(SystemClock), now).unwrap());
    let Accepted::Session(mut server) =
        app.accept(Service::Server, "127.0.0.1:1".parse().unwrap(), now)
    else {
        panic!("the bounty server is a session");
    };
    let name = pki::BOUNTY_SERVER_NAME.try_into().unwrap();
    let mut client = TlsStream::client(Arc::new(client), name).unwrap();
    client.process().unwrap();
    let mut last = Vec::new();
    for _ in 0..4 {
        let out = client.outgoing().to_vec();
        client.consume_outgoing(out.len());
        server.receive(&out, now);
        let back = server.outgoing().to_vec();
        server.consume_outgoing(back.len());
        let _ = client.receive(&back);
        if !back.is_empty() {
            last = back;
        }
    }
    // The refusal still goes out: one encrypted alert record (2 bytes of
    // alert, the inner content type, a 16-byte tag).
    assert_eq!((last.len(), last[0]), (5 + 2 + 1 + 16, 23), "{last:?}");
    let outcome = server.outcome(now).expect("the session ended").result;
    assert!(
        matches!(
            outcome,
            pinata::session::OutcomeKind::Failed(pinata::FailureReason::BadSignature, _)
        ),
        "{outcome:?}"
    );
}
