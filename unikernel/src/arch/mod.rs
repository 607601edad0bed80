//! Architecture support. Only x86_64 today (PVH boot on QEMU, Firecracker,
//! cloud-hypervisor and Xen); the split keeps CPU details out of the drivers.

pub mod x86_64;
