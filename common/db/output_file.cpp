// SPDX-License-Identifier: MIT
#include "db/output_file.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace vm::db {

namespace {

// The registry the signal handler reads: fixed storage, a slot is published by its flag.
constexpr int kSlots = 16;
char g_paths[kSlots][PATH_MAX];
std::atomic<bool> g_used[kSlots];
volatile sig_atomic_t g_interrupted = 0;
std::mutex g_mutex;  // slot allocation and handler installation (never taken by the handler)

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
constexpr int kSignalCount = sizeof kSignals / sizeof kSignals[0];
struct sigaction g_previous[kSignalCount];

// Async-signal-safe only: unlink, sigaction, raise and the previous handler.
void on_signal(int signo, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  bool any = false;
  for (int i = 0; i < kSlots; ++i)
    if (g_used[i].load(std::memory_order_acquire)) {
      ::unlink(g_paths[i]);
      any = true;
    }
  if (any) g_interrupted = 1;
  for (int i = 0; i < kSignalCount; ++i) {
    if (kSignals[i] != signo) continue;
    const struct sigaction& previous = g_previous[i];
    if (previous.sa_flags & SA_SIGINFO) {
      if (previous.sa_sigaction) previous.sa_sigaction(signo, info, context);
    } else if (previous.sa_handler == SIG_DFL) {
      // Delivered again once this handler returns, with the default action (the signal is
      // blocked while its handler runs).
      ::sigaction(signo, &previous, nullptr);
      ::raise(signo);
    } else if (previous.sa_handler != SIG_IGN) {
      previous.sa_handler(signo);
    }
  }
  errno = saved_errno;
}

// Installed when a temporary file is created and left in place afterwards (it only hands the
// signal on when no file is registered). A disposition set since (a handler installed after
// ours) becomes the one handed on to; a signal that is ignored stays ignored.
void install_handlers() {
  for (int i = 0; i < kSignalCount; ++i) {
    struct sigaction current {};
    if (::sigaction(kSignals[i], nullptr, &current) != 0) continue;
    if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == on_signal) continue;
    if (!(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_IGN) continue;
    struct sigaction action {};
    action.sa_sigaction = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    // Blocked while the previous disposition is replaced, so that the handler never reads it half written.
    sigset_t block, saved;
    sigemptyset(&block);
    sigaddset(&block, kSignals[i]);
    ::pthread_sigmask(SIG_BLOCK, &block, &saved);
    g_previous[i] = current;
    ::sigaction(kSignals[i], &action, nullptr);
    ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  }
}

std::string quoted(const std::string& path) {
  return "`" + path + "`";
}

mode_t file_mode() {  // what fopen() would give: 0666 less the umask
  static const mode_t mask = [] {
    const mode_t value = ::umask(0);
    ::umask(value);
    return value;
  }();
  return 0666 & ~mask;
}

}  // namespace

std::string directory_of(const std::string& path) {
  const std::string::size_type slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void check_output_path(const std::string& path) {
  const std::string fix_file = "Give the path of a database file, e.g. -p 'path=\"out.db\"'";
  if (path.empty()) throw std::runtime_error("the output path is empty. " + fix_file);
  struct stat status {};
  if (path.back() == '/' || (::stat(path.c_str(), &status) == 0 && S_ISDIR(status.st_mode))) {
    std::string folder = path;
    while (folder.size() > 1 && folder.back() == '/') folder.pop_back();
    throw std::runtime_error("the output path " + quoted(path) + " is a folder. Give a file name in it, e.g. -p 'path=\"" +
                             (folder == "/" ? "" : folder) + "/out.db\"'");
  }
  if (::stat(path.c_str(), &status) == 0 && !S_ISREG(status.st_mode))
    throw std::runtime_error("the output path " + quoted(path) +
                             " exists and is not a regular file, so it cannot be replaced by the database. " + fix_file);
  const std::string directory = directory_of(path);
  if (::stat(directory.c_str(), &status) != 0) {
    const std::string reason = std::strerror(errno);
    throw std::runtime_error("the folder " + quoted(directory) + " of the output path " + quoted(path) +
                             " cannot be used (" + reason + "). Create it first (mkdir -p '" + directory +
                             "') or give a path in an existing folder");
  }
  if (!S_ISDIR(status.st_mode))
    throw std::runtime_error(quoted(directory) + " in the output path " + quoted(path) + " is not a folder. " + fix_file);
  if (::access(directory.c_str(), W_OK | X_OK) != 0) {
    const std::string reason = std::strerror(errno);
    throw std::runtime_error("the folder " + quoted(directory) + " of the output path " + quoted(path) +
                             " is not writable (" + reason + "). Give a path in a folder you can write to");
  }
  const std::string name = path.substr(path.find_last_of('/') + 1);
  const long name_max = ::pathconf(directory.c_str(), _PC_NAME_MAX);
  if (name_max > 0 && static_cast<long>(name.size()) > name_max)
    throw std::runtime_error("the file name of the output path " + quoted(path) + " has " +
                             std::to_string(name.size()) + " bytes, more than the " + std::to_string(name_max) +
                             " that its folder allows. Give a shorter name");
}

std::string create_temporary_beside(const std::string& path) {
  std::string temporary = directory_of(path) + "/.vm-XXXXXX";
  if (temporary.size() >= PATH_MAX)
    throw std::runtime_error("cannot write the output database " + quoted(path) + ": its path is too long");
  std::lock_guard<std::mutex> lock(g_mutex);
  int slot = 0;
  while (slot < kSlots && g_used[slot].load(std::memory_order_relaxed)) ++slot;
  if (slot == kSlots)
    throw std::runtime_error("cannot write the output database " + quoted(path) + ": too many databases open at once");
  install_handlers();
  const int fd = ::mkstemp(temporary.data());
  if (fd < 0) {
    const std::string reason = std::strerror(errno);
    throw std::runtime_error("cannot write the output database " + quoted(path) + ": cannot create a file in " +
                             quoted(directory_of(path)) + " (" + reason + ")");
  }
  std::memcpy(g_paths[slot], temporary.c_str(), temporary.size() + 1);
  g_used[slot].store(true, std::memory_order_release);
  ::fchmod(fd, file_mode());
  ::close(fd);
  return temporary;
}

namespace {

void release(const std::string& temporary, bool remove) {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (int i = 0; i < kSlots; ++i)
    if (g_used[i].load(std::memory_order_relaxed) && temporary == g_paths[i]) {
      if (remove) ::unlink(g_paths[i]);
      g_used[i].store(false, std::memory_order_release);
      return;
    }
  if (remove) ::unlink(temporary.c_str());
}

}  // namespace

void remove_temporary(const std::string& temporary) {
  release(temporary, true);
}

void forget_temporary(const std::string& temporary) {
  release(temporary, false);
}

bool interrupted() {
  return g_interrupted != 0;
}

}  // namespace vm::db
