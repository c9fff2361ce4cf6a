#include "clients/windowed_stream.h"

#include <grpcpp/client_context.h>
#include <grpcpp/support/client_callback.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <cstddef>
#include <deque>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "clients/rpc_status.h"
#include "pynq_infer/v1/inference.grpc.pb.h"

namespace pynq::clients {
namespace {

using pynq_infer::v1::ClassifyRequest;
using pynq_infer::v1::ClassifyResponse;
using Clock = std::chrono::steady_clock;

// One ClassifyStream call with the callback API. There is always exactly one read outstanding
// until the server ends the stream, and at most one write (gRPC allows no more); a write is
// started whenever the previous one has completed and the window has room, from whichever
// reaction made that true. Every Start* call is made from a reaction or before StartCall(), so
// the stream needs no holds.
class WindowedStream final : public grpc::ClientBidiReactor<ClassifyRequest, ClassifyResponse> {
 public:
  WindowedStream(const WindowedStreamOptions& options, size_t num_requests, BuildRequestFn build,
                 HandleResponseFn handle)
      : options_(options),
        num_requests_(num_requests),
        build_(std::move(build)),
        handle_(std::move(handle)) {}

  // See RunWindowedStream().
  absl::Status Run(pynq_infer::v1::Inference::Stub& stub);

 private:
  enum class WriteAction { kNone, kWrite, kWritesDone };

  void OnWriteDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

  // Starts the next write or the half-close if one is due and no write is in progress.
  void MaybeWrite() ABSL_LOCKS_EXCLUDED(mu_);
  // Claims the single write slot for the next request (its index in *index) or the half-close.
  WriteAction ClaimWriteLocked(size_t* index) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Blocks until OnDone(), cancelling the call if a request stays unanswered too long.
  void WaitForDone() ABSL_LOCKS_EXCLUDED(mu_);

  const WindowedStreamOptions options_;
  const size_t num_requests_;
  const BuildRequestFn build_;
  const HandleResponseFn handle_;

  grpc::ClientContext context_;
  // Owned by the write in progress (write_in_progress_), and by the read path respectively.
  ClassifyRequest request_;
  ClassifyResponse response_;

  absl::Mutex mu_;
  size_t next_to_send_ ABSL_GUARDED_BY(mu_) = 0;
  size_t next_to_receive_ ABSL_GUARDED_BY(mu_) = 0;
  bool write_in_progress_ ABSL_GUARDED_BY(mu_) = false;
  bool writes_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  // Send times of the requests written and not yet answered, oldest first.
  std::deque<Clock::time_point> sent_at_ ABSL_GUARDED_BY(mu_);
  // When the last response arrived (or the call started): the watchdog's reference while no
  // request is outstanding.
  Clock::time_point last_response_at_ ABSL_GUARDED_BY(mu_);
  bool timed_out_ ABSL_GUARDED_BY(mu_) = false;
  std::string protocol_error_ ABSL_GUARDED_BY(mu_);
  grpc::Status final_status_ ABSL_GUARDED_BY(mu_);

