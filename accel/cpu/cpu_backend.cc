#include "accel/cpu/cpu_backend.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"

namespace pynq::accel {

namespace {

// Images per pass through the layers: enough that each weight loaded serves many images, few
// enough that a tile's activations and a block of weights stay in the L1 and L2 caches.
constexpr size_t kTileImages = 32;

absl::StatusOr<const cpu::KernelSet*> ChooseKernels(const std::string& requested) {
  std::string name = requested;
  if (name.empty()) {
    if (const char* env = std::getenv("PYNQ_CPU_KERNELS"); env != nullptr) name = env;
  }
  if (name.empty()) return cpu::SupportedKernelSets().back();
  if (const cpu::KernelSet* set = cpu::FindKernelSet(name); set != nullptr) return set;
  std::vector<std::string> supported;
  for (const cpu::KernelSet* set : cpu::SupportedKernelSets()) supported.push_back(set->name);
  const std::vector<std::string_view> known = cpu::KnownKernelSetNames();
  const bool is_known = std::find(known.begin(), known.end(), name) != known.end();
  return absl::InvalidArgumentError(
      absl::StrCat("CPU kernel set '", name, "' ",
                   is_known ? "is not supported by this CPU" : "does not exist",
                   requested.empty() ? " (from $PYNQ_CPU_KERNELS)" : "",
                   "; this CPU runs: ", absl::StrJoin(supported, ", ")));
}

}  // namespace

absl::StatusOr<std::unique_ptr<CpuAccelerator>> CpuAccelerator::Create(
    std::shared_ptr<const Model> model, const Options& options) {
  if (model == nullptr) return absl::InvalidArgumentError("CpuAccelerator needs a model");
  if (options.max_batch_size == 0) {
    return absl::InvalidArgumentError("CpuAccelerator: max_batch_size must be at least 1");
  }
  PYNQ_ASSIGN_OR_RETURN(const cpu::KernelSet* kernels, ChooseKernels(options.kernels));
  return std::unique_ptr<CpuAccelerator>(
      new CpuAccelerator(std::move(model), options.max_batch_size, *kernels));
}

CpuAccelerator::CpuAccelerator(std::shared_ptr<const Model> model, size_t max_batch_size,
                               const cpu::KernelSet& kernels)
    : model_(std::move(model)), max_batch_size_(max_batch_size), kernels_(kernels) {
  const size_t tile = std::min(max_batch_size_, kTileImages);
  if (model_->layers().front().op == engine::Op::kInputQuantize) {
    int8_ = std::make_unique<cpu::Int8Program>(*model_, kernels_, tile);
  } else {
    bnn_ = std::make_unique<cpu::BnnProgram>(*model_, kernels_, tile);
  }
}

absl::Status CpuAccelerator::Run(absl::Span<const uint8_t> images, absl::Span<int32_t> scores) {
  PYNQ_ASSIGN_OR_RETURN(size_t n, CheckBatchShape(*model_, max_batch_size_, images, scores));
  const size_t tile = std::min(max_batch_size_, kTileImages);
  for (size_t first = 0; first < n; first += tile) {
    const size_t count = std::min(tile, n - first);
    const uint8_t* tile_images = images.data() + first * model_->input_bytes();
    int32_t* tile_scores = scores.data() + first * model_->num_classes();
    if (int8_ != nullptr) {
      int8_->Run(tile_images, count, tile_scores);
    } else {
      bnn_->Run(tile_images, count, tile_scores);
    }
  }
  return absl::OkStatus();
}

}  // namespace pynq::accel
