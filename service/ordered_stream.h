// The reactor behind one streaming inference call (pynq_infer.v1 ClassifyStream, OIP
// ModelStreamInfer): it reads requests as they come, queues each on its model's batcher at once
// (so a stream's requests batch with each other and with unary calls), and writes the responses
// strictly in request order as they finish. At most `max_in_flight` requests are in flight:
// beyond that it stops reading, which pushes back on the client through gRPC flow control. A
// request that fails is answered by the response `answer_error` makes, and the stream goes on.
//
//   // The service registers the method raw (WithRawCallbackMethod_ClassifyStream).
//   return new OrderedStreamReactor<v1::ClassifyRequest, v1::ClassifyResponse>(
//       calls_, CallerOf(context), options_.max_stream_in_flight,
//       [this](const auto& request, auto* response, const auto& caller, auto answered) {
//         return Submit(request, response, caller, std::move(answered));
//       },
//       [](const auto& request, const absl::Status& status, auto* response) { ... });
//
// Raw frames: the reactor reads and writes grpc::ByteBuffer and parses each frame into a
// `Request` itself, so the service's method must be registered raw (the generated
// WithRawCallbackMethod_<Method>). Why: gRPC 1.51's callback API reports a frame that does not
// parse to a typed reactor as OnReadDone(false), exactly as it reports the client's half-close, so
// a typed reactor cannot tell a bad frame from the end of the stream and would pass over it. Here
// a bad frame ends the stream: the frames before it are answered and written in order, no frame
// after it is read, and the stream ends with INVALID_ARGUMENT naming the frame (counting from 1).
//
// Every request carries the stream's deadline and cancellation (`caller`), so the batcher drops
// those of a stream whose client has gone instead of running them.
//
// Shutdown (OpenCalls::BeginShutdown() calls StopReading()): the reactor starts no new read,
// answers and writes every request it has read, then ends the stream with UNAVAILABLE.
//
// Lifetime: created by a service's streaming handler, registered with `calls` while it lives,
// and deleted after OnDone() once no one has it pinned. It calls Finish() only when every
// accepted request has been answered, so no batcher callback can reach a deleted reactor.
#ifndef PYNQ_SERVICE_ORDERED_STREAM_H_
#define PYNQ_SERVICE_ORDERED_STREAM_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_callback.h"
#include "service/inference_request.h"
#include "service/open_calls.h"

