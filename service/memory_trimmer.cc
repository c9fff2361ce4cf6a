#include "service/memory_trimmer.h"

#include <malloc.h>

namespace pynq::service {

std::unique_ptr<MemoryTrimmer> MemoryTrimmer::Start(const Options& options) {
  std::unique_ptr<MemoryTrimmer> trimmer(new MemoryTrimmer(options));
  trimmer->thread_ = std::thread([t = trimmer.get()] { t->Loop(); });
  return trimmer;
}

MemoryTrimmer::~MemoryTrimmer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

size_t MemoryTrimmer::FreeHeldBytes() { return mallinfo2().fordblks; }

bool MemoryTrimmer::CheckOnce() {
  const size_t held = FreeHeldBytes();
  absl::MutexLock lock(&mu_);
  // After a trim the free chunks stay free (only their pages went back), so the same figure
  // means nothing new to return.
  if (held <= options_.threshold_bytes || held == held_after_last_trim_) return false;
  malloc_trim(0);
  held_after_last_trim_ = FreeHeldBytes();
  ++trims_;
  return true;
}

int MemoryTrimmer::trims() const {
  absl::MutexLock lock(&mu_);
  return trims_;
}

void MemoryTrimmer::Loop() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.interval)) return;
    }
    CheckOnce();
  }
}

}  // namespace pynq::service
