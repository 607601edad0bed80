//! What runs after the platform is up: [`start`] builds the prize, the PKI,
//! the TLS contexts and the network stack over the NIC, then turns the
//! appliance's event loop forever.
//!
//! The loop itself — stack events in, bytes between each TCP connection and
//! its session, outcome lines out — is `pinata::netloop::EventLoop`, in the
//! pinata crate (feature `netstack`), where it is unit-tested on the host
//! and driven by the `stack_ingress` fuzz target. This file is the glue: the
//! platform's clock, NIC, console and sleep.

use alloc::sync::Arc;
use alloc::vec::Vec;

use pinata::Pinata;
use pinata::netloop::{EventLoop, listen_ports};
use stack::Stack;

/// Rustls's view of the wall clock: the platform's RTC-based clock.
#[derive(Debug)]
struct WallClock;

impl pinata::time::TimeProvider for WallClock {
    fn current_time(&self) -> Option<pinata::time::UnixTime> {
        crate::platform::wall_clock().current_time()
    }
}

/// Everything after the platform is up: the prize, the PKI, the TLS
/// contexts, the stack, and then the loop, forever. Fatal setup errors are
/// printed and stop the machine (`panic=` decides poweroff or reboot).
pub fn start() -> ! {
    use pinata::pki::{self, PkiOptions};
    use pinata::time::TimeProvider as _;
    use stack::{IpConfig, StackConfig};

    use crate::platform;

    let config = platform::boot_config();
    let prize = match config.prize() {
        Ok(Some(prize)) => {
            crate::println!(
                "prize: {} address {} ({})",
                prize.network(),
                prize.p2wpkh_address(),
                match config.secret_source {
                    Some(crate::cmdline::SecretSource::Module) => "from the boot module",
                    _ => "from the command line",
                }
            );
            Some(prize)
        }
        Ok(None) => {
            crate::println!("prize: none loaded (no boot module, no secret=): serving without one");
            None
        }
        Err(error) => {
            // Never echo the secret: only the kind of error.
            crate::println!(
                "prize: the secret is not a usable WIF ({error}): serving without a prize"
            );
            None
        }
    };

    let Some(now) = platform::wall_clock().current_time() else {
        crate::println!("pki: no wall clock (no CMOS RTC): cannot date certificates; stopping");
        platform::fatal_stop();
    };
    let mut web_names: Vec<alloc::string::String> = PkiOptions::DEFAULT_WEB_NAMES
        .iter()
        .map(|s| alloc::string::String::from(*s))
        .collect();
    if let Some(ip) = config.ip {
        web_names.push(alloc::format!("{}", ip.address));
    }
    let options = PkiOptions {
        bounty_key_type: config.bounty_key.unwrap_or_default(),
        web_names,
        now,
        validity_days: PkiOptions::DEFAULT_VALIDITY_DAYS,
    };
    let pki = match pki::bootstrap(platform::random(), &options) {
        Ok(pki) => pki,
        Err(error) => {
            crate::println!("pki: bootstrap failed: {error}; stopping");
            platform::fatal_stop();
        }
    };
    crate::println!("pki: CA generated, certificates issued, CA key erased");

    let provider = Arc::new(pinata::provider::provider(platform::random()));
    let app_config = pinata::Config {
        prize,
        limits: config.limits.clone(),
        web_identity: None,
    };
    let app = match Pinata::new(
        pki,
        app_config,
        provider,
        Arc::new(WallClock),
        platform::now(),
    ) {
        Ok(app) => app
            .with_connect_back_port(config.connect_back_port.unwrap_or(40001))
            .with_memory_gauge(crate::heap::usage),
        Err(error) => {
            crate::println!("pinata: setup failed: {error}; stopping");
            platform::fatal_stop();
        }
    };

    let Some(nic) = platform::nic() else {
        crate::println!(
            "net: no network device (virtio-net or Xen netfront): nothing to serve; stopping"
        );
        platform::fatal_stop();
    };
    let ip = match config.ip {
        Some(cidr) => IpConfig::Static {
            address: cidr.address,
            prefix_len: cidr.prefix_len,
            gateway: config.gateway,
        },
        None => {
            crate::println!("net: DHCP");
            IpConfig::Dhcp
        }
    };
    let mut seed = [0u8; 8];
    if platform::random().fill(&mut seed).is_err() {
        crate::println!("entropy: the generator failed; stopping");
        platform::fatal_stop();
    }
    let stack_config = StackConfig::new(ip, &listen_ports());
    let stack = match Stack::new(
        nic,
        stack_config,
        platform::now().as_millis(),
        u64::from_le_bytes(seed),
    ) {
        Ok(stack) => stack,
        Err(error) => {
            crate::println!("net: bad network configuration: {error:?}; stopping");
            platform::fatal_stop();
        }
    };
    crate::println!("pinata: limits {}", app.limits());
    let mut event_loop = EventLoop::new(stack, Arc::new(app), crate::console::print_line);
    if let Some(target) = config.syslog {
        // The command line checked the target already; `new` cannot refuse it.
        if let Ok(syslog) = pinata::syslog::Syslog::new(target, "pinata") {
            event_loop.set_syslog(syslog.with_clock(Arc::new(WallClock)));
            crate::println!("syslog: connection log also to {target} (RFC 5424 over UDP)");
        }
    }
    loop {
        let now = platform::now();
        let wake = event_loop.turn(now);
        platform::obey_shutdown_request();
        platform::wait_until(Some(wake));
    }
}
