//! The boot configuration: the kernel command line (`key=value` words) and
//! the secret boot module.
//!
//! | key | value | default |
//! |---|---|---|
//! | `secret` | the prize as WIF (prefer the boot module: a command line is easier to leak) | none |
//! | `network` | `bitcoin`, `testnet`, `signet`, `regtest`: how to read a testnet-family WIF | from the WIF |
//! | `ip` | static IPv4 address with prefix, `10.0.2.15/24` | DHCP |
//! | `gw` | IPv4 default gateway | none / DHCP |
//! | `connect_back_port` | port connect-back dials on the caller | 40001 (`pinata::DEFAULT_CONNECT_BACK_PORT`) |
//! | `panic` | after a fatal error once serving: `reboot` (restart with a new CA; a Xen guest reports a crash and `on_crash` decides) or `poweroff`; before serving (setup errors) it always powers off | `reboot` |
//! | `bounty_key` | `p256` or `ed25519` (the bounty chain's key type: CA and bounty certificates) | `ed25519` |
//! | `syslog` | `IP:PORT` of a syslog collector that also gets every connection line (RFC 5424 over UDP; IPv4) | none |
//! | `max_connections` | connections open at once, all services (beyond: the longest idle is evicted) | 512 |
//! | `max_connections_per_peer` | connections open at once from one address (beyond: refused) | 64 |
//! | `handshake_timeout`, `request_timeout`, `idle_timeout`, `connect_timeout` | seconds (see `pinata::Limits`) | 10, 10, 5, 5 |
//! | `test_heap_canary` | 8–64 printable characters: before serving, fill the free heap with them and free it (tests only: `canary.rs`) | none |
//! | `virtio_mmio.device` | `SIZE@BASE:IRQ` (Linux syntax, repeatable): a virtio-mmio device, as Firecracker and QEMU `microvm` announce them | none |
//!
//! The limits' keys are parsed by `pinata::Limits::set`, as the hosted
//! runner's flags are: a positive whole number each.
//!
//! Unknown keys and malformed values are reported (as diagnostics for the
//! console) and ignored. Nothing here ever puts the secret's value in a
//! diagnostic or in `Debug` output.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::net::{Ipv4Addr, SocketAddr};

use pinata::Limits;
use pinata::pki::KeyType;
use wallet::{Network, PrizeKey, WifError};
use zeroize::Zeroizing;

/// What to do after a panic or a fatal error once the appliance serves
/// (before that, a fatal error always stops it: see
/// `platform::fatal_stop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PanicAction {
    /// Power the machine off: a dead appliance is visible, and stays dead
    /// until an operator looks.
    Poweroff,
    /// Restart (default): a public appliance comes back by itself, with a
    /// new CA.
    #[default]
    Reboot,
}

impl PanicAction {
    /// The command line's word for it (`panic=…`).
    pub fn name(self) -> &'static str {
        match self {
            PanicAction::Poweroff => "poweroff",
            PanicAction::Reboot => "reboot",
        }
    }
}

/// Where the secret came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSource {
    /// `secret=` on the command line.
    CommandLine,
    /// The first boot module (QEMU `-initrd`, Xen `ramdisk=`).
    Module,
}

/// An IPv4 address with its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Cidr {
    /// The interface address.
    pub address: Ipv4Addr,
    /// Network prefix length, 0–32.
    pub prefix_len: u8,
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

/// A virtio-mmio device announced on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VirtioMmio {
    /// Physical address of its register window.
    pub base: u64,
    /// Size of the window in bytes.
    pub size: u64,
}

/// The parsed boot configuration.
#[derive(Default)]
pub struct BootConfig {
    /// The prize as WIF text, trimmed; wiped from memory on drop.
    pub secret: Option<Zeroizing<String>>,
    /// Where [`BootConfig::secret`] came from.
    pub secret_source: Option<SecretSource>,
    /// How to read a testnet-family WIF.
    pub network: Option<Network>,
    /// Static address; `None` means DHCP.
    pub ip: Option<Ipv4Cidr>,
    /// Static default gateway.
    pub gateway: Option<Ipv4Addr>,
    /// The caller's port that connect-back dials (default 40001).
    pub connect_back_port: Option<u16>,
    /// After a panic.
    pub panic: PanicAction,
    /// Key type of the bounty certificates (default P-256).
    pub bounty_key: Option<KeyType>,
    /// virtio-mmio devices (Firecracker, QEMU microvm).
    pub virtio_mmio: Vec<VirtioMmio>,
    /// The syslog collector for the connection log (IPv4).
    pub syslog: Option<SocketAddr>,
    /// Connection limits and deadlines.
    pub limits: Limits,
    /// Test only: the marker [`crate::canary::plant`] fills the free heap
    /// with before serving.
    pub heap_canary: Option<String>,
}

