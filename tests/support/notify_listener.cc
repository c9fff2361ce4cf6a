#include "tests/support/notify_listener.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/support/temp_dir.h"

namespace pynq::testing {

absl::StatusOr<std::unique_ptr<NotifyListener>> NotifyListener::Create() {
  absl::StatusOr<TestTempDir> dir = TestTempDir::Create({.prefix = "pynq-notify-"});
  if (!dir.ok()) return dir.status();
  const std::string path = dir->path() + "/notify";
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  if (fd < 0 || bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    const std::string error = std::error_code(errno, std::generic_category()).message();
    if (fd >= 0) close(fd);
    return absl::InternalError(absl::StrCat("cannot bind a datagram socket at ", path, ": ", error));
  }
  return std::unique_ptr<NotifyListener>(new NotifyListener(*std::move(dir), path, fd));
}

NotifyListener::~NotifyListener() { close(fd_); }

std::optional<std::string> NotifyListener::Receive(absl::Duration timeout) {
  pollfd ready = {.fd = fd_, .events = POLLIN, .revents = 0};
  const int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  if (poll(&ready, 1, std::max(timeout_ms, 0)) <= 0) return std::nullopt;
  char buffer[4096];
  const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
  if (n < 0) return std::nullopt;
  return std::string(buffer, static_cast<size_t>(n));
}

std::optional<std::vector<std::string>> NotifyListener::ReceiveLines(absl::Time until) {
  std::optional<std::string> message = Receive(until - absl::Now());
  if (!message) return std::nullopt;
  return absl::StrSplit(*message, '\n', absl::SkipEmpty());
}

absl::StatusOr<std::string> NotifyListener::AwaitLine(absl::string_view prefix,
                                                      absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  std::vector<std::string> seen;
  while (std::optional<std::vector<std::string>> lines = ReceiveLines(give_up)) {
    for (std::string& line : *lines) {
      if (absl::StartsWith(line, prefix)) return line;
      seen.push_back(std::move(line));
    }
  }
  return absl::DeadlineExceededError(absl::StrCat("no ", prefix, " line within ",
                                                  absl::FormatDuration(timeout), "; saw [",
                                                  absl::StrJoin(seen, " | "), "]"));
}

std::vector<std::string> NotifyListener::CollectLines(absl::string_view prefix,
                                                      absl::Duration period) {
  const absl::Time end = absl::Now() + period;
  std::vector<std::string> matching;
  while (std::optional<std::vector<std::string>> lines = ReceiveLines(end)) {
    for (std::string& line : *lines) {
      if (absl::StartsWith(line, prefix)) matching.push_back(std::move(line));
    }
  }
  return matching;
}

}  // namespace pynq::testing
