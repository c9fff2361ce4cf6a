#include "clients/load_generator.h"

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "clients/call_driver.h"
#include "clients/latency_stats.h"
#include "clients/load_recorder.h"
#include "clients/rest_load_driver.h"
#include "clients/rpc_status.h"
#include "clients/unary_calls.h"
#include "clients/windowed_stream.h"
#include "inference/grpc_service.grpc.pb.h"
#include "pynq_infer/v1/inference.grpc.pb.h"

namespace pynq::clients {
namespace {

using inference::GRPCInferenceService;
using inference::ModelInferRequest;
using pynq_infer::v1::ClassifyRequest;
using pynq_infer::v1::ClassifyResponse;
using pynq_infer::v1::Inference;

// Distinct requests the load cycles through; enough to vary the images, few enough to build once.
constexpr size_t kMaxDistinctRequests = 64;

// Cumulative server figures of one model, from GetMetrics.
struct ServerTotals {
  uint64_t images = 0;
  uint64_t batches = 0;
  double queue_sum_us = 0;
  uint64_t queue_count = 0;
  double compute_sum_us = 0;
  uint64_t compute_count = 0;
};

absl::StatusOr<ServerTotals> FetchOneServer(Inference::Stub& stub, const std::string& model,
                                            absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  pynq_infer::v1::GetMetricsResponse response;
  const grpc::Status status = stub.GetMetrics(&context, {}, &response);
  if (!status.ok()) return FromGrpcStatus(status, "GetMetrics");
  for (const auto& m : response.models()) {
    if (m.model() != model) continue;
    return ServerTotals{.images = m.images(),
                        .batches = m.batches(),
                        .queue_sum_us = m.queue().mean_us() * static_cast<double>(m.queue().count()),
                        .queue_count = m.queue().count(),
                        .compute_sum_us =
                            m.accelerator().mean_us() * static_cast<double>(m.accelerator().count()),
                        .compute_count = m.accelerator().count()};
  }
  return absl::NotFoundError(absl::StrCat("GetMetrics: the daemon reports no model \"", model,
                                          "\" (see `pynq-infer models`)"));
}

// The sum over `stubs`, one per board.
absl::StatusOr<ServerTotals> FetchServerTotals(
    const std::vector<std::unique_ptr<Inference::Stub>>& stubs, const std::string& model,
    absl::Duration timeout) {
  ServerTotals sum;
  for (const auto& stub : stubs) {
    PYNQ_ASSIGN_OR_RETURN(ServerTotals t, FetchOneServer(*stub, model, timeout));
    sum.images += t.images;
    sum.batches += t.batches;
    sum.queue_sum_us += t.queue_sum_us;
    sum.queue_count += t.queue_count;
    sum.compute_sum_us += t.compute_sum_us;
    sum.compute_count += t.compute_count;
  }
  return sum;
}

// Drives `spec.streams` ClassifyStream calls, each with its share of the concurrency in flight.
class StreamDriver {
 public:
  StreamDriver(Inference::Stub& stub, const LoadSpec& spec,
               const std::vector<ClassifyRequest>& requests, Recorder& recorder)
      : stub_(stub), spec_(spec), requests_(requests), recorder_(recorder) {}

  void Start() {
    const uint32_t window = (spec_.concurrency + spec_.streams - 1) / spec_.streams;
    for (uint32_t s = 0; s < spec_.streams; ++s) {
      threads_.emplace_back([this, s, window] {
        const absl::Status status = RunWindowedStream(
            stub_,
            {.window = window, .response_timeout = spec_.request_timeout, .stop = &stop_},
            std::numeric_limits<size_t>::max(),
            [this, s](size_t i, ClassifyRequest* r) {
              *r = requests_[(i + s) % requests_.size()];
              r->set_tag(i);
            },
            [this](size_t, const ClassifyResponse& response, absl::Duration latency) {
              recorder_.Add(Clock::now(), latency, spec_.images_per_request,
                            CheckResponse(response, spec_.images_per_request));
            });
        if (!status.ok()) {
          // A broken stream is one failure of the level, under its code.
          recorder_.Add(Clock::now(), absl::ZeroDuration(), 0, status.code());
        }
      });
    }
  }

  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) t.join();
  }

