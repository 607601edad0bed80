//! `pinata`: the hosted piñata (see `pinata::hosted`). Parses flags, then runs.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use pinata::Limits;
use pinata::hosted::{self, Options};
use pinata::pki::KeyType;

const USAGE: &str = "\
pinata — the bitcoin piñata, hosted as a Linux process

usage: pinata [flags]

  --bind ADDR                    address for every service (default 127.0.0.1)
  --http-port N                  plain HTTP page (default 8080)
  --https-port N                 HTTPS page (default 8443)
  --server-port N                bounty TLS server, client certificate required (default 10000)
  --connect-back-port N          connect-back trigger (default 10001)
  --client-port N                bounty TLS client on the accepted connection (default 10002)
  --connect-back-target-port N   port connect-back dials on the caller (default 40001)
  --secret-file PATH             the prize, a WIF file; without it a regtest demo key is generated
  --network NET                  testnet | signet | regtest: how to read a testnet-family WIF
  --web-cert PATH --web-key PATH operator's PEM certificate chain and key for HTTPS
  --web-name NAME                extra DNS name or IP for the generated web certificate (repeatable)
  --bounty-key-type TYPE         ed25519 (default) | p256: key type of the bounty chain (CA and leaves)
  --max-connections N            open connections, all services (default 512)
  --max-connections-per-peer N   open connections from one address (default 64)
  --handshake-timeout SECS       accept to completed handshake (default 10)
  --request-timeout SECS         HTTP request, or the rest after a handshake (default 10)
  --idle-timeout SECS            silence from the peer before a connection is closed (default 5)
  --connect-timeout SECS         connect-back dial to its answer (default 5)
  --syslog IP:PORT               also send every connection line to this syslog collector
                                 (RFC 5424 over UDP; [IPv6]:PORT for IPv6)
  --insecure-export-identities DIR
                                 TESTING ONLY: write the CA and the piñata's own certificates
                                 and keys to DIR (refused with a mainnet key)
  -h, --help                     this text

Port 0 picks a free port; the chosen ports are printed once listening.";

fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let mut value = || -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        fn number<T: std::str::FromStr>(flag: &str, text: String) -> Result<T, String> {
            text.parse()
                .map_err(|_| format!("{flag}: `{text}` is not a valid number"))
        }
        let port_index = |flag: &str| match flag {
            "--http-port" => Some(0),
            "--https-port" => Some(1),
            "--server-port" => Some(2),
            "--connect-back-port" => Some(3),
            "--client-port" => Some(4),
            _ => None,
        };
        if let Some(index) = port_index(&flag) {
            options.ports[index] = number(&flag, value()?)?;
            continue;
        }
        // The limits: `--max-connections N` is `max_connections=N`, parsed
        // and checked as on the unikernel's command line.
        let limit_key = flag.strip_prefix("--").unwrap_or("").replace('-', "_");
        if Limits::KEYS.contains(&limit_key.as_str()) {
            let text = value()?;
            options
                .limits
                .set(&limit_key, &text)
                .map_err(|e| format!("{flag}: {e}"))?;
            continue;
        }
        match flag.as_str() {
            "--bind" => {
                let text = value()?;
                options.bind = text
                    .parse::<IpAddr>()
                    .map_err(|_| format!("--bind: `{text}` is not an IP address"))?;
            }
            "--connect-back-target-port" => {
                options.connect_back_target_port = number(&flag, value()?)?
            }
            "--secret-file" => options.secret_file = Some(PathBuf::from(value()?)),
            "--network" => {
                let text = value()?;
                options.network = Some(text.parse().map_err(|_| {
                    format!("--network: `{text}` is not one of bitcoin, testnet, signet, regtest")
                })?);
            }
            "--web-cert" => options.web_cert = Some(PathBuf::from(value()?)),
            "--web-key" => options.web_key = Some(PathBuf::from(value()?)),
            "--web-name" => options.web_names.push(value()?),
            "--bounty-key-type" => {
                options.bounty_key_type = match value()?.as_str() {
                    "p256" | "ecdsa-p256" => KeyType::EcdsaP256,
                    "ed25519" => KeyType::Ed25519,
                    other => {
                        return Err(format!(
                            "--bounty-key-type: `{other}` is not p256 or ed25519"
                        ));
                    }
                }
            }
            "--syslog" => {
                let text = value()?;
                options.syslog = Some(
                    pinata::syslog::parse_target(&text)
                        .map_err(|e| format!("--syslog: `{text}`: {e}"))?,
                );
            }
            "--insecure-export-identities" => {
                options.insecure_export_identities = Some(PathBuf::from(value()?))
            }
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }
    Ok(Some(options))
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("pinata: {e}\n(see pinata --help)");
            return ExitCode::from(2);
        }
    };
    match hosted::run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pinata: {e}");
            ExitCode::FAILURE
        }
    }
}
