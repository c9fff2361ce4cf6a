#include "service/open_calls.h"

#include <vector>

namespace pynq::service {

bool OpenCalls::AddStream(StoppableStream* stream) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return false;
  streams_.insert(stream);
  return true;
}

void OpenCalls::RemoveStream(StoppableStream* stream) {
  std::lock_guard lock(mu_);
  streams_.erase(stream);
  if (streams_.empty() && unary_calls_ == 0) idle_.notify_all();
}

void OpenCalls::UnaryStarted() {
  std::lock_guard lock(mu_);
  ++unary_calls_;
}

void OpenCalls::UnaryFinished() {
  std::lock_guard lock(mu_);
  if (--unary_calls_ == 0 && streams_.empty()) idle_.notify_all();
}

void OpenCalls::BeginShutdown() {
  std::vector<StoppableStream*> streams;
  {
    std::lock_guard lock(mu_);
    shutting_down_ = true;
    // Pinned under mu_, so none is deleted before it has been told to stop; told after releasing
    // it, because stopping may finish the stream and run its OnDone() (RemoveStream()) on this
    // thread.
    for (StoppableStream* stream : streams_) {
      stream->Pin();
      streams.push_back(stream);
    }
  }
  for (StoppableStream* stream : streams) {
    stream->StopReading();
    stream->Unpin();
  }
}

size_t OpenCalls::WaitForCalls(absl::Time deadline) {
  std::unique_lock lock(mu_);
  idle_.wait_until(lock, absl::ToChronoTime(deadline),
                   [this] { return unary_calls_ == 0 && streams_.empty(); });
  return unary_calls_ + streams_.size();
}

}  // namespace pynq::service
