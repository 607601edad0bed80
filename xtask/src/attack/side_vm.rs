//! A second unikernel for the cases that need their own: another memory
//! size (`memory=` 32 or 64 MiB) or other limits than the battery's VM, on
//! the second tap device of the namespace (`--net tap` only).
//!
//! It boots from the battery VM's image with the same worthless prize, at
//! `netns::guest_address(SIDE_TAP)`, and goes away when dropped. Its page
//! and `/stats.json` are asked from the battery's visitor address, as the
//! battery's own are.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use super::cases::Ctx;
use super::probe::{Prober, probe_page_at, stats_json_at};
use super::soak::{Memory, parse_memory};
use super::target::{TapVm, Target, start_tap_vm};
use super::*;

pub(super) struct SideVm {
    target: Target,
    ip: Ipv4Addr,
}

impl SideVm {
    /// Boots a VM of `memory_mib` MiB with `append` on its command line, or
    /// says why it cannot (no tap network, no image).
    pub(super) fn boot(ctx: &Ctx, memory_mib: u32, append: &str) -> Result<SideVm, String> {
        let index = ctx
            .side_vm
            .ok_or("needs --net tap (a VM of its own on the namespace's second tap device)")?;
        let image = ctx
            .target
            .image
            .as_ref()
            .ok_or("needs the VM target's image")?;
        let dir = ctx.target.dir.join(format!("side-{memory_mib}"));
        let vm = TapVm {
            index,
            memory_mib,
            append: append.to_string(),
            dump: false,
        };
        let target = start_tap_vm(image, dir, &vm)?;
        Ok(SideVm {
            target,
            ip: crate::netns::guest_address(index),
        })
    }

    pub(super) fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::from((self.ip, port))
    }

    /// Its page, from the visitor's address.
    pub(super) fn probe(&self) -> Result<Duration, String> {
        probe_page_at(net::visitor_source(), self.addr(80), PAGE_LIMIT)
    }

    /// Probes its page every 200 ms until finished.
    pub(super) fn prober(&self) -> Prober {
        Prober::start_at(net::visitor_source(), self.addr(80))
    }

    pub(super) fn stats(&self) -> Result<serde_json::Value, String> {
        stats_json_at(net::visitor_source(), self.addr(80))
    }

    pub(super) fn memory(&self) -> Result<Memory, String> {
        parse_memory(&self.stats()?)
    }

    /// Whether it still runs and its console shows no fault: `Err` with
    /// the console's last lines when it powered off or panicked.
    pub(super) fn alive(&mut self) -> Result<(), String> {
        self.target.alive().map_err(|e| {
            let log = self.target.log_since(0);
            let last: Vec<&String> = log
                .iter()
                .filter(|l| !l.contains("outcome="))
                .rev()
                .take(4)
                .collect();
            let last: Vec<&str> = last.iter().rev().map(|l| l.as_str()).collect();
            format!("{e}; its console ends: {}", last.join(" | "))
        })
    }

    /// Whether any console line says the VM panicked or powered off.
    pub(super) fn console_fault(&self) -> Option<String> {
        self.target
            .log_since(0)
            .into_iter()
            .find(|l| l.starts_with("PANIC") || l.trim() == "power off")
    }

    /// Console lines since `from` (for the leak check).
    pub(super) fn log_since(&self, from: usize) -> Vec<String> {
        self.target.log_since(from)
    }

    /// Waits until only the stats request itself is open, at most `limit`.
    pub(super) fn wait_settled(&self, limit: Duration) -> Result<Duration, String> {
        let started = Instant::now();
        loop {
            let open = self.stats()?["open_connections"]
                .as_u64()
                .ok_or("no open_connections")?;
            if open <= 1 {
                return Ok(started.elapsed());
            }
            if started.elapsed() >= limit {
                return Err(format!(
                    "still {open} connection(s) open after {} s",
                    limit.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}
