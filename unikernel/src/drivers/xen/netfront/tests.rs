//! netfront against the simulated xenstored and netback.

use std::cell::RefCell;
use std::rc::Rc;

use stack::Nic;

use super::*;
use crate::drivers::xen::grant_table::ENTRIES_PER_FRAME;
use crate::drivers::xen::sim::netback::{Netback, RxShape};
use crate::drivers::xen::sim::xenstored::Xenstored;
use crate::drivers::xen::sim::{STEP_NS, SimPage, SimXen};

struct Rig {
    xen: SimXen,
    store: Rc<RefCell<Xenstored>>,
    back: Rc<RefCell<Netback>>,
    xs: Xenstore<SimXen>,
    grants: Option<GrantTable<SimPage>>,
}

fn rig_with(frames: usize, with_vif: bool) -> Rig {
    let xen = SimXen::new();
    let xs_page = xen.alloc_page_now();
    let store = Xenstored::new(xs_page.clone(), 5, 1024);
    xen.add_backend(store.clone());
    let back = Netback::new(store.clone(), 5);
    if with_vif {
        xen.add_backend(back.clone());
    } else {
        store.borrow_mut().clear();
    }
    let frames: Vec<SimPage> = (0..frames).map(|_| xen.alloc_page_now()).collect();
    back.borrow_mut().grant_frames = frames.clone();
    Rig {
        xs: Xenstore::new(xen.clone(), xs_page, 1),
        grants: Some(GrantTable::new(frames)),
        xen,
        store,
        back,
    }
}

fn rig() -> Rig {
    rig_with(2, true)
}

impl Rig {
    fn connect(&mut self) -> Result<Netfront<SimXen>, NetfrontError> {
        Netfront::connect(
            self.xen.clone(),
            &mut self.xs,
            self.grants.take().unwrap(),
            CONNECT_TIMEOUT_NS,
        )
    }

    fn front(&self, key: &str) -> String {
        String::from_utf8(
            self.store
                .borrow()
                .get(&format!("/local/domain/5/device/vif/0/{key}"))
                .unwrap_or_default(),
        )
        .unwrap()
    }
}

/// A recognisable Ethernet frame of 60..=1514 bytes.
fn frame(i: usize) -> Vec<u8> {
    let len = 60 + (i * 131) % 1455;
    (0..len).map(|j| (i * 7 + j) as u8).collect()
}

#[test]
fn the_handshake_publishes_the_protocol_nodes_and_connects() {
    let mut r = rig();
    let net = r.connect().unwrap();
    assert_eq!(net.mac_address(), [0, 0x16, 0x3e, 0, 0, 1]);
    assert_eq!(r.front("state"), "4");
    assert_eq!(r.front("request-rx-copy"), "1");
    assert_eq!(r.front("feature-rx-notify"), "1");
    assert_eq!(r.front("feature-no-csum-offload"), "1");
    assert_eq!(r.front("event-channel"), net.port().to_string());
    let back = r.back.borrow();
    assert!(back.violations.is_empty(), "{:?}", back.violations);
    assert_eq!(back.port, Some(net.port()));
    assert_eq!(
        r.store
            .borrow()
            .get("/local/domain/0/backend/vif/5/0/state"),
        Some(b"4".to_vec())
    );
    // Two rings and 256 receive buffers are granted.
    assert_eq!(net.grants_available(), 2 * ENTRIES_PER_FRAME - 8 - 2 - 256);
    // The receive buffers were handed over and the backend kicked.
    assert!(r.xen.kicks(net.port()) >= 1);
}

