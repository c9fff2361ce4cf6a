// The open calls of the daemon's gRPC inference services, so that a graceful stop
// (Server::Shutdown()) can stop the streaming ones from reading and then wait until every call has
// handed its last answer to gRPC before the connections close:
// - streaming calls (pynq_infer.v1 ClassifyStream, OIP ModelStreamInfer) register themselves
//   (AddStream() and RemoveStream(), see OrderedStreamReactor);
// - unary inference calls (Classify, OIP ModelInfer) finish through a CountedUnaryCall, which
//   counts them.
//
//   OpenCalls calls;                            // outlives every call (the Server owns it)
//   auto* call = new CountedUnaryCall(&calls);  // a unary handler's reactor; deletes itself
//   if (!calls.AddStream(stream)) ... end the new stream at once: the daemon is shutting down
//   calls.RemoveStream(stream);                 // from the stream's OnDone()
//   calls.BeginShutdown();                      // every open stream: StopReading()
//   calls.WaitForCalls(deadline);               // once the batchers have answered all they took
//
// Thread-safe. The lock is taken once per call opened and closed, never per request of a stream.
#ifndef PYNQ_SERVICE_OPEN_CALLS_H_
#define PYNQ_SERVICE_OPEN_CALLS_H_

#include <grpcpp/support/server_callback.h>

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <unordered_set>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace pynq::service {

// What OpenCalls needs of a stream. See OrderedStreamReactor.
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

class OpenCalls {
 public:
  // Registers a live stream; false (not registered) once BeginShutdown() has run.
  bool AddStream(StoppableStream* stream);
  // Unregisters a stream that is done.
  void RemoveStream(StoppableStream* stream);
  // A unary call started; one finished (gRPC is done with it). See CountedUnaryCall.
  void UnaryStarted();
  void UnaryFinished();

  // Every open stream stops reading, answers what it has read and ends with UNAVAILABLE, and
  // streams added later are refused. Idempotent.
  void BeginShutdown();

  // Blocks until no call is open (every unary call and every stream has handed its last answer
  // and status to gRPC), or until `deadline`. Returns how many calls are still open. For a
  // graceful stop, after BeginShutdown() and once the batchers have answered everything they
  // accepted (ModelRegistry::Drain()), so no call is waiting for an answer.
  size_t WaitForCalls(absl::Time deadline);

 private:
  std::mutex mu_;
  // Notified when the last open call finishes.
  std::condition_variable idle_;
  std::unordered_set<StoppableStream*> streams_ ABSL_GUARDED_BY(mu_);
  size_t unary_calls_ ABSL_GUARDED_BY(mu_) = 0;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
};

// The reactor of one unary inference call, counted in `calls` from construction until gRPC is
// done with it (OnDone(), after the status has been sent or the call cancelled); then it deletes
// itself. Create one with new in the handler and Finish() it once, as any ServerUnaryReactor.
class CountedUnaryCall final : public grpc::ServerUnaryReactor {
 public:
  explicit CountedUnaryCall(OpenCalls* calls) : calls_(calls) { calls_->UnaryStarted(); }

  void OnDone() override {
    calls_->UnaryFinished();
    delete this;
  }

 private:
  OpenCalls* const calls_;
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_OPEN_CALLS_H_
