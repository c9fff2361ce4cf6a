// The reactor behind one ClassifyStream call. It reads requests as they come, queues each on its
// model's batcher at once (so a stream's requests batch with each other and with unary calls),
// and writes the responses strictly in request order as they finish. At most
// InferenceService::Options::max_stream_in_flight requests are in flight: beyond that it stops
// reading, which pushes back on the client through gRPC flow control.
//
// Every request carries the stream's deadline and cancellation, so the batcher drops those of a
// stream whose client has gone instead of running them.
//
// Shutdown (InferenceService::BeginShutdown() calls StopReading()): the reactor starts no new
// read, answers and writes every request it has read, then ends the stream with UNAVAILABLE.
//
// Lifetime: created by InferenceService::ClassifyStream(), registered with the service while it
// lives, and deleted after OnDone() once no one has it pinned. It calls Finish() only when every
// accepted request has been answered, so no batcher callback can reach a deleted reactor.
#ifndef PYNQ_SERVICE_CLASSIFY_STREAM_H_
#define PYNQ_SERVICE_CLASSIFY_STREAM_H_

#include <deque>
#include <memory>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "grpcpp/support/server_callback.h"
#include "pynq_infer/v1/inference.pb.h"
#include "service/inference_request.h"

namespace pynq::service {

class InferenceService;

class ClassifyStreamReactor final
    : public grpc::ServerBidiReactor<pynq_infer::v1::ClassifyRequest,
                                     pynq_infer::v1::ClassifyResponse> {
 public:
  ClassifyStreamReactor(InferenceService* service, grpc::CallbackServerContext* context);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override;

  // Stop reading and end the stream once every request read has been answered. Thread-safe.
  void StopReading();
  // Keeps the reactor from being deleted (even after OnDone()) until the matching Unpin(), which
  // deletes it if it is done by then. Thread-safe.
  void Pin();
  void Unpin();

 private:
  struct Pending {
    pynq_infer::v1::ClassifyRequest request;
    pynq_infer::v1::ClassifyResponse response;
    bool answered = false;
  };

  // Called once per accepted request, from a batcher's dispatch thread (or inline when the
  // request was refused).
  void OnAnswered(Pending* pending, const absl::Status& status);
  // Starts whatever the state allows next: the next read, the next in-order write, or Finish().
  // The decisions are made under mu_ and the gRPC calls after releasing it, so a reaction that
  // runs inline can take mu_ again.
  void Advance();

  InferenceService* const service_;
  const InferenceRequest::Options caller_;
  std::mutex mu_;
  // Accepted requests in arrival order; the front is the next to be written.
  std::deque<std::unique_ptr<Pending>> pending_ ABSL_GUARDED_BY(mu_);
  // The message the outstanding read fills.
  std::unique_ptr<Pending> incoming_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  // The client is gone: answers are dropped as they finish instead of written.
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  // Shutting down: no further read; finish when everything read has been written.
  bool stop_reading_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  int pins_ ABSL_GUARDED_BY(mu_) = 0;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_CLASSIFY_STREAM_H_
