// SPDX-License-Identifier: MIT
#pragma once
// The output file of a run: the path checked up front, the temporary file beside it, and its
// removal when the process is interrupted.
//
// The database is built in a temporary file `.vm-XXXXXX` (mkstemp) in the directory of the
// output path, and renamed onto the path only when complete: the rename stays atomic (same
// directory, same file system), and the short name fits whatever the length of the final name.
// SIGINT, SIGTERM, SIGHUP and SIGQUIT unlink the registered temporary files (unlink only, which
// is async-signal-safe), then hand the signal on to the disposition that was in place before:
// a handler (babeltrace2's CLI cancels its graph on SIGINT) is called, the default action is
// restored and the signal raised again.

#include <string>

namespace vm::db {

// Throws std::runtime_error naming `path`, what is wrong with it and the fix, when a database
// cannot be written there: an empty path, a folder, a path in a missing or unwritable directory.
void check_output_path(const std::string& path);

// The directory of `path` ("." for a bare file name).
std::string directory_of(const std::string& path);

// A new empty temporary file in the directory of `path`, registered for removal on an
// interrupting signal. Throws std::runtime_error naming the path and the reason on failure.
std::string create_temporary_beside(const std::string& path);

// Removes `temporary` (if it still exists) and forgets it.
void remove_temporary(const std::string& temporary);

// Forgets `temporary` after it was renamed onto the output path.
void forget_temporary(const std::string& temporary);

// True once an interrupting signal arrived while a temporary file was registered.
bool interrupted();

}  // namespace vm::db
