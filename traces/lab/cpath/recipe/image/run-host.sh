#!/bin/sh
# L1 "host" (emulated under QEMU TCG with SVM): runs the inner KVM guest and traces it.
. /tracelab/common.sh
scen=${1:-basic}
[ "$scen" = twovm ] && exec /tracelab/run-host-twovm.sh
[ "$scen" = cpath ] && exec /tracelab/run-host-cpath.sh
GTIMEOUT=$(sed -n "s/.*tracelab\.gtimeout=\([0-9]*\).*/\1/p" /proc/cmdline)
HOSTLATE=$(sed -n "s/.*tracelab\.hostlate=\([0-9]*\).*/\1/p" /proc/cmdline)
GSMP=$(sed -n "s/.*tracelab\.gsmp=\([0-9]*\).*/\1/p" /proc/cmdline)
set -x
modprobe kvm_amd nested=1 || echo "TRACELAB modprobe kvm_amd failed"
modprobe tun; modprobe virtio_net 2>/dev/null
cat /sys/module/kvm_amd/parameters/nested /sys/module/kvm_amd/parameters/npt 2>/dev/null
ls -l /dev/kvm
grep -m1 -o -w -E 'svm|npt' /proc/cpuinfo | sort -u | tr '\n' ' '; echo
mkdir -p /out && mount /dev/vdc /out
ip link set lo up
ip tuntap add dev tap0 mode tap
ip addr add 192.168.100.1/24 dev tap0
ip link set tap0 up
# TCP servers on the host side: echo (5001) and sink (5002)
socat TCP-LISTEN:5001,fork,reuseaddr EXEC:/bin/cat &
socat -u TCP-LISTEN:5002,fork,reuseaddr OPEN:/dev/null &
if [ "$HOSTLATE" != 1 ]; then lt_start host-$scen /tmp/trace-host; mark "host: trace started, launching guest scen=$scen"; fi
GCPU="-cpu host"
EXTRA=""
GMEM=1024
[ "$scen" = nested ] && GMEM=1536 && EXTRA="-drive file=/dev/vde,format=raw,if=virtio,cache=none -drive file=/dev/vdf,format=raw,if=virtio,cache=none"
timeout ${GTIMEOUT:-900} qemu-system-x86_64 -name guest-$scen -monitor unix:/tmp/gmon.sock,server,nowait -enable-kvm $GCPU -smp ${GSMP:-1} -m ${GMEM:-1024} -display none -no-reboot -bios /usr/share/qemu/qboot.rom \
  -kernel /boot/vmlinuz-$(uname -r) -initrd /boot/initrd.img-$(uname -r) \
  -append "root=/dev/vda rw console=ttyS0 init=/tracelab/init tracelab.role=guest tracelab.scen=$scen loglevel=4 tsc=reliable" \
  -drive file=/dev/vdb,format=raw,if=virtio,cache=none -drive file=/dev/vdd,format=raw,if=virtio,cache=none $EXTRA \
  -netdev tap,id=n0,ifname=tap0,script=no,downscript=no -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:02 \
  -serial file:/tmp/guest-serial.log < /dev/null > /tmp/guest-qemu.log 2>&1 &
QPID=$!
# handshake: guest sends 'ready' on 5000 once its own trace runs; host then (optionally) starts tracing and opens 5004 ('go')
timeout 3000 socat -u TCP-LISTEN:5000,reuseaddr OPEN:/tmp/guest-ready,creat,append
echo "TRACELAB guest ready: $(cat /tmp/guest-ready)"
LEAN=""; [ "$scen" = nested ] && LEAN=lean
if [ "$HOSTLATE" = 1 ]; then lt_start host-$scen /tmp/trace-host $LEAN; mark "host: trace started (late), guest is up, scen=$scen"; fi
timeout 60 socat -u TCP-LISTEN:5004,reuseaddr OPEN:/dev/null &
# host-initiated TCP traffic towards the guest echo server while the guest runs
( set +x; i=0; while kill -0 $QPID 2>/dev/null; do i=$((i+1)); echo "host->guest ping $i $(date +%s.%N)" | timeout 5 socat -t2 - TCP:192.168.100.2:5003,connect-timeout=1 >/dev/null 2>&1; sleep 1; done ) &
# monitor (to the console) every 10 s
( set +x; mount -t debugfs none /sys/kernel/debug 2>/dev/null; while kill -0 $QPID 2>/dev/null; do
  echo "MON $(cut -d' ' -f1 /proc/uptime) load=$(cut -d' ' -f1-3 /proc/loadavg) trace=$(du -sm /tmp/trace-host 2>/dev/null | cut -f1)MB free=$(free -m | awk '/Mem/{print $7}')MB kvm: $(cd /sys/kernel/debug/kvm 2>/dev/null && for f in exits halt_exits irq_exits io_exits mmio_exits irq_window_exits request_irq_exits irq_injections nmi_injections; do printf '%s=%s ' $f $(cat $f 2>/dev/null); done)"
  ps -eLo tid,pcpu,stat,wchan:22,comm | grep -E 'qemu|CPU|lttng' | head -8 | sed 's/^/MON   /'
  echo "MON   guest-serial: $(tail -c 300 /tmp/guest-serial.log | tr -d '\r' | tail -2 | tr '\n' '|')"
  echo "info cpus" | socat -t1 - UNIX-CONNECT:/tmp/gmon.sock 2>/dev/null | grep -a 'CPU #' | tr -d '\r' | sed 's/^/MON   /'
  echo "info registers" | socat -t1 - UNIX-CONNECT:/tmp/gmon.sock 2>/dev/null | grep -a -E '^(RIP|RAX|CS |CR0)' | tr -d '\r' | sed 's/^/MON   /'
  sleep 10; done ) &
wait $QPID
echo "TRACELAB guest qemu exited rc=$?"
mark "host: guest exited"
sleep 1
lt_stop
mkdir -p /out/host && cp -a /tmp/trace-host/. /out/host/
cp /tmp/lttng-list-k.txt /out/host-lttng-list-k.txt
cp /tmp/guest-serial.log /out/guest-serial.log; cp /tmp/guest-qemu.log /out/guest-qemu.log
{ uname -a; cat /proc/cpuinfo | sed -n '1,30p'; lsmod; lttng --version; modinfo -F version lttng-tracer; cat /sys/module/kvm_amd/parameters/nested; } > /out/host-info.txt 2>&1
du -sh /out/host
sync; umount /out
