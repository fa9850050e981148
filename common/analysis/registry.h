// SPDX-License-Identifier: MIT
#pragma once
// The registered analyses, in the order events reach them.

#include <vector>

#include "analysis/analysis.h"

namespace vm {

const std::vector<const AnalysisInfo*>& registered_analyses();

}  // namespace vm
