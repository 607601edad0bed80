//! The DHCPv4 client's results applied to the interface, reported as
//! [`StackEvent::IpConfigured`] and [`StackEvent::IpLost`].

use core::net::Ipv4Addr;

use smoltcp::iface::Interface;
use smoltcp::socket::dhcpv4;
use smoltcp::wire::{IpCidr, Ipv4Cidr};

use crate::{Nic, Stack, StackEvent};

impl<N: Nic> Stack<N> {
    /// Applies what the DHCP client learnt.
    pub(crate) fn poll_dhcp(&mut self) {
        let Some(handle) = self.dhcp else {
            return;
        };
        let change = match self.sockets.get_mut::<dhcpv4::Socket>(handle).poll() {
            None => return,
            Some(dhcpv4::Event::Configured(config)) => Some((
                config.address.address(),
                config.address.prefix_len(),
                config.router,
            )),
            // Also reported once at start, before any lease: not news.
            Some(dhcpv4::Event::Deconfigured) if self.ipv4.is_none() => return,
            Some(dhcpv4::Event::Deconfigured) => None,
        };
        // Only the latest IP change matters to a caller that has not looked
        // yet: this keeps the queue bounded whatever the DHCP server does.
        self.events
            .retain(|e| !matches!(e, StackEvent::IpConfigured { .. } | StackEvent::IpLost));
        match change {
            Some((address, prefix_len, gateway)) => {
                apply_ipv4(&mut self.iface, address, prefix_len, gateway);
                self.ipv4 = Some((address, prefix_len, gateway));
                self.events.push_back(StackEvent::IpConfigured {
                    address,
                    prefix_len,
                    gateway,
                });
            }
            None => {
                self.iface.update_ip_addrs(|addrs| addrs.clear());
                self.iface.routes_mut().remove_default_ipv4_route();
                self.ipv4 = None;
                self.events.push_back(StackEvent::IpLost);
            }
        }
    }
}

pub(crate) fn apply_ipv4(
    iface: &mut Interface,
    address: Ipv4Addr,
    prefix_len: u8,
    gateway: Option<Ipv4Addr>,
) {
    let cidr = Ipv4Cidr::new(address, prefix_len.min(32));
    iface.update_ip_addrs(|addrs| {
        addrs.clear();
        // Capacity is at least one address.
        let _ = addrs.push(IpCidr::Ipv4(cidr));
    });
    match gateway {
        Some(gateway) => {
            // The route table holds a default route at least.
            let _ = iface.routes_mut().add_default_ipv4_route(gateway);
        }
        None => {
            iface.routes_mut().remove_default_ipv4_route();
        }
    }
}
