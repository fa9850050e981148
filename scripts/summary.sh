#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Prints the short summary of a database written by sink.vm.sqlite: for each VM and vCPU, the
# share of time in each state, the top exit reasons, the top preempting host threads and what
# ended its halts; what runs on each physical CPU; the guest threads that lost the most time to
# the host; containers.
# Each section says why it is empty, and what a `?` or an idle-task preemption means.
# usage: scripts/summary.sh OUT.db [TOP]
set -euo pipefail
db=${1:?usage: summary.sh OUT.db [TOP]}
top=${2:-5}
[ -f "$db" ] || { echo "error: no database at '$db'" >&2; exit 1; }
q() { sqlite3 -header -column "$db" "$@"; }
v() { sqlite3 "$db" "$@"; }
# Prints its text, wrapped, as an indented note.
note() { echo "$*" | fold -s -w 96 | sed 's/ *$//; s/^/  /'; }
# The command that fuses a guest's trace with its host's: in full the first time it is needed.
fuse_shown=0
fuse_how() {
  if [ "$fuse_shown" -eq 0 ]; then
    fuse_shown=1
    echo "    babeltrace2 HOST_TRACE GUEST_TRACE -c filter.vm.fuse -c sink.vm.sqlite -p 'path=\"fused.db\"'"
  fi
}

# Units follow the length of the run (the longest trace), so that tiny traces (Trace Compass's
# stubs last a few hundred ns) do not round to 0: a run of 0.1 s or more is shown in s (spans),
# ms (totals) and µs (averages); from 0.1 ms, in ms, µs and µs; shorter, in ns.
span=$(v "SELECT COALESCE(MAX(end_ts - begin_ts), 0) FROM trace")
if [ "$span" -ge 100000000 ]; then
  span_unit=s span_div=1e9 total_unit=ms total_div=1e6 avg_unit=µs avg_div=1e3
elif [ "$span" -ge 100000 ]; then
  span_unit=ms span_div=1e6 total_unit=µs total_div=1e3 avg_unit=µs avg_div=1e3
else
  span_unit=ns span_div=1 total_unit=ns total_div=1 avg_unit=ns avg_div=1
fi
# A duration in nanoseconds (SQL expression) in a unit: 3 decimals, or whole nanoseconds.
in_unit() {  # expr divisor [decimals]
  if [ "$2" == 1 ]; then echo "CAST(ROUND($1) AS INTEGER)"; else echo "ROUND(($1) / $2, ${3:-3})"; fi
}
# Whether a guest's own trace is in the run (fused with filter.vm.fuse): without it, nothing is
# known inside the guests.
guest_traces=$(v "SELECT COUNT(*) FROM trace t JOIN machine m ON m.id = t.machine_id WHERE m.role = 'guest'")

echo "== Run"
v "SELECT 'events: ' || events || ', discarded events: ' || discarded_events || ', VMs found: ' || vms_found FROM run"
v "SELECT '  ' || message FROM diagnostic" | sed 's/^/warning:/'
echo "traces: $(v "SELECT COUNT(*) FROM trace"), the longest $(v "SELECT $(in_unit "$span" "$span_div")") $span_unit" \
  "($guest_traces of them from a guest)"
echo
echo "== Machines"
q "SELECT id, name, role, parent_id, layer FROM machine ORDER BY id"
echo
share() { echo "ROUND(COALESCE(SUM(CASE WHEN state = '$1' THEN dur END), 0) * 100.0 / SUM(dur), 1) AS $1"; }
echo "== Share of each vCPU's time per state (%)"
q "SELECT m.name AS vm, s.vcpu_id AS vcpu, $(share guest), $(share vmm), $(share preempted), $(share idle),
          $(share unknown), $(in_unit 'SUM(dur)' "$span_div") AS traced_$span_unit
   FROM vcpu_state s JOIN machine m ON m.id = s.machine_id
   GROUP BY s.machine_id, s.vcpu_id ORDER BY m.name, s.vcpu_id"
if [ "$(v "SELECT COUNT(*) FROM vcpu_state")" -eq 0 ]; then
  note "(no vCPU: no KVM entry or exit in the host's trace; see the warning above for the lttng line that records them)"
elif [ "$(v "SELECT COUNT(*) FROM (SELECT SUM(CASE WHEN state = 'unknown' THEN dur ELSE 0 END) * 100.0 / SUM(dur) AS pct
                   FROM vcpu_state GROUP BY machine_id, vcpu_id) WHERE pct >= 0.05")" -gt 0 ]; then
  note "unknown: before the first event that tells the vCPU's state, and after lost events until the next one."
