//! `pinata-wallet`: make a prize key for the piñata and show its addresses.
//!
//! The key is written only to a new file with mode 0600 and is never printed
//! unless `show --reveal` asks for it, so the tool can run in a terminal that
//! is recorded or shared.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use wallet::{Network, PrizeKey, Zeroizing};

const USAGE: &str = "\
pinata-wallet: make the bitcoin piñata's prize key and show its addresses

USAGE:
    pinata-wallet new --network NETWORK --out FILE
    pinata-wallet show FILE [--network NETWORK] [--reveal]
    pinata-wallet --help

COMMANDS:
    new     Generate a key with the operating system's RNG and write it, as
            WIF plus a newline, to FILE (created with mode 0600; an existing
            FILE is never overwritten). Prints the network and addresses,
            never the key.
    show    Read a WIF key from FILE and print its network and addresses
            (P2WPKH, P2PKH). The key itself is printed only with --reveal.

OPTIONS:
    --network NETWORK   bitcoin (alias mainnet), testnet, signet or regtest.
                        Required for `new`. For `show`: a WIF only says
                        mainnet or test network, so pass signet or regtest to
                        see those addresses (default: what the WIF says, with
                        testnet for test keys); a key of the other kind is an
                        error.
    --out FILE          Where `new` writes the key.
    --reveal            `show` also prints the WIF private key.
    -h, --help          Print this help.

EXIT STATUS:
    0 success, 1 error (I/O, invalid key, refusing to overwrite), 2 bad usage.
";

/// Largest key file `show` reads: a WIF is 52 characters; anything much
/// bigger is not a key file and is refused before it is read into memory.
const MAX_KEY_FILE: u64 = 4096;

enum Command {
    Help,
    New {
        network: Network,
        out: PathBuf,
    },
    Show {
        file: PathBuf,
        network: Option<Network>,
        reveal: bool,
    },
}

/// A command-line mistake: reported with a hint, exit code 2.
struct UsageError(String);

fn main() -> ExitCode {
    let args: Vec<String> = match std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect()
    {
        Ok(v) => v,
        Err(a) => return usage_error(&format!("argument is not valid UTF-8: {a:?}")),
    };
    let command = match parse(&args) {
        Ok(c) => c,
        Err(UsageError(msg)) => return usage_error(&msg),
    };
    let result = match command {
        Command::Help => {
            print!("{USAGE}");
            Ok(())
        }
        Command::New { network, out } => new(network, &out),
        Command::Show {
            file,
            network,
            reveal,
        } => show(&file, network, reveal),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("pinata-wallet: error: {msg}");
            ExitCode::from(1)
        }
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("pinata-wallet: {msg}\nTry 'pinata-wallet --help'.");
    ExitCode::from(2)
}

fn parse(args: &[String]) -> Result<Command, UsageError> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        return Ok(Command::Help);
    }
    let Some((command, rest)) = args.split_first() else {
        return Err(UsageError("missing command (new or show)".into()));
    };
    let mut network = None;
    let mut out = None;
    let mut reveal = false;
    let mut positional = Vec::new();
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        // Accept both `--opt value` and `--opt=value`.
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| UsageError(format!("{name} needs a value")))
        };
        match name {
            "--network" => {
                let v = value(name)?;
                let n = v
                    .parse::<Network>()
                    .map_err(|e| UsageError(format!("--network {v:?}: {e}")))?;
                network = Some(n);
            }
            "--out" => out = Some(PathBuf::from(value(name)?)),
            "--reveal" if inline.is_none() => reveal = true,
            "--" => positional.extend(it.by_ref().cloned()),
            _ if name.starts_with('-') && name != "-" => {
                return Err(UsageError(format!("unknown option {arg:?}")));
            }
            _ => positional.push(arg.clone()),
        }
    }
    match command.as_str() {
        "new" => {
            if let Some(p) = positional.first() {
                return Err(UsageError(format!(
                    "unexpected argument {p:?} (new takes --network and --out)"
                )));
            }
            if reveal {
                return Err(UsageError(
                    "--reveal is for show; new never prints the key".into(),
                ));
            }
            let network = network.ok_or_else(|| {
                UsageError("new needs --network (bitcoin, testnet, signet or regtest)".into())
            })?;
            let out = out.ok_or_else(|| UsageError("new needs --out FILE".into()))?;
            Ok(Command::New { network, out })
        }
        "show" => {
            if out.is_some() {
                return Err(UsageError("--out is for new".into()));
            }
            let file = match positional.as_slice() {
                [f] => PathBuf::from(f),
                [] => return Err(UsageError("show needs a FILE".into())),
                [_, extra, ..] => {
                    return Err(UsageError(format!("unexpected argument {extra:?}")));
                }
            };
            Ok(Command::Show {
                file,
                network,
                reveal,
            })
        }
        other => Err(UsageError(format!(
            "unknown command {other:?} (expected new or show)"
        ))),
    }
}

