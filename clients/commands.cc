// RunClassify(), RunMetrics(), RunModels(), RunLoad(), RunUnload() and RunHealth(); RunEval() is
// in eval_command.cc.
#include "clients/commands.h"

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/file_io.h"
#include "clients/idx_file.h"
#include "clients/image_io.h"
#include "clients/rpc_status.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "pynq_infer/v1/inference.grpc.pb.h"

namespace pynq::clients {
namespace {

using pynq_infer::v1::Classification;
using pynq_infer::v1::ClassifyRequest;
using pynq_infer::v1::ClassifyResponse;
using pynq_infer::v1::Inference;

absl::Status CheckTimeout(absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the RPC timeout must be positive, got ", absl::FormatDuration(timeout)));
  }
  return absl::OkStatus();
}

void SetTimeout(absl::Duration timeout, grpc::ClientContext* context) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

std::string Quote(absl::string_view s) { return absl::StrCat("\"", absl::CEscape(s), "\""); }

// What one input file holds: raw images (an IDX file, or a PGM or PNG of exactly the model's
// input size), or one picture whose bytes are sent for the daemon to prepare (JPEG, any other PGM
// or PNG).
struct FileContent {
  bool picture = false;
  GrayImages raw;
  std::string bytes;
  uint32_t count() const { return picture ? 1 : raw.count; }
};

// One image to classify: which file it came from and where in it.
struct ImageRef {
  size_t file;
  uint32_t index;
};

std::string SourceName(const std::vector<std::string>& files,
                       const std::vector<FileContent>& contents, const ImageRef& ref) {
  // A file of one image (a PNG, a PGM) needs no index to name it.
  if (contents[ref.file].count() == 1) return files[ref.file];
  return absl::StrCat(files[ref.file], "#", ref.index);
}

// `model` as the daemon lists it; nullopt if it does not list it (the Classify call then says
// why).
std::optional<pynq_infer::v1::ModelInfo> FindModel(Inference::Stub& stub, const std::string& model,
                                                   absl::Duration timeout) {
  grpc::ClientContext context;
  SetTimeout(timeout, &context);
  pynq_infer::v1::ListModelsResponse response;
  if (!stub.ListModels(&context, pynq_infer::v1::ListModelsRequest(), &response).ok()) {
    return std::nullopt;
  }
  for (const auto& m : response.models()) {
    if (m.name() == model) return m;
  }
  return std::nullopt;
}

absl::StatusOr<FileContent> ReadInput(const std::string& path, Inference::Stub& stub,
                                      const ClassifyOptions& options,
                                      std::optional<std::optional<pynq_infer::v1::ModelInfo>>& model) {
  absl::StatusOr<std::string> bytes = ReadFileBytes(path);
  if (!bytes.ok()) return bytes.status();
  FileContent content;
  if (bytes->size() >= 2 && (*bytes)[0] == 0 && (*bytes)[1] == 0) {
    absl::StatusOr<GrayImages> raw = ParseIdxImages(*bytes, path);
    if (!raw.ok()) return raw.status();
    content.raw = *std::move(raw);
    return content;
  }
  if (absl::StartsWith(*bytes, "P5") || absl::StartsWith(*bytes, "\x89PNG")) {
    // A PGM or PNG of exactly the model's input size already is an input (an MNIST digit saved
    // as a file): its gray pixels are sent as they are, as before pictures and as the Python
    // client does, rather than cropped and fitted again.
    if (!model.has_value()) model = FindModel(stub, options.model, options.timeout);
    absl::StatusOr<GrayImages> raw = ReadImageFile(path);
    if (raw.ok() && model->has_value() && (*model)->channels() == 1 &&
        raw->height == (*model)->height() && raw->width == (*model)->width()) {
      content.raw = *std::move(raw);
      return content;
    }
  }
  content.picture = true;
  content.bytes = *std::move(bytes);
  return content;
}

// The model's input as text, one line per row, darker characters for lower values.
void PrintModelInput(const std::string& input, uint32_t width, std::ostream& out) {
  constexpr absl::string_view kShades = " .:-=+*#%@";
  if (width == 0) return;
  for (size_t row = 0; row + width <= input.size(); row += width) {
    std::string line = "    ";
    for (size_t x = 0; x < width; ++x) {
      line += kShades[static_cast<uint8_t>(input[row + x]) * kShades.size() / 256];
    }
    out << line << "\n";
  }
}

void PrintClassification(absl::string_view source, const Classification& c, std::ostream& out) {
  out << absl::StrFormat("%s class=%d label=%s", source, c.class_index(), Quote(c.label()));
  if (c.top_size() > 0) {
    std::vector<std::string> top;
    for (const auto& t : c.top()) {
      top.push_back(absl::StrFormat("%d %s %d", t.class_index(), Quote(t.label()), t.score()));
    }
    out << " top=[" << absl::StrJoin(top, ", ") << "]";
  }
  out << absl::StrFormat(" queue_us=%d accelerator_us=%d batch_size=%d\n", c.queue_us(),
                         c.accelerator_us(), c.batch_size());
}

std::string Row(absl::string_view name, const pynq_infer::v1::LatencySummary& s) {
  return absl::StrFormat("  %-16s %10d %10.1f %10.1f %10.1f %10.1f %10.1f\n", name, s.count(),
                         s.mean_us(), s.p50_us(), s.p90_us(), s.p99_us(), s.max_us());
}

}  // namespace

