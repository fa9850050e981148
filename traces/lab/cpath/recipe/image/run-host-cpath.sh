#!/bin/sh
# SPDX-License-Identifier: MIT
# cpath: like twovm (TWO 2-vCPU KVM guests on the 2-CPU host), for cross-layer critical paths:
# guesta reads its virtio-blk disk with O_DIRECT dd while guestb runs CPU hogs on both vCPUs.
# Host events: the lean set + block_* + kvm MMIO/EOI probes + QEMU I/O syscalls (lt_start leanio).
# QEMU runs with debug-threads=on ("CPU n/KVM", "worker" thread names); the QEMU pids and every
# thread's tid/name are logged to /out/host-threads.txt while the workload runs.
. /tracelab/common.sh
scen=cpath
GTIMEOUT=$(sed -n "s/.*tracelab\.gtimeout=\([0-9]*\).*/\1/p" /proc/cmdline)
set -x
modprobe kvm_amd nested=1; modprobe tun
mkdir -p /out && mount /dev/vdc /out
ip link set lo up
ip tuntap add dev tap0 mode tap; ip addr add 192.168.100.1/24 dev tap0; ip link set tap0 up
ip tuntap add dev tap1 mode tap; ip addr add 192.168.102.1/24 dev tap1; ip link set tap1 up
socat TCP-LISTEN:5001,fork,reuseaddr EXEC:/bin/cat &
socat -u TCP-LISTEN:5002,fork,reuseaddr OPEN:/dev/null &
socat -u TCP-LISTEN:5000,fork,reuseaddr OPEN:/tmp/guest-ready,creat,append &
RPID=$!
launch() { # name rootdev outdev tap ip mac
  timeout ${GTIMEOUT:-900} qemu-system-x86_64 -name $1,debug-threads=on -enable-kvm -cpu host -smp 2 -m 1024 -display none -no-reboot -bios /usr/share/qemu/qboot.rom \
    -kernel /boot/vmlinuz-$(uname -r) -initrd /boot/initrd.img-$(uname -r) \
    -append "root=/dev/vda rw console=ttyS0 init=/tracelab/init tracelab.role=guest tracelab.scen=$scen tracelab.gname=$1 tracelab.gip=$5 tracelab.hip=$7 loglevel=4 tsc=reliable" \
    -drive file=$2,format=raw,if=virtio,cache=none -drive file=$3,format=raw,if=virtio,cache=none \
    -netdev tap,id=n0,ifname=$4,script=no,downscript=no -device virtio-net-pci,netdev=n0,mac=$6 \
    -serial file:/tmp/$1-serial.log < /dev/null > /tmp/$1-qemu.log 2>&1
}
launch guesta /dev/vdb /dev/vdd tap0 192.168.100.2 52:54:00:12:34:0a 192.168.100.1 &
QA=$!
launch guestb /dev/vde /dev/vdf tap1 192.168.102.2 52:54:00:12:34:0b 192.168.102.1 &
QB=$!
# wait until both guests are ready (their own tracing running)
n=0; while :; do n=$(cat /tmp/guest-ready 2>/dev/null | grep -c ready); [ "${n:-0}" -ge 2 ] 2>/dev/null && break; sleep 1; done
kill $RPID
echo "TRACELAB both guests ready: $(cat /tmp/guest-ready | tr '\n' '|')"
lt_start host-$scen /tmp/trace-host leanio
mark "host: trace started (late), both guests up"
echo "guesta qemu: timeout pid $QA, qemu pid(s) $(pgrep -f -- '-name guesta' | tr '\n' ' ')" > /tmp/host-threads.txt
echo "guestb qemu: timeout pid $QB, qemu pid(s) $(pgrep -f -- '-name guestb' | tr '\n' ' ')" >> /tmp/host-threads.txt
( set +x; sleep 20; { date; ps -eLo pid,tid,psr,comm,args | grep -E 'qemu|PID' | cut -c1-160; } >> /tmp/host-threads.txt ) &
timeout 60 socat -u TCP-LISTEN:5004,fork,reuseaddr OPEN:/dev/null &
( set +x; while kill -0 $QA 2>/dev/null || kill -0 $QB 2>/dev/null; do
    echo "h->a" | timeout 5 socat -t2 - TCP:192.168.100.2:5003,connect-timeout=1 >/dev/null 2>&1
    echo "h->b" | timeout 5 socat -t2 - TCP:192.168.102.2:5003,connect-timeout=1 >/dev/null 2>&1; sleep 1; done ) &
( set +x; while kill -0 $QA 2>/dev/null || kill -0 $QB 2>/dev/null; do
  echo "MON $(cut -d' ' -f1 /proc/uptime) load=$(cut -d' ' -f1-3 /proc/loadavg) trace=$(du -sm /tmp/trace-host 2>/dev/null | cut -f1)MB A: $(tail -c 200 /tmp/guesta-serial.log | tr -d '\r' | tail -1) B: $(tail -c 200 /tmp/guestb-serial.log | tr -d '\r' | tail -1)"
  sleep 10; done ) &
wait $QA; echo "TRACELAB guesta exited rc=$?"
wait $QB; echo "TRACELAB guestb exited rc=$?"
mark "host: both guests exited"
sleep 1
lt_stop
mkdir -p /out/host && cp -a /tmp/trace-host/. /out/host/
cp /tmp/lttng-list-k.txt /out/host-lttng-list-k.txt; cp /tmp/host-threads.txt /out/ 2>/dev/null; cp /tmp/guesta-* /tmp/guestb-* /out/ 2>/dev/null
{ uname -a; cat /proc/cpuinfo | sed -n '1,30p'; lsmod; lttng --version; modinfo -F version lttng-tracer; } > /out/host-info.txt 2>&1
du -sh /out/host
sync; umount /out
