//! The toolstack's shutdown requests: `control/shutdown` in xenstore.
//!
//! `xl shutdown`, `xl reboot` and a dom0 shutting down ask a guest to stop
//! by writing `poweroff`, `reboot` (or `halt`, `suspend`) to the guest's
//! `control/shutdown` node; the guest clears the node to acknowledge and
//! then calls `SCHEDOP_shutdown` itself. A guest that advertises
//! `control/feature-poweroff` and `control/feature-reboot` tells the
//! toolstack it listens, so `xl shutdown` does not fall back to killing it.
//!
//! [`ShutdownWatch`] keeps the domain's xenstore connection after netfront
//! is up, watches that node, and is polled once per turn of the event loop
//! ([`ShutdownWatch::poll`] never waits): a request is seen within one turn
//! (at most 50 ms, the loop's longest sleep). `suspend` is not supported
//! (the appliance keeps no state worth saving and its keys must not
//! outlive it): it is acknowledged, reported and ignored.

use alloc::string::String;

use super::Hypervisor;
use super::xenstore::{Xenstore, XsError};

/// The node the toolstack writes, relative to our domain's directory.
pub const SHUTDOWN_NODE: &str = "control/shutdown";
/// The watch's token.
const TOKEN: &str = "pinata-control";
/// Time allowed for each xenstore round trip made while polling.
const ROUND_TRIP_NS: u64 = 100_000_000;

/// What the toolstack asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `poweroff` or `halt`.
    Poweroff,
    /// `reboot`.
    Reboot,
    /// Anything else (`suspend`, or an unknown word): acknowledged, not
    /// acted on.
    Unsupported(String),
}

/// The watch on [`SHUTDOWN_NODE`]; see the module docs.
pub struct ShutdownWatch<H: Hypervisor> {
    store: Xenstore<H>,
}

impl<H: Hypervisor> ShutdownWatch<H> {
    /// Advertises the features and registers the watch, by `deadline`.
    pub fn start(mut store: Xenstore<H>, deadline: u64) -> Result<Self, XsError> {
        // Best effort: without them `xl shutdown` still writes the node
        // (it may also warn that the guest has no PV drivers).
        let _ = store.write(0, "control/feature-poweroff", b"1", deadline);
        let _ = store.write(0, "control/feature-reboot", b"1", deadline);
        store.watch(SHUTDOWN_NODE, TOKEN, deadline)?;
        Ok(ShutdownWatch { store })
    }

    /// A request, if the node changed since the last poll and holds one.
    /// Returns at once when nothing has arrived (`now` is the hypervisor's
    /// clock). A request is acknowledged (the node emptied) before it is
    /// returned.
    pub fn poll(&mut self, now: u64) -> Result<Option<Request>, XsError> {
        let mut changed = false;
        // Drain what has arrived; xenstored may coalesce or repeat events.
        while let Some(event) = self.store.next_watch_event(now)? {
            changed |= event.token == TOKEN;
        }
        if !changed {
            return Ok(None);
        }
        let deadline = now.saturating_add(ROUND_TRIP_NS);
        let word = match self.store.read_string(SHUTDOWN_NODE, deadline) {
            Ok(word) => word,
            // Removed, or not yet written (the watch's first event).
            Err(XsError::Error(errno)) if errno == "ENOENT" => return Ok(None),
            Err(e) => return Err(e),
        };
        let word = word.trim_end_matches('\0').trim();
        if word.is_empty() {
            // Our own acknowledgement, or nothing asked yet.
            return Ok(None);
        }
        let request = match word {
            "poweroff" | "halt" => Request::Poweroff,
            "reboot" => Request::Reboot,
            other => Request::Unsupported(other.chars().take(32).collect()),
        };
        self.store.write(0, SHUTDOWN_NODE, b"", deadline)?;
        Ok(Some(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::xen::MS;
    use crate::drivers::xen::sim::SimXen;
    use crate::drivers::xen::sim::xenstored::Xenstored;
    use alloc::rc::Rc;
    use core::cell::RefCell;

    const NODE: &str = "/local/domain/5/control/shutdown";

    /// The toolstack writes `value`, and xenstored (running beside us, as
    /// it does on a real host) delivers the watch event.
    fn toolstack_writes(xen: &SimXen, daemon: &Rc<RefCell<Xenstored>>, value: &[u8]) {
        daemon.borrow_mut().set(NODE, value);
        xen.step();
    }

    fn setup() -> (SimXen, ShutdownWatch<SimXen>, Rc<RefCell<Xenstored>>) {
        let xen = SimXen::new();
        let page = xen.alloc_page_now();
        let daemon = Xenstored::new(page.clone(), 5, 64);
        xen.add_backend(daemon.clone());
        let store = Xenstore::new(xen.clone(), page, 1);
        let deadline = xen.now_ns() + 1000 * MS;
        let watch = ShutdownWatch::start(store, deadline).expect("watch");
        (xen, watch, daemon)
    }

    #[test]
    fn advertises_the_features_and_ignores_the_first_event() {
        let (xen, mut watch, daemon) = setup();
        assert_eq!(
            daemon
                .borrow()
                .get("/local/domain/5/control/feature-poweroff"),
            Some(b"1".to_vec())
        );
        assert_eq!(
            daemon
                .borrow()
                .get("/local/domain/5/control/feature-reboot"),
            Some(b"1".to_vec())
        );
        // The watch fires once at registration; nothing is asked yet.
        assert_eq!(watch.poll(xen.now_ns()).unwrap(), None);
        assert_eq!(watch.poll(xen.now_ns()).unwrap(), None);
    }

    #[test]
    fn poweroff_and_reboot_are_acknowledged_and_returned() {
        let (xen, mut watch, daemon) = setup();
        assert_eq!(watch.poll(xen.now_ns()).unwrap(), None);
        toolstack_writes(&xen, &daemon, b"poweroff");
        assert_eq!(watch.poll(xen.now_ns()).unwrap(), Some(Request::Poweroff));
        assert_eq!(daemon.borrow().get(NODE), Some(Vec::new()), "acknowledged");
        // Our own acknowledgement fires the watch again: not a request.
        xen.step();
        assert_eq!(watch.poll(xen.now_ns()).unwrap(), None);
        toolstack_writes(&xen, &daemon, b"reboot");
        assert_eq!(watch.poll(xen.now_ns()).unwrap(), Some(Request::Reboot));
        toolstack_writes(&xen, &daemon, b"halt");
        assert_eq!(watch.poll(xen.now_ns()).unwrap(), Some(Request::Poweroff));
    }

    #[test]
    fn suspend_is_acknowledged_but_not_acted_on() {
        let (xen, mut watch, daemon) = setup();
        let _ = watch.poll(xen.now_ns());
        toolstack_writes(&xen, &daemon, b"suspend");
        assert_eq!(
            watch.poll(xen.now_ns()).unwrap(),
            Some(Request::Unsupported("suspend".into()))
        );
        assert_eq!(daemon.borrow().get(NODE), Some(Vec::new()));
    }

    #[test]
    fn polling_never_waits() {
        let (xen, mut watch, _daemon) = setup();
        let _ = watch.poll(xen.now_ns());
        let before = xen.now_ns();
        assert_eq!(watch.poll(before).unwrap(), None);
        assert_eq!(xen.now_ns(), before, "no simulated time passed");
    }
}