fi
echo
echo "== Top $top exit reasons per vCPU (by hypervisor time)"
q "SELECT vm, vcpu, exit_reason_name AS reason, exits, vmm_$total_unit, avg_$avg_unit FROM (
     SELECT m.name AS vm, e.vcpu_id AS vcpu, e.exit_reason_name, e.exits,
            $(in_unit e.vmm_ns "$total_div") AS vmm_$total_unit,
            $(in_unit 'e.vmm_ns * 1.0 / MAX(e.exits, 1)' "$avg_div" 1) AS avg_$avg_unit,
            ROW_NUMBER() OVER (PARTITION BY e.machine_id, e.vcpu_id ORDER BY e.vmm_ns DESC) AS rank
     FROM exit_stats e JOIN machine m ON m.id = e.machine_id)
   WHERE rank <= $top ORDER BY vm, vcpu, rank"
[ "$(v "SELECT COUNT(*) FROM vcpu_state")" -gt 0 ] || note "(none: no vCPU)"
echo
echo "== Top $top preempting host threads per vCPU"
# tid 0 is the idle task of every CPU: the thread table names it after the first CPU it was seen
# on (e.g. swapper/1), whichever CPU it ran on.
preempt_rows="SELECT vm, vcpu, preempting_tid AS tid, thread, preemptions, preempted_$total_unit FROM (
     SELECT m.name AS vm, p.vcpu_id AS vcpu, p.preempting_tid,
            CASE WHEN p.preempting_tid = 0 THEN 'swapper (idle)' ELSE COALESCE(p.preempting_thread_name, '?') END
              AS thread,
            p.preemptions, $(in_unit p.preempted_ns "$total_div") AS preempted_$total_unit,
            ROW_NUMBER() OVER (PARTITION BY p.machine_id, p.vcpu_id ORDER BY p.preempted_ns DESC) AS rank
     FROM preemption_by_thread p JOIN machine m ON m.id = p.machine_id)
   WHERE rank <= $top"
q "$preempt_rows ORDER BY vm, vcpu, rank"
if [ "$(v "SELECT COUNT(*) FROM vcpu_state")" -eq 0 ]; then
  note "(none: no vCPU)"
elif [ "$(v "SELECT COUNT(*) FROM preemption_by_thread")" -eq 0 ]; then
  note "(none: no vCPU thread was ever runnable without a CPU)"
fi
if [ "$(v "SELECT COUNT(*) FROM ($preempt_rows) WHERE tid = 0")" -gt 0 ]; then
  note "swapper (idle), tid 0, the idle task of every CPU (swapper/N in the thread table): wake-up latency on an" \
    "idle CPU, not a competing thread. The vCPU thread was woken" \
    "(sched_wakeup) and waited for its CPU while that CPU still ran its idle task (often still in the interrupt" \
    "that woke it); the time counted is from the wake-up to the sched_switch that put the vCPU thread on."
fi
if [ "$(v "SELECT COUNT(*) FROM ($preempt_rows) WHERE tid IS NULL")" -gt 0 ]; then
  note "tid empty: the thread on that CPU was not known (before its first sched_switch, or after lost events)."
fi
echo
echo "== Wake-ups of each vCPU: what ended its halts (from the host's KVM events)"
q "SELECT m.name AS vm, h.vcpu_id AS vcpu, h.wake_reason AS reason, COUNT(*) AS halts,
          $(in_unit 'SUM(h.dur)' "$total_div") AS halted_$total_unit,
          ROUND(100.0 * SUM(h.dur) / t.total, 1) AS pct_halted,
          $(in_unit 'AVG(h.ts + h.dur - h.cause_ts)' "$avg_div") AS latency_$avg_unit,
          $(in_unit 'AVG(h.wait_cpu_dur)' "$avg_div") AS wait_cpu_$avg_unit
   FROM vcpu_halt h JOIN machine m ON m.id = h.machine_id
   JOIN (SELECT machine_id, vcpu_id, SUM(dur) AS total FROM vcpu_halt GROUP BY machine_id, vcpu_id) t
     USING (machine_id, vcpu_id)
   GROUP BY h.machine_id, h.vcpu_id, h.wake_reason ORDER BY vm, vcpu, SUM(h.dur) DESC"
if [ "$(v "SELECT COUNT(*) FROM vcpu_halt")" -eq 0 ]; then
  if [ "$(v "SELECT COUNT(*) FROM vcpu_state")" -eq 0 ]; then note "(none: no vCPU)"; else note "(none: no vCPU halted (no HLT exit))"; fi
else
  note "reason: timer (the guest's APIC timer), ipi (another vCPU; the sender is vcpu_halt.waker_vcpu_id)," \
    "disk/net/device (a device interrupt, and who raised it: vcpu_halt.device), none (nothing injected)," \
    "unknown (events lost, or the halt still open at the end). latency: from the cause (the IPI send, the" \
    "device signal, the timer's wake-up of the vCPU thread) to guest entry; wait_cpu: of it, runnable without a CPU."