absl::Status RunClassify(const ClassifyOptions& options,
                         const std::shared_ptr<grpc::ChannelInterface>& channel,
                         std::ostream& out) {
  if (options.files.empty()) {
    return absl::InvalidArgumentError("classify needs at least one image file");
  }
  if (options.images_per_request == 0) {
    return absl::InvalidArgumentError("images per request must be at least 1, got 0");
  }
  if (absl::Status s = CheckTimeout(options.timeout); !s.ok()) return s;

  std::unique_ptr<Inference::Stub> stub = Inference::NewStub(channel);
  // Asked for only when a PGM or PNG needs it; the inner nullopt: the daemon does not list the
  // model.
  std::optional<std::optional<pynq_infer::v1::ModelInfo>> model;
  std::vector<FileContent> contents;
  std::vector<ImageRef> refs;
  for (size_t f = 0; f < options.files.size(); ++f) {
    absl::StatusOr<FileContent> content = ReadInput(options.files[f], *stub, options, model);
    if (!content.ok()) return content.status();
    for (uint32_t i = 0; i < content->count(); ++i) refs.push_back({.file = f, .index = i});
    contents.push_back(*std::move(content));
  }
  if (options.max_images != 0 && refs.size() > options.max_images) refs.resize(options.max_images);
  if (refs.empty()) return absl::InvalidArgumentError("the image files hold no images");

  if (options.show_input && !model.has_value()) {
    model = FindModel(*stub, options.model, options.timeout);
  }
  const uint32_t input_width = model.has_value() && model->has_value() ? (*model)->width() : 0;
  // A request carries raw images or pictures, not both: each holds a run of one kind.
  for (size_t first = 0, tag = 0; first < refs.size(); ++tag) {
    const bool pictures = contents[refs[first].file].picture;
    size_t count = 0;
    while (first + count < refs.size() && count < options.images_per_request &&
           contents[refs[first + count].file].picture == pictures) {
      ++count;
    }
    ClassifyRequest request;
    request.set_model(options.model);
    request.set_top_k(options.top_k);
    request.set_tag(tag);
    request.set_return_model_input(options.show_input);
    for (size_t i = first; i < first + count; ++i) {
      const FileContent& content = contents[refs[i].file];
      if (pictures) {
        request.add_encoded_images(content.bytes);
      } else {
        const absl::Span<const uint8_t> pixels = content.raw.image(refs[i].index);
        request.add_images(reinterpret_cast<const char*>(pixels.data()), pixels.size());
      }
    }
    grpc::ClientContext context;
    SetTimeout(options.timeout, &context);
    ClassifyResponse response;
    const grpc::Status status = stub->Classify(&context, request, &response);
    if (!status.ok()) {
      return FromGrpcStatus(status, absl::StrFormat("Classify (images %d-%d of %d)", first,
                                                    first + count - 1, refs.size()));
    }
    if (static_cast<size_t>(response.results_size()) != count) {
      return absl::InternalError(
          absl::StrFormat("Classify: the server returned %d results for %d images",
                          response.results_size(), count));
    }
    for (size_t i = 0; i < count; ++i) {
      const Classification& result = response.results(static_cast<int>(i));
      PrintClassification(SourceName(options.files, contents, refs[first + i]), result, out);
      if (options.show_input) PrintModelInput(result.model_input(), input_width, out);
    }
    first += count;
  }
  return absl::OkStatus();
}

