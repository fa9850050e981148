// SPDX-License-Identifier: MIT
// The scenario model's event loop: actions in time order, events handed out once final.

#include <stdexcept>

#include "sim/model_impl.h"

namespace vm {

ScenarioModel::Impl::Impl(const ScenarioConfig& c) : config(c), rng(c.seed) {
  const std::string problem = validate(c);
  if (!problem.empty()) throw std::invalid_argument(problem);
  if (!c.exit_mix.empty()) {
    parse_exit_mix(c.exit_mix, exit_mix);
    double sum = 0;
    for (auto& entry : exit_mix) entry.second = sum += entry.second;
  }
  build();
}

void ScenarioModel::Impl::push_action(int64_t time, ActionKind kind, int target, uint64_t generation) {
  actions.push(Action{time, action_seq++, kind, target, generation});
}

void ScenarioModel::Impl::process(const Action& a) {
  now = a.time;
  switch (a.kind) {
    case ActionKind::local: {
      Cpu& cpu = cpus[static_cast<size_t>(a.target)];
      if (a.generation != cpu.generation || !cpu.running) return;
      on_local(cpu, std::max(a.time, cpu.busy_until));
      break;
    }
    case ActionKind::wake: {
      Thread& t = th(a.target);
      if (t.state != State::sleeping || static_cast<uint64_t>(t.wake_at) != a.generation) return;
      raise_timer(cpu_of(t), a.time);
      break;
    }
    case ActionKind::device_irq: {
      const int d = static_cast<int>(a.generation);
      raise_device(a.target, a.time, d);
      push_action(a.time + exponential(1e9 / (d == 0 ? config.disk_irq_rate : config.net_irq_rate)),
                  ActionKind::device_irq, a.target, a.generation);
      break;
    }
    case ActionKind::host_disk: host_disk_done(a.target, a.time); break;
    case ActionKind::host_irq: {
      Cpu& cpu = cpus[static_cast<size_t>(a.target)];
      on_host_irq(cpu, a.time);
      push_action(a.time + exponential(1e9 / config.host_irq_rate), ActionKind::host_irq, a.target, 0);
      break;
    }
  }
}

void ScenarioModel::Impl::release(ScenarioListener& out, int64_t before) {
  while (!pending.empty() && pending.top().event.host_ts < before) {
    out.on_event(pending.top().event);
    pending.pop();
  }
}

void ScenarioModel::Impl::finish(ScenarioListener& out) {
  finished = true;
  if (end == kNever) end = now + 1;
  for (Thread& t : threads)
    if (t.kind == Kind::vcpu && t.truth_open && end > t.truth.ts) {
      TruthVcpuInterval closed = t.truth;
      closed.dur = end - t.truth.ts;
      out.on_vcpu_interval(closed);
      if (config.requests) life.vcpu_state(id_of(t), closed.ts, end, closed.state, closed.exit_reason);
      t.truth_open = false;
    }
  for (Cpu& c : cpus)
    if (c.truth_open && end > c.truth.ts) {
      TruthCpuInterval closed = c.truth;
      closed.dur = end - c.truth.ts;
      out.on_cpu_interval(closed);
      c.truth_open = false;
    }
  release(out, end);
  while (!pending.empty()) pending.pop();  // recorded after the end: not in the trace
}

bool ScenarioModel::Impl::step(ScenarioListener& out) {
  if (finished) return false;
  listener = &out;
  for (int batch = 0; batch < 64; ++batch) {
    if (actions.empty() || actions.top().time >= end) {
      finish(out);
      break;
    }
    const Action a = actions.top();
    actions.pop();
    process(a);
    // Enough events: run 1 ms more, so that nothing recorded so far lies past the end.
    if (config.events > 0 && emitted >= config.events && end == kNever) end = now + 1'000'000;
    release(out, now);
  }
  listener = nullptr;
  return true;
}

ScenarioModel::ScenarioModel(const ScenarioConfig& config) : impl_(std::make_unique<Impl>(config)) {}
ScenarioModel::~ScenarioModel() = default;
const std::vector<ScenarioMachineInfo>& ScenarioModel::machines() const { return impl_->infos; }
bool ScenarioModel::step(ScenarioListener& listener) { return impl_->step(listener); }
int64_t ScenarioModel::end_ns() const { return impl_->end; }
const std::vector<ScenarioThreadNamespaces>& ScenarioModel::thread_namespaces() const { return impl_->namespaces; }
uint64_t ScenarioModel::event_count() const { return impl_->emitted; }
std::vector<sim::TruthPath> ScenarioModel::critical_paths() const {
  if (!impl_->config.requests || !impl_->finished) return {};
  std::vector<int> chosen;
  for (const Impl::Machine& m : impl_->machines)
    if (m.request >= 0) chosen.push_back(m.request);
  return impl_->life.paths(chosen, impl_->end);
}

}  // namespace vm
