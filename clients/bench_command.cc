// RunBench(): `pynq-infer bench`, a load sweep with a table, CSV and a throughput-vs-latency plot.
#include <grpcpp/client_context.h>

#include <algorithm>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "clients/commands.h"
#include "clients/file_io.h"
#include "clients/idx_file.h"
#include "clients/rpc_status.h"
#include "clients/svg_plot.h"
#include "pynq_infer/v1/inference.grpc.pb.h"

namespace pynq::clients {
namespace {

// The images to send: the IDX file's, or synthetic ones of the model's input size.
absl::StatusOr<std::vector<std::string>> LoadImages(
    const BenchOptions& options, const std::shared_ptr<grpc::ChannelInterface>& channel) {
  if (!options.images_path.empty()) {
    absl::StatusOr<GrayImages> idx = ReadIdxImages(options.images_path);
    if (!idx.ok()) return idx.status();
    if (idx->count == 0) {
      return absl::InvalidArgumentError(absl::StrCat(options.images_path, " holds no image"));
    }
    std::vector<std::string> images;
    for (size_t i = 0; i < idx->count; ++i) {
      const absl::Span<const uint8_t> pixels = idx->image(i);
      images.emplace_back(pixels.begin(), pixels.end());
    }
    return images;
  }
  std::unique_ptr<pynq_infer::v1::Inference::Stub> stub =
      pynq_infer::v1::Inference::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options.load.request_timeout));
  pynq_infer::v1::ListModelsResponse response;
  const grpc::Status status = stub->ListModels(&context, {}, &response);
  if (!status.ok()) return FromGrpcStatus(status, "ListModels");
  for (const auto& m : response.models()) {
    if (m.name() == options.load.model) {
      return SyntheticImages(m.input_bytes(), 64, /*seed=*/1);
    }
  }
  return absl::NotFoundError(absl::StrCat("model \"", options.load.model,
                                          "\" is not loaded (see `pynq-infer models`)"));
}

// unary, multi, stream (native API); oip, oip-m (OIP gRPC, one or several images per request);
// rest, rest-m (OIP REST).
std::string ModeName(const LoadSpec& spec) {
  if (spec.mode == LoadMode::kStream) return "stream";
  const bool multi = spec.images_per_request > 1;
  switch (spec.protocol) {
    case Protocol::kOip:
      return multi ? "oip-m" : "oip";
    case Protocol::kRest:
      return multi ? "rest-m" : "rest";
    case Protocol::kNative:
      break;
  }
  return multi ? "multi" : "unary";
}

