// sd_notify for real: the test plays systemd (NOTIFY_SOCKET and WATCHDOG_USEC pointing at a
// socket it listens on), starts the real pynq-inferd, and checks READY=1, STATUS= and
// WATCHDOG=1 arrive, that the pings stop while the dispatch thread is stuck, and resume when it
// runs again.
//
// How the dispatcher is made stuck: the test freezes the daemon's dispatch threads (named
// "pynq-dispatch") with ptrace(PTRACE_SEIZE + PTRACE_INTERRUPT), which stops those threads only,
// the way a thread stuck in a driver call stops, while the gRPC threads and the notifier keep
// running. Nothing in the daemon knows about the test. A request queued meanwhile is never
// picked up, so the daemon must notice its dispatch path is not alive and withhold WATCHDOG=1.
// PTRACE_DETACH lets the threads run again. (The test is the daemon's parent, which ptrace
// permits, also under Yama's ptrace_scope=1.)
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pynq_infer/v1/inference.grpc.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/notify_listener.h"

namespace pynq {
namespace {

namespace v1 = ::pynq_infer::v1;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

constexpr absl::Duration kWait = absl::Seconds(30);

// The ids of the daemon's threads named `name`.
std::vector<pid_t> ThreadsNamed(pid_t pid, const std::string& name) {
  std::vector<pid_t> tids;
  for (const auto& task : std::filesystem::directory_iterator(absl::StrCat("/proc/", pid, "/task"))) {
    std::ifstream comm(task.path() / "comm");
    std::string line;
    pid_t tid = 0;
    if (std::getline(comm, line) && line == name &&
        absl::SimpleAtoi(task.path().filename().string(), &tid)) {
      tids.push_back(tid);
    }
  }
  return tids;
}

// Stops one thread of another process, leaving its other threads running.
::testing::AssertionResult Freeze(pid_t tid) {
  if (ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0 ||
      ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0) {
    return ::testing::AssertionFailure() << "ptrace thread " << tid << ": " << std::strerror(errno);
  }
  int status = 0;
  if (waitpid(tid, &status, __WALL) != tid || !WIFSTOPPED(status)) {
    return ::testing::AssertionFailure() << "thread " << tid << " did not stop";
  }
  return ::testing::AssertionSuccess();
}

double ImagesPerSecond(const std::string& status_line) {
  // "STATUS=serving mnist-bnn-tfc (cpu) at 812.3 images/s"
  absl::string_view rest = status_line;
  const size_t at = rest.rfind(" at ");
  double rate = -1;
  if (at != absl::string_view::npos) {
    rest.remove_prefix(at + 4);
    absl::ConsumeSuffix(&rest, " images/s");
    if (!absl::SimpleAtod(rest, &rate)) rate = -1;
  }
  return rate;
}

TEST(SystemdNotifyTest, ReadyStatusAndWatchdogOnlyWhileTheDispatcherRuns) {
  auto listener = testing::NotifyListener::Create();
  ASSERT_TRUE(listener.ok()) << listener.status();
  testing::NotifyListener& systemd = **listener;
  // As systemd sets them for Type=notify and WatchdogSec=0.4 (the child inherits them).
  setenv("NOTIFY_SOCKET", systemd.path().c_str(), 1);
  setenv("WATCHDOG_USEC", "400000", 1);
  // One model, so the STATUS= line names it alone.
  auto daemon = testing::DaemonProcess::Start(
      {.args = {"--dispatch_stall_ms=300", "--status_interval_ms=200"},
       .only_models = {"mnist-bnn-tfc"}});
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  ASSERT_TRUE(daemon.ok()) << daemon.status();

  auto ready = systemd.AwaitLine("READY=1", kWait);
  ASSERT_TRUE(ready.ok()) << ready.status();
  auto status = systemd.AwaitLine("STATUS=", kWait);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_THAT(*status, StartsWith("STATUS=serving mnist-bnn-tfc (cpu) at "));
  // Pings every 200 ms: several in a second.
  EXPECT_THAT(systemd.CollectLines("WATCHDOG=1", absl::Seconds(1)), SizeIs(::testing::Ge(3)));

  // Traffic shows in the next STATUS= line's images/s.
  auto stub = v1::Inference::NewStub(
      grpc::CreateChannel((*daemon)->address(), grpc::InsecureChannelCredentials()));
  v1::ClassifyRequest request;
  request.set_model("mnist-bnn-tfc");
  request.add_images(std::string(28 * 28, '\x80'));
  for (int i = 0; i < 20; ++i) {
    grpc::ClientContext context;
    v1::ClassifyResponse response;
    ASSERT_TRUE(stub->Classify(&context, request, &response).ok());
  }
  // Lines computed before the traffic may still be queued on the socket; a later one counts it.
  absl::StatusOr<std::string> busy;
  for (int line = 0; line < 20; ++line) {
    busy = systemd.AwaitLine("STATUS=serving", kWait);
    ASSERT_TRUE(busy.ok()) << busy.status();
    if (ImagesPerSecond(*busy) > 0) break;
  }
  EXPECT_GT(ImagesPerSecond(*busy), 0) << *busy;

  // Freeze the dispatch threads (one per model, or more if a batcher runs several), then queue
  // a request none of them will pick up.
  const std::vector<pid_t> dispatchers = ThreadsNamed((*daemon)->pid(), "pynq-dispatch");
  ASSERT_THAT(dispatchers, Not(IsEmpty()));
  for (pid_t tid : dispatchers) ASSERT_TRUE(Freeze(tid));
  grpc::Status stuck_call_status;
  std::thread stuck_call([&] {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::ClassifyResponse response;
    stuck_call_status = stub->Classify(&context, request, &response);
  });
  auto stuck = systemd.AwaitLine("STATUS=stuck", kWait);
  EXPECT_TRUE(stuck.ok()) << stuck.status();
  EXPECT_THAT(stuck.value_or(""), StartsWith("STATUS=stuck: model mnist-bnn-tfc: the cpu "
                                             "dispatch thread is"));
  // Five ping periods, not one ping.
  EXPECT_THAT(systemd.CollectLines("WATCHDOG=1", absl::Seconds(1)), IsEmpty());

  // Thawed, the threads answer the queued request and the pings resume.
  for (pid_t tid : dispatchers) {
    EXPECT_EQ(ptrace(PTRACE_DETACH, tid, nullptr, nullptr), 0) << std::strerror(errno);
  }
  stuck_call.join();
  EXPECT_TRUE(stuck_call_status.ok()) << stuck_call_status.error_message();
  auto resumed = systemd.AwaitLine("WATCHDOG=1", kWait);
  EXPECT_TRUE(resumed.ok()) << resumed.status();

  EXPECT_EQ((*daemon)->Stop().value_or(-1), 0);
  auto stopping = systemd.AwaitLine("STOPPING=1", kWait);
  EXPECT_TRUE(stopping.ok()) << stopping.status();
}

}  // namespace
}  // namespace pynq
