//! `pinata`: the hosted piñata (see `pinata::hosted`). Reads its command
//! line, then runs.
//!
//! The command line is declared with clap's derive API, as `pinata-wallet`'s
//! is: clap prints `--help` and `--version`, reports bad usage (an unknown
//! flag, a missing or malformed value) naming the flag, with exit status 2,
//! and writes the shell completions of `--completions SHELL`. Each value is
//! parsed by the library's own parser, so the hosted runner and the
//! unikernel accept and refuse the same limits ([`Limits::set`], which also
//! reads the unikernel's kernel command line), syslog targets and key
//! types.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::LazyLock;
use std::time::Duration;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, CommandFactory, Parser};
use clap_complete::Shell;
use pinata::Limits;
use pinata::hosted::{self, Options};
use pinata::pki::KeyType;
use wallet::Network;

/// The name completions are generated for (and the one the scripts
/// register with the shell).
const BIN_NAME: &str = "pinata";

/// Where the defaults shown in `--help` come from: the library's own.
static DEFAULTS: LazyLock<Options> = LazyLock::new(Options::default);

const AFTER_HELP: &str = "\
Port 0 picks a free port; the chosen ports are printed once listening. The
limits take the values the unikernel's kernel command line takes for the same
keys (--max-connections 100 here, max_connections=100 there).

Examples:
    pinata --secret-file prize.wif --network regtest
    pinata --bind 0.0.0.0 --max-connections 2000 --syslog 192.0.2.1:514
    pinata --completions bash > /etc/bash_completion.d/pinata

Exit status: 1 the piñata could not start or stopped on an error, 2 bad usage.";

/// The bitcoin piñata, hosted as a Linux process: a web page, and TLS
/// services that give the prize only to a peer with a certificate signed by
/// the piñata's own CA.
#[derive(Debug, Parser)]
#[command(name = BIN_NAME, version, after_help = AFTER_HELP, args_override_self = true)]
struct Cli {
    /// Address every service binds to.
    #[arg(long, value_name = "ADDR", env = "PINATA_BIND",
          default_value_t = DEFAULTS.bind, value_parser = ip_address)]
    bind: IpAddr,

    /// Print a shell completion script and exit.
    // Not `exclusive`: clap counts the environment fallbacks as given, so
    // an operator with PINATA_BIND set could not generate the script.
    #[arg(long, value_name = "SHELL", value_enum, ignore_case = true)]
    completions: Option<Shell>,

    // A flattened group's heading carries on to the fields after it: every
    // field below has its own.
    #[command(flatten)]
    ports: PortArgs,

    /// The prize, a WIF file; without it a regtest demo key is generated.
    #[arg(
        long,
        value_name = "PATH",
        env = "PINATA_SECRET_FILE",
        help_heading = "Prize"
    )]
    secret_file: Option<PathBuf>,
    /// How to read a testnet-family WIF (testnet, signet and regtest keys
    /// look the same).
    #[arg(long, value_name = "NET", env = "PINATA_NETWORK", ignore_case = true,
          value_parser = network_parser(), help_heading = "Prize")]
    network: Option<Network>,

    /// The operator's PEM certificate chain for HTTPS (with --web-key).
    #[arg(
        long,
        value_name = "PATH",
        requires = "web_key",
        help_heading = "Certificates"
    )]
    web_cert: Option<PathBuf>,
    /// The operator's PEM private key for HTTPS (with --web-cert).
    #[arg(
        long,
        value_name = "PATH",
        requires = "web_cert",
        help_heading = "Certificates"
    )]
    web_key: Option<PathBuf>,
    /// Extra DNS name or IP for the generated web certificate (repeatable).
    #[arg(long = "web-name", value_name = "NAME", help_heading = "Certificates")]
    web_names: Vec<String>,
    /// Key type of the bounty chain (CA and leaves).
    #[arg(long, value_name = "TYPE", ignore_case = true,
          default_value_t = DEFAULTS.bounty_key_type,
          value_parser = key_type_parser(), help_heading = "Certificates")]
    bounty_key_type: KeyType,

    #[command(flatten)]
    limits: LimitArgs,

    // The help in an attribute: rustdoc would read `[IPv6]` as a link.
    #[arg(long, value_name = "IP:PORT", env = "PINATA_SYSLOG",
          value_parser = syslog_target, help_heading = "Logging",
          help = "Also send every connection line to this syslog collector \
                  (RFC 5424 over UDP; [IPv6]:PORT for IPv6)")]
    syslog: Option<SocketAddr>,

    /// TESTING ONLY: write the CA and the piñata's own certificates and
    /// keys to DIR (refused with a mainnet key).
    #[arg(long, value_name = "DIR", help_heading = "Testing only")]
    insecure_export_identities: Option<PathBuf>,
}

