//! The unikernel's heap under attack, in QEMU: connections that pin as
//! much heap as they can (the start of a ClientHello declaring ~64 KiB,
//! then silence) cannot make an allocation fail — which in the guest is a
//! panic — at the smallest memory that boots nor at a larger one, and the
//! page is served throughout. A heap too small to share stops at once,
//! even with `panic=reboot`: a setup error never loops.
//!
//! QEMU's user network carries every connection from 10.0.2.2, so the
//! per-address limit is raised for the attack (`max_connections_per_peer`,
//! as the attack that used to power a 16 MiB guest off did).

mod common;
mod pinning;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use pinning::pinning_hello;

/// The smallest guest that boots (2.2 MiB of heap, 42 sockets).
const SMALLEST_MIB: &str = "5";

/// `count` connections at once, each sending `hello` and then holding the
/// connection until `stop`.
fn pin(
    addr: SocketAddr,
    count: usize,
    hello: Vec<u8>,
    stop: Arc<AtomicBool>,
) -> Vec<thread::JoinHandle<()>> {
    let hello = Arc::new(hello);
    (0..count)
        .map(|_| {
            let (hello, stop) = (hello.clone(), stop.clone());
            thread::spawn(move || {
                let Ok(mut stream) = TcpStream::connect_timeout(&addr, WAIT) else {
                    return;
                };
                let _ = stream.write_all(&hello);
                let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
                let mut buf = [0u8; 1024];
                while !stop.load(Ordering::Relaxed) {
                    match stream.read(&mut buf) {
                        Ok(0) => return,
                        Ok(_) => {}
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) => {}
                        Err(_) => return,
                    }
                }
            })
        })
        .collect()
}

/// The page's status over a fresh connection; `None` if the connection
/// failed or was cut.
fn page_status(addr: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(WAIT)).ok()?;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        .ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    String::from_utf8_lossy(response.get(9..12)?).parse().ok()
}

/// Boots a guest of `memory` MiB, pins its heap from every direction the
/// attack has, and checks that it never fails and keeps serving the page.
fn survives_heap_pinning(memory: &str) {
    let p = Pinata::boot_vm(
        VmSecret::Module(TEST_WIF_KEY1),
        &["--memory", memory],
        &["max_connections_per_peer=512"],
    );
    let server: SocketAddr = p.addr("server").parse().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // As measured against the old code (48 KiB of the hello, 200
    // connections), then the most a connection can pin now (20 KiB).
    let mut pinners = pin(server, 200, pinning_hello(48 * 1024), stop.clone());
    pinners.extend(pin(server, 230, pinning_hello(20 * 1024), stop.clone()));
    // The page, again and again: each time it must come, within a
    // generous deadline (every visitor shares the attack's address here,
    // so a request may be cut in the crowd and asked again).
    let mut latencies = Vec::new();
    let mut retries = 0;
    let attack = Instant::now();
    while attack.elapsed() < Duration::from_secs(15) {
        let asked = Instant::now();
        loop {
            if page_status(&p.addr("http")) == Some(200) {
                break;
            }
            retries += 1;
            // Served eventually, not fast: the figures are printed below.
            assert!(
                asked.elapsed() < Duration::from_secs(30),
                "no page for 30 s"
            );
            thread::sleep(Duration::from_millis(100));
        }
        latencies.push(asked.elapsed());
        thread::sleep(Duration::from_millis(250));
    }
    stop.store(true, Ordering::Relaxed);
    for pinner in pinners {
        let _ = pinner.join();
    }
    let stats = p.stats();
    let memory_stats = &stats["memory"];
    let high_water = memory_stats["high_water_bytes"].as_u64().unwrap();
    let capacity = memory_stats["capacity_bytes"].as_u64().unwrap();
    let console = p.proc.out.lines().join("\n");
    let worst = latencies.iter().max().unwrap();
    let evicted = console.matches("reason=evicted").count();
    let buffer_full = console.matches("reason=buffer_full").count();
    println!(
        "-m {memory}: heap high water {} KiB of {} KiB; page {} times, worst {} ms, \
         {retries} asked again; {evicted} evicted, {buffer_full} buffer_full",
        high_water / 1024,
        capacity / 1024,
        latencies.len(),
        worst.as_millis()
    );
    assert!(!console.contains("PANIC"), "{console}");
    assert!(
        !p.proc
            .out
            .lines()
            .iter()
            .any(|l| l == "power off" || l.starts_with("restarting")),
        "{console}"
    );
    assert!(high_water < capacity);
    // Still serving, and still itself.
    assert_eq!(p.get("/").0, 200);
    assert_eq!(p.counter("server", "secrets_sent"), 0);
}

#[test]
fn heap_pinning_cannot_stop_the_smallest_guest() {
    survives_heap_pinning(SMALLEST_MIB);
}

#[test]
fn heap_pinning_cannot_stop_a_16_mib_guest() {
    // The size the attack used to power off in 1.2 s (`PANIC … memory
    // allocation of 35040 bytes failed`).
    survives_heap_pinning("16");
}

#[test]
fn a_heap_too_small_stops_even_with_panic_reboot() {
    let (p, line) = Pinata::boot_vm_until(
        VmSecret::None,
        // One MiB below the smallest that boots: the heap is under what
        // the boot code needs before anything is shared out (the memory
        // plan's own refusal, "is too small: at least", is unit-tested in
        // pinata::budget).
        &["--memory", "4"],
        &["panic=reboot"],
        "power off",
    );
    let proc = p.proc;
    let all = proc.out.wait_closed(WAIT).unwrap().join("\n");
    assert!(line.contains("power off"), "{line}");
    assert!(all.contains("give the VM more memory"), "{all}");
    assert!(!all.contains("restarting"), "{all}");
    assert!(!all.contains("pinata: ready"), "{all}");
}
