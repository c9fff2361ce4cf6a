#include "tests/support/daemon_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_data.h"

namespace pynq::testing {

namespace {

std::string EnvOrEmpty(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited with code ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("died of signal ", WTERMSIG(status));
  return absl::StrCat("wait status ", status);
}

}  // namespace

absl::StatusOr<std::unique_ptr<DaemonProcess>> DaemonProcess::Start(const Options& options) {
  const std::string binary = options.binary.empty() ? EnvOrEmpty("PYNQ_INFERD") : options.binary;
  if (binary.empty()) return absl::FailedPreconditionError("PYNQ_INFERD is not set");
  absl::StatusOr<TestTempDir> work_dir = TestTempDir::Create({.prefix = "pynq-inferd-test-"});
  if (!work_dir.ok()) return work_dir.status();
  std::unique_ptr<DaemonProcess> daemon(new DaemonProcess(*std::move(work_dir)));
  const std::string& work = daemon->work_dir_.path();
  const std::string port_file = work + "/port";

  // Each daemon gets its own PL lock, so tests never contend with each other or with a daemon
  // running on the machine; a test that wants two daemons to contend passes --pl_lock_file.
  std::vector<std::string> args = {binary, "--listen=127.0.0.1:0", "--port_file=" + port_file};
  if (options.pl_lock_file) args.push_back("--pl_lock_file=" + work + "/pl.lock");
  // No balancer watches a test's daemon: Stop() need not wait out the drain delay.
  if (options.pl_lock_file) args.push_back("--drain_delay_ms=0");
  if (!options.only_models.empty()) {
    const std::string model_dir = work + "/models";
    std::error_code error;
    std::filesystem::create_directory(model_dir, error);
    for (const std::string& name : options.only_models) {
      const std::string file = name + ".pim";
      std::filesystem::create_symlink(ShippedModelPath(name), model_dir + "/" + file, error);
      if (error) {
        return absl::InternalError(
            absl::StrCat("cannot link model ", file, " into ", model_dir, ": ", error.message()));
      }
    }
    args.push_back("--model_dir=" + model_dir);
  }
  args.insert(args.end(), options.args.begin(), options.args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  daemon->pid_ = fork();
  if (daemon->pid_ < 0) return absl::InternalError("fork failed");
  if (daemon->pid_ == 0) {
    if (!options.log_path.empty()) {
      const int log = open(options.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (log < 0) _exit(126);
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
      close(log);
    }
    execv(binary.c_str(), argv.data());
    _exit(127);
  }

  const absl::Time give_up = absl::Now() + options.start_timeout;
  while (absl::Now() < give_up) {
    int status = 0;
    if (waitpid(daemon->pid_, &status, WNOHANG) == daemon->pid_) {
      daemon->pid_ = -1;
      return absl::UnavailableError(
          absl::StrCat(binary, " ", DescribeWaitStatus(status), " before serving"));
    }
    std::ifstream in(port_file);
    int port = 0;
    if (in >> port && port > 0) {
      daemon->address_ = absl::StrCat("127.0.0.1:", port);
      return daemon;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(binary, " did not publish its port within ", absl::FormatDuration(options.start_timeout)));
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

absl::StatusOr<int> DaemonProcess::Stop(absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("the daemon is not running");
  kill(pid_, SIGTERM);
  return Wait(timeout);
}

absl::StatusOr<int> DaemonProcess::Wait(absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return absl::InternalError(absl::StrCat("pynq-inferd ", DescribeWaitStatus(status)));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return absl::DeadlineExceededError(
      absl::StrCat("pynq-inferd did not exit within ", absl::FormatDuration(timeout), " of SIGTERM"));
}

}  // namespace pynq::testing