#[test]
fn traffic_both_ways_wraps_the_rings_and_never_leaks_old_bytes() {
    let mut r = rig();
    let mut net = r.connect().unwrap();
    let mut buf = [0u8; 1514];
    // Transmit: many more packets than ring slots and pool pages.
    for i in 0..1000 {
        while !net.can_transmit() {
            r.xen.step();
            let _ = net.receive(&mut buf);
        }
        assert!(net.transmit(&frame(i)), "frame {i}");
        if i % 3 == 0 {
            r.xen.step();
        }
    }
    for _ in 0..5 {
        r.xen.step();
    }
    {
        let back = r.back.borrow();
        assert_eq!(back.sent.len(), 1000);
        for (i, sent) in back.sent.iter().enumerate() {
            assert_eq!(sent, &frame(i), "transmitted frame {i}");
        }
        assert_eq!(back.dirty_tx_tails, 0, "a pool page carried old bytes");
        assert!(back.violations.is_empty(), "{:?}", back.violations);
    }
    // Receive: 1000 packets, delivered in bursts, at varying offsets.
    let mut next = 0;
    for i in 0..1000 {
        let mut b = r.back.borrow_mut();
        b.rx_offset = (i % 5) as u16 * 100;
        b.deliver(&frame(i), RxShape::Single);
        drop(b);
        if i % 7 == 0 {
            r.xen.step();
            while let Some(n) = net.receive(&mut buf) {
                assert_eq!(&buf[..n], &frame(next)[..], "received frame {next}");
                next += 1;
            }
        }
    }
    for _ in 0..20 {
        r.xen.step();
        while let Some(n) = net.receive(&mut buf) {
            assert_eq!(&buf[..n], &frame(next)[..], "received frame {next}");
            next += 1;
        }
    }
    assert_eq!(next, 1000);
    assert_eq!(net.stats.rx_packets, 1000);
    assert_eq!(net.stats.tx_packets, 1000);
    let back = r.back.borrow();
    assert_eq!(
        back.dirty_rx_pages, 0,
        "a receive buffer was granted unzeroed"
    );
    assert!(back.violations.is_empty(), "{:?}", back.violations);
    assert_eq!(net.stats.protocol_errors, 0);
}

#[test]
fn multi_slot_extra_info_error_and_overlong_packets_are_dropped_cleanly() {
    let mut r = rig();
    let mut net = r.connect().unwrap();
    let mut buf = [0u8; 1514];
    {
        let mut b = r.back.borrow_mut();
        b.deliver(&frame(1), RxShape::TwoSlots);
        b.deliver(&frame(2), RxShape::Single);
        b.deliver(&frame(3), RxShape::WithExtra);
        b.deliver(&frame(4), RxShape::Error);
        b.deliver(&frame(5), RxShape::Overlong);
        b.deliver(&frame(6), RxShape::Single);
    }
    r.xen.step();
    let mut got = Vec::new();
    while let Some(n) = net.receive(&mut buf) {
        got.push(buf[..n].to_vec());
    }
    assert_eq!(got, [frame(2), frame(6)]);
    assert_eq!(net.stats.rx_multislot_dropped, 2);
    assert_eq!(net.stats.rx_errors, 1);
    assert_eq!(net.stats.protocol_errors, 1, "the overlong slot");
    // Every consumed slot was reposted: the ring still takes 600 packets.
    for i in 0..600 {
        r.back.borrow_mut().deliver(&frame(i), RxShape::Single);
    }
    let mut count = 0;
    for _ in 0..10 {
        r.xen.step();
        while net.receive(&mut buf).is_some() {
            count += 1;
        }
    }
    assert_eq!(count, 600);
    assert_eq!(r.back.borrow().undelivered(), 0);
}

#[test]
fn a_packet_larger_than_the_buffer_is_dropped_not_truncated() {
    let mut r = rig();
    let mut net = r.connect().unwrap();
    r.back.borrow_mut().deliver(&frame(10), RxShape::Single);
    r.back.borrow_mut().deliver(&frame(0), RxShape::Single);
    r.xen.step();
    let mut small = [0u8; 100];
    let n = net.receive(&mut small).unwrap();
    assert_eq!(&small[..n], &frame(0)[..]);
    assert_eq!(net.stats.rx_truncated, 1);
}