fi
echo
echo "== Physical CPUs: share of time by machine and status (%)"
cpu_rows="SELECT h.name AS host, c.pcpu, m.name AS machine, COALESCE(c.status, '?') AS status,
                 ROUND(SUM(c.dur) * 100.0 / t.span, 1) AS pct,
                 m.role = 'guest' AND NOT EXISTS (SELECT 1 FROM trace tr WHERE tr.machine_id = m.id) AS untraced_vm
          FROM cpu_state c JOIN machine m ON m.id = c.machine_id JOIN machine h ON h.id = c.host_machine_id
          JOIN (SELECT host_machine_id, pcpu, SUM(dur) AS span FROM cpu_state GROUP BY 1, 2) t
            USING (host_machine_id, pcpu)
          GROUP BY c.host_machine_id, c.pcpu, c.machine_id, c.status HAVING pct >= 1"
q "SELECT host, pcpu, machine, status, pct FROM ($cpu_rows) ORDER BY host, pcpu, pct DESC"
if [ "$(v "SELECT COUNT(*) FROM ($cpu_rows) WHERE status = '?' AND untraced_vm")" -gt 0 ]; then
  note "? on a VM's rows (status NULL in cpu_state): the VM runs its guest code on that CPU, but what the guest" \
    "does there (user, kernel, irq, idle) is known only from the guest's own trace. To see it, fuse the guest's trace with its host's:"
  fuse_how
fi
if [ "$(v "SELECT COUNT(*) FROM ($cpu_rows) WHERE status = '?' AND NOT untraced_vm")" -gt 0 ]; then
  note "? on a traced machine's rows (status NULL in cpu_state): unknown, before that CPU's first sched_switch" \
    "in the machine's trace (the running thread is not known yet), or after lost events until the next one."
fi
echo
echo "== Top $top guest threads by time lost to the host (their vCPU preempted or in the hypervisor)"
q "SELECT m.name AS machine, d.tid, d.name, $(in_unit 'COALESCE(d.running_ns, 0)' "$total_div") AS running_$total_unit,
          $(in_unit 'COALESCE(d.vcpu_preempted_ns, 0)' "$total_div") AS vcpu_preempted_$total_unit,
          $(in_unit 'COALESCE(d.vmm_ns, 0)' "$total_div") AS vmm_$total_unit,
          $(in_unit 'COALESCE(d.wait_cpu_ns, 0)' "$total_div") AS wait_cpu_$total_unit
   FROM thread_delay d JOIN machine m ON m.id = d.machine_id
   WHERE m.role = 'guest' AND COALESCE(d.vcpu_preempted_ns, 0) + COALESCE(d.vmm_ns, 0) > 0
   ORDER BY COALESCE(d.vcpu_preempted_ns, 0) + COALESCE(d.vmm_ns, 0) DESC LIMIT $top"
if [ "$guest_traces" -eq 0 ]; then
  note "(none: needs a guest trace. The host's trace shows the vCPUs, not the guest threads on them: fuse the" \
    "guest's trace with its host's with filter.vm.fuse$([ "$fuse_shown" -eq 1 ] && echo ' (command above)' || echo :))"
  fuse_how
elif [ "$(v "SELECT COUNT(*) FROM thread_delay d JOIN machine m ON m.id = d.machine_id
             WHERE m.role = 'guest' AND COALESCE(d.vcpu_preempted_ns, 0) + COALESCE(d.vmm_ns, 0) > 0")" -eq 0 ]; then
  note "(none: no thread of a traced guest lost time to its vCPU being preempted or in the hypervisor)"
fi
echo
echo "== Containers (PID namespaces below each machine's root)"
q "SELECT m.name AS machine, c.ns_inum, c.parent_ns_inum, c.ns_level,
          (SELECT COUNT(*) FROM container_thread t WHERE t.machine_id = c.machine_id AND t.ns_inum = c.ns_inum)
            AS threads
   FROM container c JOIN machine m ON m.id = c.machine_id WHERE c.ns_level > 0 ORDER BY m.name, c.ns_level"
if [ "$(v "SELECT COUNT(*) FROM container WHERE ns_level > 0")" -eq 0 ]; then
  if [ "$guest_traces" -eq 0 ]; then
    note "(none in the host's trace. Containers inside a guest need a guest trace: fuse it with filter.vm.fuse" \
      "$([ "$fuse_shown" -eq 1 ] && echo '(command above))' || echo 'as follows)')"
    fuse_how
  else
    note "(none: no PID namespace below a machine's root in the traces)"
  fi
  if [ "$(v "SELECT COUNT(*) FROM container")" -eq 0 ]; then
    note "No namespace is known at all: record the statedump ('lttng_statedump_*') and the vpid and vtid contexts."
  fi
fi