 private:
  Inference::Stub& stub_;
  const LoadSpec& spec_;
  const std::vector<ClassifyRequest>& requests_;
  Recorder& recorder_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

absl::Status CheckSpec(const LoadSpec& spec, const std::vector<std::string>& images) {
  if (images.empty()) return absl::InvalidArgumentError("the load needs at least one image");
  if (spec.model.empty()) return absl::InvalidArgumentError("the load needs a model name");
  if (spec.images_per_request == 0 || spec.streams == 0 || spec.max_windows == 0 ||
      spec.max_outstanding == 0) {
    return absl::InvalidArgumentError(
        "images per request, streams, windows and max outstanding must each be at least 1");
  }
  if (spec.window <= absl::ZeroDuration() || spec.warmup < absl::ZeroDuration() ||
      spec.request_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "the measurement window and request timeout must be positive, the warm-up not negative");
  }
  if (spec.arrival == Arrival::kClosedLoop && spec.concurrency == 0) {
    return absl::InvalidArgumentError("a closed loop needs a concurrency of at least 1");
  }
  // The rate of an open loop is checked by CallDriver::Create(), before any call.
  if (spec.arrival != Arrival::kClosedLoop) {
    if (spec.mode == LoadMode::kStream) {
      return absl::InvalidArgumentError(
          "open-loop rates are for unary calls; a stream's flow control makes it a closed loop");
    }
    if (spec.protocol == Protocol::kRest) {
      return absl::InvalidArgumentError(
          "open-loop rates are for the gRPC protocols; the REST load is a closed loop");
    }
  }
  if (spec.protocol != Protocol::kNative && spec.mode == LoadMode::kStream) {
    return absl::InvalidArgumentError("stream mode is for the native protocol only");
  }
  return absl::OkStatus();
}

struct WindowFigures {
  double images_per_s = 0;
  double p50_us = 0;
};

WindowFigures Figures(const std::vector<Sample>& samples, absl::Duration span) {
  std::vector<absl::Duration> latencies;
  uint64_t images = 0;
  for (const Sample& s : samples) {
    if (s.code != absl::StatusCode::kOk) continue;
    latencies.push_back(s.latency);
    images += s.images;
  }
  WindowFigures f;
  f.images_per_s = static_cast<double>(images) / absl::ToDoubleSeconds(span);
  if (!latencies.empty()) {
    f.p50_us = absl::ToDoubleMicroseconds(ComputeLatencyStats(std::move(latencies)).p50);
  }
  return f;
}

// Whether every figure of the last kStableWindows windows is within pct of their mean.
bool Stable(const std::vector<WindowFigures>& windows, double pct) {
  if (windows.size() < kStableWindows) return false;
  const auto last = windows.end() - kStableWindows;
  for (double WindowFigures::*field : {&WindowFigures::images_per_s, &WindowFigures::p50_us}) {
    double mean = 0;
    for (auto it = last; it != windows.end(); ++it) mean += (*it).*field / kStableWindows;
    for (auto it = last; it != windows.end(); ++it) {
      if (std::abs((*it).*field - mean) > pct / 100.0 * mean) return false;
    }
  }
  return true;
}

std::vector<ClassifyRequest> BuildRequests(const LoadSpec& spec,
                                           const std::vector<std::string>& images) {
  const size_t n = std::min(kMaxDistinctRequests, images.size());
  std::vector<ClassifyRequest> requests(n);
  for (size_t j = 0; j < n; ++j) {
    requests[j].set_model(spec.model);
    for (uint32_t i = 0; i < spec.images_per_request; ++i) {
      requests[j].add_images(images[(j * spec.images_per_request + i) % images.size()]);
    }
  }
  return requests;
}

void Summarize(const std::vector<Sample>& samples, absl::Duration span, LevelResult& r) {
  std::vector<absl::Duration> latencies;
  uint64_t images = 0;
  for (const Sample& s : samples) {
    if (s.code == absl::StatusCode::kOk) {
      ++r.requests_ok;
      images += s.images;
      latencies.push_back(s.latency);
    } else {
      ++r.requests_failed;
      ++r.failed_by_code[absl::StatusCodeToString(s.code)];
    }
  }
  const double seconds = absl::ToDoubleSeconds(span);
  r.measured = span;
  r.requests_per_s = static_cast<double>(r.requests_ok) / seconds;
  r.images_per_s = static_cast<double>(images) / seconds;
  if (latencies.empty()) return;
  std::sort(latencies.begin(), latencies.end());
  r.latency_p50 = NearestRankPercentile(latencies, 50);
  r.latency_p90 = NearestRankPercentile(latencies, 90);
  r.latency_p95 = NearestRankPercentile(latencies, 95);
  r.latency_p99 = NearestRankPercentile(latencies, 99);
  r.latency_max = latencies.back();
}

}  // namespace

std::vector<std::string> SyntheticImages(size_t input_bytes, size_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> images(count, std::string(input_bytes, '\0'));
  for (std::string& image : images) {
    for (char& pixel : image) pixel = static_cast<char>(rng() & 0xff);
  }
  return images;
}