impl fmt::Debug for BootConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BootConfig")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("secret_source", &self.secret_source)
            .field("network", &self.network)
            .field("ip", &self.ip)
            .field("gateway", &self.gateway)
            .field("connect_back_port", &self.connect_back_port)
            .field("panic", &self.panic)
            .field("bounty_key", &self.bounty_key)
            .field("virtio_mmio", &self.virtio_mmio)
            .field("syslog", &self.syslog)
            .field("limits", &self.limits)
            .field("heap_canary", &self.heap_canary)
            .finish()
    }
}

impl BootConfig {
    /// Parses a command line. Returns the configuration and diagnostics
    /// (one line each, safe to print: no secret values).
    pub fn parse(cmdline: &str) -> (BootConfig, Vec<String>) {
        let mut config = BootConfig::default();
        let mut notes = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for (index, word) in cmdline.split_ascii_whitespace().enumerate() {
            let Some((key, value)) = word.split_once('=') else {
                // Could be anything (a secret pasted without its key):
                // report its position, not its text.
                notes.push(format!(
                    "command line: ignored word #{} (no '=')",
                    index + 1
                ));
                continue;
            };
            if seen.contains(&key) && key != "virtio_mmio.device" {
                notes.push(format!(
                    "command line: {key}= given more than once; the last one counts"
                ));
            }
            seen.push(key);
            match key {
                "secret" => {
                    if value.is_empty() {
                        notes.push("command line: secret= is empty; ignored".into());
                    } else {
                        config.secret = Some(Zeroizing::new(value.to_string()));
                        config.secret_source = Some(SecretSource::CommandLine);
                    }
                }
                "network" => match value.parse::<Network>() {
                    Ok(network) => config.network = Some(network),
                    Err(_) => notes.push(format!(
                        "command line: network={value}: not one of bitcoin, testnet, signet, regtest; ignored"
                    )),
                },
                "ip" => match parse_cidr(value) {
                    Some(cidr) => config.ip = Some(cidr),
                    None => notes.push(format!(
                        "command line: ip={value}: expected ADDRESS/PREFIX such as 10.0.2.15/24; ignored (DHCP)"
                    )),
                },
                "gw" => match value.parse::<Ipv4Addr>() {
                    Ok(gateway) => config.gateway = Some(gateway),
                    Err(_) => notes.push(format!("command line: gw={value}: not an IPv4 address; ignored")),
                },
                "connect_back_port" => match value.parse::<u16>() {
                    Ok(port) if port != 0 => config.connect_back_port = Some(port),
                    _ => notes.push(format!("command line: connect_back_port={value}: not a port (1-65535); ignored")),
                },
                "panic" => match value {
                    "poweroff" => config.panic = PanicAction::Poweroff,
                    "reboot" => config.panic = PanicAction::Reboot,
                    _ => notes.push(format!("command line: panic={value}: expected poweroff or reboot; ignored")),
                },
                "bounty_key" => match value.parse::<KeyType>() {
                    Ok(kind) => config.bounty_key = Some(kind),
                    Err(_) => notes.push(format!("command line: bounty_key={value}: expected p256 or ed25519; ignored")),
                },
                "virtio_mmio.device" => match parse_virtio_mmio(value) {
                    Some(device) => config.virtio_mmio.push(device),
                    None => notes.push(format!(
                        "command line: virtio_mmio.device={value}: expected SIZE@BASE:IRQ; ignored"
                    )),
                },
                "syslog" => match pinata::syslog::parse_target(value) {
                    Ok(SocketAddr::V6(_)) => notes.push(format!(
                        "command line: syslog={value}: the network stack is IPv4 only; ignored (no remote syslog)"
                    )),
                    Ok(target) => config.syslog = Some(target),
                    Err(error) => notes.push(format!(
                        "command line: syslog={value}: {error}; ignored (no remote syslog)"
                    )),
                },
                "test_heap_canary" => {
                    if crate::canary::valid_marker(value) {
                        config.heap_canary = Some(value.to_string());
                    } else {
                        notes.push(format!(
                            "command line: test_heap_canary={value}: expected 8 to 64 printable characters; ignored"
                        ));
                    }
                }
                _ => match config.limits.set(key, value) {
                    Ok(true) => {}
                    Ok(false) => notes.push(format!("command line: unknown key {key}=; ignored")),
                    Err(error) => notes.push(format!("command line: {error}; ignored")),
                },
            }
        }
        if config.gateway.is_some() && config.ip.is_none() {
            notes.push("command line: gw= without ip=: the gateway comes from DHCP".into());
        }
        (config, notes)
    }

