// Pipelined ClassifyStream calls: sends a sequence of requests over one bidirectional stream, with
// at most a window of them unanswered, and times each request from send to response. This is the
// load-generating core of `pynq-infer eval`; what to send and what to do with the answers are the
// caller's.
//
//   absl::Status s = RunWindowedStream(
//       *stub, {.window = 64, .response_timeout = absl::Seconds(10)}, num_requests,
//       [&](size_t i, ClassifyRequest* request) { /* fill request i */ },
//       [&](size_t i, const ClassifyResponse& response, absl::Duration latency) { /* tally */ });
#ifndef PYNQ_CLIENTS_WINDOWED_STREAM_H_
#define PYNQ_CLIENTS_WINDOWED_STREAM_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "pynq_infer/v1/inference.grpc.pb.h"

namespace pynq::clients {

struct WindowedStreamOptions {
  // Most requests sent and not yet answered; at least 1. Responses come back in request order, so
  // a request is answered when the response with its position arrives.
  uint32_t window = 64;
  // How long a request may stay unanswered (and, after the last response, how long the server
  // may take to end the stream) before the stream is cancelled.
  absl::Duration response_timeout = absl::Seconds(10);
  // If set, once it reads true no further request is sent: the stream half-closes after the
  // requests already sent, and succeeds when those are all answered. For runs bounded by time
  // rather than by count (`pynq-infer bench`). Must outlive the call.
  const std::atomic<bool>* stop = nullptr;
};

// Fills request `index` (0-based); called once per request, in order, with a cleared request.
using BuildRequestFn = std::function<void(size_t index, pynq_infer::v1::ClassifyRequest* request)>;

// Takes the response to request `index`, in order, and the request's latency: from just before
// the request was handed to gRPC until its response arrived, on the steady clock.
using HandleResponseFn = std::function<void(
    size_t index, const pynq_infer::v1::ClassifyResponse& response, absl::Duration latency)>;

// Runs one ClassifyStream call on `stub` that sends `num_requests` requests made by `build` and
// passes every response to `handle`, then half-closes and waits for the server to end the stream.
//
// Blocks until the stream has ended. `build` and `handle` run on gRPC's threads: neither is called
// concurrently with itself, but they may run concurrently with each other, and they must not block
// (they delay every other request). Neither is called after this returns.
//
// Returns OK when every request sent was answered (all `num_requests`, unless options.stop ended
// the run early) and the server ended the stream with OK. Errors:
// INVALID_ARGUMENT for a window of 0 or a response_timeout that is not positive and finite;
// DEADLINE_EXCEEDED when a request went unanswered for `response_timeout` (the stream is then
// cancelled); the stream's own gRPC status when it failed (UNAVAILABLE when the daemon cannot be
// reached, ...); INTERNAL when the server answered more or fewer requests than were sent.
absl::Status RunWindowedStream(pynq_infer::v1::Inference::Stub& stub,
                               const WindowedStreamOptions& options, size_t num_requests,
                               BuildRequestFn build, HandleResponseFn handle);

}  // namespace pynq::clients

#endif  // PYNQ_CLIENTS_WINDOWED_STREAM_H_
