#include "service/systemd_notifier.h"

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/notify_listener.h"

namespace pynq::service {
namespace {

using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using testing::NotifyListener;

constexpr absl::Duration kWait = absl::Seconds(10);

// Plays systemd: a listening NOTIFY_SOCKET and a 200 ms watchdog (pings every 100 ms).
class SystemdNotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto listener = NotifyListener::Create();
    ASSERT_TRUE(listener.ok()) << listener.status();
    systemd_ = std::move(*listener);
    setenv("NOTIFY_SOCKET", systemd_->path().c_str(), 1);
    setenv("WATCHDOG_USEC", "200000", 1);
    unsetenv("WATCHDOG_PID");
  }
  void TearDown() override {
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
  }

  std::unique_ptr<SystemdNotifier> MakeNotifier() {
    auto notifier = SystemdNotifier::Create(
        {.check_alive = [this]() -> absl::Status {
           if (alive_) return absl::OkStatus();
           return absl::UnavailableError("test dispatcher frozen");
         },
         .status = [] { return std::string("serving test-model (cpu) at 1.0 images/s"); },
         .status_interval = absl::Milliseconds(50)});
    EXPECT_TRUE(notifier.ok()) << notifier.status();
    return std::move(*notifier);
  }

  std::unique_ptr<NotifyListener> systemd_;
  std::atomic<bool> alive_{true};
};

TEST_F(SystemdNotifierTest, ReadsTheWatchdogTimeout) {
  auto notifier = MakeNotifier();
  EXPECT_TRUE(notifier->enabled());
  EXPECT_EQ(notifier->watchdog_timeout(), absl::Milliseconds(200));
}

TEST_F(SystemdNotifierTest, AWatchdogMeantForAnotherProcessIsIgnored) {
  setenv("WATCHDOG_PID", absl::StrCat(getpid() + 1).c_str(), 1);
  EXPECT_EQ(MakeNotifier()->watchdog_timeout(), absl::ZeroDuration());
}

TEST_F(SystemdNotifierTest, NothingIsSentOutsideSystemd) {
  unsetenv("NOTIFY_SOCKET");
  auto notifier = MakeNotifier();
  EXPECT_FALSE(notifier->enabled());
  EXPECT_TRUE(notifier->NotifyReady().ok());
  EXPECT_EQ(systemd_->Receive(absl::Milliseconds(300)), std::nullopt);
}

TEST_F(SystemdNotifierTest, ReadyThenStatusAndPingsOnlyWhileAlive) {
  auto notifier = MakeNotifier();
  ASSERT_TRUE(notifier->NotifyReady().ok());
  EXPECT_EQ(systemd_->Receive(kWait),
            "READY=1\nSTATUS=serving test-model (cpu) at 1.0 images/s");
  EXPECT_TRUE(systemd_->AwaitLine("WATCHDOG=1", kWait).ok());
  EXPECT_TRUE(systemd_->AwaitLine("STATUS=serving", kWait).ok());

  alive_ = false;
  auto stuck = systemd_->AwaitLine("STATUS=stuck", kWait);
  ASSERT_TRUE(stuck.ok()) << stuck.status();
  EXPECT_EQ(*stuck, "STATUS=stuck: test dispatcher frozen");
  // Five ping periods without a ping; and the stuck line is not overwritten.
  EXPECT_THAT(systemd_->CollectLines("WATCHDOG=", absl::Milliseconds(500)), IsEmpty());
  EXPECT_THAT(systemd_->CollectLines("STATUS=", absl::Milliseconds(200)),
              Each(Not(HasSubstr("serving"))));

  alive_ = true;
  EXPECT_TRUE(systemd_->AwaitLine("WATCHDOG=1", kWait).ok());
  notifier->NotifyStopping("draining");
  auto stopping = systemd_->AwaitLine("STOPPING=1", kWait);
  EXPECT_TRUE(stopping.ok()) << stopping.status();
  EXPECT_THAT(systemd_->CollectLines("WATCHDOG=", absl::Milliseconds(300)), IsEmpty());
}

TEST_F(SystemdNotifierTest, ReadyTwiceIsAnError) {
  auto notifier = MakeNotifier();
  ASSERT_TRUE(notifier->NotifyReady().ok());
  EXPECT_EQ(notifier->NotifyReady().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SystemdNotifierOptionsTest, MissingCallbacksAreInvalid) {
  EXPECT_EQ(SystemdNotifier::Create({}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pynq::service