    /// Takes the secret from a boot module's contents (WIF text, surrounding
    /// whitespace trimmed). The module wins over `secret=`. Returns a
    /// diagnostic if the module is not usable or overrides the command line.
    pub fn apply_module(&mut self, module: &[u8]) -> Option<String> {
        let Ok(text) = core::str::from_utf8(module) else {
            return Some("boot module: not UTF-8 text; no secret taken from it".into());
        };
        let text = text.trim();
        if text.is_empty() {
            return Some("boot module: empty; no secret taken from it".into());
        }
        let note = (self.secret_source == Some(SecretSource::CommandLine))
            .then(|| "boot module and secret= both given: using the boot module".to_string());
        self.secret = Some(Zeroizing::new(text.to_string()));
        self.secret_source = Some(SecretSource::Module);
        note
    }

    /// The prize key, if a secret was given: parsed with `network=` when set.
    pub fn prize(&self) -> Result<Option<PrizeKey>, WifError> {
        let Some(secret) = &self.secret else {
            return Ok(None);
        };
        match self.network {
            Some(network) => PrizeKey::from_wif_for(secret, network),
            None => PrizeKey::from_wif(secret),
        }
        .map(Some)
    }
}

/// Linux's `virtio_mmio.device=SIZE@BASE:IRQ[:ID]`: SIZE with an optional
/// K/M/G suffix, numbers decimal or 0x-hexadecimal; the IRQ is not used
/// (the NIC is polled).
fn parse_virtio_mmio(value: &str) -> Option<VirtioMmio> {
    fn number(text: &str) -> Option<u64> {
        match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => text.parse().ok(),
        }
    }
    let (size, rest) = value.split_once('@')?;
    let (base, irq) = rest.split_once(':')?;
    let (digits, shift) = match size.as_bytes().last()? {
        b'k' | b'K' => (&size[..size.len() - 1], 10),
        b'm' | b'M' => (&size[..size.len() - 1], 20),
        b'g' | b'G' => (&size[..size.len() - 1], 30),
        _ => (size, 0),
    };
    let size = number(digits)?.checked_mul(1 << shift)?;
    let irq = irq.split(':').next()?;
    irq.parse::<u32>().ok()?;
    let base = number(base)?;
    (size != 0 && base.checked_add(size).is_some()).then_some(VirtioMmio { base, size })
}

