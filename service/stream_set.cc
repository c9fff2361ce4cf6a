#include "service/stream_set.h"

#include <vector>

namespace pynq::service {

bool StreamSet::Add(StoppableStream* stream) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return false;
  streams_.insert(stream);
  return true;
}

void StreamSet::Remove(StoppableStream* stream) {
  std::lock_guard lock(mu_);
  streams_.erase(stream);
}

void StreamSet::BeginShutdown() {
  std::vector<StoppableStream*> streams;
  {
    std::lock_guard lock(mu_);
    shutting_down_ = true;
    // Pinned under mu_, so none is deleted before it has been told to stop; told after releasing
    // it, because stopping may finish the stream and run its OnDone() (Remove()) on this thread.
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

}  // namespace pynq::service
