//! Runs the built `pinata-wallet` binary as an operator would.
//!
//! Keys used here are either freshly generated regtest keys or the
//! well-known test vector "private key 1"; never a real key.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_pinata-wallet");
/// Private key 1, compressed, test-network WIF (a public test vector).
const KEY1_WIF_TEST: &str = "cMahea7zqjxrtgAbB7LSGbcQUr1uX1ojuat9jZodMN87JcbXMTcA";

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run pinata-wallet")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn write_key(dir: &Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    fs::write(&path, contents).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    }
    path.to_str().unwrap().to_owned()
}

#[test]
fn new_writes_a_0600_key_file_and_prints_addresses_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prize.wif");
    let p = path.to_str().unwrap();

    let o = run(&["new", "--network", "regtest", "--out", p]);
    assert!(o.status.success(), "stderr: {}", stderr(&o));

    let contents = fs::read_to_string(&path).unwrap();
    assert!(contents.ends_with('\n'), "{contents:?}");
    let wif = contents.trim_end();
    assert_eq!(wif.len(), 52);
    assert!(wif.starts_with('c'), "test-network compressed WIF: {wif}");
    assert_eq!(contents.len(), 53, "exactly WIF + newline");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "mode {mode:o}");
    }

    let out = stdout(&o);
    assert!(!out.contains(wif), "new printed the key: {out}");
    assert!(!stderr(&o).contains(wif), "new printed the key on stderr");
    assert!(out.contains("regtest"), "{out}");
    assert!(out.contains("bcrt1q"), "{out}");

    // The address printed by `new` is the one `show` derives from the file.
    let s = run(&["show", p, "--network", "regtest"]);
    assert!(s.status.success(), "stderr: {}", stderr(&s));
    let p2wpkh = stdout(&s)
        .lines()
        .find_map(|l| l.strip_prefix("p2wpkh:").map(|a| a.trim().to_owned()))
        .unwrap();
    assert!(out.contains(&p2wpkh), "{out} vs {p2wpkh}");
}

#[test]
fn new_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_key(dir.path(), "existing.wif", "do not touch\n");

    let o = run(&["new", "--network", "regtest", "--out", &p]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(fs::read_to_string(&p).unwrap(), "do not touch\n");
}

#[test]
fn new_generates_different_keys() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    for p in [&a, &b] {
        let o = run(&["new", "--network=testnet", "--out", p.to_str().unwrap()]);
        assert!(o.status.success(), "stderr: {}", stderr(&o));
    }
    assert_ne!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
}

#[test]
fn show_prints_addresses_but_not_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_key(dir.path(), "k.wif", &format!("{KEY1_WIF_TEST}\n"));

    let o = run(&["show", &p, "--network", "regtest"]);
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("regtest"), "{out}");
    assert!(
        out.contains("bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"),
        "{out}"
    );
    assert!(out.contains("mrCDrCybB6J1vRfbwM5hemdJz73FwDBC8r"), "{out}");
    assert!(!out.contains(KEY1_WIF_TEST), "show printed the key: {out}");
    assert!(!stderr(&o).contains(KEY1_WIF_TEST));

    // Without --network a test WIF is shown as testnet, with a note.
    let o = run(&["show", &p]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(
        out.contains("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"),
        "{out}"
    );
    assert!(out.contains("mempool.space/testnet/address/"), "{out}");
    assert!(stderr(&o).contains("--network"), "{}", stderr(&o));
    assert!(!out.contains(KEY1_WIF_TEST));
}

#[test]
fn show_reveal_prints_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_key(dir.path(), "k.wif", &format!("{KEY1_WIF_TEST}\n"));
    let o = run(&["show", "--reveal", &p, "--network", "signet"]);
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains(KEY1_WIF_TEST), "{out}");
    assert!(out.contains("signet"), "{out}");
}

#[test]
fn show_rejects_a_network_of_the_other_kind() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_key(dir.path(), "k.wif", &format!("{KEY1_WIF_TEST}\n"));
    let o = run(&["show", &p, "--network", "bitcoin"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("bitcoin"), "{err}");
    assert!(stdout(&o).is_empty());
}

#[test]
fn show_bad_files_fail_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        // (contents, what the message must say)
        ("this is not a key\n", "not a base58 character"),
        (
            // Last character changed.
            "cMahea7zqjxrtgAbB7LSGbcQUr1uX1ojuat9jZodMN87JcbXMTcB\n",
            "checksum",
        ),
        (
            // Bitcoin wiki's uncompressed mainnet WIF.
            "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ\n",
            "uncompressed",
        ),
        ("\n", "empty"),
    ];
    for (i, (contents, needle)) in cases.iter().enumerate() {
        let p = write_key(dir.path(), &format!("bad{i}"), contents);
        let o = run(&["show", &p]);
        assert_eq!(o.status.code(), Some(1), "case {i}");
        let err = stderr(&o);
        assert!(err.contains("error"), "case {i}: {err}");
        assert!(err.contains(needle), "case {i}: {err}");
        assert!(err.contains(&p), "names the file: {err}");
        assert!(stdout(&o).is_empty(), "case {i}");
    }

    let missing = dir.path().join("missing");
    let o = run(&["show", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot open"), "{}", stderr(&o));

    let big = write_key(dir.path(), "big", &"K".repeat(10_000));
    let o = run(&["show", &big]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("too large"), "{}", stderr(&o));
}

#[test]
fn bad_usage_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k");
    let out = out.to_str().unwrap();
    for args in [
        &[][..],
        &["frobnicate"],
        &["new", "--out", out],
        &["new", "--network", "regtest"],
        &["new", "--network", "moon", "--out", out],
        &["new", "--network"],
        &["new", "--network", "regtest", "--out", out, "--reveal"],
        &["show"],
        &["show", "a", "b"],
        &["show", "a", "--bogus"],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("--help"), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{args:?}");
    }
    // Nothing was created by the failed `new` invocations.
    assert!(!Path::new(out).exists());
}

#[test]
fn help_prints_usage() {
    for flag in ["--help", "-h"] {
        let o = run(&[flag]);
        assert!(o.status.success());
        let out = stdout(&o);
        assert!(out.contains("pinata-wallet new --network"), "{out}");
        assert!(out.contains("--reveal"), "{out}");
    }
}
