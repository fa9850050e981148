#pragma once
// Moved: the event layouts are in common/events/layout.h.
#include "events/layout.h"
