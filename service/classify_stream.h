// The reactor behind one ClassifyStream call. It reads requests as they come, queues each on its
// model's batcher at once (so a stream's requests batch with each other and with unary calls),
// and writes the responses strictly in request order as they finish. At most
// InferenceService::Options::max_stream_in_flight requests are in flight: beyond that it stops
// reading, which pushes back on the client through gRPC flow control.
//
// Lifetime: created by InferenceService::ClassifyStream(), deletes itself in OnDone(). It calls
// Finish() only when reads have ended and every accepted request has been answered, so no batcher
// callback can reach a deleted reactor.
#ifndef PYNQ_SERVICE_CLASSIFY_STREAM_H_
#define PYNQ_SERVICE_CLASSIFY_STREAM_H_

#include <deque>
#include <memory>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "grpcpp/support/server_callback.h"
#include "pynq_infer/v1/inference.pb.h"

namespace pynq::service {

class InferenceService;

class ClassifyStreamReactor final
    : public grpc::ServerBidiReactor<pynq_infer::v1::ClassifyRequest,
                                     pynq_infer::v1::ClassifyResponse> {
 public:
  explicit ClassifyStreamReactor(InferenceService* service);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override;

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
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_CLASSIFY_STREAM_H_
