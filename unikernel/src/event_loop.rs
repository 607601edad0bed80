//! What runs after the platform is up: [`start`] builds the piñata
//! (`pinata::setup`, as the hosted runner does) and the network stack over
//! the NIC, then turns the event loop forever.
//!
//! The loop itself is `pinata::netloop::EventLoop`, the same one the
//! hosted runner runs over the host's sockets; where it sits in the data
//! flow: see "Layout" in `docs/DESIGN.md`. This file is the glue: the
//! platform's secret, entropy, clocks, NIC, console and sleep.

use alloc::sync::Arc;
use alloc::vec::Vec;

use pinata::budget::{HeapPlan, HeapTooSmall};
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
/// printed and stop the machine (whatever `panic=` says: it applies once
/// the loop runs, see `platform::fatal_stop`).
pub fn start() -> ! {
    use pinata::setup::{self, Platform, Setup};
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

    let mut web_names = Vec::new();
    if let Some(ip) = config.ip {
        web_names.push(alloc::format!("{}", ip.address));
    }
    let setup = Setup {
        prize,
        bounty_key_type: config.bounty_key.unwrap_or_default(),
        web_names,
        web_identity: None,
        limits: config.limits.clone(),
        connect_back_port: config
            .connect_back_port
            .unwrap_or(pinata::DEFAULT_CONNECT_BACK_PORT),
        memory_gauge: Some(crate::heap::usage),
    };
    let machine = Platform {
        random: platform::random(),
        wall_clock: Arc::new(WallClock),
        now: platform::now(),
    };
    let app = match setup::build(setup, &machine, |_| Ok(())) {
        Ok(app) => app,
        Err(error) => {
            crate::println!("pinata: setup failed: {error}; stopping");
            platform::fatal_stop();
        }
    };
    crate::println!("pki: CA generated, certificates issued, CA key erased");

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
    // The seed feeds smoltcp's own generator (DHCP transaction ids); the
    // secret keys TCP initial sequence numbers, SYN cookies and ephemeral
    // ports.
    let mut seed = [0u8; 8];
    let mut secret = [0u8; stack::StackSecret::LEN];
    if platform::random().fill(&mut seed).is_err() || platform::random().fill(&mut secret).is_err()
    {
        crate::println!("entropy: the generator failed; stopping");
        platform::fatal_stop();
    }
    let mut stack_config = StackConfig::new(ip, &listen_ports());
    stack_config.secret = Some(stack::StackSecret::new(secret));
    // The memory plan gives the sockets half the free heap up to this
    // ceiling, so the heap, not a fixed count, bounds the connections held
    // at once (docs/DECISIONS.md, "Concurrent capacity").
    stack_config.max_connections = MAX_SOCKETS;
    stack_config.rx_buffer = SOCKET_BUFFER_BYTES;
    stack_config.tx_buffer = SOCKET_BUFFER_BYTES;
    // The heap is all there is: share it (fixed costs, headroom, the
    // stack's sockets, the connections' budget) before any socket exists.
    let plan = match memory_plan(&stack_config) {
        Ok(plan) => plan,
        Err(error) => {
            crate::println!("memory: {error}; give the VM more memory; stopping");
            platform::fatal_stop();
        }
    };
    crate::println!("memory: {plan}");
    stack_config.max_connections = plan.sockets;
    stack_config.scale_to_sockets();
    // Handshakes held half-open while a quarter of the sockets, at most 64
    // (`stack::HALF_OPEN_CEILING`), is enough, SYN cookies beyond (Linux's
    // way): the battery passed with it; with cookies for every SYN
    // `socket_exhaustion_one_address` lost a page probe in 2 of 3
    // (docs/DECISIONS.md, "SYN cookies" and "SYN cookies: a ceiling on
    // pending handshakes").
    stack_config.syn_cookies = stack::SynCookies::WhenFull;
    stack_config.allow_per_peer(config.limits.max_connections_per_peer);
    let stack = match Stack::new(
        nic,
        stack_config,
        platform::now().as_millis(),
        u64::from_le_bytes(seed),
    ) {
        Ok(stack) => stack,
        Err(error) => {
            crate::println!("net: bad network configuration: {error}; stopping");
            platform::fatal_stop();
        }
    };
    let mut event_loop = EventLoop::new(stack, Arc::new(app), crate::console::print_line)
        .with_clock_origin("PVH entry")
        .with_memory_budget(plan.budget);
    if let Some(target) = config.syslog {
        // The command line checked the target already; `new` cannot refuse it.
        if let Ok(syslog) = pinata::syslog::Syslog::new(target, "pinata") {
            event_loop.set_syslog(syslog.with_clock(Arc::new(WallClock)));
            crate::println!("syslog: connection log also to {target} (RFC 5424 over UDP)");
        }
    }
    // From here a fatal error is a crash (the `panic=` policy), no longer
    // a setup error.
    platform::serving();
    loop {
        let now = platform::now();
        let wake = event_loop.turn(now);
        platform::obey_shutdown_request();
        platform::wait_until(Some(wake));
    }
}

/// How the heap is shared once the piñata is set up: what is in use now
/// is the fixed cost; the stack keeps a socket per listener and a few more
/// at least, [`MAX_SOCKETS`] at most (see `pinata::budget::HeapPlan`).
fn memory_plan(stack: &stack::StackConfig) -> Result<HeapPlan, HeapTooSmall> {
    let heap = crate::heap::usage();
    let capacity = heap.and_then(|h| h.capacity_bytes).unwrap_or(0) as usize;
    let fixed = heap.map_or(0, |h| h.used_bytes) as usize;
    let listeners = stack.backlog * stack.listen_ports.len();
    HeapPlan::new(
        capacity,
        fixed,
        stack.socket_bytes(),
        listeners + MIN_CONNECTION_SOCKETS,
        stack.max_connections,
    )
}

/// Sockets for connections the stack keeps at least, beside its listeners.
const MIN_CONNECTION_SOCKETS: usize = 16;

/// The most TCP sockets the stack may have; the memory plan usually gives
/// fewer (half the free heap's worth). A 64 MiB guest gets about 1,650.
const MAX_SOCKETS: usize = 4096;

/// Each TCP socket's receive and transmit buffer. 8 KiB holds the page's
/// largest TLS record in two sends and any handshake flight the piñata
/// sends, and halves a socket's cost against the 16 KiB default: measured
/// over tap at `memory=64`, 1,646 connections held at once instead of 736.
const SOCKET_BUFFER_BYTES: usize = 8 * 1024;