fn parse_cidr(value: &str) -> Option<Ipv4Cidr> {
    let (address, prefix) = value.split_once('/')?;
    let prefix_len: u8 = prefix.parse().ok()?;
    (prefix_len <= 32).then_some(())?;
    Some(Ipv4Cidr {
        address: address.parse().ok()?,
        prefix_len,
    })
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use super::*;

    const WIF: &str = "cMahea7zqjxrtgAbB7LSGbcQUr1uX1ojuat9jZodMN87JcbXMTcA";

    #[test]
    fn full_command_line() {
        let (c, notes) = BootConfig::parse(
            "ip=10.0.2.15/24 gw=10.0.2.2 network=regtest connect_back_port=40002 panic=poweroff bounty_key=ed25519",
        );
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(
            c.ip,
            Some(Ipv4Cidr {
                address: Ipv4Addr::new(10, 0, 2, 15),
                prefix_len: 24
            })
        );
        assert_eq!(c.gateway, Some(Ipv4Addr::new(10, 0, 2, 2)));
        assert_eq!(c.network, Some(Network::Regtest));
        assert_eq!(c.connect_back_port, Some(40002));
        assert_eq!(c.panic, PanicAction::Poweroff);
        assert_eq!(c.bounty_key, Some(KeyType::Ed25519));
        assert!(c.secret.is_none());
    }

    #[test]
    fn defaults() {
        let (c, notes) = BootConfig::parse("");
        assert!(notes.is_empty());
        assert_eq!(c.panic, PanicAction::Reboot);
        assert!(c.ip.is_none() && c.gateway.is_none() && c.bounty_key.is_none());
    }

    #[test]
    fn secret_never_in_diagnostics_or_debug() {
        let line = format!("console=ttyS0 secret={WIF} {WIF} secret={WIF} bogus");
        let (c, notes) = BootConfig::parse(&line);
        assert_eq!(c.secret.as_deref().map(String::as_str), Some(WIF));
        assert_eq!(c.secret_source, Some(SecretSource::CommandLine));
        assert!(!notes.is_empty());
        for note in &notes {
            assert!(!note.contains(WIF), "{note}");
        }
        assert!(notes.iter().any(|n| n.contains("console=")));
        assert!(!format!("{c:?}").contains(WIF));
    }

    #[test]
    fn bad_values_are_reported_and_ignored() {
        let (c, notes) = BootConfig::parse(
            "ip=10.0.2.15 gw=nope network=mars connect_back_port=0 panic=explode bounty_key=rsa ip=1.2.3.4/33",
        );
        assert_eq!(notes.len(), 8, "{notes:?}");
        assert!(c.ip.is_none() && c.gateway.is_none() && c.network.is_none());
        assert!(c.connect_back_port.is_none() && c.bounty_key.is_none());
        assert_eq!(c.panic, PanicAction::Reboot);
    }

    #[test]
    fn the_heap_canary_is_off_unless_asked_for() {
        assert!(BootConfig::parse("network=regtest").0.heap_canary.is_none());
        let (c, notes) = BootConfig::parse("test_heap_canary=CANARY-7f3a9c2e");
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(c.heap_canary.as_deref(), Some("CANARY-7f3a9c2e"));
        let (c, notes) = BootConfig::parse("test_heap_canary=short");
        assert!(c.heap_canary.is_none());
        assert_eq!(notes.len(), 1, "{notes:?}");
    }

    #[test]
    fn module_secret_is_trimmed_and_wins() {
        let (mut c, _) = BootConfig::parse("secret=cmdline-value network=regtest");
        let note = c.apply_module(format!("\n  {WIF}\r\n").as_bytes());
        assert!(note.is_some_and(|n| !n.contains(WIF)));
        assert_eq!(c.secret.as_deref().map(String::as_str), Some(WIF));
        assert_eq!(c.secret_source, Some(SecretSource::Module));
        let key = c.prize().unwrap().unwrap();
        assert_eq!(key.network(), Network::Regtest);
    }

    #[test]
    fn virtio_mmio_devices() {
        let (c, notes) = BootConfig::parse(
            "virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=512@0xfeb00e00:12:3 virtio_mmio.device=1M@4096:1",
        );
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(
            c.virtio_mmio,
            [
                VirtioMmio {
                    base: 0xd000_0000,
                    size: 4096
                },
                VirtioMmio {
                    base: 0xfeb0_0e00,
                    size: 512
                },
                VirtioMmio {
                    base: 4096,
                    size: 1 << 20
                },
            ]
        );
        let (c, notes) = BootConfig::parse(
            "virtio_mmio.device=4K virtio_mmio.device=0@0x1000:5 virtio_mmio.device=4Q@0x1000:5 virtio_mmio.device=4K@0xzz:5",
        );
        assert_eq!(notes.len(), 4, "{notes:?}");
        assert!(c.virtio_mmio.is_empty());
    }

    #[test]
    fn limits() {
        let (config, notes) = BootConfig::parse(
            "max_connections=100 max_connections_per_peer=1000 idle_timeout=3 handshake_timeout=20 \
             request_timeout=7 connect_timeout=2",
        );
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(config.limits.max_connections, 100);
        assert_eq!(config.limits.max_connections_per_peer, 1000);
        assert_eq!(config.limits.idle_timeout, Duration::from_secs(3));
        assert_eq!(config.limits.handshake_timeout, Duration::from_secs(20));
        assert_eq!(config.limits.request_timeout, Duration::from_secs(7));
        assert_eq!(config.limits.connect_timeout, Duration::from_secs(2));
        let (config, notes) = BootConfig::parse("max_connections=0 idle_timeout=soon");
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert_eq!(config.limits, Limits::default());
    }

    #[test]
    fn syslog_target() {
        let (c, notes) = BootConfig::parse("syslog=10.0.2.2:514");
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(c.syslog, Some(SocketAddr::from(([10, 0, 2, 2], 514))));
        for (value, reason) in [
            ("10.0.2.2", "no port"),
            ("10.0.2.2:0", "port 0"),
            ("logs.example:514", "not an IP address"),
            ("[2001:db8::1]:514", "IPv4 only"),
        ] {
            let (c, notes) = BootConfig::parse(&format!("syslog={value}"));
            assert!(c.syslog.is_none(), "{value}");
            assert!(
                notes.len() == 1
                    && notes[0].contains(&format!("syslog={value}: "))
                    && notes[0].contains(reason)
                    && notes[0].ends_with("ignored (no remote syslog)"),
                "{value}: {notes:?}"
            );
        }
    }

    #[test]
    fn unusable_modules() {
        let mut c = BootConfig::default();
        assert!(c.apply_module(b"   \n").is_some());
        assert!(c.apply_module(&[0xFF, 0xFE]).is_some());
        assert!(c.secret.is_none());
        assert!(c.prize().unwrap().is_none());
    }

    #[test]
    fn bad_wif_is_an_error() {
        let (c, _) = BootConfig::parse("secret=notawif");
        assert!(c.prize().is_err());
    }
}
