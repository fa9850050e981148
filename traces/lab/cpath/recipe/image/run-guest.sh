#!/bin/sh
# inner guest (KVM guest of the emulated host): traced workload
. /tracelab/common.sh
# keep the (emulated) serial console quiet: log to a file, copied to /out at the end
exec > /tmp/run-guest.log 2>&1
scen=${1:-basic}
GIP=$(sed -n "s/.*tracelab\.gip=\([0-9.]*\).*/\1/p" /proc/cmdline); GIP=${GIP:-192.168.100.2}
HIP=$(sed -n "s/.*tracelab\.hip=\([0-9.]*\).*/\1/p" /proc/cmdline); HIP=${HIP:-192.168.100.1}; export HIP
GNAME=$(sed -n "s/.*tracelab\.gname=\([a-z0-9]*\).*/\1/p" /proc/cmdline); GNAME=${GNAME:-guest}
set +x
modprobe virtio_net
sleep 1
ip link set lo up
ip link set eth0 up
ip addr add $GIP/24 dev eth0
socat TCP-LISTEN:5003,fork,reuseaddr EXEC:/bin/cat &
mkdir -p /out && mount /dev/vdb /out
if [ "$scen" = nested ]; then
  # L1 guest = hypervisor for L2. Boot L2 first (untraced), start tracing when L2 is ready.
  modprobe kvm_amd nested=1; modprobe tun
  ip tuntap add dev tap1 mode tap; ip addr add 192.168.101.1/24 dev tap1; ip link set tap1 up
  /tracelab/nest-launch.sh > /tmp/nest-launch.log 2>&1 &
  NPID=$!
  echo "TRACELAB L1 guest: L2 launched, waiting for L2 ready" > /dev/console
  ( while :; do echo "WD-L2 $(tail -c 200 /tmp/l2-serial.log 2>/dev/null | tr -d '\r' | tail -1)" > /dev/console; sleep 15; done ) &
  WDL2=$!
  timeout 3000 socat -u TCP-LISTEN:5010,reuseaddr OPEN:/tmp/l2-ready,creat,append
  echo "TRACELAB L1 guest: L2 ready: $(cat /tmp/l2-ready)" > /dev/console
fi
lt_start $GNAME-$scen /out/$GNAME
# handshake with the host (see run-host.sh)
until echo "ready $(cat /proc/uptime)" | socat -u - TCP:$HIP:5000,connect-timeout=1 2>/dev/null; do sleep 0.5; done
until socat -u /dev/null TCP:$HIP:5004,connect-timeout=1 2>/dev/null; do sleep 0.5; done
if [ "$scen" = nested ]; then
  mark "guest(L1): host tracing, releasing L2"
  timeout 120 socat -u TCP-LISTEN:5012,reuseaddr OPEN:/dev/null
  # L1 guest <-> host TCP while L2 runs (for L1<->host sync)
  ( i=0; while kill -0 $NPID 2>/dev/null; do i=$((i+1)); echo "L1->host echo $i" | socat -t2 - TCP:$HIP:5001 >/dev/null 2>&1; sleep 1; done ) &
  wait $NPID
  mark "guest(L1): L2 finished"
  kill $WDL2 2>/dev/null
  for i in $(seq 1 5); do echo "L1->host final $i" | socat -t2 - TCP:$HIP:5001; sleep 0.2; done
  lt_stop
  cp /tmp/lttng-list-k.txt /out/guest-lttng-list-k.txt; cp /tmp/nest-launch.log /out/ 2>/dev/null
  { uname -a; cat /proc/cpuinfo | sed -n '1,30p'; lsmod; lttng --version; modinfo -F version lttng-tracer; cat /sys/module/kvm_amd/parameters/nested; } > /out/guest-info.txt 2>&1
  du -sh /out/guest; cp /tmp/run-guest.log /out/guest-run.log
  sync; umount /out
  exit 0
