// Starts the real pynq-inferd binary as a child process for end-to-end tests, on an ephemeral
// loopback port, and stops it the way systemd does (SIGTERM).
//
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<DaemonProcess> daemon,
//                         DaemonProcess::Start({.args = {"--model_dir=" + dir}}));
//   auto channel = grpc::CreateChannel(daemon->address(), grpc::InsecureChannelCredentials());
//   ...
//   absl::StatusOr<int> exit_code = daemon->Stop();  // SIGTERM, then waits
#ifndef PYNQ_TESTS_SUPPORT_DAEMON_PROCESS_H_
#define PYNQ_TESTS_SUPPORT_DAEMON_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/support/temp_dir.h"

namespace pynq::testing {

class DaemonProcess {
 public:
  struct Options {
    // The binary; defaults to $PYNQ_INFERD (set by CTest).
    std::string binary;
    // Flags besides --listen, --port_file, --pl_lock_file and --drain_delay_ms=0, which Start()
    // sets for pynq-inferd (a later --pl_lock_file or --drain_delay_ms in `args` overrides them).
    std::vector<std::string> args;
    // Whether Start() passes --pl_lock_file and --drain_delay_ms, which only pynq-inferd knows:
    // false for another server started the same way (bench/'s pynq-nowork-server).
    bool pl_lock_file = true;
    // How long the daemon may take to publish its port.
    absl::Duration start_timeout = absl::Seconds(60);
    // If set, the daemon's stdout and stderr (its log) go to this file instead of the test's.
    std::string log_path;
    // If set, the daemon serves only these shipped models: Start() links models/zoo/<name>.pim
    // into a model directory of its own and passes --model_dir (so `args` must not). For tests
    // that read the metrics of, or count the engine calls of, one model.
    std::vector<std::string> only_models;
  };

  // Starts the daemon and waits until it serves. kDeadlineExceeded if it does not publish its
  // port in time, kUnavailable (with its exit status) if it exits first.
  static absl::StatusOr<std::unique_ptr<DaemonProcess>> Start(const Options& options);

  // Kills the daemon (SIGKILL) if it still runs.
  ~DaemonProcess();

  // "127.0.0.1:<port>".
  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }

  // Sends SIGTERM and waits up to `timeout` for the exit. Returns the exit code; kInternal if the
  // daemon died of a signal, kDeadlineExceeded (after SIGKILL) if it did not exit in time.
  absl::StatusOr<int> Stop(absl::Duration timeout = absl::Seconds(60));

 private:
  explicit DaemonProcess(TestTempDir work_dir) : work_dir_(std::move(work_dir)) {}
  absl::StatusOr<int> Wait(absl::Duration timeout);

  pid_t pid_ = -1;
  std::string address_;
  // The port file, the PL lock and the model directory; removed after the daemon is killed.
  TestTempDir work_dir_;
};

}  // namespace pynq::testing

#endif  // PYNQ_TESTS_SUPPORT_DAEMON_PROCESS_H_