// The numbers below allow a leading `-` so that `--max-connections -1` is
// refused as a value of its flag, not as an unknown flag `-1`.

/// The services' ports, in [`Options::ports`]' order, and connect-back's
/// target.
#[derive(Debug, Args)]
#[command(next_help_heading = "Ports")]
struct PortArgs {
    /// Plain HTTP page.
    #[arg(long, value_name = "PORT", default_value_t = DEFAULTS.ports[0],
          value_parser = port, allow_negative_numbers = true)]
    http_port: u16,
    /// HTTPS page.
    #[arg(long, value_name = "PORT", default_value_t = DEFAULTS.ports[1],
          value_parser = port, allow_negative_numbers = true)]
    https_port: u16,
    /// Bounty TLS server, client certificate required.
    #[arg(long, value_name = "PORT", default_value_t = DEFAULTS.ports[2],
          value_parser = port, allow_negative_numbers = true)]
    server_port: u16,
    /// Connect-back trigger.
    #[arg(long, value_name = "PORT", default_value_t = DEFAULTS.ports[3],
          value_parser = port, allow_negative_numbers = true)]
    connect_back_port: u16,
    /// Bounty TLS client on the accepted connection.
    #[arg(long, value_name = "PORT", default_value_t = DEFAULTS.ports[4],
          value_parser = port, allow_negative_numbers = true)]
    client_port: u16,
    /// Port connect-back dials on the caller.
    #[arg(long, value_name = "PORT", default_value_t = DEFAULTS.connect_back_target_port,
          value_parser = port, allow_negative_numbers = true)]
    connect_back_target_port: u16,
}

/// The [`Limits`], each parsed by [`Limits::set`], and the memory budget.
#[derive(Debug, Args)]
#[command(next_help_heading = "Limits")]
struct LimitArgs {
    /// Open connections, all services.
    #[arg(long, value_name = "N", default_value_t = DEFAULTS.limits.max_connections,
          value_parser = limit("max_connections", |l| l.max_connections),
          allow_negative_numbers = true)]
    max_connections: usize,
    /// Open connections from one address.
    #[arg(long, value_name = "N", default_value_t = DEFAULTS.limits.max_connections_per_peer,
          value_parser = limit("max_connections_per_peer", |l| l.max_connections_per_peer),
          allow_negative_numbers = true)]
    max_connections_per_peer: usize,
    /// Seconds from accept to a completed handshake.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULTS.limits.handshake_timeout.as_secs(),
          value_parser = limit("handshake_timeout", |l| l.handshake_timeout.as_secs()),
          allow_negative_numbers = true)]
    handshake_timeout: u64,
    /// Seconds for an HTTP request, or for the rest after a handshake.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULTS.limits.request_timeout.as_secs(),
          value_parser = limit("request_timeout", |l| l.request_timeout.as_secs()),
          allow_negative_numbers = true)]
    request_timeout: u64,
    /// Seconds of silence from the peer before a connection is closed.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULTS.limits.idle_timeout.as_secs(),
          value_parser = limit("idle_timeout", |l| l.idle_timeout.as_secs()),
          allow_negative_numbers = true)]
    idle_timeout: u64,
    /// Seconds from a connect-back dial to its answer.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULTS.limits.connect_timeout.as_secs(),
          value_parser = limit("connect_timeout", |l| l.connect_timeout.as_secs()),
          allow_negative_numbers = true)]
    connect_timeout: u64,
    /// Memory the connections may hold together, in MiB; beyond it the
    /// largest connection of the heaviest address is ended.
    #[arg(long = "memory-budget", value_name = "MIB",
          default_value_t = DEFAULTS.memory_budget >> 20, value_parser = mebibytes,
          allow_negative_numbers = true)]
    memory_budget_mib: usize,
}

