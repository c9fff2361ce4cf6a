// The systemd side of sd_notify(3), for tests: a unix datagram socket that a test names in
// NOTIFY_SOCKET, and that collects what the code under test (a SystemdNotifier in the same
// process, or a real pynq-inferd it started) sends.
//
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<NotifyListener> systemd, NotifyListener::Create());
//   setenv("NOTIFY_SOCKET", systemd->path().c_str(), 1);
//   ... start the daemon ...
//   absl::StatusOr<std::string> status = systemd->AwaitLine("STATUS=", absl::Seconds(60));
//
// Not thread-safe: one test thread reads it.
#ifndef PYNQ_TESTS_SUPPORT_NOTIFY_LISTENER_H_
#define PYNQ_TESTS_SUPPORT_NOTIFY_LISTENER_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/support/temp_dir.h"

namespace pynq::testing {

class NotifyListener {
 public:
  // Binds a socket in a fresh TestTempDir. kInternal, with errno's text, on failure.
  static absl::StatusOr<std::unique_ptr<NotifyListener>> Create();
  // Closes the socket and removes its directory.
  ~NotifyListener();

  const std::string& path() const { return path_; }

  // The next datagram, or nullopt if none arrives within `timeout`.
  std::optional<std::string> Receive(absl::Duration timeout);
  // Reads datagrams until one has a line starting with `prefix`, and returns that line.
  // kDeadlineExceeded, listing the lines seen meanwhile, if none comes within `timeout`.
  absl::StatusOr<std::string> AwaitLine(absl::string_view prefix, absl::Duration timeout);
  // Every line starting with `prefix` received during the next `period`.
  std::vector<std::string> CollectLines(absl::string_view prefix, absl::Duration period);

 private:
  // The lines of the next datagram, or nullopt if none arrives by `until`.
  std::optional<std::vector<std::string>> ReceiveLines(absl::Time until);

  NotifyListener(TestTempDir dir, std::string path, int fd)
      : dir_(std::move(dir)), path_(std::move(path)), fd_(fd) {}

  // Holds the socket; removed after it is closed.
  const TestTempDir dir_;
  const std::string path_;
  const int fd_;
};

}  // namespace pynq::testing

#endif  // PYNQ_TESTS_SUPPORT_NOTIFY_LISTENER_H_
