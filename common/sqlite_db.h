#pragma once
// Moved: the SQLite connection is in common/db/sqlite_db.h.
#include "db/sqlite_db.h"
