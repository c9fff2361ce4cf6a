// Gives memory the daemon freed back to the system after a burst. glibc keeps freed heap memory
// in its arenas for reuse; after a burst of large requests a board with 512 MB would stay at the
// burst's peak. A MemoryTrimmer checks once per `interval` how much free memory malloc holds
// (mallinfo2) and, when that is more than `threshold` and has changed since it last trimmed,
// returns it with malloc_trim(0) (which also releases free pages inside the heap, not only at
// its top).
//
//   auto trimmer = MemoryTrimmer::Start({.interval = absl::Seconds(1),
//                                        .threshold_bytes = 8 << 20});
//   ...                  // the destructor stops its thread
//
// Under steady load malloc reuses what it frees, the free memory it holds stays below the
// threshold and nothing is trimmed; when a burst ends, the memory goes back within an interval.
// Each check costs a mallinfo2() (a walk over the arenas' bins, microseconds).
// Thread-safe; one thread of its own.
#ifndef PYNQ_SERVICE_MEMORY_TRIMMER_H_
#define PYNQ_SERVICE_MEMORY_TRIMMER_H_

#include <cstddef>
#include <memory>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace pynq::service {

class MemoryTrimmer {
 public:
  struct Options {
    absl::Duration interval = absl::Seconds(1);
    size_t threshold_bytes = size_t{8} << 20;
  };

  static std::unique_ptr<MemoryTrimmer> Start(const Options& options);
  ~MemoryTrimmer();

  // Free bytes malloc holds in its arenas (mallinfo2's fordblks).
  static size_t FreeHeldBytes();
  // One check, as the thread makes it: trims if more than the threshold is held and it changed
  // since the last trim. Returns whether it trimmed.
  bool CheckOnce();
  // Trims counted so far.
  int trims() const;

 private:
  explicit MemoryTrimmer(const Options& options) : options_(options) {}
  void Loop();

  const Options options_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  size_t held_after_last_trim_ ABSL_GUARDED_BY(mu_) = 0;
  int trims_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_MEMORY_TRIMMER_H_