  // Notified by OnDone() as its last action: after it, no reaction touches this object, so Run()
  // may return and the object be destroyed.
  absl::Notification done_;
};

absl::Status WindowedStream::Run(pynq_infer::v1::Inference::Stub& stub) {
  {
    absl::MutexLock lock(&mu_);
    last_response_at_ = Clock::now();
  }
  stub.async()->ClassifyStream(&context_, this);
  StartRead(&response_);
  MaybeWrite();  // Queued until StartCall(), which sends it with the call's headers.
  StartCall();
  WaitForDone();

  absl::MutexLock lock(&mu_);
  if (timed_out_) {
    return absl::DeadlineExceededError(absl::StrFormat(
        "ClassifyStream: no response to request %d (of %d) within %s; cancelled the stream",
        next_to_receive_, num_requests_, absl::FormatDuration(options_.response_timeout)));
  }
  if (!protocol_error_.empty()) return absl::InternalError(protocol_error_);
  if (!final_status_.ok()) {
    return FromGrpcStatus(final_status_,
                          absl::StrFormat("ClassifyStream (ended after %d of %d responses)",
                                          next_to_receive_, num_requests_));
  }
  // A run stopped early owes answers only to the requests it sent.
  const size_t owed = options_.stop != nullptr ? next_to_send_ : num_requests_;
  if (next_to_receive_ != owed) {
    return absl::InternalError(
        absl::StrFormat("ClassifyStream: the server ended the stream with OK after answering %d "
                        "of %d requests",
                        next_to_receive_, owed));
  }
  return absl::OkStatus();
}

void WindowedStream::WaitForDone() {
  for (;;) {
    Clock::time_point watch_from;
    {
      absl::MutexLock lock(&mu_);
      watch_from = sent_at_.empty() ? last_response_at_ : sent_at_.front();
    }
    const Clock::duration left =
        watch_from + absl::ToChronoNanoseconds(options_.response_timeout) - Clock::now();
    if (left <= Clock::duration::zero()) break;
    if (done_.WaitForNotificationWithTimeout(absl::FromChrono(left))) return;
  }
  {
    absl::MutexLock lock(&mu_);
    timed_out_ = true;
  }
  // Fails every outstanding operation; OnDone() follows once they have completed.
  context_.TryCancel();
  done_.WaitForNotification();
}

WindowedStream::WriteAction WindowedStream::ClaimWriteLocked(size_t* index) {
  if (write_in_progress_ || writes_closed_ || write_failed_) return WriteAction::kNone;
  if (next_to_send_ == num_requests_ ||
      (options_.stop != nullptr && options_.stop->load(std::memory_order_relaxed))) {
    writes_closed_ = true;
    return WriteAction::kWritesDone;
  }
  if (next_to_send_ - next_to_receive_ >= options_.window) return WriteAction::kNone;
  write_in_progress_ = true;
  *index = next_to_send_++;
  return WriteAction::kWrite;
}

void WindowedStream::MaybeWrite() {
  size_t index = 0;
  WriteAction action;
  {
    absl::MutexLock lock(&mu_);
    action = ClaimWriteLocked(&index);
  }
  // Start* calls are made outside mu_: gRPC may run a reaction that takes mu_ on another thread
  // before they return, and building a request need not block the reactions.
  switch (action) {
    case WriteAction::kNone:
      return;
    case WriteAction::kWritesDone:
      StartWritesDone();
      return;
    case WriteAction::kWrite:
      request_.Clear();
      build_(index, &request_);
      {
        absl::MutexLock lock(&mu_);
        sent_at_.push_back(Clock::now());
      }
      StartWrite(&request_);
      return;
  }
}

void WindowedStream::OnWriteDone(bool ok) {
  {
    absl::MutexLock lock(&mu_);
    write_in_progress_ = false;
    // A failed write means the call is over; the read side reports how it ended.
    if (!ok) write_failed_ = true;
  }
  if (ok) MaybeWrite();
}

void WindowedStream::OnReadDone(bool ok) {
  if (!ok) return;  // The server ended the stream; OnDone() follows with its status.
  const Clock::time_point now = Clock::now();
  size_t index = 0;
  absl::Duration latency;
  bool unexpected = false;
  {
    absl::MutexLock lock(&mu_);
    unexpected = sent_at_.empty();
    if (unexpected) {
      protocol_error_ = absl::StrFormat(
          "ClassifyStream: the server sent response %d, but only %d requests were sent",
          next_to_receive_ + 1, next_to_send_);
    } else {
      index = next_to_receive_++;
      latency = absl::FromChrono(now - sent_at_.front());
      sent_at_.pop_front();
      last_response_at_ = now;
    }
  }
  if (unexpected) {
    // Outside mu_, like the Start* calls: cancelling completes the outstanding operations, and
    // their reactions take mu_. No further read: the call ends and OnDone() follows.
    context_.TryCancel();
    return;
  }
  handle_(index, response_, latency);
  StartRead(&response_);
  MaybeWrite();  // An answer frees a place in the window.
}

void WindowedStream::OnDone(const grpc::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    final_status_ = status;
  }
  done_.Notify();
}

}  // namespace

absl::Status RunWindowedStream(pynq_infer::v1::Inference::Stub& stub,
                               const WindowedStreamOptions& options, size_t num_requests,
                               BuildRequestFn build, HandleResponseFn handle) {
  if (options.window == 0) {
    return absl::InvalidArgumentError("the stream window must be at least 1 request, got 0");
  }
  if (options.response_timeout <= absl::ZeroDuration() ||
      options.response_timeout == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("the response timeout must be positive and finite, got %s",
                        absl::FormatDuration(options.response_timeout)));
  }
  WindowedStream stream(options, num_requests, std::move(build), std::move(handle));
  return stream.Run(stub);
}

}  // namespace pynq::clients
