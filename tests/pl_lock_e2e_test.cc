// Overlay ownership across processes: a second real pynq-inferd on the same PL lock file exits
// at once, naming the owner's pid; the lock is free again once the owner is gone, however it
// went.
#include <stdio.h>
#include <sys/wait.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_process.h"
#include "tests/support/source_dir.h"
#include "tests/support/temp_dir.h"

namespace pynq {
namespace {

using ::testing::HasSubstr;

struct Exited {
  int code = -1;
  std::string output;  // stdout and stderr
};

// Runs the daemon binary in the foreground until it exits on its own.
Exited RunToExit(const std::string& args) {
  const std::string command = absl::StrCat(std::getenv("PYNQ_INFERD"), " ", args, " 2>&1");
  Exited result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) result.output.append(buffer, n);
  const int status = pclose(pipe);
  if (WIFEXITED(status)) result.code = WEXITSTATUS(status);
  return result;
}

class PlLockE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lock_flag_ = "--pl_lock_file=" + dir_ + "/pl.lock";
    model_flag_ = "--model_dir=" + testing::SourceDir() + "/models/zoo";
  }

  std::unique_ptr<testing::DaemonProcess> StartOwner() {
    auto daemon = testing::DaemonProcess::Start({.args = {model_flag_, lock_flag_}});
    EXPECT_TRUE(daemon.ok()) << daemon.status();
    return daemon.ok() ? std::move(*daemon) : nullptr;
  }

  testing::TestTempDir temp_;
  const std::string dir_ = temp_.path();
  std::string lock_flag_;
  std::string model_flag_;
};

TEST_F(PlLockE2eTest, ASecondDaemonExitsAtOnceNamingTheOwner) {
  std::unique_ptr<testing::DaemonProcess> owner = StartOwner();
  ASSERT_NE(owner, nullptr);
  const absl::Time start = absl::Now();
  const Exited second = RunToExit(absl::StrCat(model_flag_, " ", lock_flag_,
                                               " --listen=127.0.0.1:0"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(second.code, 1) << second.output;
  EXPECT_THAT(second.output,
              HasSubstr(absl::StrCat("already owned by pid ", owner->pid(), " (pynq-inferd)")));
  EXPECT_THAT(second.output, HasSubstr(dir_ + "/pl.lock"));
  // The refused daemon did not get as far as loading models or serving.
  EXPECT_THAT(second.output, ::testing::Not(HasSubstr("serving on")));
  EXPECT_EQ(owner->Stop().value_or(-1), 0);
}

TEST_F(PlLockE2eTest, TheLockIsFreeOnceTheOwnerStopsOrIsKilled) {
  std::unique_ptr<testing::DaemonProcess> owner = StartOwner();
  ASSERT_NE(owner, nullptr);
  EXPECT_EQ(owner->Stop().value_or(-1), 0);
  owner = StartOwner();  // after a clean stop
  ASSERT_NE(owner, nullptr);
  owner.reset();  // SIGKILL: the kernel drops the lock with the process
  owner = StartOwner();
  ASSERT_NE(owner, nullptr);
  EXPECT_EQ(owner->Stop().value_or(-1), 0);
}

}  // namespace
}  // namespace pynq