fi
# watchdog: guest time + date (vDSO) to the serial console every 10 s
( while :; do read up < /proc/uptime; echo "WD uptime=$up date=$(date +%s.%N)" > /dev/console; sleep 10; done ) &
WD=$!
mark "guest: workload start"
# cpath: the common steps 1-4 are skipped (see the cpath block in step 5)
if [ "$scen" != cpath ]; then
# 1) cpu loop ~5 s
mark "guest: cpu loop"
# builtin-only busy loops (no fork/exec, no clock reads), 2 in parallel
( i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done ) &
L1=$!
( i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done ) &
L2=$!
wait $L1 $L2
mark "guest: cpu loop done"
# 2) ping + TCP exchanges with the host
mark "guest: ping"
ping -c 10 -i 0.2 $HIP
mark "guest: tcp echo"
for i in $(seq 1 20); do echo "guest->host echo $i $(date +%s.%N)" | socat -t2 - TCP:$HIP:5001; sleep 0.2; done
mark "guest: tcp bulk"
dd if=/dev/zero bs=64k count=64 2>/dev/null | socat -u - TCP:$HIP:5002
# 3) disk I/O on virtio-blk
mark "guest: dd write"
dd if=/dev/zero of=/var/tmp/ddfile bs=1M count=32 oflag=direct
mark "guest: dd read"
dd if=/var/tmp/ddfile of=/dev/null bs=1M iflag=direct
rm -f /var/tmp/ddfile; sync
# 4) timers / sleeps
mark "guest: sleep timers"
for i in $(seq 1 20); do sleep 0.1; done
sleep 2
fi # not cpath
# 5) scenario-specific part
if [ "$scen" = cpath ]; then
  # Cross-layer critical paths: guesta reads its virtio-blk disk with O_DIRECT dd while guestb hogs
  # both of its vCPUs (so guesta's vCPU threads are preempted by guestb's on the 2-CPU host).
  # Both guests run the same 10 TCP echoes first (clock sync), so their phases start together.
  # Durations are guest seconds (guest clock); guestb hogs 30 s, guesta's three contended dd reads
  # end ~21 s after the echoes, then guesta waits and does one baseline read after the hog ends.
  mark "guest: cpath start ($GNAME)"
  mark "guest: tcp echo"
  for i in $(seq 1 10); do echo "$GNAME->host echo $i $(date +%s.%N)" | socat -t2 - TCP:$HIP:5001; sleep 0.2; done
  if [ "$GNAME" = guestb ]; then
    mark "guest: cpath hog start"
    # bash builtins only (no fork/exec); $SECONDS bounds each loop to 30 s of guest time
    bash -c 'e=$((SECONDS+30)); i=0; while [ $SECONDS -lt $e ]; do i=$((i+1)); done' &
    H1=$!
    bash -c 'e=$((SECONDS+30)); i=0; while [ $SECONDS -lt $e ]; do i=$((i+1)); done' &
    H2=$!
    wait $H1 $H2
    mark "guest: cpath hog end"
  else
    mark "guest: sleep timers"
    for i in $(seq 1 5); do sleep 0.1; done
    sleep 1
    for r in 1 2 3; do
      mark "guest: cpath dd read $r (contended)"
      timeout -s INT 6 dd if=/dev/vda of=/dev/null bs=4k count=200000 skip=$(( (r - 1) * 200000 )) iflag=direct
      mark "guest: cpath dd read $r done"
      sleep 0.5
    done
    sleep 14
    mark "guest: cpath dd read 4 (baseline, after guestb's hog)"
    timeout -s INT 5 dd if=/dev/vda of=/dev/null bs=4k count=200000 skip=600000 iflag=direct
    mark "guest: cpath dd read 4 done"
  fi
  mark "guest: cpath end ($GNAME)"
fi
if [ "$scen" = container ]; then
  mark "guest: container start"
  unshare --pid --fork --mount-proc --uts --ipc sh -c 'hostname ctr; for i in $(seq 1 5); do ( end=$(( $(date +%s) + 1 )); while [ $(date +%s) -lt $end ]; do :; done ); echo "ctr->host $i" | socat -t2 - TCP:$HIP:5001; sleep 0.3; done; dd if=/dev/zero of=/var/tmp/ctrfile bs=1M count=8 oflag=direct; rm -f /var/tmp/ctrfile'
  mark "guest: container end"
fi
mark "guest: final tcp echo"
for i in $(seq 1 10); do echo "guest->host final $i" | socat -t2 - TCP:$HIP:5001; sleep 0.2; done
mark "guest: workload end"
kill $WD
lt_stop
cp /tmp/lttng-list-k.txt /out/$GNAME-lttng-list-k.txt
{ uname -a; cat /proc/cpuinfo | sed -n '1,30p'; lsmod; lttng --version; modinfo -F version lttng-tracer; } > /out/$GNAME-info.txt 2>&1
du -sh /out/$GNAME
cp /tmp/run-guest.log /out/$GNAME-run.log
sync; umount /out