absl::Status RunMetrics(const MetricsOptions& options,
                        const std::shared_ptr<grpc::ChannelInterface>& channel, std::ostream& out) {
  if (absl::Status s = CheckTimeout(options.timeout); !s.ok()) return s;
  std::unique_ptr<Inference::Stub> stub = Inference::NewStub(channel);
  grpc::ClientContext context;
  SetTimeout(options.timeout, &context);
  pynq_infer::v1::GetMetricsResponse response;
  const grpc::Status status =
      stub->GetMetrics(&context, pynq_infer::v1::GetMetricsRequest(), &response);
  if (!status.ok()) return FromGrpcStatus(status, "GetMetrics");

  out << absl::StrFormat("uptime: %.1f s\n", response.uptime_s());
  if (response.models().empty()) out << "no models\n";
  for (const auto& m : response.models()) {
    const double mean_batch =
        m.batches() == 0 ? 0.0 : static_cast<double>(m.images()) / static_cast<double>(m.batches());
    out << absl::StrFormat("\nmodel %s (backend %s)\n", m.model(), m.backend());
    out << absl::StrFormat("  requests: %d ok, %d failed\n", m.requests_ok(), m.requests_failed());
    std::vector<std::string> reasons;
    for (const auto& f : m.failures()) {
      if (f.count() > 0) reasons.push_back(absl::StrCat(f.reason(), " ", f.count()));
    }
    if (!reasons.empty()) out << "  failed by reason: " << absl::StrJoin(reasons, ", ") << "\n";
    out << absl::StrFormat("  images: %d in %d batches (mean batch %.1f), queue depth %d\n",
                           m.images(), m.batches(), mean_batch, m.queue_depth());
    if (!m.engine_state().empty()) {
      // The engine's counters are shared by every model on it; the fallbacks are this model's.
      out << absl::StrFormat(
          "  engine (%s): %s, %d faults, %d resets; this model: %d faulted batches, %d batches "
          "(%d images) run on the CPU instead\n",
          m.device(), m.engine_state(), m.engine_faults(), m.engine_resets(), m.faulted_batches(),
          m.fallback_batches(), m.fallback_images());
      if (!m.last_engine_fault().empty()) {
        out << "  last engine fault: " << m.last_engine_fault() << "\n";
      }
    }
    if (m.shadow_checked() > 0 || m.shadow_skipped() > 0) {
      out << absl::StrFormat("  shadow checks: %d images checked, %d mismatches, %d skipped\n",
                             m.shadow_checked(), m.shadow_mismatches(), m.shadow_skipped());
    }
    out << absl::StrFormat(
        "  images/s: %.1f (last 1 s), %.1f (last 10 s), %.1f (last 60 s), %.1f (since start)\n",
        m.images_per_s_1s(), m.images_per_s_10s(), m.images_per_s_60s(), m.images_per_s_total());
    out << absl::StrFormat("  %-16s %10s %10s %10s %10s %10s %10s\n", "microseconds", "count",
                           "mean", "p50", "p90", "p99", "max");
    out << Row("end-to-end", m.latency()) << Row("queue", m.queue())
        << Row("accelerator", m.accelerator());
  }
  return absl::OkStatus();
}