namespace pynq::service {

template <typename Request, typename Response>
class OrderedStreamReactor final
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
      public StoppableStream {
 public:
  // Queues `request` with `caller`'s deadline; on OK, `answered` runs exactly once later (on a
  // dispatch worker) with the outcome and `response` filled if it succeeded; on error nothing was
  // queued. `request` and `response` stay alive until `answered` has run.
  using Submit = std::function<absl::Status(const Request& request, Response* response,
                                            const InferenceRequest::Options& caller,
                                            std::function<void(const absl::Status&)> answered)>;
  // Makes `response` the stream's answer to `request`, which failed with `status`.
  using AnswerError =
      std::function<void(const Request& request, const absl::Status& status, Response* response)>;

  OrderedStreamReactor(OpenCalls* calls, InferenceRequest::Options caller, size_t max_in_flight,
                       Submit submit, AnswerError answer_error)
      : calls_(calls),
        caller_(std::move(caller)),
        max_in_flight_(max_in_flight),
        submit_(std::move(submit)),
        answer_error_(std::move(answer_error)) {
    if (!calls_->AddStream(this)) {
      std::lock_guard lock(mu_);
      stop_reading_ = true;  // opened while the daemon shuts down: ends at once
    }
    Advance();
  }

  void OnReadDone(bool ok) override {
    Pending* incoming = nullptr;
    {
      std::lock_guard lock(mu_);
      incoming = incoming_.get();
    }
    // Parsed outside mu_: while reading_ is set, only this read touches `incoming_`.
    const bool parsed =
        ok && grpc::SerializationTraits<Request>::Deserialize(&incoming->frame, &incoming->request)
                  .ok();
    Pending* accepted = nullptr;
    bool refuse = false;
    {
      std::lock_guard lock(mu_);
      reading_ = false;
      if (!ok) {
        reads_done_ = true;  // the client half-closed, or the call broke
      } else if (!finished_) {
        ++frames_read_;
        if (!parsed) {
          unparsed_frame_ = frames_read_;
          incoming_.reset();
        } else {
          accepted = incoming_.get();
          pending_.push_back(std::move(incoming_));
          // Read just as the shutdown began: answered, but not run.
          refuse = stop_reading_;
        }
      }
    }
    if (refuse) {
      OnAnswered(accepted, absl::UnavailableError(
                               "pynq-inferd is shutting down and accepts no new requests"));
    } else if (accepted != nullptr) {
      // Queued outside mu_: the batcher may answer (and call OnAnswered) before submit_ returns.
      absl::Status queued =
          submit_(accepted->request, &accepted->response, caller_,
                  [this, accepted](const absl::Status& status) { OnAnswered(accepted, status); });
      if (!queued.ok()) OnAnswered(accepted, queued);
    }
    Advance();
  }

  void OnWriteDone(bool ok) override {
    {
      std::lock_guard lock(mu_);
      writing_ = false;
      pending_.pop_front();
      if (!ok) write_failed_ = true;
    }
    Advance();
  }

  void OnDone() override {
    // Unregistered first: from here on no one can pin the reactor, only release earlier pins.
    calls_->RemoveStream(this);
    {
      std::lock_guard lock(mu_);
      done_ = true;
      if (pins_ > 0) return;  // the last Unpin() deletes it
    }
    delete this;
  }

  void StopReading() override {
    {
      std::lock_guard lock(mu_);
      stop_reading_ = true;
    }
    Advance();
  }

  void Pin() override {
    std::lock_guard lock(mu_);
    ++pins_;
  }

  void Unpin() override {
    bool last = false;
    {
      std::lock_guard lock(mu_);
      last = --pins_ == 0 && done_;
    }
    if (last) delete this;
  }

 private:
  struct Pending {
    grpc::ByteBuffer frame;  // as read; emptied by parsing it into `request`
    Request request;
    Response response;
    grpc::ByteBuffer answer;  // `response` serialized, as written
    bool answered = false;
  };

  // Called once per accepted request, from a batcher's dispatch thread (or inline when the
  // request was refused).
  void OnAnswered(Pending* pending, const absl::Status& status) {
    if (!status.ok()) {
      pending->response.Clear();
      answer_error_(pending->request, status, &pending->response);
    }
    bool own_buffer = false;
    if (!grpc::SerializationTraits<Response>::Serialize(pending->response, &pending->answer,
                                                        &own_buffer)
             .ok()) {
      // Only a response over protobuf's 2 GB limit fails; the error answer is small.
      pending->response.Clear();
      answer_error_(pending->request,
                    absl::InternalError("the response is too large to serialize"),
                    &pending->response);
      grpc::SerializationTraits<Response>::Serialize(pending->response, &pending->answer,
                                                     &own_buffer)
          .IgnoreError();
    }
    {
      std::lock_guard lock(mu_);
      pending->answered = true;
    }
    Advance();
  }

  // Starts whatever the state allows next: the next read, the next in-order write, or Finish().
  // The decisions are made under mu_ and the gRPC calls after releasing it, so a reaction that
  // runs inline can take mu_ again.
  void Advance() {
    const grpc::ByteBuffer* to_write = nullptr;
    grpc::ByteBuffer* to_read = nullptr;
    bool finish = false;
    grpc::Status finish_status = grpc::Status::OK;
    {
      std::lock_guard lock(mu_);
      if (finished_) return;
      if (write_failed_) {
        // Nobody will read these answers; drop the finished ones so Finish() can come.
        while (!pending_.empty() && pending_.front()->answered) pending_.pop_front();
      } else if (!writing_ && !pending_.empty() && pending_.front()->answered) {
        writing_ = true;
        to_write = &pending_.front()->answer;
      }
      const bool unparsed = unparsed_frame_ > 0;
      if (!reading_ && !reads_done_ && !unparsed && !write_failed_ && !stop_reading_ &&
          pending_.size() < max_in_flight_) {
        reading_ = true;
        incoming_ = std::make_unique<Pending>();
        to_read = &incoming_->frame;
      }
      // Reads have ended (or the stream stops reading; a read still outstanding then fails when
      // the stream finishes), and every request read has been answered and written.
      const bool no_more_reads = reads_done_ || unparsed || write_failed_ || stop_reading_;
      const bool read_settled = !reading_ || stop_reading_;
      if (no_more_reads && read_settled && !writing_ && to_write == nullptr && pending_.empty()) {
        finished_ = true;
        finish = true;
        if (write_failed_) {
          finish_status = grpc::Status(grpc::StatusCode::CANCELLED,
                                       "the stream broke before every response was written");
        } else if (unparsed) {
          finish_status = grpc::Status(
              grpc::StatusCode::INVALID_ARGUMENT,
              absl::StrFormat("frame %d of the stream could not be parsed as a %s (not a valid "
                              "protobuf encoding of it); the %d frames before it were answered "
                              "and no frame after it was read",
                              unparsed_frame_, Request().GetTypeName(), unparsed_frame_ - 1));
        } else if (stop_reading_ && !reads_done_) {
          finish_status = grpc::Status(
              grpc::StatusCode::UNAVAILABLE,
              "pynq-inferd is shutting down; every request it read has been answered");
        }
      }
    }
    if (to_write != nullptr) this->StartWrite(to_write);
    if (to_read != nullptr) this->StartRead(to_read);
    if (finish) this->Finish(finish_status);
  }

  OpenCalls* const calls_;
  const InferenceRequest::Options caller_;
  const size_t max_in_flight_;
  const Submit submit_;
  const AnswerError answer_error_;
  std::mutex mu_;
  // Accepted requests in arrival order; the front is the next to be written.
  std::deque<std::unique_ptr<Pending>> pending_ ABSL_GUARDED_BY(mu_);
  // The message the outstanding read fills.
  std::unique_ptr<Pending> incoming_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  // Frames read so far, parsed or not.
  int frames_read_ ABSL_GUARDED_BY(mu_) = 0;
  // The frame (counting from 1) that did not parse as a Request, 0 while every one has: no
  // further read, and the stream ends with INVALID_ARGUMENT naming it.
  int unparsed_frame_ ABSL_GUARDED_BY(mu_) = 0;
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

#endif  // PYNQ_SERVICE_ORDERED_STREAM_H_