impl Cli {
    /// The hosted runner's [`Options`]. Every value was checked while
    /// parsing.
    fn into_options(self) -> Options {
        let (ports, limits) = (self.ports, self.limits);
        let seconds = Duration::from_secs;
        Options {
            bind: self.bind,
            ports: [
                ports.http_port,
                ports.https_port,
                ports.server_port,
                ports.connect_back_port,
                ports.client_port,
            ],
            connect_back_target_port: ports.connect_back_target_port,
            secret_file: self.secret_file,
            network: self.network,
            web_cert: self.web_cert,
            web_key: self.web_key,
            web_names: self.web_names,
            bounty_key_type: self.bounty_key_type,
            insecure_export_identities: self.insecure_export_identities,
            limits: Limits {
                max_connections: limits.max_connections,
                max_connections_per_peer: limits.max_connections_per_peer,
                handshake_timeout: seconds(limits.handshake_timeout),
                request_timeout: seconds(limits.request_timeout),
                idle_timeout: seconds(limits.idle_timeout),
                connect_timeout: seconds(limits.connect_timeout),
            },
            syslog: self.syslog,
            // `mebibytes` checked that the product fits.
            memory_budget: limits.memory_budget_mib.saturating_mul(1 << 20),
        }
    }
}

/// A limit's value parser: [`Limits::set`] with `key`, the one validator
/// the unikernel's command line also goes through; `read` takes the value
/// it set back out.
fn limit<T: 'static>(
    key: &'static str,
    read: fn(&Limits) -> T,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |text| {
        let mut limits = Limits::default();
        match limits.set(key, text) {
            Ok(true) => Ok(read(&limits)),
            Ok(false) => Err(format!("{key} is not a limit")),
            Err(e) => Err(format!("not {}", e.expected)),
        }
    }
}

fn ip_address(text: &str) -> Result<IpAddr, String> {
    text.parse().map_err(|_| "not an IP address".to_string())
}

fn port(text: &str) -> Result<u16, String> {
    text.parse()
        .map_err(|_| "not a valid number from 0 to 65535".to_string())
}

fn mebibytes(text: &str) -> Result<usize, String> {
    text.parse::<usize>()
        .ok()
        .filter(|&mib| mib > 0 && mib.checked_mul(1 << 20).is_some())
        .ok_or_else(|| "not a positive number of MiB".to_string())
}

fn syslog_target(text: &str) -> Result<SocketAddr, pinata::syslog::SyslogError> {
    pinata::syslog::parse_target(text)
}

/// `--network`: the wallet's names ([`Network::ALL`], `mainnet` for
/// bitcoin), read by its own parser.
fn network_parser() -> impl TypedValueParser<Value = Network> {
    let names = Network::ALL.map(|network| {
        let value = PossibleValue::new(network.name());
        match network {
            Network::Bitcoin => value.alias("mainnet"),
            _ => value,
        }
    });
    PossibleValuesParser::new(names).try_map(|name| name.parse::<Network>())
}

/// `--bounty-key-type`: `ed25519` or `p256`, with the other names
/// [`KeyType`]'s own parser accepts as aliases.
fn key_type_parser() -> impl TypedValueParser<Value = KeyType> {
    PossibleValuesParser::new([
        PossibleValue::new("ed25519"),
        PossibleValue::new("p256").aliases(["ecdsa-p256", "p-256", "ecdsa"]),
    ])
    .try_map(|name| name.parse::<KeyType>())
}

