// Exclusive ownership of the programmable logic (PL): one daemon per board loads the overlay and
// drives the engine; a second one, whether another service instance or a copy started by hand,
// must not reprogram or poke the PL under it. Ownership is an advisory flock(2) on a lock file
// that holds the owner's pid, so the refused process can say who owns the PL.
//
//   absl::StatusOr<std::unique_ptr<PlLock>> lock = PlLock::Acquire({});
//   if (!lock.ok()) return Fail(lock.status());   // "... owned by pid 812 (pynq-inferd) ..."
//   ...                                           // load the overlay, serve
//   lock->reset();                                 // or exit: the kernel releases it either way
//
// The kernel drops the lock when the owner exits, however it exits (SIGKILL, crash, watchdog
// abort), so a stale file never blocks a restart. The lock file is not removed on release:
// unlinking a lock file lets two processes lock two different files of the same name.
#ifndef PYNQ_SERVICE_PL_LOCK_H_
#define PYNQ_SERVICE_PL_LOCK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace pynq::service {

class PlLock {
 public:
  struct Options {
    // The lock file. Its directory is created (mode 0755) if missing; under systemd the unit's
    // RuntimeDirectory= creates it for the service user.
    std::string path = "/run/pynq-infer/pl.lock";
  };

  // Takes the lock without waiting and writes this process's pid into the file.
  // kFailedPrecondition if another process holds it, naming that process's pid (and its
  // command name when /proc shows it); kPermissionDenied or kInternal, naming the path, if the
  // file cannot be created, opened or locked. Never waits for the lock; when it is held, waits
  // up to 0.5 s for an owner that has only just taken it to write its pid.
  static absl::StatusOr<std::unique_ptr<PlLock>> Acquire(const Options& options);

  // Empties the file and releases the lock.
  ~PlLock();

  PlLock(const PlLock&) = delete;
  PlLock& operator=(const PlLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  PlLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  const std::string path_;
  const int fd_;
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_PL_LOCK_H_
