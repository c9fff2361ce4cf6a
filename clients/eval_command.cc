// RunEval(): accuracy, throughput and latency of a labelled IDX data set over ClassifyStream.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "clients/commands.h"
#include "clients/idx_file.h"
#include "clients/image_io.h"
#include "clients/latency_stats.h"
#include "clients/rpc_status.h"
#include "clients/windowed_stream.h"
#include "pynq_infer/v1/inference.grpc.pb.h"

namespace pynq::clients {
namespace {

using pynq_infer::v1::ClassifyRequest;
using pynq_infer::v1::ClassifyResponse;

// Failed requests printed one by one; the rest are only counted (a dead daemon would otherwise
// print one line per image).
constexpr size_t kFailuresShown = 10;

struct RequestFailure {
  size_t request;
  size_t first_image;
  size_t num_images;
  absl::Status status;
};

// The data set being evaluated and how it is cut into requests.
struct EvalPlan {
  GrayImages images;
  std::vector<uint8_t> labels;
  size_t num_images;  // Evaluated: the first num_images of `images`.
  size_t per_request;

  size_t num_requests() const { return (num_images + per_request - 1) / per_request; }
  size_t first_image(size_t request) const { return request * per_request; }
  size_t images_in(size_t request) const {
    return std::min(per_request, num_images - first_image(request));
  }
};

// What the responses said. Written only by the response handler, which RunWindowedStream() calls
// one at a time; read after the stream has ended.
struct EvalTally {
  size_t images = 0;
  size_t correct = 0;
  uint32_t classes = 0;                   // Scores per image, from the first successful response.
  std::vector<int32_t> scores;            // num_images x classes once `classes` is known.
  std::vector<absl::Duration> latencies;  // One per successful request.
  double queue_us_sum = 0;
  double accelerator_us_sum = 0;
  double batch_size_sum = 0;
  std::string model_version;
  std::string backend;
  std::vector<RequestFailure> failures;
};

absl::StatusOr<EvalPlan> LoadPlan(const EvalOptions& options) {
  if (options.images_path.empty() || options.labels_path.empty()) {
    return absl::InvalidArgumentError("eval needs both an images file and a labels file");
  }
  if (options.images_per_request == 0) {
    return absl::InvalidArgumentError("images per request must be at least 1, got 0");
  }
  absl::StatusOr<GrayImages> images = ReadIdxImages(options.images_path);
  if (!images.ok()) return images.status();
  absl::StatusOr<std::vector<uint8_t>> labels = ReadIdxLabels(options.labels_path);
  if (!labels.ok()) return labels.status();
  if (labels->size() != images->count) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s holds %d images but %s holds %d labels; expected one label per image",
                        options.images_path, images->count, options.labels_path, labels->size()));
  }
  size_t n = images->count;
  if (options.max_images != 0) n = std::min<size_t>(n, options.max_images);
  if (n == 0) return absl::InvalidArgumentError(absl::StrCat(options.images_path, " is empty"));
  return EvalPlan{.images = *std::move(images),
                  .labels = *std::move(labels),
                  .num_images = n,
                  .per_request = options.images_per_request};
}

// Checks a response to `request` and returns why it failed, or OK with its results tallied.
absl::Status TallyResponse(const EvalPlan& plan, size_t request, const ClassifyResponse& response,
                           absl::Duration latency, EvalTally& tally) {
  if (response.tag() != request) {
    return absl::InternalError(
        absl::StrFormat("response %d carries tag %d; responses must come in request order", request,
                        response.tag()));
  }
  if (response.has_error()) return FromStreamError(response.error());
  const size_t first = plan.first_image(request);
  const size_t count = plan.images_in(request);
  if (static_cast<size_t>(response.results_size()) != count) {
    return absl::InternalError(
        absl::StrFormat("%d results for %d images", response.results_size(), count));
  }
  if (tally.classes == 0) {
    tally.classes = static_cast<uint32_t>(response.results(0).scores_size());
    if (tally.classes == 0) return absl::InternalError("a result without scores");
    tally.scores.assign(plan.num_images * tally.classes, 0);
    tally.model_version = response.model_version();
    tally.backend = response.backend();
  }
  // Check every result before counting any, so that a request is either tallied or failed.
  for (const auto& result : response.results()) {
    if (static_cast<uint32_t>(result.scores_size()) != tally.classes) {
      return absl::InternalError(absl::StrFormat("a result with %d scores; earlier results had %d",
                                                 result.scores_size(), tally.classes));
    }
  }
  for (size_t i = 0; i < count; ++i) {
    const auto& result = response.results(static_cast<int>(i));
    const size_t image = first + i;
    tally.correct += result.class_index() == plan.labels[image] ? 1 : 0;
    std::copy(result.scores().begin(), result.scores().end(),
              tally.scores.begin() + static_cast<std::ptrdiff_t>(image * tally.classes));
    tally.queue_us_sum += static_cast<double>(result.queue_us());
    tally.accelerator_us_sum += static_cast<double>(result.accelerator_us());
    tally.batch_size_sum += result.batch_size();
  }
  tally.images += count;
  tally.latencies.push_back(latency);
  return absl::OkStatus();
}

double Mean(double sum, size_t n) { return n == 0 ? 0.0 : sum / static_cast<double>(n); }

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