absl::StatusOr<LevelResult> RunLoadLevel(const std::shared_ptr<grpc::ChannelInterface>& channel,
                                         const LoadSpec& spec,
                                         const std::vector<std::string>& images) {
  if (absl::Status s = CheckSpec(spec, images); !s.ok()) return s;
  std::unique_ptr<Inference::Stub> stub = Inference::NewStub(channel);
  std::vector<std::unique_ptr<Inference::Stub>> metrics_stubs;
  if (spec.metrics_channels.empty()) metrics_stubs.push_back(Inference::NewStub(channel));
  for (const auto& board : spec.metrics_channels) {
    metrics_stubs.push_back(Inference::NewStub(board));
  }
  // Checked before any load: no daemon, or no such model, fails here.
  absl::StatusOr<ServerTotals> first =
      FetchServerTotals(metrics_stubs, spec.model, spec.request_timeout);
  if (!first.ok()) return first.status();

  const std::vector<ClassifyRequest> requests = BuildRequests(spec, images);
  Recorder recorder;
  std::vector<ModelInferRequest> oip_requests;
  std::vector<std::string> rest_bodies;
  std::unique_ptr<GRPCInferenceService::Stub> oip_stub;
  CallDriver::IssueFn issue;
  if (spec.protocol == Protocol::kOip) {
    oip_requests = OipRequests(requests);
    oip_stub = GRPCInferenceService::NewStub(channel);
    issue = OipCalls(*oip_stub, spec, oip_requests);
  } else {
    issue = NativeCalls(*stub, spec, requests);
  }
  std::optional<RestLoadDriver> rest;
  if (spec.protocol == Protocol::kRest) {
    absl::StatusOr<std::pair<std::string, int>> address = SplitHostPort(spec.http_address);
    if (!address.ok()) return address.status();
    for (const ClassifyRequest& r : requests) {
      rest_bodies.push_back(RestInferBody({r.images().begin(), r.images().end()}));
    }
    rest.emplace(RestLoadDriver::Options{.host = address->first,
                                         .port = address->second,
                                         .path = absl::StrCat("/v2/models/", spec.model, "/infer"),
                                         .concurrency = spec.concurrency,
                                         .images_per_request = spec.images_per_request,
                                         .timeout = spec.request_timeout},
                 rest_bodies, recorder);
  }
  const bool unary_mode = spec.mode == LoadMode::kUnary && !rest.has_value();
  std::unique_ptr<CallDriver> unary;
  if (unary_mode) {
    PYNQ_ASSIGN_OR_RETURN(
        unary, CallDriver::Create(
                   {.arrival = spec.arrival,
                    .concurrency = spec.concurrency,
                    .rate_per_s = spec.rate_per_s,
                    .max_outstanding = spec.max_outstanding,
                    .seed = spec.seed,
                    .issue = std::move(issue),
                    .on_done = [&spec, &recorder](const CallDriver::Completion& c) {
                      recorder.Add(c.done, absl::FromChrono(c.done - c.due),
                                   spec.images_per_request, c.status.code());
                    }}));
  }
  StreamDriver stream(*stub, spec, requests, recorder);
  if (rest.has_value()) {
    rest->Start();
  } else if (unary_mode) {
    unary->Start();
  } else {
    stream.Start();
  }
  const auto stop = [&] {
    if (rest.has_value()) {
      rest->Stop();
    } else if (unary_mode) {
      unary->Stop();
    } else {
      stream.Stop();
    }
  };

  absl::SleepFor(spec.warmup);
  std::vector<Clock::time_point> bounds = {Clock::now()};
  std::vector<ServerTotals> totals;
  std::vector<WindowFigures> windows;
  absl::Status fetch_status = absl::OkStatus();
  const auto fetch = [&] {
    absl::StatusOr<ServerTotals> t =
        FetchServerTotals(metrics_stubs, spec.model, spec.request_timeout);
    if (!t.ok() && fetch_status.ok()) fetch_status = t.status();
    totals.push_back(t.value_or(ServerTotals{}));
  };
  fetch();
  while (windows.size() < spec.max_windows && !Stable(windows, spec.stability_pct)) {
    std::this_thread::sleep_until(bounds.back() + absl::ToChronoNanoseconds(spec.window));
    bounds.push_back(Clock::now());
    fetch();
    const auto end = bounds.end() - 1;
    windows.push_back(Figures(recorder.Between(*(end - 1), *end),
                              absl::FromChrono(*end - *(end - 1))));
  }
  stop();
  if (!fetch_status.ok()) return fetch_status;

  LevelResult result;
  result.spec = spec;
  result.windows = static_cast<uint32_t>(windows.size());
  result.stable = Stable(windows, spec.stability_pct);
  const size_t from = result.stable ? windows.size() - kStableWindows : 0;
  Summarize(recorder.Between(bounds[from], bounds.back()),
            absl::FromChrono(bounds.back() - bounds[from]), result);
  if (unary_mode) result.client_dropped = unary->dropped();

  const ServerTotals& a = totals[from];
  const ServerTotals& b = totals.back();
  if (b.queue_count > a.queue_count) {
    result.server_queue_us =
        (b.queue_sum_us - a.queue_sum_us) / static_cast<double>(b.queue_count - a.queue_count);
  }
  if (b.compute_count > a.compute_count) {
    result.server_compute_us = (b.compute_sum_us - a.compute_sum_us) /
                               static_cast<double>(b.compute_count - a.compute_count);
  }
  if (b.batches > a.batches) {
    result.server_batch_size =
        static_cast<double>(b.images - a.images) / static_cast<double>(b.batches - a.batches);
  }
  return result;
}

}  // namespace pynq::clients
