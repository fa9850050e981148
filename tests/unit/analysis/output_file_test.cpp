// SPDX-License-Identifier: MIT
// The output file (common/db/output_file.h, common/db/database.h): bad paths refused up front with
// the path named, a short temporary name beside the output, and interrupting signals that leave
// nothing behind and a database already at the path untouched.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "db/database.h"
#include "db/output_file.h"

namespace vm::db {
namespace {

// A fresh folder per test, removed at the end.
struct Folder {
  std::string path;
  Folder() {
    std::string pattern = std::string(::testing::TempDir()) + "/vm-output-XXXXXX";
    path = ::mkdtemp(pattern.data());
  }
  ~Folder() { std::system(("rm -rf '" + path + "'").c_str()); }
  // The names in the folder, sorted, space-separated.
  std::string listing() const {
    std::string names;
    FILE* pipe = ::popen(("ls -A '" + path + "'").c_str(), "r");
    char line[512];
    while (std::fgets(line, sizeof line, pipe)) names += (names.empty() ? "" : " ") + std::string(line, std::strlen(line) - 1);
    ::pclose(pipe);
    return names;
  }
};

std::string refusal(const std::string& path) {
  try {
    check_output_path(path);
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  return {};
}

std::string contents(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(OutputFile, BadPathsAreRefusedWithThePathAndTheFix) {
  Folder folder;
  EXPECT_NE(refusal("").find("the output path is empty"), std::string::npos);
  EXPECT_NE(refusal("/").find("`/` is a folder"), std::string::npos) << refusal("/");
  EXPECT_NE(refusal("/").find("path=\"/out.db\""), std::string::npos) << refusal("/");
  const std::string as_folder = refusal(folder.path);
  EXPECT_NE(as_folder.find("`" + folder.path + "` is a folder"), std::string::npos) << as_folder;
  EXPECT_NE(as_folder.find(folder.path + "/out.db"), std::string::npos) << as_folder;
  EXPECT_NE(refusal(folder.path + "/").find("is a folder"), std::string::npos);
  const std::string missing = refusal(folder.path + "/missing/sub/out.db");
  EXPECT_NE(missing.find("`" + folder.path + "/missing/sub`"), std::string::npos) << missing;
  EXPECT_NE(missing.find("No such file or directory"), std::string::npos) << missing;
  EXPECT_NE(missing.find("mkdir -p"), std::string::npos) << missing;
  if (::geteuid() != 0) {  // root writes anywhere
    ::chmod(folder.path.c_str(), 0500);
    const std::string unwritable = refusal(folder.path + "/out.db");
    ::chmod(folder.path.c_str(), 0700);
    EXPECT_NE(unwritable.find("is not writable"), std::string::npos) << unwritable;
  }
  EXPECT_NE(refusal("/dev/null").find("not a regular file"), std::string::npos);
  EXPECT_NE(refusal(folder.path + "/" + std::string(256, 'n')).find("256 bytes"), std::string::npos);
  EXPECT_EQ(refusal(folder.path + "/" + std::string(255, 'n')), "");
  EXPECT_EQ(folder.listing(), "");  // checking creates nothing
}

TEST(OutputFile, TemporaryIsShortAndBesideTheOutput) {
  Folder folder;
  const std::string path = folder.path + "/" + std::string(252, 'n') + ".db";  // 255 bytes
  {
    Database database(path, std::vector<SchemaObjects>{});
    const std::string& temporary = database.temporary_path();
    EXPECT_EQ(directory_of(temporary), folder.path);
    EXPECT_EQ(temporary.size(), folder.path.size() + 1 + 10) << temporary;  // `.vm-XXXXXX`
    database.commit();
    database.close_and_rename();
  }
  EXPECT_EQ(folder.listing(), std::string(252, 'n') + ".db");
}

TEST(OutputFile, DirectoryOf) {
  EXPECT_EQ(directory_of("out.db"), ".");
  EXPECT_EQ(directory_of("/out.db"), "/");
  EXPECT_EQ(directory_of("a/b/out.db"), "a/b");
}

// In a child process: open a database over `existing`, then receive `signo`. Returns the child's
// wait status.
int interrupted_child(const std::string& path, int signo, void (*previous)(int)) {
  const pid_t child = ::fork();
  if (child == 0) {
    if (previous) ::signal(signo, previous);
    Database database(path, std::vector<SchemaObjects>{});
    database.connection().exec("CREATE TABLE filler(x); INSERT INTO filler VALUES(1)");
    ::raise(signo);
    // A handler that does not end the process (babeltrace2's CLI cancels its graph on SIGINT):
    // the run goes on to its end, which must not put anything at the path.
    try {
      database.commit();
      database.close_and_rename();
    } catch (const std::exception&) {
      ::_exit(3);
    }
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return status;
}

void count_signal(int) {
  static const char text[] = "previous handler called\n";
  (void)!::write(2, text, sizeof text - 1);
  ::_exit(7);  // a visible trace that the previous handler ran
}

void ignore_signal(int) {}

TEST(OutputFile, SigtermRemovesTheTemporaryAndKeepsAnExistingDatabase) {
  for (bool existing : {false, true}) {
    Folder folder;
    const std::string path = folder.path + "/out.db";
    if (existing) std::ofstream(path) << "the previous database";
    const int status = interrupted_child(path, SIGTERM, nullptr);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
    EXPECT_EQ(folder.listing(), existing ? "out.db" : "");
    if (existing) {
      EXPECT_EQ(contents(path), "the previous database");
    }
  }
}

TEST(OutputFile, SigintIsHandedOnToThePreviousHandler) {
  Folder folder;
  const std::string path = folder.path + "/out.db";
  std::ofstream(path) << "the previous database";
  const int status = interrupted_child(path, SIGINT, count_signal);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 7) << status;
  EXPECT_EQ(folder.listing(), "out.db");
  EXPECT_EQ(contents(path), "the previous database");
}

TEST(OutputFile, AHandlerThatLetsTheRunGoOnLeavesNothing) {
  Folder folder;
  const std::string path = folder.path + "/out.db";
  std::ofstream(path) << "the previous database";
  const int status = interrupted_child(path, SIGINT, ignore_signal);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << status;  // refused at the rename
  EXPECT_EQ(folder.listing(), "out.db");
  EXPECT_EQ(contents(path), "the previous database");
}

}  // namespace
}  // namespace vm::db
