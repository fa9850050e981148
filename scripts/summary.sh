#!/usr/bin/env bash
# Prints the short summary of a database written by sink.vm.sqlite: for each VM and vCPU, the
# share of time in each state, the top exit reasons, and the top preempting host threads.
# usage: scripts/summary.sh OUT.db [TOP]
set -euo pipefail
db=${1:?usage: summary.sh OUT.db [TOP]}
top=${2:-5}
[ -f "$db" ] || { echo "error: no database at '$db'" >&2; exit 1; }
q() { sqlite3 -header -column "$db" "$@"; }

echo "== Run"
sqlite3 "$db" "SELECT 'events: ' || events || ', discarded events: ' || discarded_events || ', VMs found: ' || vms_found FROM run"
sqlite3 "$db" "SELECT '  ' || message FROM diagnostic" | sed 's/^/warning:/'
echo
echo "== Machines"
q "SELECT id, name, role, parent_id, layer FROM machine ORDER BY id"
echo
echo "== Share of each vCPU's time per state (%)"
q "SELECT m.name AS vm, s.vcpu_id AS vcpu,
          ROUND(SUM(CASE WHEN state = 'guest' THEN dur END) * 100.0 / SUM(dur), 1) AS guest,
          ROUND(SUM(CASE WHEN state = 'vmm' THEN dur END) * 100.0 / SUM(dur), 1) AS vmm,
          ROUND(SUM(CASE WHEN state = 'preempted' THEN dur END) * 100.0 / SUM(dur), 1) AS preempted,
          ROUND(SUM(CASE WHEN state = 'idle' THEN dur END) * 100.0 / SUM(dur), 1) AS idle,
          ROUND(SUM(CASE WHEN state = 'unknown' THEN dur END) * 100.0 / SUM(dur), 1) AS unknown,
          ROUND(SUM(dur) / 1e9, 3) AS traced_s
   FROM vcpu_state s JOIN machine m ON m.id = s.machine_id
   GROUP BY s.machine_id, s.vcpu_id ORDER BY m.name, s.vcpu_id"
echo
echo "== Top $top exit reasons per vCPU (by hypervisor time)"
q "SELECT vm, vcpu, exit_reason_name AS reason, exits, vmm_ms, avg_us FROM (
     SELECT m.name AS vm, e.vcpu_id AS vcpu, e.exit_reason_name, e.exits,
            ROUND(e.vmm_ns / 1e6, 3) AS vmm_ms, ROUND(e.vmm_ns / 1e3 / MAX(e.exits, 1), 1) AS avg_us,
            ROW_NUMBER() OVER (PARTITION BY e.machine_id, e.vcpu_id ORDER BY e.vmm_ns DESC) AS rank
     FROM exit_stats e JOIN machine m ON m.id = e.machine_id)
   WHERE rank <= $top ORDER BY vm, vcpu, rank"
echo
echo "== Top $top preempting host threads per vCPU"
q "SELECT vm, vcpu, preempting_tid AS tid, thread, preemptions, preempted_ms FROM (
     SELECT m.name AS vm, p.vcpu_id AS vcpu, p.preempting_tid, COALESCE(p.preempting_thread_name, '?') AS thread,
            p.preemptions, ROUND(p.preempted_ns / 1e6, 3) AS preempted_ms,
            ROW_NUMBER() OVER (PARTITION BY p.machine_id, p.vcpu_id ORDER BY p.preempted_ns DESC) AS rank
     FROM preemption_by_thread p JOIN machine m ON m.id = p.machine_id)
   WHERE rank <= $top ORDER BY vm, vcpu, rank"
echo
echo "== Physical CPUs: share of time by machine and status (%)"
q "SELECT h.name AS host, c.pcpu, m.name AS machine, COALESCE(c.status, '?') AS status,
          ROUND(SUM(c.dur) * 100.0 / t.span, 1) AS pct
   FROM cpu_state c JOIN machine m ON m.id = c.machine_id JOIN machine h ON h.id = c.host_machine_id
   JOIN (SELECT host_machine_id, pcpu, SUM(dur) AS span FROM cpu_state GROUP BY 1, 2) t
     USING (host_machine_id, pcpu)
   GROUP BY c.host_machine_id, c.pcpu, c.machine_id, c.status HAVING pct >= 1
   ORDER BY h.name, c.pcpu, pct DESC"
echo
echo "== Top $top guest threads by time lost to the host (their vCPU preempted or in the hypervisor)"
q "SELECT m.name AS machine, d.tid, d.name, ROUND(COALESCE(d.running_ns, 0) / 1e6, 3) AS running_ms,
          ROUND(COALESCE(d.vcpu_preempted_ns, 0) / 1e6, 3) AS vcpu_preempted_ms,
          ROUND(COALESCE(d.vmm_ns, 0) / 1e6, 3) AS vmm_ms, ROUND(COALESCE(d.wait_cpu_ns, 0) / 1e6, 3) AS wait_cpu_ms
   FROM thread_delay d JOIN machine m ON m.id = d.machine_id
   WHERE m.role = 'guest' AND COALESCE(d.vcpu_preempted_ns, 0) + COALESCE(d.vmm_ns, 0) > 0
   ORDER BY COALESCE(d.vcpu_preempted_ns, 0) + COALESCE(d.vmm_ns, 0) DESC LIMIT $top"
echo
echo "== Containers (PID namespaces below each machine's root)"
q "SELECT m.name AS machine, c.ns_inum, c.parent_ns_inum, c.ns_level,
          (SELECT COUNT(*) FROM container_thread t WHERE t.machine_id = c.machine_id AND t.ns_inum = c.ns_inum)
            AS threads
   FROM container c JOIN machine m ON m.id = c.machine_id WHERE c.ns_level > 0 ORDER BY m.name, c.ns_level"