/// `--completions`: print clap_complete's script for `shell`. `pinata` has
/// no hyphen and no subcommands, so the bash script needs none of the
/// rewriting `pinata-wallet`'s does.
fn completions(shell: Shell) -> ExitCode {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN_NAME, &mut script);
    match std::io::stdout().write_all(&script) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pinata: cannot write the completion script: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(shell) = cli.completions {
        return completions(shell);
    }
    match hosted::run(cli.into_options()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pinata: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, clap::Error> {
        Cli::try_parse_from([BIN_NAME].iter().chain(args)).map(Cli::into_options)
    }

    #[test]
    fn the_command_line_is_consistent() {
        // clap's own checks (duplicate flags, bad defaults, …), which
        // otherwise run only in debug builds when the command is parsed.
        Cli::command().debug_assert();
    }

    #[test]
    fn no_flags_are_the_library_defaults() {
        // Unless the environment says otherwise (as the fallbacks read it).
        for var in [
            "PINATA_BIND",
            "PINATA_SECRET_FILE",
            "PINATA_NETWORK",
            "PINATA_SYSLOG",
        ] {
            if std::env::var_os(var).is_some() {
                return;
            }
        }
        let options = parse(&[]).unwrap();
        let defaults = Options::default();
        assert_eq!(options.bind, defaults.bind);
        assert_eq!(options.ports, defaults.ports);
        assert_eq!(
            options.connect_back_target_port,
            defaults.connect_back_target_port
        );
        assert_eq!(options.bounty_key_type, defaults.bounty_key_type);
        assert_eq!(options.limits, defaults.limits);
        assert_eq!(options.memory_budget, hosted::DEFAULT_MEMORY_BUDGET);
    }

    #[test]
    fn every_limit_key_is_a_flag_that_sets_it() {
        for key in Limits::KEYS {
            let flag = format!("--{}", key.replace('_', "-"));
            let options = parse(&[&flag, "7"]).unwrap();
            let mut expected = Limits::default();
            assert_eq!(expected.set(key, "7"), Ok(true));
            assert_eq!(options.limits, expected, "{flag}");
            // And refuses what the unikernel's command line refuses.
            for bad in ["0", "-1", "1.5", "soon"] {
                assert!(Limits::default().set(key, bad).is_err());
                let error = parse(&[&flag, bad]).unwrap_err();
                assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
                assert!(error.to_string().contains(&flag), "{error}");
            }
        }
    }

    #[test]
    fn every_value_is_converted() {
        let options = parse(&[
            "--bind=::1",
            "--http-port=1",
            "--https-port=2",
            "--server-port=3",
            "--connect-back-port=4",
            "--client-port=5",
            "--connect-back-target-port=6",
            "--secret-file=prize.wif",
            "--network=SigNet",
            "--web-cert=c.pem",
            "--web-key=k.pem",
            "--web-name=a.example",
            "--web-name=b.example",
            "--bounty-key-type=ecdsa-p256",
            "--memory-budget=3",
            "--syslog=[::1]:514",
            "--insecure-export-identities=ids",
        ])
        .unwrap();
        assert_eq!(options.bind, IpAddr::from([0, 0, 0, 0, 0, 0, 0, 1]));
        assert_eq!(options.ports, [1, 2, 3, 4, 5]);
        assert_eq!(options.connect_back_target_port, 6);
        assert_eq!(options.secret_file, Some("prize.wif".into()));
        assert_eq!(options.network, Some(Network::Signet));
        assert_eq!(options.web_cert, Some("c.pem".into()));
        assert_eq!(options.web_key, Some("k.pem".into()));
        assert_eq!(options.web_names, ["a.example", "b.example"]);
        assert_eq!(options.bounty_key_type, KeyType::EcdsaP256);
        assert_eq!(options.memory_budget, 3 << 20);
        assert_eq!(options.syslog, Some("[::1]:514".parse().unwrap()));
        assert_eq!(options.insecure_export_identities, Some("ids".into()));
        let mainnet = parse(&["--network", "mainnet"]).unwrap();
        assert_eq!(mainnet.network, Some(Network::Bitcoin));
    }

    #[test]
    fn a_repeated_flag_takes_its_last_value_and_web_names_add_up() {
        // As the hand-written parser did, so a script can append an
        // override to a fixed command line.
        let options = parse(&[
            "--http-port=1",
            "--max-connections=9",
            "--web-name=a.example",
            "--http-port=2",
            "--max-connections=10",
            "--web-name=b.example",
        ])
        .unwrap();
        assert_eq!(options.ports[0], 2);
        assert_eq!(options.limits.max_connections, 10);
        assert_eq!(options.web_names, ["a.example", "b.example"]);
    }
}