void PrintReport(const EvalOptions& options, const EvalPlan& plan, const EvalTally& tally,
                 absl::Duration wall, std::ostream& out) {
  for (size_t i = 0; i < std::min(tally.failures.size(), kFailuresShown); ++i) {
    const RequestFailure& f = tally.failures[i];
    out << absl::StrFormat("error: request %d (images %d-%d): %s\n", f.request, f.first_image,
                           f.first_image + f.num_images - 1, f.status.ToString());
  }
  if (tally.failures.size() > kFailuresShown) {
    out << absl::StrFormat("error: %d more failed requests not shown\n",
                           tally.failures.size() - kFailuresShown);
  }
  const LatencyStats latency = ComputeLatencyStats(tally.latencies);
  const double wall_s = absl::ToDoubleSeconds(wall);
  out << "model: " << options.model << "\n";
  out << "model_version: " << OrDash(tally.model_version) << "\n";
  out << "backend: " << OrDash(tally.backend) << "\n";
  out << "requests: " << plan.num_requests() << "\n";
  out << "failed_requests: " << tally.failures.size() << "\n";
  if (!tally.failures.empty()) {
    std::map<std::string, size_t> by_code;
    for (const RequestFailure& f : tally.failures) {
      ++by_code[absl::StatusCodeToString(f.status.code())];
    }
    out << "failed_by_code: " << absl::StrJoin(by_code, " ", absl::PairFormatter("=")) << "\n";
  }
  out << "images: " << tally.images << "\n";
  out << "correct: " << tally.correct << "\n";
  out << absl::StrFormat("accuracy_pct: %.2f\n", 100.0 * Mean(tally.correct, tally.images));
  out << absl::StrFormat("wall_s: %.3f\n", wall_s);
  out << absl::StrFormat("images_per_s: %.1f\n",
                         wall_s > 0 ? static_cast<double>(tally.images) / wall_s : 0.0);
  out << absl::StrFormat("latency_p50_ms: %.3f\n", absl::ToDoubleMilliseconds(latency.p50));
  out << absl::StrFormat("latency_p90_ms: %.3f\n", absl::ToDoubleMilliseconds(latency.p90));
  out << absl::StrFormat("latency_p99_ms: %.3f\n", absl::ToDoubleMilliseconds(latency.p99));
  out << absl::StrFormat("latency_max_ms: %.3f\n", absl::ToDoubleMilliseconds(latency.max));
  out << absl::StrFormat("queue_us_mean: %.1f\n", Mean(tally.queue_us_sum, tally.images));
  out << absl::StrFormat("accelerator_us_mean: %.1f\n",
                         Mean(tally.accelerator_us_sum, tally.images));
  out << absl::StrFormat("batch_size_mean: %.1f\n", Mean(tally.batch_size_sum, tally.images));
}

}  // namespace

absl::Status RunEval(const EvalOptions& options,
                     const std::shared_ptr<grpc::ChannelInterface>& channel, std::ostream& out) {
  absl::StatusOr<EvalPlan> loaded = LoadPlan(options);
  if (!loaded.ok()) return loaded.status();
  const EvalPlan& plan = *loaded;

  EvalTally tally;
  const auto build = [&](size_t request, ClassifyRequest* r) {
    r->set_model(options.model);
    r->set_tag(request);
    const size_t first = plan.first_image(request);
    for (size_t i = first; i < first + plan.images_in(request); ++i) {
      const absl::Span<const uint8_t> pixels = plan.images.image(i);
      r->add_images(reinterpret_cast<const char*>(pixels.data()), pixels.size());
    }
  };
  const auto handle = [&](size_t request, const ClassifyResponse& response,
                          absl::Duration latency) {
    absl::Status s = TallyResponse(plan, request, response, latency, tally);
    if (!s.ok()) {
      tally.failures.push_back({.request = request,
                                .first_image = plan.first_image(request),
                                .num_images = plan.images_in(request),
                                .status = std::move(s)});
    }
  };

  std::unique_ptr<pynq_infer::v1::Inference::Stub> stub =
      pynq_infer::v1::Inference::NewStub(channel);
  const auto start = std::chrono::steady_clock::now();
  const absl::Status stream_status = RunWindowedStream(
      *stub, {.window = options.window, .response_timeout = options.response_timeout},
      plan.num_requests(), build, handle);
  const absl::Duration wall = absl::FromChrono(std::chrono::steady_clock::now() - start);

  // A stream that failed before any answer (no daemon, bad options) has nothing to report.
  if (!stream_status.ok() && tally.images == 0 && tally.failures.empty()) return stream_status;
  PrintReport(options, plan, tally, wall, out);
  if (!stream_status.ok()) return stream_status;
  if (!tally.failures.empty()) {
    const absl::Status& first = tally.failures.front().status;
    return Annotate(first, absl::StrFormat("%d of %d requests failed; the first: %s",
                                           tally.failures.size(), plan.num_requests(),
                                           absl::StatusCodeToString(first.code())));
  }
  if (!options.scores_out.empty()) {
    const Int32Matrix scores{.rows = static_cast<uint32_t>(plan.num_images),
                             .cols = tally.classes,
                             .values = std::move(tally.scores)};
    if (absl::Status s = WriteIdxInt32Matrix(options.scores_out, scores); !s.ok()) return s;
    out << "scores_out: " << options.scores_out << "\n";
  }
  const double accuracy_pct = 100.0 * Mean(tally.correct, tally.images);
  if (accuracy_pct < options.min_accuracy_pct) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "accuracy %.2f %% is below the required %.2f %%", accuracy_pct, options.min_accuracy_pct));
  }
  return absl::OkStatus();
}

}  // namespace pynq::clients
