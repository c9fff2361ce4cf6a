#include "accel/cpu_backend.h"

#include <utility>

#include "absl/status/status.h"
#include "accel/bnn_kernels.h"
#include "accel/status_macros.h"

namespace pynq::accel {

using format::Op;

namespace {

#if defined(__x86_64__)
// The same kernels compiled for the POPCNT instruction (std::popcount is a library sequence of
// about a dozen instructions without it, and it dominates the dense layers).
__attribute__((target("popcnt"))) void DenseSignPopcnt(const uint64_t* rows,
                                                       const int32_t* thresholds,
                                                       const uint64_t* in, size_t n_in,
                                                       size_t n_out, uint64_t* out) {
  bnn::DenseSign(rows, thresholds, in, n_in, n_out, out);
}

__attribute__((target("popcnt"))) void DenseScoresPopcnt(const uint64_t* rows,
                                                         const int32_t* bias, const uint64_t* in,
                                                         size_t n_in, size_t n_out,
                                                         int32_t* scores) {
  bnn::DenseScores(rows, bias, in, n_in, n_out, scores);
}

// With AVX-512 VPOPCNTDQ. `flatten` inlines the whole layer here, so DotAvx512 is compiled into
// the loop with this function's instruction set rather than called per row.
__attribute__((target("avx512f,avx512vpopcntdq"), flatten)) void DenseSignAvx512(
    const uint64_t* rows, const int32_t* thresholds, const uint64_t* in, size_t n_in,
    size_t n_out, uint64_t* out) {
  bnn::DenseSign<bnn::DotAvx512>(rows, thresholds, in, n_in, n_out, out);
}

__attribute__((target("avx512f,avx512vpopcntdq"), flatten)) void DenseScoresAvx512(
    const uint64_t* rows, const int32_t* bias, const uint64_t* in, size_t n_in, size_t n_out,
    int32_t* scores) {
  bnn::DenseScores<bnn::DotAvx512>(rows, bias, in, n_in, n_out, scores);
}
#endif

}  // namespace

std::vector<CpuAccelerator::Kernels> CpuAccelerator::SupportedKernels() {
  std::vector<Kernels> kernels = {
      {"portable", bnn::Binarize, bnn::DenseSign<>, bnn::DenseScores<>}};
#if defined(__x86_64__)
  kernels.push_back({"sse2", bnn::BinarizeSse2, bnn::DenseSign<>, bnn::DenseScores<>});
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt")) {
    kernels.push_back({"avx2+popcnt", bnn::BinarizeAvx2, DenseSignPopcnt, DenseScoresPopcnt});
  }
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vpopcntdq")) {
    kernels.push_back(
        {"avx512+vpopcntdq", bnn::BinarizeAvx512, DenseSignAvx512, DenseScoresAvx512});
  }
#endif
  return kernels;
}

absl::StatusOr<std::unique_ptr<CpuAccelerator>> CpuAccelerator::Create(
    std::shared_ptr<const Model> model, const Options& options) {
  if (model == nullptr) return absl::InvalidArgumentError("CpuAccelerator needs a model");
  if (options.max_batch_size == 0) {
    return absl::InvalidArgumentError("CpuAccelerator: max_batch_size must be at least 1");
  }
  return std::unique_ptr<CpuAccelerator>(
      new CpuAccelerator(std::move(model), options, SupportedKernels().back()));
}

CpuAccelerator::CpuAccelerator(std::shared_ptr<const Model> model, const Options& options,
                               const Kernels& kernels)
    : model_(std::move(model)),
      options_(options),
      kernels_(kernels),
      bits_a_(format::WordsForBits(model_->max_features())),
      bits_b_(format::WordsForBits(model_->max_features())) {}

absl::Status CpuAccelerator::Run(absl::Span<const uint8_t> images, absl::Span<int32_t> scores) {
  ASSIGN_OR_RETURN(size_t n, CheckBatchShape(*model_, options_.max_batch_size, images, scores));
  for (size_t i = 0; i < n; ++i) {
    RunOne(images.data() + i * model_->input_bytes(), scores.data() + i * model_->num_classes());
  }
  return absl::OkStatus();
}

void CpuAccelerator::RunOne(const uint8_t* image, int32_t* scores) {
  // The loader guarantees the program's shape: an input op, hidden layers, a scores layer last.
  uint64_t* in = bits_a_.data();
  uint64_t* out = bits_b_.data();
  for (const Layer& layer : model_->layers()) {
    switch (layer.op) {
      case Op::kInputBinarize:
        kernels_.binarize(image, layer.in.elements(), static_cast<uint8_t>(layer.arg[0]), in);
        break;
      case Op::kBnnDense:
        kernels_.dense_sign(model_->BitRows(layer).data(), model_->Params(layer).data(), in,
                       layer.in.c, layer.out.c, out);
        std::swap(in, out);
        break;
      case Op::kBnnDenseScores:
        kernels_.dense_scores(model_->BitRows(layer).data(), model_->Params(layer).data(), in,
                         layer.in.c, layer.out.c, scores);
        break;
    }
  }
}

}  // namespace pynq::accel
