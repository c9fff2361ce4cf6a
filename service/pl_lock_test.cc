#include "service/pl_lock.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace pynq::service {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class PlLockTest : public ::testing::Test {
 protected:
  std::string Contents(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  testing::TestTempDir temp_;
  const fs::path dir_ = temp_.path();
};

TEST_F(PlLockTest, CreatesTheDirectoryAndWritesThePid) {
  const fs::path path = dir_ / "run/pynq-infer/pl.lock";
  auto lock = PlLock::Acquire({.path = path});
  ASSERT_TRUE(lock.ok()) << lock.status();
  EXPECT_EQ((*lock)->path(), path.string());
  EXPECT_EQ(Contents(path), absl::StrCat(getpid(), "\n"));
}

// flock(2) locks belong to the open file, so a second Acquire() in the same process is refused
// just as another process would be.
TEST_F(PlLockTest, ASecondOwnerIsRefusedWithTheOwnersPidAndName) {
  const fs::path path = dir_ / "pl.lock";
  auto first = PlLock::Acquire({.path = path});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = PlLock::Acquire({.path = path});
  ASSERT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  EXPECT_THAT(second.status().message(),
              HasSubstr(absl::StrCat("owned by pid ", getpid(), " (pl_lock_test)")));
  EXPECT_THAT(second.status().message(), HasSubstr(path.string()));
  // The refused attempt left the owner's pid in place.
  EXPECT_EQ(Contents(path), absl::StrCat(getpid(), "\n"));
}

TEST_F(PlLockTest, ReleaseEmptiesTheFileAndFreesTheLock) {
  const fs::path path = dir_ / "pl.lock";
  auto first = PlLock::Acquire({.path = path});
  ASSERT_TRUE(first.ok()) << first.status();
  first->reset();
  EXPECT_TRUE(fs::exists(path));
  EXPECT_EQ(Contents(path), "");
  auto again = PlLock::Acquire({.path = path});
  EXPECT_TRUE(again.ok()) << again.status();
}

TEST_F(PlLockTest, AnUncreatableDirectoryIsAnErrorNamingThePath) {
  std::ofstream(dir_ / "file") << "not a directory";
  const fs::path path = dir_ / "file/pl.lock";
  auto lock = PlLock::Acquire({.path = path});
  EXPECT_EQ(lock.status().code(), absl::StatusCode::kInternal) << lock.status();
  EXPECT_THAT(lock.status().message(), HasSubstr(path.string()));
}

}  // namespace
}  // namespace pynq::service