absl::Status RunFleetMetrics(const MetricsOptions& options, const std::vector<Board>& boards,
                             std::ostream& out) {
  if (absl::Status s = CheckTimeout(options.timeout); !s.ok()) return s;
  struct Totals {
    uint64_t ok = 0, failed = 0, images = 0, queued = 0, faults = 0;
    double images_per_s = 0, p99_us = 0;
    size_t models = 0;
  };
  constexpr char kRow[] = "%-24s %6s %12s %10s %14s %12s %10s %8s %7s\n";
  constexpr char kFigures[] = "%-24s %6d %12d %10d %14d %12.1f %10.2f %8d %7d\n";
  out << absl::StrFormat(kRow, "board", "models", "requests_ok", "failed", "images",
                         "images/s_10s", "p99_ms", "queued", "faults");
  Totals total;
  size_t unreachable = 0;
  for (const Board& board : boards) {
    std::unique_ptr<Inference::Stub> stub = Inference::NewStub(board.channel);
    grpc::ClientContext context;
    SetTimeout(options.timeout, &context);
    pynq_infer::v1::GetMetricsResponse response;
    const grpc::Status status =
        stub->GetMetrics(&context, pynq_infer::v1::GetMetricsRequest(), &response);
    if (!status.ok()) {
      ++unreachable;
      out << absl::StrFormat("%-24s %s\n", board.address,
                             FromGrpcStatus(status, "GetMetrics").ToString());
      continue;
    }
    Totals row;
    for (const auto& m : response.models()) {
      ++row.models;
      row.ok += m.requests_ok();
      row.failed += m.requests_failed();
      row.images += m.images();
      row.queued += m.queue_depth();
      row.faults += m.engine_faults();
      row.images_per_s += m.images_per_s_10s();
      row.p99_us = std::max(row.p99_us, m.latency().p99_us());
    }
    out << absl::StrFormat(kFigures, board.address, row.models, row.ok, row.failed, row.images,
                           row.images_per_s, row.p99_us / 1000, row.queued, row.faults);
    total.models = std::max(total.models, row.models);
    total.ok += row.ok;
    total.failed += row.failed;
    total.images += row.images;
    total.queued += row.queued;
    total.faults += row.faults;
    total.images_per_s += row.images_per_s;
    total.p99_us = std::max(total.p99_us, row.p99_us);
  }
  out << absl::StrFormat(kFigures,
                         absl::StrFormat("total (%d of %d)", boards.size() - unreachable,
                                         boards.size()),
                         total.models, total.ok, total.failed, total.images, total.images_per_s,
                         total.p99_us / 1000, total.queued, total.faults);
  if (unreachable > 0) {
    return absl::UnavailableError(
        absl::StrFormat("%d of %d boards did not answer GetMetrics", unreachable, boards.size()));
  }
  return absl::OkStatus();
}

