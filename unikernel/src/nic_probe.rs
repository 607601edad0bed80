//! TEMPORARY main loop, until `event_loop.rs` lands: proves the NIC both
//! ways. Sends one DHCPDISCOVER (QEMU's user network answers with an
//! offer), then receives frames, logging the first few (EtherType, length,
//! a DHCP offer's address) and a count every ten seconds.

use alloc::vec;

use stack::Nic;

use crate::{platform, println};

/// A broadcast DHCPDISCOVER from `mac` (UDP checksum 0: optional in IPv4).
fn dhcp_discover(mac: [u8; 6]) -> alloc::vec::Vec<u8> {
    let mut bootp = vec![0u8; 240];
    bootp[0] = 1; // BOOTREQUEST
    bootp[1] = 1; // Ethernet
    bootp[2] = 6; // hardware address length
    bootp[4..8].copy_from_slice(&[0x70, 0x69, 0x6e, 0x61]); // transaction id
    bootp[10] = 0x80; // broadcast flag
    bootp[28..34].copy_from_slice(&mac);
    bootp[236..240].copy_from_slice(&[99, 130, 83, 99]); // magic cookie
    bootp.extend_from_slice(&[53, 1, 1, 55, 2, 1, 3, 255]); // DISCOVER, ask mask+router
    let udp_len = 8 + bootp.len();
    let ip_len = 20 + udp_len;
    let mut frame = vec![0xFFu8; 6];
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&[0x08, 0x00]);
    let mut ip = [
        0x45,
        0,
        (ip_len >> 8) as u8,
        ip_len as u8,
        0,
        0,
        0,
        0,
        64,
        17,
        0,
        0,
        0,
        0,
        0,
        0,
        255,
        255,
        255,
        255,
    ];
    let sum = ip
        .chunks_exact(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum::<u32>();
    let sum = (sum & 0xFFFF) + (sum >> 16);
    let checksum = !((sum & 0xFFFF) + (sum >> 16)) as u16;
    ip[10..12].copy_from_slice(&checksum.to_be_bytes());
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&[0, 68, 0, 67, (udp_len >> 8) as u8, udp_len as u8, 0, 0]);
    frame.extend_from_slice(&bootp);
    frame
}

/// Receives and counts frames forever.
pub fn run() -> ! {
    // Exercise the rest of the platform API once.
    match platform::boot_config().prize() {
        Ok(Some(key)) => println!("probe: prize loaded, address {}", key.p2wpkh_address()),
        Ok(None) => println!("probe: no prize loaded"),
        Err(e) => println!("probe: the secret is not a valid WIF: {e}"),
    }
    let mut sample = [0u8; 8];
    match platform::random().fill(&mut sample) {
        Ok(()) => println!("probe: DRBG delivers"),
        Err(_) => println!("probe: DRBG refuses (not seeded)"),
    }
    use pinata::time::TimeProvider;
    match platform::wall_clock().current_time() {
        Some(t) => println!("probe: wall clock {} s since the epoch", t.as_secs()),
        None => println!("probe: no wall clock"),
    }
    let Some(mut nic) = platform::nic() else {
        println!("probe: no NIC: nothing to serve; powering off");
        platform::poweroff();
    };
    let mac = nic.mac_address();
    let sent = nic.transmit(&dhcp_discover(mac));
    println!(
        "probe: DHCPDISCOVER {}",
        if sent {
            "queued"
        } else {
            "NOT queued (tx full)"
        }
    );
    let mut buf = vec![0u8; 2048];
    let (mut frames, mut bytes) = (0u64, 0u64);
    let mut next_report = platform::now().as_millis() + 10_000;
    loop {
        while let Some(len) = nic.receive(&mut buf) {
            frames += 1;
            bytes += len as u64;
            let frame = &buf[..len];
            if frames <= 8 && len >= 14 {
                let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
                println!("probe: frame {frames}: {len} bytes, EtherType {ethertype:#06x}");
                // IPv4/UDP from port 67 with BOOTP: a DHCP answer; yiaddr at 16.
                if ethertype == 0x0800 && len >= 14 + 20 + 8 + 20 && frame[23] == 17 {
                    let ihl = usize::from(frame[14] & 0xF) * 4;
                    let udp = 14 + ihl;
                    if frame.get(udp..udp + 2) == Some(&[0, 67])
                        && let Some(y) = frame.get(udp + 8 + 16..udp + 8 + 20)
                    {
                        println!(
                            "probe: DHCP offer from the network: {}.{}.{}.{}",
                            y[0], y[1], y[2], y[3]
                        );
                    }
                }
            }
        }
        let now = platform::now().as_millis();
        if now >= next_report {
            println!(
                "probe: {frames} frames, {bytes} bytes received so far; {} timer wake-ups",
                crate::arch::x86_64::idt::ticks()
            );
            next_report = now + 10_000;
        }
        platform::wait_until(None);
    }
}
