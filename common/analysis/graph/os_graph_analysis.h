// SPDX-License-Identifier: MIT
#pragma once
// The OS execution graph as an analysis of the core: every decoded event of every machine goes to
// an OsGraphBuilder (os_graph_builder.h) that fills one ExecGraph for the run. It writes no table
// and is not registered yet (common/analysis/registry.cpp): the critical-path work decides how
// the graph is stored and what is written.

#include <memory>

#include "analysis/analysis.h"
#include "analysis/graph/exec_graph.h"
#include "analysis/graph/fused_graph.h"
#include "analysis/graph/os_graph_builder.h"

namespace vm::graph {

class OsGraphAnalysis : public Analysis {
 public:
  static const AnalysisInfo info;  // critical_path_tables.cpp: enabled by the run's options
  explicit OsGraphAnalysis(Run& run) : run_(run), builder_(graph_) {}
  // Every machine may host guests: its vCPU tracker (the vCPU analysis, registered before this
  // one) resolves its vCPU threads for the fused layer. A machine whose guests have no trace has
  // no guest thread to refine, so a host-only run gets no cross-layer edge.
  void on_machine(TracedMachine& machine) override;
  void on_event(TracedMachine& machine, const Event& event) override {
    if (fused_) fused_->before_event(machine.id, event);
    builder_.on_event(machine.id, event);
    if (fused_) fused_->after_event(machine.id, event);
  }

  const ExecGraph& graph() const { return graph_; }
  OsGraphBuilder& builder() { return builder_; }

  // The cross-layer layer of a fused run (fused_graph.h), fed around the OS builder once enabled;
  // the caller gives it each host's vCPU resolver (tracker_resolver()). Paths of a fused graph
  // are computed with fused_path_options().
  FusedGraphBuilder& enable_fused() {
    if (!fused_) fused_ = std::make_unique<FusedGraphBuilder>(graph_, builder_);
    return *fused_;
  }
  FusedGraphBuilder* fused() { return fused_.get(); }
  void on_lost_events(TracedMachine& machine, Timestamp begin, Timestamp end, int64_t, int64_t) override {
    if (fused_) fused_->on_lost_events(machine.id, begin != kUnknown ? begin : end);
  }

 private:
  Run& run_;
  ExecGraph graph_;
  OsGraphBuilder builder_;
  std::unique_ptr<FusedGraphBuilder> fused_;
};

}  // namespace vm::graph
