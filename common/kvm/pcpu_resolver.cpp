// SPDX-License-Identifier: MIT
#include "kvm/pcpu_resolver.h"

namespace vm {

namespace {
constexpr int kMaxDepth = 8;  // nesting levels followed before giving up (a cycle would be a bug)
}

uint64_t PcpuResolver::vcpu_key(int64_t vm_key, int64_t vcpu) {
  return (uint64_t(uint32_t(vm_key)) << 32) | uint32_t(vcpu);
}

PcpuResolver::Machine& PcpuResolver::machine(int index) {
  if (static_cast<size_t>(index) >= machines_.size()) machines_.resize(size_t(index) + 1);
  return machines_[static_cast<size_t>(index)];
}

void PcpuResolver::set_machine(int index, int parent, int64_t vm_key) {
  Machine& m = machine(index);
  m.parent = parent;
  m.vm_key = vm_key;
}

void PcpuResolver::add_vcpu(int host, int64_t vm_key, int64_t vcpu_id, int64_t host_tid) {
  Machine& m = machine(host);
  m.vcpu_thread[vcpu_key(vm_key, vcpu_id)] = host_tid;
  m.vcpu_cpu[host_tid] = kUnknown;
  m.threads.push_back(VcpuThread{vm_key, vcpu_id, host_tid});
}

const std::vector<PcpuResolver::VcpuThread>& PcpuResolver::vcpu_threads(int host) const {
  static const std::vector<VcpuThread> none;
  return host >= 0 && static_cast<size_t>(host) < machines_.size() ? machines_[static_cast<size_t>(host)].threads
                                                                    : none;
}

void PcpuResolver::on_sched_switch(int index, int64_t cpu, int64_t prev_tid, int64_t next_tid) {
  if (index < 0 || static_cast<size_t>(index) >= machines_.size()) return;
  Machine& m = machines_[static_cast<size_t>(index)];
  if (m.vcpu_cpu.empty()) return;  // runs no vCPU: nothing to follow
  if (auto it = m.vcpu_cpu.find(prev_tid); it != m.vcpu_cpu.end()) it->second = kUnknown;
  if (auto it = m.vcpu_cpu.find(next_tid); it != m.vcpu_cpu.end()) it->second = cpu;
}

void PcpuResolver::on_vcpu_entry(int index, int64_t cpu, int64_t tid) {
  if (index < 0 || static_cast<size_t>(index) >= machines_.size()) return;
  Machine& m = machines_[static_cast<size_t>(index)];
  if (auto it = m.vcpu_cpu.find(tid); it != m.vcpu_cpu.end()) it->second = cpu;
}

int64_t PcpuResolver::physical_cpu(int index, int64_t cpu) const {
  for (int depth = 0; depth < kMaxDepth && cpu >= 0; ++depth) {
    if (index < 0 || static_cast<size_t>(index) >= machines_.size()) return kUnknown;
    const Machine& m = machines_[static_cast<size_t>(index)];
    if (m.parent < 0) return cpu;
    if (static_cast<size_t>(m.parent) >= machines_.size()) return kUnknown;
    const Machine& host = machines_[static_cast<size_t>(m.parent)];
    const auto thread = host.vcpu_thread.find(vcpu_key(m.vm_key, cpu));
    if (thread == host.vcpu_thread.end()) return kUnknown;
    const auto where = host.vcpu_cpu.find(thread->second);
    cpu = where == host.vcpu_cpu.end() ? kUnknown : where->second;
    index = m.parent;
  }
  return kUnknown;
}

}  // namespace vm
