// The open streaming calls of the daemon (pynq_infer.v1 ClassifyStream and OIP ModelStreamInfer),
// so that a graceful stop can tell each of them to stop reading before the gRPC server shuts
// down.
//
//   StreamSet streams;                       // outlives every stream (the Server owns it)
//   if (!streams.Add(stream)) ... end the new stream at once: the daemon is shutting down
//   streams.Remove(stream);                  // from the stream's OnDone()
//   streams.BeginShutdown();                 // every open stream: StopReading()
//
// Thread-safe. The lock is taken once per stream opened and closed, never per request.
#ifndef PYNQ_SERVICE_STREAM_SET_H_
#define PYNQ_SERVICE_STREAM_SET_H_

#include <mutex>
#include <unordered_set>

#include "absl/base/thread_annotations.h"

namespace pynq::service {

// What the set needs of a stream. See OrderedStreamReactor.
class StoppableStream {
 public:
  // Stop reading and end the stream once every request read has been answered. Thread-safe.
  virtual void StopReading() = 0;
  // Keeps the stream from being deleted (even after it is done) until the matching Unpin(),
  // which deletes it if it is done by then. Thread-safe.
  virtual void Pin() = 0;
  virtual void Unpin() = 0;

 protected:
  ~StoppableStream() = default;
};

class StreamSet {
 public:
  // Registers a live stream; false (not registered) once BeginShutdown() has run.
  bool Add(StoppableStream* stream);
  // Unregisters a stream that is done.
  void Remove(StoppableStream* stream);
  // Every open stream stops reading, answers what it has read and ends with UNAVAILABLE, and
  // streams added later are refused. Idempotent.
  void BeginShutdown();

 private:
  std::mutex mu_;
  std::unordered_set<StoppableStream*> streams_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_STREAM_SET_H_
