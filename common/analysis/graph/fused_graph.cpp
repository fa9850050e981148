// SPDX-License-Identifier: MIT
// The cross-layer edges of a fused run's execution graph; the header states every rule.
#include "analysis/graph/fused_graph.h"

#include "kvm/host_analysis.h"
#include "kvm/vcpu_tracker.h"

namespace vm::graph {

namespace {

// Linux's softirq vectors (include/linux/interrupt.h): the block layer's completions.
constexpr int64_t kSoftirqBlock = 4, kSoftirqBlockIopoll = 5;
// The timer's IRQ line (Trace Compass's TraceEventHandlerExecutionGraph.IRQ_TIMER).
constexpr int64_t kIrqTimer = 0;
// x2APIC ids are 32-bit, but KVM has at most 4096 vCPUs (KVM_MAX_VCPU_IDS), numbered from 0.
constexpr int64_t kMaxApicId = 4096;

constexpr unsigned bit(EdgeState s) {
  return 1u << static_cast<unsigned>(s);
}

EdgeState edge_of(VcpuHostState s) {
  switch (s) {
    case VcpuHostState::vmm: return EdgeState::vmm;
    case VcpuHostState::preempted: return EdgeState::vcpu_preempted;
    case VcpuHostState::halted: return EdgeState::vcpu_halted;
    default: return EdgeState::running;
  }
}

template <typename Map>
const typename Map::mapped_type* find_in(const Map& map, const typename Map::key_type& key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

std::string reason_name(VirtIsa isa, int64_t reason) {
  if (reason < 0) return {};
  if (const char* name = exit_reason_name(isa, static_cast<uint64_t>(reason))) return name;
  return exit_reason_label(isa, static_cast<uint64_t>(reason));
}

}  // namespace

VcpuResolver tracker_resolver(const VcpuTracker& tracker) {
  return [&tracker](int64_t, int64_t host_tid, VcpuRef& out) {
    VcpuTracker::VcpuOfThread v;
    if (!tracker.describe(host_tid, v) || v.vcpu_id < 0 || v.machine_id < 0) return false;
    out = VcpuRef{v.machine_id, v.vcpu_id};
    return true;
  };
}

CriticalPathOptions fused_path_options() {
  CriticalPathOptions options;
  options.resolved_states |= bit(EdgeState::vcpu_preempted);
  return options;
}

VcpuHostState FusedGraphBuilder::state(int64_t guest, int64_t vcpu) const {
  auto it = vcpus_.find(GuestCpu{guest, vcpu});
  return it == vcpus_.end() ? VcpuHostState::unknown : it->second.state;
}

FusedGraphBuilder::Vcpu* FusedGraphBuilder::vcpu_of_host_thread(int64_t host_machine, int64_t host_tid) {
  if (host_tid <= 0) return nullptr;
  auto known = by_host_thread_.find({host_machine, host_tid});
  if (known != by_host_thread_.end()) return &vcpus_[known->second];
  auto r = resolvers_.find(host_machine);
  VcpuRef ref;
  if (r == resolvers_.end() || !r->second || !r->second(host_machine, host_tid, ref)) return nullptr;
  if (ref.guest_machine < 0 || ref.vcpu < 0) return nullptr;
  const GuestCpu key{ref.guest_machine, ref.vcpu};
  by_host_thread_[{host_machine, host_tid}] = key;
  Vcpu& vcpu = vcpus_[key];
  vcpu.host_machine = host_machine;
  vcpu.host_tid = host_tid;
  return &vcpu;
}

FusedGraphBuilder::Vcpu* FusedGraphBuilder::vcpu_of_guest_cpu(int64_t guest, int64_t cpu) {
  auto it = vcpus_.find(GuestCpu{guest, cpu});
  return it == vcpus_.end() ? nullptr : &it->second;
}

int64_t FusedGraphBuilder::thread_of(int64_t machine, const Event& event) const {
  const int64_t tid = os_.running_tid(machine, event.ctx.cpu);
  return tid != kUnknown ? tid : event.tid;
}

// The vertex that ends the current thread's interval on guest CPU `key` at `ts`, in `state`
// (running: its own status), a vmm interval named by `reasons`' exit.
VertexId FusedGraphBuilder::close_current(const GuestCpu& key, VcpuHostState state, const Vcpu& reasons, Timestamp ts) {
  const int64_t tid = os_.running_tid(key.first, key.second);
  if (tid < 0) return kNoVertex;
  if (state == VcpuHostState::guest || state == VcpuHostState::unknown)
    return os_.extend_thread(key.first, tid, key.second, ts);
  const std::string qualifier = state == VcpuHostState::vmm ? reason_name(reasons.isa, reasons.exit_reason) : "";
  const VertexId v = os_.close_thread(key.first, tid, key.second, ts, edge_of(state), qualifier);
  if (v != kNoVertex) ++stats_.refined;
  return v;
}

VertexId FusedGraphBuilder::touch(const GuestCpu& key, const Vcpu& vcpu, Timestamp ts) {
  return close_current(key, vcpu.state, vcpu, ts);
}

void FusedGraphBuilder::hand_off(VertexId from, VertexId to) {
  if (from == kNoVertex || to == kNoVertex) return;
  if (os_.link_vertices(from, to, EdgeState::vcpu_preempted)) ++stats_.preempt_links;
  else ++stats_.refused_links;
}

void FusedGraphBuilder::transition(const GuestCpu& key, Vcpu& vcpu, Timestamp ts, VcpuHostState next, int64_t host_cpu) {
  const VcpuHostState prev = vcpu.state;
  if (prev == VcpuHostState::unknown && next != VcpuHostState::unknown) {
    // Known from here: the guest thread's interval before keeps the OS builder's label.
    touch(key, vcpu, ts);
  } else if (prev != VcpuHostState::unknown && prev != next) {
    const VertexId guest_vertex = touch(key, vcpu, ts);
    const bool resumed = prev == VcpuHostState::preempted && (next == VcpuHostState::vmm || next == VcpuHostState::guest);
    // The host runs the vCPU thread again: its vertex at the switch hands off to the guest.
    if (resumed && guest_vertex != kNoVertex)
      hand_off(os_.extend_thread(vcpu.host_machine, vcpu.host_tid, host_cpu, ts), guest_vertex);
    nest(key, ts, vcpu, resumed, guest_vertex, 1);
  }
  vcpu.state = next;
}

// Point 6 of the header: when the guest's current thread on `key` is itself the vCPU thread of a
// nested guest that it believes runs (guest mode), the nested guest's current thread lives the
// same host state, and a resume hands off through each layer.
void FusedGraphBuilder::nest(const GuestCpu& key, Timestamp ts, const Vcpu& outer, bool resumed, VertexId outer_vertex,
                             int depth) {
  if (depth > kMaxNesting || !resolvers_.count(key.first)) return;
  const int64_t tid = os_.running_tid(key.first, key.second);
  Vcpu* inner = vcpu_of_host_thread(key.first, tid);
  if (!inner || inner->state != VcpuHostState::guest) return;
  const GuestCpu inner_key = by_host_thread_[{key.first, tid}];
  const VertexId v = close_current(inner_key, outer.state, outer, ts);
  if (resumed && v != kNoVertex) hand_off(outer_vertex, v);
  nest(inner_key, ts, outer, resumed, v, depth + 1);
}

void FusedGraphBuilder::on_lost_events(int64_t machine, Timestamp ts) {
  for (auto& [key, vcpu] : vcpus_) {
    if (vcpu.host_machine != machine) continue;
    if (ts >= 0) transition(key, vcpu, ts, VcpuHostState::unknown, kUnknown);
    vcpu.state = VcpuHostState::unknown;  // when the loss has no time: nothing is closed
  }
}

void FusedGraphBuilder::before_event(int64_t machine, const Event& event) {
  // A guest event that ends an interval of the vCPU's current thread while the vCPU is not in
  // guest mode: close it in the vCPU's state first (the OS builder's vertex is then a no-op).
  switch (event.kind) {
    case EventKind::sched_switch:
    case EventKind::sched_wakeup:
    case EventKind::net_send:
    case EventKind::net_receive:
    case EventKind::irq_vector_entry:
    case EventKind::irq_vector_exit:
    case EventKind::irq_entry:
    case EventKind::irq_exit: break;
    default: return;
  }
  Vcpu* vcpu = vcpu_of_guest_cpu(machine, event.ctx.cpu);
  if (!vcpu) return;
  const GuestCpu key{machine, event.ctx.cpu};
  if (event.kind == EventKind::irq_entry) {
    on_guest_irq(key, event.as<Irq>().irq);
    return;
  }
  if (event.kind == EventKind::irq_exit) {
    handling_.erase(key);
    return;
  }
  if (event.kind == EventKind::irq_vector_entry) {
    guest_vector_[key] = event.as<IrqVector>().vector;
    // A vector with its own handler (the local timer, an IPI) is handled: not pending any more.
    if (auto pending = pending_vectors_.find(key); pending != pending_vectors_.end()) {
      auto it = std::find(pending->second.begin(), pending->second.end(), event.as<IrqVector>().vector);
      if (it != pending->second.end()) pending->second.erase(it);
    }
    return;
  }
  if (event.kind == EventKind::irq_vector_exit) {
    guest_vector_.erase(key);
    return;
  }
  if (vcpu->state != VcpuHostState::guest && vcpu->state != VcpuHostState::unknown) touch(key, *vcpu, event.ctx.ts);
  if (event.kind == EventKind::sched_wakeup) on_guest_wakeup(machine, event);
}

void FusedGraphBuilder::after_event(int64_t machine, const Event& event) {
  if (resolvers_.count(machine)) on_host_event(machine, event);
}

void FusedGraphBuilder::on_host_event(int64_t machine, const Event& event) {
  const Timestamp ts = event.ctx.ts;
  const int64_t cpu = event.ctx.cpu;
  switch (event.kind) {
    case EventKind::kvm_entry:
    case EventKind::kvm_exit: {
      const int64_t tid = thread_of(machine, event);
      // A raise's accepts follow it in its thread before the thread leaves the hypervisor or the
      // CPU: a later accept (the vCPU's own APIC timer, say) is not caused by it.
      if (event.kind == EventKind::kvm_entry) raising_.erase({machine, tid});
      Vcpu* vcpu = vcpu_of_host_thread(machine, tid);
      if (!vcpu) return;
      const GuestCpu key = by_host_thread_[{machine, vcpu->host_tid}];
      if (event.ctx.pid > 0) vm_pid_[key.first] = event.ctx.pid;  // the VM's QEMU process
      if (event.kind == EventKind::kvm_entry) {
        transition(key, *vcpu, ts, VcpuHostState::guest, cpu);
        return;
      }
      const KvmExit& e = event.as<KvmExit>();
      const VirtIsa isa = e.isa < 0 ? VirtIsa::unknown : isa_from_field(static_cast<uint64_t>(e.isa));
      // Another exit while in the hypervisor (a lost entry): a new vmm interval.
      if (vcpu->state == VcpuHostState::vmm) transition(key, *vcpu, ts, VcpuHostState::unknown, cpu);
      vcpu->exit_reason = e.exit_reason;
      vcpu->isa = isa;
      transition(key, *vcpu, ts, VcpuHostState::vmm, cpu);
      return;
    }
    case EventKind::sched_switch: {
      const SchedSwitch& s = event.as<SchedSwitch>();
      if (s.prev_tid == s.next_tid) return;
      raising_.erase({machine, s.prev_tid});
      if (Vcpu* prev = vcpu_of_host_thread(machine, s.prev_tid))
        transition(by_host_thread_[{machine, s.prev_tid}], *prev, ts,
                   prev_state_is_runnable(s.prev_state) ? VcpuHostState::preempted : VcpuHostState::halted, cpu);
      if (Vcpu* next = vcpu_of_host_thread(machine, s.next_tid))
        transition(by_host_thread_[{machine, s.next_tid}], *next, ts, VcpuHostState::vmm, cpu);
      return;
    }
    case EventKind::sched_wakeup: {
      const int64_t tid = event.as<SchedWakeup>().tid;
      Vcpu* vcpu = vcpu_of_host_thread(machine, tid);
      if (vcpu && vcpu->state == VcpuHostState::halted)
        transition(by_host_thread_[{machine, tid}], *vcpu, ts, VcpuHostState::preempted, cpu);
      return;
    }
    case EventKind::kvm_msi_set_irq:
    case EventKind::kvm_set_irq:
    case EventKind::kvm_apic_ipi: on_raise(machine, event, thread_of(machine, event)); return;
    case EventKind::kvm_apic_accept_irq: on_accept(machine, event, thread_of(machine, event)); return;
    case EventKind::kvm_inj_virq: {
      const int64_t tid = thread_of(machine, event);
      if (!vcpu_of_host_thread(machine, tid)) return;
      std::vector<int64_t>& pending = pending_vectors_[by_host_thread_[{machine, tid}]];
      if (pending.size() >= kMaxPendingVectors) pending.erase(pending.begin());  // never consumed: bounded
      pending.push_back(event.as<KvmInjVirq>().irq);
      return;
    }
    default: return;
  }
}

// A guest device IRQ handler (line `line`) begins on a vCPU: which of the vectors the host
// injected into that vCPU it handles. The guest's line numbers are not vectors; the pairing is
// learned: a handler entered with exactly one injected device vector pending is that vector's, and
// a line seen so takes its vector from the pending ones again; otherwise the oldest pending device
// vector (the order the host injected them).
void FusedGraphBuilder::on_guest_irq(const GuestCpu& key, int64_t line) {
  handling_.erase(key);
  auto pending = pending_vectors_.find(key);
  if (pending == pending_vectors_.end() || pending->second.empty()) return;
  std::vector<int64_t>& vectors = pending->second;
  // Device vectors only: Linux's system vectors (the local timer's 0xec and up, IPIs, ...) have
  // their own handlers (arch/x86/include/asm/irq_vectors.h: FIRST_SYSTEM_VECTOR), and 0-31 are
  // exceptions.
  auto device = [](int64_t v) { return v >= 32 && v < 0xec; };
  const auto devices = std::count_if(vectors.begin(), vectors.end(), device);
  if (devices == 0) return;
  auto pick = std::find_if(vectors.begin(), vectors.end(), device);
  auto known = line_vector_.find({key.first, line});
  if (known != line_vector_.end()) {
    auto it = std::find(vectors.begin(), vectors.end(), known->second);
    if (it != vectors.end()) pick = it;
  } else if (devices == 1 && line_vector_.size() < kMaxLines) {
    line_vector_[{key.first, line}] = *pick;
  }
  handling_[key] = *pick;
  vectors.erase(pick);
}

// The process a raising host thread serves: N for the kernel's vhost workers (`vhost-N`, named
// after their owner's pid, drivers/vhost/vhost.c), else its pid context (a QEMU thread).
int64_t FusedGraphBuilder::owner_of(const EventContext& ctx) {
  constexpr std::string_view kVhost = "vhost-";
  if (ctx.procname.substr(0, kVhost.size()) == kVhost) {
    int64_t pid = 0;
    size_t at = kVhost.size();
    for (; at < ctx.procname.size() && at < kVhost.size() + 10; ++at) {
      const char c = ctx.procname[at];
      if (c < '0' || c > '9') break;
      pid = pid * 10 + (c - '0');
    }
    if (at > kVhost.size() && (at == ctx.procname.size() || ctx.procname[at] == '-')) return pid;
  }
  return ctx.pid > 0 ? ctx.pid : kUnknown;
}

// A device interrupt raised, or an IPI sent, by host thread `tid`: the vertex the hand-off will
// leave from (the host thread, or the guest thread current on the sending vCPU).
void FusedGraphBuilder::on_raise(int64_t machine, const Event& event, int64_t tid) {
  if (tid <= 0) return;
  if (event.kind == EventKind::kvm_set_irq && event.as<KvmSetIrq>().level == 0) return;  // a line lowered
  Cause cause;
  cause.ts = event.ctx.ts;
  if (event.kind == EventKind::kvm_apic_ipi) {
    Vcpu* vcpu = vcpu_of_host_thread(machine, tid);
    if (!vcpu) return;
    cause.ipi = true;
    cause.from = touch(by_host_thread_[{machine, tid}], *vcpu, cause.ts);
  } else {
    cause.from = os_.extend_thread(machine, tid, event.ctx.cpu, cause.ts);
    if (cause.from != kNoVertex) cause.name = graph_.worker_of(cause.from).name;
    cause.owner = owner_of(event.ctx);
  }
  if (cause.from == kNoVertex) return;
  raising_[{machine, tid}] = cause;
}

// The vector reaches the APIC of vCPU `apicid`: what raised it last in this thread is its cause.
void FusedGraphBuilder::on_accept(int64_t machine, const Event& event, int64_t tid) {
  auto raised = raising_.find({machine, tid});
  if (raised == raising_.end()) return;
  const int64_t apicid = event.as<KvmApicAcceptIrq>().apicid;
  raised->second.vector = event.as<KvmApicAcceptIrq>().vec;
  if (apicid < 0 || apicid >= kMaxApicId) return;  // read from the trace: bounded
  // The keys hold values read from the trace (vectors, pids): a trace with ever new ones
  // starts the maps over rather than growing them without bound (older causes are forgotten).
  if (delivered_vector_.size() >= kMaxDelivered || delivered_owned_.size() >= kMaxDelivered ||
      delivered_any_owned_.size() >= kMaxDelivered) {
    delivered_vector_.clear();
    delivered_owned_.clear();
    delivered_any_owned_.clear();
  }
  if (vcpu_of_host_thread(machine, tid)) {
    delivered_[GuestCpu{by_host_thread_[{machine, tid}].first, apicid}] = raised->second;
  } else {
    delivered_any_[{machine, apicid}] = raised->second;
    delivered_vector_[{machine, apicid, raised->second.vector}] = raised->second;
    if (raised->second.owner != kUnknown) {
      delivered_owned_[{machine, raised->second.owner, apicid, raised->second.vector}] = raised->second;
      delivered_any_owned_[{machine, raised->second.owner, apicid}] = raised->second;
    }
  }
}

// When the thread's current interval began (its latest vertex), or kUnknown.
Timestamp FusedGraphBuilder::wait_start(int64_t machine, int64_t tid, int64_t cpu) const {
  const WorkerId* w = graph_.find_worker(WorkerKey{machine, tid, tid <= 0 ? cpu : kUnknown});
  if (!w || graph_.workers()[*w].tail == kNoVertex) return kUnknown;
  return static_cast<Timestamp>(graph_.vertex(graph_.workers()[*w].tail).ts);
}

// A guest thread woken on a vCPU from an injected interrupt (points 4 and 5 of the header): its
// wait is closed `blocked` here, before the OS builder labels it, and linked from the cause.
void FusedGraphBuilder::on_guest_wakeup(int64_t machine, const Event& event) {
  const int64_t cpu = event.ctx.cpu, tid = event.as<SchedWakeup>().tid;
  const Timestamp ts = event.ctx.ts;
  if (tid < 0 || tid == os_.running_tid(machine, cpu) || os_.status(machine, tid, cpu) != ProcStatus::wait_blocked)
    return;
  const IrqContext ctx = os_.context(machine, cpu);
  const int64_t value = os_.context_value(machine, cpu);
  EdgeState link_state;
  if (ctx == IrqContext::ipi) link_state = EdgeState::ipi;
  else if (ctx == IrqContext::irq && value != kIrqTimer && value != kUnknown) link_state = EdgeState::interrupted;
  else if (ctx == IrqContext::softirq && (value == kSoftirqBlock || value == kSoftirqBlockIopoll))
    link_state = EdgeState::block_device;
  else return;
  const Vcpu* vcpu = vcpu_of_guest_cpu(machine, cpu);
  if (!vcpu) return;
  // The latest vector delivered to this vCPU, by one of its VM's vCPUs or by a host thread.
  // Only a cause of the context's kind: an IPI and a device's vector can reach one vCPU together.
  const bool want_ipi = link_state == EdgeState::ipi;
  const Cause* cause = nullptr;
  if (auto it = delivered_.find(GuestCpu{machine, cpu}); it != delivered_.end() && it->second.ipi == want_ipi)
    cause = &it->second;
  // From a host thread: the one that raised the handler's vector (without kvm_inj_virq: the latest
  // vector accepted by that APIC id), for this VM's process; else by a thread whose process is
  // unknown, when the VM's is known.
  const int64_t host = vcpu->host_machine;
  auto pid = vm_pid_.find(machine);
  const Cause *owned = nullptr, *any = nullptr;
  if (auto injected = handling_.find(GuestCpu{machine, cpu}); injected != handling_.end()) {
    if (pid != vm_pid_.end()) owned = find_in(delivered_owned_, {host, pid->second, cpu, injected->second});
    any = find_in(delivered_vector_, {host, cpu, injected->second});
  } else {
    if (pid != vm_pid_.end()) owned = find_in(delivered_any_owned_, {host, pid->second, cpu});
    any = find_in(delivered_any_, {host, cpu});
  }
  const Cause* by_host = owned ? owned : ((any && (pid == vm_pid_.end() || any->owner == kUnknown)) ? any : nullptr);
  if (by_host && !want_ipi && (!cause || by_host->ts > cause->ts)) cause = by_host;
  if (!cause) return;
  if (cause->ipi) {
    // Any x86 vector's handler is an IPI context for the OS builder (the local timer's too): the
    // guest's vector must be the one sent.
    auto vector = guest_vector_.find(GuestCpu{machine, cpu});
    if (vector == guest_vector_.end() || vector->second != cause->vector) return;
  }
  const Timestamp began = wait_start(machine, tid, cpu);
  if (began == kUnknown || cause->ts < began) {
    ++stats_.cause_too_early;
    return;
  }
  if (cause->from >= graph_.vertices().size() || graph_.out_v(cause->from)) {
    ++stats_.refused_links;
    return;
  }
  const VertexId woken = os_.close_thread(machine, tid, cpu, ts, EdgeState::blocked, cause->name);
  if (woken == kNoVertex) return;
  // The delivery (from the raise to the guest handler's wake-up) is named by the guest's handler.
  const std::string_view handler = link_state == EdgeState::interrupted ? os_.context_name(machine, cpu) : "";
  if (!os_.link_vertices(cause->from, woken, link_state, handler)) {
    ++stats_.refused_links;
    return;
  }
  ++(cause->ipi ? stats_.ipi_links : stats_.device_links);
}

}  // namespace vm::graph