std::string LoadName(const LoadSpec& spec) {
  switch (spec.arrival) {
    case Arrival::kClosedLoop:
      return absl::StrCat("c=", spec.concurrency);
    case Arrival::kConstant:
      return absl::StrFormat("r=%g const", spec.rate_per_s);
    case Arrival::kPoisson:
      return absl::StrFormat("r=%g poisson", spec.rate_per_s);
  }
  return "";
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

constexpr char kTableHeader[] =
    "%-6s %-16s %10s %11s %8s %8s %8s %8s %9s %10s %6s %7s %s\n";
constexpr char kTableRow[] =
    "%-6s %-16s %10.1f %11.1f %8.3f %8.3f %8.3f %8.3f %9.1f %10.1f %6.1f %7d %s\n";

void PrintRow(const LevelResult& r, std::ostream& out) {
  std::string failed_note;
  if (r.requests_failed > 0) {
    failed_note = absl::StrCat(" (", absl::StrJoin(r.failed_by_code, " ", absl::PairFormatter("=")),
                               ")");
  }
  if (r.client_dropped > 0) absl::StrAppend(&failed_note, " client_dropped=", r.client_dropped);
  out << absl::StrFormat(kTableRow, ModeName(r.spec), LoadName(r.spec), r.requests_per_s,
                         r.images_per_s, Ms(r.latency_p50), Ms(r.latency_p90), Ms(r.latency_p95),
                         Ms(r.latency_p99), r.server_queue_us, r.server_compute_us,
                         r.server_batch_size, r.requests_failed,
                         absl::StrCat(r.stable ? "yes" : "no", failed_note));
  out.flush();
}

std::string Csv(const std::vector<LevelResult>& results) {
  std::string csv =
      "mode,images_per_request,arrival,concurrency,rate_per_s,streams,requests_per_s,"
      "images_per_s,latency_p50_ms,latency_p90_ms,latency_p95_ms,latency_p99_ms,"
      "latency_max_ms,server_queue_us,server_compute_us,server_batch_size,requests_ok,"
      "requests_failed,client_dropped,windows,stable\n";
  for (const LevelResult& r : results) {
    const LoadSpec& s = r.spec;
    const char* arrival = s.arrival == Arrival::kClosedLoop ? "closed"
                          : s.arrival == Arrival::kConstant ? "constant"
                                                            : "poisson";
    absl::StrAppendFormat(
        &csv, "%s,%d,%s,%d,%g,%d,%.2f,%.2f,%.4f,%.4f,%.4f,%.4f,%.4f,%.2f,%.2f,%.2f,%d,%d,%d,%d,%d\n",
        ModeName(s), s.images_per_request, arrival,
        s.arrival == Arrival::kClosedLoop ? s.concurrency : 0,
        s.arrival == Arrival::kClosedLoop ? 0.0 : s.rate_per_s, s.streams, r.requests_per_s,
        r.images_per_s, Ms(r.latency_p50), Ms(r.latency_p90), Ms(r.latency_p95),
        Ms(r.latency_p99), Ms(r.latency_max), r.server_queue_us, r.server_compute_us,
        r.server_batch_size, r.requests_ok, r.requests_failed, r.client_dropped, r.windows,
        r.stable ? 1 : 0);
  }
  return csv;
}

std::string Plot(const BenchOptions& options, const std::vector<LevelResult>& results) {
  PlotSpec plot{.title = absl::StrFormat("%s: throughput vs latency (%s, %d image%s/request)",
                                         options.load.model, ModeName(results.front().spec),
                                         options.load.images_per_request,
                                         options.load.images_per_request == 1 ? "" : "s"),
                .x_label = "client latency (ms, log scale)",
                .y_label = "images/s",
                .log_x = true};
  PlotSeries p50{.name = "p50 latency", .color = "#1f77b4", .points = {}};
  PlotSeries p99{.name = "p99 latency", .color = "#d62728", .points = {}};
  for (const LevelResult& r : results) {
    if (r.requests_ok == 0) continue;
    p50.points.push_back({Ms(r.latency_p50), r.images_per_s, LoadName(r.spec)});
    p99.points.push_back({Ms(r.latency_p99), r.images_per_s, LoadName(r.spec)});
  }
  plot.series = {std::move(p50), std::move(p99)};
  return RenderSvgPlot(plot);
}

}  // namespace

absl::Status RunBench(const BenchOptions& options,
                      const std::shared_ptr<grpc::ChannelInterface>& channel, std::ostream& out) {
  if (options.rates.empty() && options.concurrency.empty()) {
    return absl::InvalidArgumentError("bench needs at least one concurrency or rate");
  }
  absl::StatusOr<std::vector<std::string>> images = LoadImages(options, channel);
  if (!images.ok()) return images.status();

  std::vector<LoadSpec> levels;
  const LoadSpec& base = options.load;
  if (options.rates.empty()) {
    for (uint32_t c : options.concurrency) {
      LoadSpec spec = base;
      spec.concurrency = c;
      levels.push_back(spec);
    }
  } else {
    for (double rate : options.rates) {
      LoadSpec spec = base;
      spec.arrival = options.arrival;
      spec.rate_per_s = rate;
      levels.push_back(spec);
    }
  }

  out << absl::StrFormat(kTableHeader, "mode", "load", "req/s", "images/s", "p50_ms", "p90_ms",
                         "p95_ms", "p99_ms", "queue_us", "compute_us", "batch", "failed",
                         "stable");
  std::vector<LevelResult> results;
  for (const LoadSpec& spec : levels) {
    absl::StatusOr<LevelResult> result = RunLoadLevel(channel, spec, *images);
    if (!result.ok()) return result.status();
    PrintRow(*result, out);
    results.push_back(*std::move(result));
    if (results.back().requests_ok == 0) {
      return absl::UnavailableError(absl::StrCat("no request succeeded at load ",
                                                 LoadName(spec), "; stopped the sweep"));
    }
  }
  if (!options.csv_path.empty()) {
    if (absl::Status s = WriteFileBytes(options.csv_path, Csv(results)); !s.ok()) return s;
    out << "csv: " << options.csv_path << "\n";
  }
  if (!options.plot_path.empty()) {
    if (absl::Status s = WriteFileBytes(options.plot_path, Plot(options, results)); !s.ok()) {
      return s;
    }
    out << "plot: " << options.plot_path << "\n";
  }
  return absl::OkStatus();
}

}  // namespace pynq::clients