#[test]
fn a_backend_that_never_connects_is_a_clear_timeout() {
    let mut r = rig();
    r.back.borrow_mut().never_connect = true;
    let start = r.xen.now_ns();
    let e = r.connect().unwrap_err();
    assert_eq!(
        e,
        NetfrontError::BackendTimeout {
            waiting_for: "Connected",
            last_state: Some(state::INIT_WAIT)
        }
    );
    let waited = r.xen.now_ns() - start;
    assert!(
        (CONNECT_TIMEOUT_NS..CONNECT_TIMEOUT_NS + 200 * STEP_NS).contains(&waited),
        "waited {waited} ns"
    );
    let text = e.to_string();
    assert!(
        text.contains("did not reach Connected within 30 s"),
        "{text}"
    );
    assert!(text.contains("2 InitWait"), "{text}");
    // We did get as far as publishing the rings and saying Connected.
    assert_eq!(r.front("state"), "4");
}

#[test]
fn a_backend_stuck_before_init_wait_is_a_clear_timeout() {
    let mut r = rig();
    r.back.borrow_mut().never_init_wait = true;
    let e = r.connect().unwrap_err();
    assert_eq!(
        e,
        NetfrontError::BackendTimeout {
            waiting_for: "InitWait",
            last_state: Some(state::INITIALISING)
        }
    );
    assert_eq!(r.front("state"), "1", "nothing published");
}

#[test]
fn a_closing_backend_stops_the_handshake() {
    let mut r = rig();
    r.back.borrow_mut().never_init_wait = true;
    r.store
        .borrow_mut()
        .set("/local/domain/0/backend/vif/5/0/state", b"5");
    assert_eq!(r.connect().unwrap_err(), NetfrontError::BackendClosed(5));
}

#[test]
fn no_vif_and_no_rx_copy_are_named() {
    let mut r = rig_with(2, false);
    let e = r.connect().unwrap_err();
    assert!(
        matches!(e, NetfrontError::NoDevice(ref x) if x.is_not_found()),
        "{e:?}"
    );
    assert!(e.to_string().contains("vif = [...]"), "{e}");

    let mut r = rig();
    r.store
        .borrow_mut()
        .set("/local/domain/0/backend/vif/5/0/feature-rx-copy", b"0");
    assert_eq!(r.connect().unwrap_err(), NetfrontError::NoRxCopy);

    let mut r = rig();
    r.store
        .borrow_mut()
        .set("/local/domain/5/device/vif/0/mac", b"00:16:3e:zz:00:01");
    assert!(matches!(
        r.connect().unwrap_err(),
        NetfrontError::BadValue("MAC address", _)
    ));
}

#[test]
fn the_publishing_transaction_is_retried_on_eagain() {
    let mut r = rig();
    r.store.borrow_mut().fail_commits = 2;
    let net = r.connect().unwrap();
    assert!(r.front("tx-ring-ref").parse::<u32>().is_ok());
    assert_eq!(r.front("event-channel"), net.port().to_string());
}

#[test]
fn out_of_memory_and_grant_exhaustion_at_connect_are_errors() {
    let mut r = rig();
    r.xen.set_page_budget(Some(100));
    assert_eq!(r.connect().unwrap_err(), NetfrontError::OutOfMemory);

    let mut r = rig_with(1, true);
    let mut grants = r.grants.take().unwrap();
    for i in 0..300 {
        grants.grant(0, i, true).unwrap();
    }
    r.grants = Some(grants);
    assert_eq!(
        r.connect().unwrap_err(),
        NetfrontError::Grant(GrantError::Exhausted)
    );
}

