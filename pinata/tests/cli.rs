//! The `pinata` binary's command line, as an operator meets it: `--help`,
//! `--version`, the usage errors (exit status 2, naming the flag), the
//! environment fallbacks, and the shell completions (sourced in a real
//! bash, which is asked what TAB would offer).
//!
//! The key here is the well-known test vector "private key 1" (worthless).

mod common;

use std::fs;
use std::process::{Command, Output};

use common::{Process, TEST_WIF_KEY1, WAIT};
use pinata::Limits;
use wallet::{Network, PrizeKey};

const BIN: &str = env!("CARGO_BIN_EXE_pinata");

/// Every environment variable a flag falls back to.
const ENV_FALLBACKS: [&str; 4] = [
    "PINATA_BIND",
    "PINATA_SECRET_FILE",
    "PINATA_NETWORK",
    "PINATA_SYSLOG",
];

/// `pinata` with none of the fallbacks set, whatever this process's
/// environment holds.
fn pinata() -> Command {
    let mut command = Command::new(BIN);
    for var in ENV_FALLBACKS {
        command.env_remove(var);
    }
    command
}

/// Runs `pinata` to completion; for the invocations that exit at once
/// (help, version, completions, usage errors).
fn output(command: &mut Command) -> Output {
    let child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start pinata");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    // A usage error that started the piñata instead would never end.
    rx.recv_timeout(WAIT)
        .expect("pinata did not exit")
        .expect("wait for pinata")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Every flag of the hosted piñata, as docs/OPERATING.md's table lists them.
const FLAGS: [&str; 23] = [
    "--bind",
    "--http-port",
    "--https-port",
    "--server-port",
    "--connect-back-port",
    "--client-port",
    "--connect-back-target-port",
    "--secret-file",
    "--network",
    "--web-cert",
    "--web-key",
    "--web-name",
    "--bounty-key-type",
    "--max-connections",
    "--max-connections-per-peer",
    "--handshake-timeout",
    "--request-timeout",
    "--idle-timeout",
    "--connect-timeout",
    "--memory-budget",
    "--syslog",
    "--insecure-export-identities",
    "--completions",
];

#[test]
fn help_lists_every_flag_and_its_environment_variable() {
    let o = output(pinata().arg("--help"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let help = text(&o.stdout);
    for flag in FLAGS {
        assert!(help.contains(&format!("{flag} <")), "{flag} not in\n{help}");
    }
    for var in ENV_FALLBACKS {
        assert!(
            help.contains(&format!("[env: {var}=]")),
            "{var} not in\n{help}"
        );
    }
    // No fallback for the test-only export: it writes keys to disk, so it
    // is typed each time.
    let export = help
        .lines()
        .skip_while(|l| !l.contains("--insecure-export-identities"))
        .take(2)
        .collect::<String>();
    assert!(!export.contains("env:"), "{export}");
    // The defaults shown are the library's.
    for default in ["[default: 127.0.0.1]", "[default: 8080]", "[default: 512]"] {
        assert!(help.contains(default), "{default} not in\n{help}");
    }
    assert!(text(&o.stderr).is_empty());
}

#[test]
fn version_prints_the_package_version() {
    let o = output(pinata().arg("--version"));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        text(&o.stdout),
        format!("pinata {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_usage_exits_2_naming_the_flag_and_starts_nothing() {
    for (args, needles) in [
        (
            &["--max-connections", "0"][..],
            &["'0'", "--max-connections", "not a positive number"][..],
        ),
        (
            &["--max-connections", "-1"],
            &["'-1'", "--max-connections", "not a positive number"],
        ),
        (
            &["--max-connections-per-peer=-1"],
            &[
                "'-1'",
                "--max-connections-per-peer",
                "not a positive number",
            ],
        ),
        (
            &["--idle-timeout", "1.5"],
            &["--idle-timeout", "not a positive number of seconds"],
        ),
        (
            &["--bind", "nonsense"],
            &["'nonsense'", "--bind", "not an IP address"],
        ),
        (&["--frobnicate"], &["unexpected argument '--frobnicate'"]),
        (
            &["--http-port", "70000"],
            &["'70000'", "--http-port", "not a valid number"],
        ),
        (&["--network", "moon"], &["'moon'", "--network", "regtest"]),
        (
            &["--bounty-key-type", "rsa"],
            &["'rsa'", "--bounty-key-type", "ed25519, p256"],
        ),
        (
            &["--memory-budget", "0"],
            &["--memory-budget", "not a positive number of MiB"],
        ),
        (&["--syslog", "127.0.0.1"], &["--syslog", "no port"]),
        (&["--web-cert", "cert.pem"], &["--web-key"]),
        (&["--completions", "tcsh"], &["'tcsh'", "bash"]),
        (&["--max-connections"], &["--max-connections", "a value"]),
    ] {
        let o = output(pinata().args(args));
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        for needle in needles {
            assert!(err.contains(needle), "{args:?}: {needle:?} not in {err}");
        }
        assert!(text(&o.stdout).is_empty(), "{args:?}");
    }
}

#[test]
fn limits_are_refused_as_the_unikernels_command_line_refuses_them() {
    // One validator for both backends: whatever `Limits::set` (which reads
    // the kernel command line) refuses, the flag refuses with its words,
    // and whatever it takes, the flag takes.
    for key in Limits::KEYS {
        let flag = format!("--{}", key.replace('_', "-"));
        for value in ["0", "-3", "1e3", "", "99999999999999999999999"] {
            let refused = Limits::default().set(key, value).unwrap_err();
            let o = output(pinata().arg(format!("{flag}={value}")).arg("--help"));
            let err = text(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{flag}={value}: {err}");
            assert!(
                err.contains(&flag) && err.contains(&format!("not {}", refused.expected)),
                "{flag}={value}: {err}"
            );
        }
    }
}

#[test]
fn the_environment_stands_in_for_flags_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let secret = harness::prize::write_secret_file(dir.path(), TEST_WIF_KEY1).unwrap();
    // A testnet-family WIF reads as testnet unless told: the address shows
    // whether PINATA_NETWORK was read.
    let regtest = PrizeKey::from_wif_for(TEST_WIF_KEY1, Network::Regtest)
        .unwrap()
        .p2wpkh_address();
    let testnet = PrizeKey::from_wif(TEST_WIF_KEY1).unwrap().p2wpkh_address();
    assert_ne!(regtest, testnet);
    let collector = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let syslog = collector.local_addr().unwrap().to_string();

    let start = |bind_flag: Option<&str>| {
        let mut command = pinata();
        command
            .env("PINATA_BIND", "127.0.0.2")
            .env("PINATA_SECRET_FILE", &secret)
            .env("PINATA_NETWORK", "regtest")
            .env("PINATA_SYSLOG", &syslog);
        harness::hosted::any_ports(&mut command);
        if let Some(bind) = bind_flag {
            command.args(["--bind", bind]);
        }
        let proc = Process::spawn(&mut command).unwrap();
        let ready = proc
            .out
            .wait_for("pinata ready", WAIT, |l| l.starts_with("pinata: ready"))
            .unwrap();
        (proc, ready)
    };

    let (proc, ready) = start(None);
    let seen = &proc.out.lines();
    assert!(
        seen.iter()
            .any(|l| l.starts_with("pinata: listening service=http addr=127.0.0.2:")),
        "{seen:#?}"
    );
    assert!(ready.ends_with(&format!("address {regtest}")), "{ready}");
    assert!(
        seen.contains(&format!("pinata: syslog to {syslog}")),
        "{seen:#?}"
    );
    drop(proc);

    // A flag given wins over its variable.
    let (proc, _) = start(Some("127.0.0.3"));
    assert!(
        proc.out
            .lines()
            .iter()
            .any(|l| l.starts_with("pinata: listening service=http addr=127.0.0.3:")),
        "{:#?}",
        proc.out.lines()
    );
    drop(proc);

    // A bad value in a variable is a usage error naming its flag.
    for (var, value, flag) in [
        ("PINATA_BIND", "nonsense", "--bind"),
        ("PINATA_SYSLOG", "localhost:514", "--syslog"),
        ("PINATA_NETWORK", "moon", "--network"),
    ] {
        let o = output(pinata().env(var, value));
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{var}={value}: {err}");
        assert!(
            err.contains(&format!("'{value}'")) && err.contains(flag),
            "{var}={value}: {err}"
        );
    }
}

#[test]
fn bash_completion_completes_flags_and_values() {
    // Generating the script works with the fallbacks set (clap counts
    // them as given).
    let o = output(
        pinata()
            .env("PINATA_BIND", "127.0.0.1")
            .args(["--completions", "bash"]),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("pinata.bash");
    fs::write(&script, &o.stdout).unwrap();
    // Source the script in a real bash and ask it what it would complete,
    // as bash does on TAB: the words so far, then the function it registered.
    let probe = format!(
        r#"set -e
source '{}'
fn=$(complete -p pinata | sed -E 's/.*-F ([^ ]+).*/\1/')
complete_line() {{
  COMP_LINE="$1"; COMP_POINT=${{#COMP_LINE}}
  read -ra COMP_WORDS <<<"$COMP_LINE"
  [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
  COMPREPLY=()
  "$fn" pinata "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
  echo "${{COMPREPLY[*]}}"
}}
complete_line "pinata --max-c"
complete_line "pinata --bind 127.0.0.1 --connect-back-t"
complete_line "pinata --network "
complete_line "pinata --bounty-key-type "
complete_line "pinata --completions "
"#,
        script.display()
    );
    let o = output(Command::new("bash").arg("-c").arg(&probe));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let lines: Vec<String> = text(&o.stdout).lines().map(str::to_owned).collect();
    assert_eq!(
        lines,
        [
            "--max-connections --max-connections-per-peer",
            "--connect-back-target-port",
            "bitcoin testnet signet regtest",
            "ed25519 p256",
            "bash elvish fish powershell zsh",
        ],
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn completions_for_other_shells_name_the_flags() {
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let o = output(pinata().args(["--completions", shell]));
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let script = text(&o.stdout);
        for word in ["max-connections", "secret-file", "syslog", "regtest"] {
            assert!(script.contains(word), "{shell}: {word}");
        }
    }
}
