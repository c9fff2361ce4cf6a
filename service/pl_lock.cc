#include "service/pl_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <optional>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace pynq::service {

namespace {

std::string ErrnoText(int error) { return std::error_code(error, std::generic_category()).message(); }

absl::Status ErrnoStatus(int error, const std::string& what) {
  const std::string message = absl::StrCat(what, ": ", ErrnoText(error));
  if (error == EACCES || error == EPERM || error == EROFS) {
    return absl::PermissionDeniedError(message);
  }
  return absl::InternalError(message);
}

// The pid the owner wrote into the lock file. The owner writes it just after taking the lock,
// so a reader racing it retries for a moment rather than reporting an empty file.
std::optional<pid_t> ReadOwnerPid(int fd) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    char text[32] = {};
    const ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
    pid_t pid = 0;
    if (n > 0 && absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &pid) && pid > 0) return pid;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return std::nullopt;
}

absl::Status HeldBy(int fd, const std::string& path) {
  std::string owner = "a process that has not written its pid";
  if (std::optional<pid_t> pid = ReadOwnerPid(fd)) {
    owner = absl::StrCat("pid ", *pid);
    std::ifstream comm(absl::StrCat("/proc/", *pid, "/comm"));
    if (std::string name; std::getline(comm, name)) absl::StrAppend(&owner, " (", name, ")");
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "the programmable logic is already owned by ", owner, " (lock file ", path,
      "); stop that process first, e.g. `systemctl stop pynq-inferd`"));
}

// Called when the lock file cannot be opened for writing: if someone holds it, that is the
// useful answer (a user starting a copy by hand while the service runs lands here).
absl::Status ExplainUnwritable(const std::string& path, int open_error) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    const bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    absl::Status status = held ? HeldBy(fd, path) : absl::OkStatus();
    close(fd);
    if (!status.ok()) return status;
  }
  return ErrnoStatus(open_error, absl::StrCat("cannot open the PL lock file ", path,
                                              " for writing (see --pl_lock_file)"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PlLock>> PlLock::Acquire(const Options& options) {
  const std::filesystem::path path(options.path);
  if (path.has_parent_path()) {
    std::error_code error;
    std::filesystem::create_directories(path.parent_path(), error);
    if (error) {
      return ErrnoStatus(error.value(), absl::StrCat("cannot create the directory of the PL lock "
                                                     "file ", options.path));
    }
  }
  const int fd = open(options.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return ExplainUnwritable(options.path, errno);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    absl::Status status = error == EWOULDBLOCK
                              ? HeldBy(fd, options.path)
                              : ErrnoStatus(error, absl::StrCat("cannot lock ", options.path));
    close(fd);
    return status;
  }
  const std::string pid = absl::StrCat(getpid(), "\n");
  if (ftruncate(fd, 0) != 0 ||
      pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int error = errno;
    close(fd);
    return ErrnoStatus(error, absl::StrCat("cannot write the pid into ", options.path));
  }
  return std::unique_ptr<PlLock>(new PlLock(options.path, fd));
}

PlLock::~PlLock() {
  // Emptied while still held, so no reader sees this pid after the lock is free. If emptying
  // fails the lock is released all the same, and a stale pid is only ever read while a new
  // owner holds the lock, after it has written its own.
  [[maybe_unused]] const int emptied = ftruncate(fd_, 0);
  close(fd_);
}

}  // namespace pynq::service
