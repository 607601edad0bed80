//! Runs the built `pinata-wallet` binary as an operator would.
//!
//! Keys used here are either freshly generated regtest keys or well-known
//! test vectors (private key 1, the BIP 174 test keys); never a real key.
//! Every transaction and PSBT signature the binary makes is checked with
//! Bitcoin Core's script interpreter (libbitcoinconsensus).

mod support;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use bitcoin::consensus::encode::deserialize;
use bitcoin::psbt::Psbt;
use bitcoin::{Transaction, TxOut};
use support::{KEY1_WIF_MAIN, KEY1_WIF_TEST, consensus_verify, hex, key1_scripts, sat, txid};

const BIN: &str = env!("CARGO_BIN_EXE_pinata-wallet");
/// The environment variable `--network` falls back to.
const NETWORK_ENV: &str = "PINATA_NETWORK";

fn run(args: &[&str]) -> Output {
    run_env(args, None)
}

/// Runs with `PINATA_NETWORK` unset, or set to `network`.
fn run_env(args: &[&str], network: Option<&str>) -> Output {
    let mut command = Command::new(BIN);
    command.args(args).env_remove(NETWORK_ENV);
    if let Some(n) = network {
        command.env(NETWORK_ENV, n);
    }
    command.output().expect("run pinata-wallet")
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
    assert_eq!(field(&out, "pubkey"), support::KEY1_PUBLIC);
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
        &["show", "a", "--network", "moon"],
        &["completions"],
        &["completions", "tcsh"],
        &[
            "sweep",
            "k",
            "--network",
            "regtest",
            "--to",
            "x",
            "--fee-rate",
            "1",
        ],
        &["sign-psbt", "k"],
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
        for command in ["new", "show", "sweep", "sign-psbt", "completions"] {
            assert!(out.contains(command), "{command}: {out}");
        }
    }
    // Each command's own help names its flags.
    let o = run(&["sweep", "--help"]);
    assert!(o.status.success());
    for flag in [
        "--network",
        "--utxo",
        "--to",
        "--fee-rate",
        "--out",
        "--force",
    ] {
        assert!(stdout(&o).contains(flag), "{flag}");
    }
}

