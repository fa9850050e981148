// SPDX-License-Identifier: MIT
#pragma once
// A filter that stands for a live input (source.ctf.lttng-live) in graph tests: one input port
// `in`, one output port `out`; its message iterator cannot seek, says AGAIN on every second call
// (nothing available yet) and gives at most 5 messages at a time, passing on what its upstream
// gives, unchanged and in order.

#include <babeltrace2/babeltrace.h>

namespace vm::test {

// The component class (made once, for the life of the test process).
const bt_component_class_filter* relay_filter_class();

}  // namespace vm::test