/// `new`: generate, write 0600 with create_new, print addresses.
fn new(network: Network, out: &Path) -> Result<(), String> {
    let key = PrizeKey::generate(network, &mut |buf: &mut [u8]| getrandom::fill(buf))
        .map_err(|e| format!("cannot generate a key: {e}"))?;

    let mut options = OpenOptions::new();
    // create_new: never overwrite a key file — it may hold funded coins.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Set at creation, so the key is never readable by others, not even
        // between open and a later chmod.
        options.mode(0o600);
    }
    let mut file = options.open(out).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            format!(
                "{}: file already exists; refusing to overwrite a key file (choose another --out)",
                out.display()
            )
        } else {
            format!("{}: cannot create: {e}", out.display())
        }
    })?;
    let written = file
        .write_all(&key.wire_secret())
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        // A partial key file is worse than none: remove what we created.
        let _ = std::fs::remove_file(out);
        return Err(format!("{}: cannot write: {e}", out.display()));
    }

    println!("wrote a new {network} private key to {}", out.display());
    print_addresses(&key);
    Ok(())
}

/// `show`: read a key file and print what may be published about it.
fn show(path: &Path, network: Option<Network>, reveal: bool) -> Result<(), String> {
    let text = read_key_file(path)?;
    let key = match network {
        Some(n) => PrizeKey::from_wif_for(&text, n),
        None => PrizeKey::from_wif(&text),
    }
    .map_err(|e| format!("{}: {e}", path.display()))?;
    if network.is_none() && key.network() == Network::Testnet {
        eprintln!(
            "note: testnet, signet and regtest keys look the same; showing testnet \
             (pass --network signet or --network regtest for those)"
        );
    }
    print_addresses(&key);
    if reveal {
        println!("wif:     {}", key.to_wif().as_str());
    }
    Ok(())
}

fn read_key_file(path: &Path) -> Result<Zeroizing<String>, String> {
    let file = File::open(path).map_err(|e| format!("{}: cannot open: {e}", path.display()))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{}: not a regular file", path.display()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            eprintln!(
                "warning: {} is readable by others (mode {mode:o}); a key file should be 0600",
                path.display()
            );
        }
    }
    // Read at most one byte past the limit, into a buffer allocated once,
    // so the key is never copied by a reallocation.
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_KEY_FILE as usize + 1));
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(format!(
            "{}: too large to be a WIF key file (over {MAX_KEY_FILE} bytes)",
            path.display()
        ));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("{}: not a WIF key file (not text)", path.display()))?;
    Ok(Zeroizing::new(text.to_owned()))
}

fn print_addresses(key: &PrizeKey) {
    let network = key.network();
    let p2wpkh = key.p2wpkh_address();
    println!("network: {network}");
    println!("p2wpkh:  {p2wpkh}");
    println!("p2pkh:   {}", key.p2pkh_address());
    if let Some(url) = network.explorer_address_url(&p2wpkh) {
        println!("explorer: {url}");
    }
}