#[test]
fn transmit_grant_exhaustion_drops_frames_until_completions_free_entries() {
    let mut r = rig_with(1, true);
    let mut grants = r.grants.take().unwrap();
    // Leave exactly two entries free after the handshake's 258.
    let spare = ENTRIES_PER_FRAME - 8 - 258 - 2;
    for i in 0..spare {
        grants.grant(0, i as u64, true).unwrap();
    }
    r.grants = Some(grants);
    let mut net = r.connect().unwrap();
    r.back.borrow_mut().hold_tx = true;
    assert!(net.transmit(&frame(0)));
    assert!(net.transmit(&frame(1)));
    assert!(!net.transmit(&frame(2)), "no grant entry left");
    assert_eq!(net.stats.tx_no_grant, 1);
    r.back.borrow_mut().hold_tx = false;
    r.xen.step();
    assert!(net.transmit(&frame(2)));
    r.xen.step();
    assert_eq!(r.back.borrow().sent, [frame(0), frame(1), frame(2)]);
}

#[test]
fn a_grant_still_mapped_keeps_its_page_out_of_the_pool() {
    let mut r = rig();
    let mut net = r.connect().unwrap();
    r.back.borrow_mut().keep_tx_mapped = true;
    let mut buf = [0u8; 1514];
    for i in 0..TX_BUFFERS {
        assert!(net.transmit(&frame(i)));
    }
    r.xen.step();
    // Every packet was answered, but every page is still mapped.
    let _ = net.receive(&mut buf);
    assert!(!net.can_transmit());
    assert!(!net.transmit(&frame(99)));
    // The backend unmaps: the pages return on the next poll.
    r.back.borrow_mut().keep_tx_mapped = false;
    r.back.borrow_mut().unmap_all();
    let _ = net.receive(&mut buf);
    assert!(net.can_transmit());
    assert!(net.transmit(&frame(99)));
    r.xen.step();
    assert_eq!(r.back.borrow().sent.len(), TX_BUFFERS + 1);
    assert_eq!(r.back.borrow().dirty_tx_tails, 0);
}

#[test]
fn transmit_errors_and_duplicate_answers_are_counted_not_trusted() {
    let mut r = rig();
    let mut net = r.connect().unwrap();
    let mut buf = [0u8; 1514];
    r.back.borrow_mut().fail_tx = 3;
    for i in 0..10 {
        assert!(net.transmit(&frame(i)));
    }
    r.xen.step();
    let _ = net.receive(&mut buf);
    assert_eq!(net.stats.tx_errors, 3);
    r.back.borrow_mut().duplicate_tx_responses = true;
    for i in 0..10 {
        assert!(net.transmit(&frame(i)));
    }
    r.xen.step();
    let _ = net.receive(&mut buf);
    assert!(net.stats.protocol_errors > 0);
    // Frames too short or too long for one slot are refused.
    assert!(!net.transmit(&[0u8; 10]));
    assert!(!net.transmit(&vec![0u8; PAGE_SIZE + 1]));
    assert!(net.broken().is_none());
}

#[test]
fn a_backend_overflowing_the_receive_ring_stops_the_device() {
    let mut r = rig();
    let mut net = r.connect().unwrap();
    let ring = r.back.borrow().rx_ring().unwrap();
    ring.store_u32(8, 10_000);
    let mut buf = [0u8; 1514];
    assert_eq!(net.receive(&mut buf), None);
    assert_eq!(net.broken(), Some("receive ring overflow from the backend"));
    assert!(!net.transmit(&frame(0)));
    assert!(!net.can_transmit());
}

#[test]
fn mac_addresses_parse_strictly() {
    assert_eq!(
        parse_mac("00:16:3e:0a:ff:01"),
        Some([0, 0x16, 0x3e, 0x0a, 0xff, 1])
    );
    assert_eq!(
        parse_mac(" 0:16:3E:a:ff:1\n"),
        Some([0, 0x16, 0x3e, 0x0a, 0xff, 1])
    );
    for bad in [
        "",
        "00:16:3e:0a:ff",
        "00:16:3e:0a:ff:01:02",
        "00:16:3e:0a:ff:001",
        "00::3e:0a:ff:01",
        "g0:16:3e:0a:ff:01",
    ] {
        assert_eq!(parse_mac(bad), None, "{bad:?}");
    }
}
