// The load generator behind `pynq-infer bench`, in the spirit of Triton's perf_analyzer: offers
// one level of load to a model (closed loop at a fixed concurrency, or open loop at a request
// rate with constant or Poisson arrivals), over unary Classify calls or ClassifyStream of the
// native API, the Open Inference Protocol's ModelInfer, or its REST API (POST .../infer with
// JSON tensors), lets it warm up, then measures in windows until throughput and latency are
// stable.
//
//   LoadSpec spec{.model = "mnist-bnn-tfc", .mode = LoadMode::kUnary, .concurrency = 16};
//   PYNQ_ASSIGN_OR_RETURN(std::vector<std::string> images, SyntheticImages(784, 64, /*seed=*/1));
//   PYNQ_ASSIGN_OR_RETURN(LevelResult r, RunLoadLevel(channel, spec, images));
//   absl::PrintF("%.0f images/s, p99 %.2f ms\n", r.images_per_s,
//                absl::ToDoubleMilliseconds(r.latency_p99));
//
// Latency is measured on the client, from when a request was due to be sent (open loop: its
// scheduled time, so a slow server cannot hide its queueing by slowing the sender) or sent
// (closed loop) until its response arrived, on the steady clock. Server-side queue and compute
// times come from GetMetrics, as the difference over the measured windows.
#ifndef PYNQ_CLIENTS_LOAD_GENERATOR_H_
#define PYNQ_CLIENTS_LOAD_GENERATOR_H_

#include <grpcpp/channel.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "clients/call_driver.h"

namespace pynq::clients {

enum class LoadMode {
  kUnary,   // one Classify call per request (images_per_request images each)
  kStream,  // requests pipelined over ClassifyStream calls
};

// How requests reach the daemon.
enum class Protocol {
  kNative,  // pynq_infer.v1 Classify / ClassifyStream (gRPC)
  kOip,     // inference.GRPCInferenceService ModelInfer (gRPC), raw_input_contents; unary only
  kRest,    // POST /v2/models/{model}/infer with JSON "data" (HTTP/1.1 keep-alive, one
            // connection per request in flight); closed loop, unary only
};

struct LoadSpec {
  std::string model;
  Protocol protocol = Protocol::kNative;
  // Protocol::kRest: the daemon's --http_listen address, host:port.
  std::string http_address;
  LoadMode mode = LoadMode::kUnary;
  // Images per request; at least 1.
  uint32_t images_per_request = 1;
  // When requests start (clients/call_driver.h); open loops are for unary calls only.
  Arrival arrival = Arrival::kClosedLoop;
  // Closed loop: requests in flight; at least 1.
  uint32_t concurrency = 1;
  // Open loop: requests per second; positive.
  double rate_per_s = 0;
  // Stream mode: streams sharing the concurrency (each keeps ceil(concurrency / streams)
  // requests in flight); at least 1.
  uint32_t streams = 1;
  // Load offered before measuring starts.
  absl::Duration warmup = absl::Seconds(1);
  // One measurement window. Measuring stops when the last kStableWindows windows agree (their
  // throughput and p50 latency within stability_pct of their mean) or after max_windows.
  absl::Duration window = absl::Seconds(2);
  uint32_t max_windows = 6;
  double stability_pct = 10;
  // Deadline of each request (unary), or how long a stream request may go unanswered.
  absl::Duration request_timeout = absl::Seconds(10);
  // Open loop: most requests outstanding; a request due when this many are outstanding is not
  // sent and is counted in LevelResult::client_dropped.
  uint32_t max_outstanding = 20000;
  // Seeds the Poisson arrivals.
  uint64_t seed = 1;
  // Where the server figures come from: GetMetrics on each of these channels (one per board of
  // a fleet), summed. Empty: GetMetrics on the load's own channel, right for one daemon; behind
  // a balancer each GetMetrics would reach another board.
  std::vector<std::shared_ptr<grpc::ChannelInterface>> metrics_channels;
};

// Windows that must agree before a measurement counts as stable.
inline constexpr uint32_t kStableWindows = 3;

struct LevelResult {
  LoadSpec spec;
  // Over the reported windows: the last kStableWindows (or all, when not stable).
  absl::Duration measured;
  uint32_t windows = 0;
  bool stable = false;
  uint64_t requests_ok = 0;
  uint64_t requests_failed = 0;
  // Failed requests by gRPC code name (e.g. "UNAVAILABLE").
  std::map<std::string, uint64_t> failed_by_code;
  // Open loop: requests not sent because max_outstanding were outstanding.
  uint64_t client_dropped = 0;
  double requests_per_s = 0;
  double images_per_s = 0;
  // Client-side latency of successful requests, nearest-rank percentiles.
  absl::Duration latency_p50;
  absl::Duration latency_p90;
  absl::Duration latency_p95;
  absl::Duration latency_p99;
  absl::Duration latency_max;
  // From GetMetrics over the same windows (0 when the server reported nothing): mean queue
  // wait per image, mean accelerator time per batch, mean images per batch.
  double server_queue_us = 0;
  double server_compute_us = 0;
  double server_batch_size = 0;
};

// Offers `spec`'s load to the daemon behind `channel` (whose GetMetrics also gives the server's
// figures for the other protocols), cycling through `images` (each `input_bytes` of the model;
// at least one), and measures it. Blocks for the warm-up and the windows, then until every
// request sent has been answered (at most request_timeout more). INVALID_ARGUMENT for a spec out
// of range (including open loop with LoadMode::kStream or Protocol::kRest, and streams over
// another protocol than kNative);
// the first GetMetrics failure (UNAVAILABLE when no daemon listens, ...). Failed requests do
// not fail the level: they are counted. Thread-safe; uses gRPC's threads.
absl::StatusOr<LevelResult> RunLoadLevel(const std::shared_ptr<grpc::ChannelInterface>& channel,
                                         const LoadSpec& spec,
                                         const std::vector<std::string>& images);

// `count` deterministic pseudo-random images of `input_bytes` bytes (seeded by `seed`), for
// loads that need no real data. Pure function.
std::vector<std::string> SyntheticImages(size_t input_bytes, size_t count, uint64_t seed);

}  // namespace pynq::clients

#endif  // PYNQ_CLIENTS_LOAD_GENERATOR_H_