absl::Status RunModels(const ModelsOptions& options,
                       const std::shared_ptr<grpc::ChannelInterface>& channel, std::ostream& out) {
  if (absl::Status s = CheckTimeout(options.timeout); !s.ok()) return s;
  std::unique_ptr<Inference::Stub> stub = Inference::NewStub(channel);
  grpc::ClientContext context;
  SetTimeout(options.timeout, &context);
  pynq_infer::v1::ListModelsResponse response;
  const grpc::Status status =
      stub->ListModels(&context, pynq_infer::v1::ListModelsRequest(), &response);
  if (!status.ok()) return FromGrpcStatus(status, "ListModels");

  if (response.models().empty()) out << "no models loaded\n";
  for (int i = 0; i < response.models_size(); ++i) {
    const auto& m = response.models(i);
    if (i > 0) out << "\n";
    out << absl::StrFormat("%s (version %s, backend %s)\n", m.name(), m.version(), m.backend());
    if (!m.description().empty()) out << "  " << m.description() << "\n";
    if (!m.file().empty()) out << "  file: " << m.file() << "\n";
    out << absl::StrFormat("  input: %dx%dx%d uint8 (%d bytes), max batch %d, file %d bytes\n",
                           m.channels(), m.height(), m.width(), m.input_bytes(), m.max_batch_size(),
                           m.file_bytes());
    std::vector<std::string> labels;
    for (const std::string& label : m.labels()) labels.push_back(Quote(label));
    out << absl::StrFormat("  labels (%d): %s\n", m.labels_size(), absl::StrJoin(labels, ", "));
    out << absl::StrFormat("  layers (%d):\n", m.layers_size());
    for (const std::string& layer : m.layers()) out << "    " << layer << "\n";
  }
  return absl::OkStatus();
}

absl::Status RunLoad(const LoadOptions& options,
                     const std::shared_ptr<grpc::ChannelInterface>& channel, std::ostream& out) {
  if (options.file.empty()) return absl::InvalidArgumentError("load needs a model file name");
  if (absl::Status s = CheckTimeout(options.timeout); !s.ok()) return s;
  std::unique_ptr<Inference::Stub> stub = Inference::NewStub(channel);
  grpc::ClientContext context;
  SetTimeout(options.timeout, &context);
  pynq_infer::v1::LoadModelRequest request;
  request.set_file(options.file);
  pynq_infer::v1::LoadModelResponse response;
  const grpc::Status status = stub->LoadModel(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status, absl::StrCat("LoadModel of ", Quote(options.file)));
  const auto& m = response.model();
  out << absl::StrFormat("loaded %s version %s from %s (backend %s)", m.name(), m.version(),
                         m.file(), m.backend());
  if (response.replaced()) out << ", replacing version " << response.replaced_version();
  out << "\n";
  return absl::OkStatus();
}

absl::Status RunUnload(const UnloadOptions& options,
                       const std::shared_ptr<grpc::ChannelInterface>& channel, std::ostream& out) {
  if (options.model.empty()) return absl::InvalidArgumentError("unload needs a model name");
  if (absl::Status s = CheckTimeout(options.timeout); !s.ok()) return s;
  std::unique_ptr<Inference::Stub> stub = Inference::NewStub(channel);
  grpc::ClientContext context;
  SetTimeout(options.timeout, &context);
  pynq_infer::v1::UnloadModelRequest request;
  request.set_model(options.model);
  pynq_infer::v1::UnloadModelResponse response;
  const grpc::Status status = stub->UnloadModel(&context, request, &response);
  if (!status.ok()) {
    return FromGrpcStatus(status, absl::StrCat("UnloadModel of ", Quote(options.model)));
  }
  out << absl::StrFormat("unloaded %s version %s\n", options.model, response.version());
  return absl::OkStatus();
}

absl::Status RunHealth(const HealthOptions& options,
                       const std::shared_ptr<grpc::ChannelInterface>& channel, std::ostream& out) {
  if (absl::Status s = CheckTimeout(options.timeout); !s.ok()) return s;
  using grpc::health::v1::HealthCheckResponse;
  std::unique_ptr<grpc::health::v1::Health::Stub> stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  SetTimeout(options.timeout, &context);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(options.service);
  HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    return FromGrpcStatus(status, absl::StrCat("Health/Check of service ", Quote(options.service)));
  }
  const std::string name = HealthCheckResponse::ServingStatus_Name(response.status());
  out << name << "\n";
  if (response.status() != HealthCheckResponse::SERVING) {
    return absl::UnavailableError(
        absl::StrCat("service ", Quote(options.service), " is ", name, ", not SERVING"));
  }
  return absl::OkStatus();
}

}  // namespace pynq::clients