#[test]
fn version_prints_the_crate_version() {
    for flag in ["--version", "-V"] {
        let o = run(&[flag]);
        assert!(o.status.success());
        assert_eq!(
            stdout(&o).trim(),
            format!("pinata-wallet {}", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[test]
fn a_bad_value_is_named_with_its_flag_and_exits_2() {
    let t = txid(0xab).to_string();
    for (args, needles) in [
        (
            vec!["new", "--network", "moon", "--out", "x"],
            &["'moon'", "--network", "bitcoin, testnet, signet, regtest"][..],
        ),
        (
            vec![
                "sweep",
                "k",
                "--network",
                "regtest",
                "--utxo",
                "zz:0:1000",
                "--to",
                "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080",
                "--fee-rate",
                "1",
            ],
            &["--utxo", "malformed txid: expected 64 hexadecimal digits"],
        ),
        (
            vec![
                "sweep",
                "k",
                "--network",
                "regtest",
                "--utxo",
                &format!("{t}:x:1000"),
                "--to",
                "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080",
                "--fee-rate",
                "1",
            ],
            &["--utxo", "malformed output index"],
        ),
        (
            vec![
                "sweep",
                "k",
                "--network",
                "regtest",
                "--utxo",
                &format!("{t}:0:1.5"),
                "--to",
                "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080",
                "--fee-rate",
                "1",
            ],
            &["--utxo", "whole number of satoshis"],
        ),
        (
            vec![
                "sweep",
                "k",
                "--network",
                "regtest",
                "--utxo",
                &format!("{t}:0:1000:p2tr"),
                "--to",
                "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080",
                "--fee-rate",
                "1",
            ],
            &["--utxo", "p2wpkh or p2pkh"],
        ),
        (
            vec![
                "sweep",
                "k",
                "--network",
                "regtest",
                "--utxo",
                &format!("{t}:0:1000"),
                "--to",
                "bcrt1qnotanaddress",
                "--fee-rate",
                "1",
            ],
            &["--to", "not a bitcoin address"],
        ),
        (
            vec![
                "sweep",
                "k",
                "--network",
                "regtest",
                "--utxo",
                &format!("{t}:0:1000"),
                "--to",
                "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080",
                "--fee-rate",
                "1,5",
            ],
            &["--fee-rate", "sat/vB"],
        ),
        (
            vec![
                "sweep",
                "k",
                "--network",
                "regtest",
                "--utxo",
                &format!("{t}:0:1000"),
                "--to",
                "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080",
                "--fee-rate",
                "0",
            ],
            &["--fee-rate", "above zero"],
        ),
        (vec!["completions", "tcsh"], &["'tcsh'", "bash"]),
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        for needle in needles {
            assert!(err.contains(needle), "{args:?}: {needle:?} not in {err}");
        }
        assert!(stdout(&o).is_empty(), "{args:?}");
    }
}

#[test]
fn network_falls_back_to_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_key(dir.path(), "k.wif", &format!("{KEY1_WIF_TEST}\n"));
    // PINATA_NETWORK stands in for --network ...
    let o = run_env(&["show", &p], Some("regtest"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("bcrt1q"), "{}", stdout(&o));
    // ... the flag wins over it ...
    let o = run_env(&["show", &p, "--network", "signet"], Some("regtest"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("network: signet"), "{}", stdout(&o));
    // ... and a bad value there is a usage error that names the variable.
    let o = run_env(&["show", &p], Some("moon"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("'moon'"), "{}", stderr(&o));
    // `new` needs a network, and the environment provides it.
    let out = dir.path().join("new.wif");
    let o = run_env(&["new", "--out", out.to_str().unwrap()], Some("regtest"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("bcrt1q"));
}

#[test]
fn bash_completion_completes_commands_flags_and_values() {
    let o = run(&["completions", "bash"]);
    assert!(o.status.success());
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("pinata-wallet.bash");
    fs::write(&script, &o.stdout).unwrap();
    // Source the script in a real bash and ask it what it would complete,
    // as bash does on TAB: the words so far, then the function it registered.
    let probe = format!(
        r#"set -e
source '{}'
fn=$(complete -p pinata-wallet | sed -E 's/.*-F ([^ ]+).*/\1/')
complete_line() {{
  COMP_LINE="$1"; COMP_POINT=${{#COMP_LINE}}
  read -ra COMP_WORDS <<<"$COMP_LINE"
  [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
  COMPREPLY=()
  "$fn" pinata-wallet "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
  echo "${{COMPREPLY[*]}}"
}}
complete_line "pinata-wallet si"
complete_line "pinata-wallet sweep --fee"
complete_line "pinata-wallet sign-psbt --n"
complete_line "pinata-wallet new --network "
"#,
        script.display()
    );
    let o = Command::new("bash")
        .arg("-c")
        .arg(&probe)
        .output()
        .expect("bash");
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert_eq!(
        lines,
        [
            "sign-psbt",
            "--fee-rate",
            "--network",
            "bitcoin testnet signet regtest"
        ],
        "{}",
        stderr(&o)
    );
}

#[test]
fn completions_for_other_shells_name_every_command() {
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let o = run(&["completions", shell]);
        assert!(o.status.success(), "{shell}");
        let out = stdout(&o);
        for word in ["sweep", "sign-psbt", "fee-rate", "utxo", "regtest"] {
            assert!(out.contains(word), "{shell}: {word}");
        }
    }
}

// ------------------------------------------------------------------ sweep

const DEST: &str = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";

/// The value of the `name:` line of `out`.
fn field(out: &str, name: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name}: line in {out}"))
        .trim()
        .to_owned()
}

fn sweep_args<'a>(key: &'a str, utxos: &'a [String], rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["sweep", key, "--network", "regtest"];
    for u in utxos {
        args.extend(["--utxo", u.as_str()]);
    }
    args.extend(rest);
    args
}

#[test]
fn sweep_prints_a_transaction_core_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let key = write_key(dir.path(), "prize.wif", &format!("{KEY1_WIF_TEST}\n"));
    let utxos = [
        format!("{}:0:150000", txid(1)),
        format!("{}:1:5000:p2pkh", txid(1)),
        format!("{}:4:20000:p2wpkh", txid(2)),
    ];
    let o = run(&sweep_args(
        &key,
        &utxos,
        &["--to", DEST, "--fee-rate", "2.5"],
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(!out.contains(KEY1_WIF_TEST) && !stderr(&o).contains(KEY1_WIF_TEST));

    let tx: Transaction = deserialize(&hex(&field(&out, "tx"))).unwrap();
    let (p2wpkh, p2pkh, _) = key1_scripts();
    let spent = [
        TxOut {
            value: sat(150_000),
            script_pubkey: p2wpkh.clone(),
        },
        TxOut {
            value: sat(5_000),
            script_pubkey: p2pkh,
        },
        TxOut {
            value: sat(20_000),
            script_pubkey: p2wpkh,
        },
    ];
    assert_eq!(tx.input.len(), 3);
    for (index, s) in spent.iter().enumerate() {
        consensus_verify(&tx, index, s);
    }
    // What it prints is what the transaction says.
    assert_eq!(field(&out, "txid"), tx.compute_txid().to_string());
    assert_eq!(field(&out, "vsize"), format!("{} vB", tx.vsize()));
    let fee = 175_000 - tx.output[0].value.to_sat();
    assert!(
        field(&out, "fee").starts_with(&format!("{fee} sat")),
        "{out}"
    );
    assert!(
        fee * 10 >= 25 * tx.vsize() as u64,
        "pays at least 2.5 sat/vB"
    );
    assert!(field(&out, "amount").starts_with(&format!("{} sat", tx.output[0].value.to_sat())));
    assert_eq!(field(&out, "to"), DEST);
}

#[test]
fn sweep_out_writes_the_hex_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let key = write_key(dir.path(), "prize.wif", &format!("{KEY1_WIF_TEST}\n"));
    let utxos = [format!("{}:0:150000", txid(1))];
    let hex_path = dir.path().join("sweep.hex");
    let h = hex_path.to_str().unwrap();
    let o = run(&sweep_args(
        &key,
        &utxos,
        &["--to", DEST, "--fee-rate", "1", "--out", h],
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("tx:"), "the hex goes to the file");
    let text = fs::read_to_string(&hex_path).unwrap();
    assert!(text.ends_with('\n'));
    let tx: Transaction = deserialize(&hex(text.trim())).unwrap();
    assert_eq!(field(&stdout(&o), "txid"), tx.compute_txid().to_string());
    let (p2wpkh, _, _) = key1_scripts();
    consensus_verify(
        &tx,
        0,
        &TxOut {
            value: sat(150_000),
            script_pubkey: p2wpkh,
        },
    );

    let o = run(&sweep_args(
        &key,
        &utxos,
        &["--to", DEST, "--fee-rate", "1", "--out", h],
    ));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&hex_path).unwrap(), text);
}

#[test]
fn sweep_refusals_exit_1_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let key = write_key(dir.path(), "prize.wif", &format!("{KEY1_WIF_TEST}\n"));
    let mainnet_key = write_key(dir.path(), "main.wif", &format!("{KEY1_WIF_MAIN}\n"));
    let bad_key = write_key(dir.path(), "bad.wif", "not a key\n");
    let missing = dir.path().join("missing.wif");
    let missing = missing.to_str().unwrap();
    let a_dir = dir.path().to_str().unwrap();
    let big = [format!("{}:0:1000000", txid(1))];
    let small = [format!("{}:0:5000", txid(1))];
    let dust = [format!("{}:0:400", txid(1))];
    for (key, utxos, rest, needle) in [
        (
            &key,
            &big[..],
            &[
                "--to",
                "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
                "--fee-rate",
                "1",
            ][..],
            "is a bitcoin (mainnet) address, but the prize key is on regtest",
        ),
        (
            &key,
            &dust[..],
            &["--to", DEST, "--fee-rate", "1"][..],
            "amount below dust after the fee",
        ),
        (
            &key,
            &small[..],
            &["--to", DEST, "--fee-rate", "10"][..],
            "more than 2 % of the 5000 sat",
        ),
        (
            &key,
            &big[..],
            &["--to", DEST, "--fee-rate", "1001"][..],
            "above 1000 sat/vB",
        ),
        (
            &key,
            &[big[0].clone(), big[0].clone()][..],
            &["--to", DEST, "--fee-rate", "1"][..],
            "listed twice",
        ),
        (
            &mainnet_key,
            &big[..],
            &["--to", DEST, "--fee-rate", "1"][..],
            "mainnet key",
        ),
        (
            &bad_key,
            &big[..],
            &["--to", DEST, "--fee-rate", "1"][..],
            "not a base58 character",
        ),
        (
            &missing.to_owned(),
            &big[..],
            &["--to", DEST, "--fee-rate", "1"][..],
            "cannot open",
        ),
        (
            &a_dir.to_owned(),
            &big[..],
            &["--to", DEST, "--fee-rate", "1"][..],
            "not a regular file",
        ),
    ] {
        let o = run(&sweep_args(key, utxos, rest));
        assert_eq!(o.status.code(), Some(1), "{needle}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{needle}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{needle}: {}", stdout(&o));
    }
    // --force accepts the high fee and the high rate, never dust.
    for (utxos, rate) in [(&small[..], "10"), (&big[..], "1001")] {
        let o = run(&sweep_args(
            &key,
            utxos,
            &["--to", DEST, "--fee-rate", rate, "--force"],
        ));
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = run(&sweep_args(
        &key,
        &dust,
        &["--to", DEST, "--fee-rate", "1", "--force"],
    ));
    assert_eq!(o.status.code(), Some(1));
}

// -------------------------------------------------------------- sign-psbt

#[test]
fn sign_psbt_signs_the_prize_inputs_in_every_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let key = write_key(dir.path(), "prize.wif", &format!("{KEY1_WIF_TEST}\n"));
    let unsigned = support::watch_only_psbt();
    let base64 = format!("{unsigned}\n").into_bytes();
    let binary = unsigned.serialize();
    let hex_text = format!("{}\n", unsigned.serialize_hex()).into_bytes();
    for (name, contents) in [("base64", &base64), ("binary", &binary), ("hex", &hex_text)] {
        let input = dir.path().join(format!("in-{name}.psbt"));
        fs::write(&input, contents).unwrap();
        let output = dir.path().join(format!("out-{name}.psbt"));
        let o = run(&[
            "sign-psbt",
            &key,
            input.to_str().unwrap(),
            "--out",
            output.to_str().unwrap(),
            "--network",
            "regtest",
        ]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(out.contains("signed:  input 0 (p2wpkh, 70000 sat"), "{out}");
        assert!(out.contains("signed:  input 1 (p2pkh, 30000 sat"), "{out}");
        assert!(out.contains("1 input(s) for other keys"), "{out}");
        assert!(out.contains("fee:     1000 sat"), "{out}");
        assert!(!out.contains(KEY1_WIF_TEST) && !stderr(&o).contains(KEY1_WIF_TEST));

        // Written back in the encoding it came in.
        let written = fs::read(&output).unwrap();
        let signed = match name {
            "binary" => Psbt::deserialize(&written).unwrap(),
            "base64" => String::from_utf8(written).unwrap().trim().parse().unwrap(),
            _ => Psbt::deserialize(&hex(String::from_utf8(written).unwrap().trim())).unwrap(),
        };
        // Only partial signatures were added (BIP 174: a signer only adds).
        let mut stripped = signed.clone();
        for input in &mut stripped.inputs {
            input.partial_sigs.clear();
        }
        assert_eq!(stripped, unsigned);
        assert_eq!(signed.inputs[0].partial_sigs.len(), 1);
        assert_eq!(signed.inputs[1].partial_sigs.len(), 1);
        assert!(signed.inputs[2].partial_sigs.is_empty());
        let tx = support::finalize_single_key(&signed);
        for index in 0..2 {
            consensus_verify(&tx, index, &support::spent_output(&signed, index));
        }
    }

    // Version 2 (BIP 370) in, version 2 out, with the same signatures.
    let input = dir.path().join("in-v2.psbt");
    fs::write(&input, support::to_v2_by_hand(&unsigned, Some(0b011))).unwrap();
    let output = dir.path().join("out-v2.psbt");
    let o = run(&[
        "sign-psbt",
        &key,
        input.to_str().unwrap(),
        "--out",
        output.to_str().unwrap(),
        "--network",
        "regtest",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("version: 2 (BIP 370)"),
        "{}",
        stdout(&o)
    );
    let mut signed_v0 = unsigned.clone();
    let base64_out = dir.path().join("out-base64.psbt");
    let signed_base64: Psbt = fs::read_to_string(&base64_out)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    for (mine, theirs) in signed_v0.inputs.iter_mut().zip(signed_base64.inputs) {
        mine.partial_sigs = theirs.partial_sigs;
    }
    assert_eq!(
        fs::read(&output).unwrap(),
        support::to_v2_by_hand(&signed_v0, Some(0))
    );

    // Without --out, the signed PSBT is printed as base64.
    let input = dir.path().join("in-base64.psbt");
    let o = run(&["sign-psbt", &key, input.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let printed: Psbt = field(&stdout(&o), "psbt").parse().unwrap();
    assert_eq!(printed.inputs[0].partial_sigs.len(), 1);
    // (Without --network the test key is taken as testnet, with a note.)
    assert!(stderr(&o).contains("--network"), "{}", stderr(&o));
}

#[test]
fn sign_psbt_refusals_exit_1_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let key = write_key(dir.path(), "prize.wif", &format!("{KEY1_WIF_TEST}\n"));
    // A BIP 174 test key with nothing in the watch-only PSBT.
    let stranger = write_key(
        dir.path(),
        "stranger.wif",
        "cT7J9YpCwY3AVRFSjN6ukeEeWY6mhpbJPxRaDaP5QTdygQRxP9Au\n",
    );
    let psbt_file = |name: &str, contents: &[u8]| {
        let p = dir.path().join(name);
        fs::write(&p, contents).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let good = psbt_file("good.psbt", &support::watch_only_psbt().serialize());
    let mut none = support::watch_only_psbt();
    none.inputs[0].sighash_type = Some(bitcoin::EcdsaSighashType::None.into());
    let none = psbt_file("none.psbt", &none.serialize());
    let mut v3 = support::watch_only_psbt();
    v3.version = 3;
    let v3 = psbt_file("v3.psbt", &v3.serialize());
    // A version 0 PSBT with a version 2 field (BIP 370's first invalid case).
    let mut mixed = support::watch_only_psbt();
    mixed.unknown.insert(
        bitcoin::psbt::raw::Key {
            type_value: 0x02,
            key: vec![],
        },
        2i32.to_le_bytes().to_vec(),
    );
    let mixed = psbt_file("mixed.psbt", &mixed.serialize());
    let garbage = psbt_file("garbage.psbt", b"this is not a psbt\n");
    let empty = psbt_file("empty.psbt", b"\n");
    let truncated = psbt_file(
        "truncated.psbt",
        &support::watch_only_psbt().serialize()[..60],
    );
    let out = dir.path().join("out.psbt");
    let out = out.to_str().unwrap();
    for (key, psbt, extra, needle) in [
        (&stranger, &good, &[][..], "nothing to sign"),
        (&key, &none, &[][..], "only SIGHASH_ALL"),
        (&key, &v3, &[][..], "PSBT version 3 is not supported"),
        (&key, &mixed, &[][..], "only version 2 PSBTs may have"),
        (&key, &garbage, &[][..], "not a PSBT"),
        (&key, &empty, &[][..], "empty"),
        (&key, &truncated, &[][..], "not a PSBT"),
        (
            &key,
            &dir.path().join("missing").to_str().unwrap().to_owned(),
            &[][..],
            "cannot open",
        ),
        (
            &key,
            &good,
            &["--network", "bitcoin"][..],
            "network bitcoin was requested",
        ),
    ] {
        let mut args = vec!["sign-psbt", key.as_str(), psbt.as_str(), "--out", out];
        args.extend(extra);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(1), "{needle}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{needle}: {}", stderr(&o));
        assert!(!Path::new(out).exists(), "{needle}: nothing written");
    }
}
