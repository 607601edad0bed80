#!/bin/sh
# dom0's /init for `cargo xtask xen-domu-smoke` (xtask/src/xen_domu/): brings
# up a minimal Xen dom0 — no systemd, no udev — then runs the checks
# (`xtask xen-domu-dom0`) and powers the machine off. Every line it prints
# reaches the host through Xen's console (COM1).
export PATH=/usr/lib/xen-4.17/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

fail() {
    echo "xen-domu: phase dom0-setup FAILED 0 ms: $*"
    echo o > /proc/sysrq-trigger
    sleep 600
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /run
mount -t devpts devpts /dev/pts
# /var/run is /run: the Xen tools' runtime directories go on the tmpfs.
mount -t tmpfs tmpfs /run
mkdir -p /tmp /var/log/xen/console /run/xen /run/xenstored /var/lib/xen

for module in xen-evtchn xen-gntdev xen-gntalloc xenfs xen-privcmd xen-netback bridge; do
    modprobe "$module" || fail "modprobe $module"
done
mount -t xenfs xenfs /proc/xen || fail "mount xenfs"
xenstored || fail "xenstored"
xen-init-dom0 || fail "xen-init-dom0"
# The guest's console ring goes to /var/log/xen/console/guest-NAME.log.
xenconsoled --log=guest || fail "xenconsoled"

ip link set lo up
ip link add xenbr0 type bridge || fail "bridge"
ip addr add @DOM0_CIDR@ dev xenbr0 || fail "bridge address"
ip link set xenbr0 up || fail "bridge up"

# The attack battery's idle flood holds 10,000 sockets.
ulimit -n 65536

echo "xen-domu: dom0 up"
/pinata/xtask xen-domu-dom0
echo "xen-domu: dom0 finished (status $?)"
echo o > /proc/sysrq-trigger
sleep 600
