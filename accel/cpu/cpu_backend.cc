#include "accel/cpu/cpu_backend.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "accel/cpu/bnn_kernels.h"
#include "accel/cpu/int8_kernels.h"
#include "base/status_macros.h"

namespace pynq::accel {

using engine::Op;

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

bool IsInt8Program(const Model& model) { return model.layers().front().op == Op::kInputQuantize; }

int8::ConvShape ConvShapeOf(const Layer& layer) {
  return {.c = layer.in.c,
          .h = layer.in.h,
          .w = layer.in.w,
          .oc = layer.out.c,
          .k = static_cast<size_t>(layer.arg[0])};
}

// Patch-matrix elements of the model's largest convolution; 0 without one.
size_t ConvPatchElements(const Model& model) {
  size_t elements = 0;
  for (const Layer& layer : model.layers()) {
    if (layer.op == Op::kInt8Conv) {
      elements = std::max(elements, ConvShapeOf(layer).patch_elements());
    }
  }
  return elements;
}

// A layer's int8 weights as int16, `rows` rows of `columns` values, each row padded with zeros
// to `padded_columns`.
std::vector<int16_t> Widen(absl::Span<const int8_t> weights, size_t rows, size_t columns,
                           size_t padded_columns) {
  std::vector<int16_t> wide(rows * padded_columns, 0);
  for (size_t r = 0; r < rows; ++r) {
    std::copy_n(weights.begin() + r * columns, columns, wide.begin() + r * padded_columns);
  }
  return wide;
}

int8::Requantizer RequantizerOf(const Model& model, const Layer& layer) {
  const Model::Requantization params = model.RequantParams(layer);
  return {.bias = params.bias.data(),
          .multiplier = params.multiplier.data(),
          .shift = params.shift.data(),
          .lo = layer.arg[1] == 1 ? engine::kReluLo : engine::kNoReluLo};
}

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
      bits_a_(engine::WordsForBits(model_->max_features())),
      bits_b_(engine::WordsForBits(model_->max_features())) {
  if (IsInt8Program(*model_)) {
    for (const Layer& layer : model_->layers()) {
      const absl::Span<const int8_t> weights = model_->Int8Weights(layer);
      switch (layer.op) {
        case Op::kInt8Dense:
        case Op::kInt8DenseScores:
          wide_weights_.push_back(
              Widen(weights, layer.out.c, layer.in.elements(), layer.in.elements()));
          break;
        case Op::kInt8Conv: {
          const int8::ConvShape shape = ConvShapeOf(layer);
          wide_weights_.push_back(Widen(weights, shape.oc, shape.taps(), shape.padded_taps()));
          break;
        }
        default:
          wide_weights_.emplace_back();
          break;
      }
    }
    int8_a_.resize(model_->max_features());
    int8_b_.resize(model_->max_features());
    conv_patches_.resize(ConvPatchElements(*model_));
  }
}

absl::Status CpuAccelerator::Run(absl::Span<const uint8_t> images, absl::Span<int32_t> scores) {
  PYNQ_ASSIGN_OR_RETURN(size_t n,
                        CheckBatchShape(*model_, options_.max_batch_size, images, scores));
  const bool int8_program = IsInt8Program(*model_);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* image = images.data() + i * model_->input_bytes();
    int32_t* image_scores = scores.data() + i * model_->num_classes();
    if (int8_program) {
      RunInt8One(image, image_scores);
    } else {
      RunOne(image, image_scores);
    }
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
      case Op::kInputQuantize:
      case Op::kInt8Dense:
      case Op::kInt8DenseScores:
      case Op::kInt8Conv:
      case Op::kMaxPool:
        break;  // Int8 programs run in RunInt8One(); the loader never mixes the two.
    }
  }
}

void CpuAccelerator::RunInt8One(const uint8_t* image, int32_t* scores) {
  // The loader guarantees the program's shape: INPUT_QUANTIZE, int8 layers, INT8_DENSE_SCORES.
  int16_t* in = int8_a_.data();
  int16_t* out = int8_b_.data();
  const std::vector<Layer>& layers = model_->layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& layer = layers[i];
    const int16_t* weights = wide_weights_[i].data();
    switch (layer.op) {
      case Op::kInputQuantize:
        int8::QuantizeInput(image, layer.in.elements(), layer.arg[0], layer.arg[1], in);
        break;
      case Op::kInt8Dense:
        int8::Dense(weights, in, layer.in.elements(), layer.out.c, RequantizerOf(*model_, layer),
                    out);
        std::swap(in, out);
        break;
      case Op::kInt8Conv:
        int8::Conv(weights, in, ConvShapeOf(layer), RequantizerOf(*model_, layer),
                   conv_patches_.data(), out);
        std::swap(in, out);
        break;
      case Op::kMaxPool:
        int8::MaxPool(in, layer.in.c, layer.in.h, layer.in.w, static_cast<size_t>(layer.arg[0]),
                      out);
        std::swap(in, out);
        break;
      case Op::kInt8DenseScores:
        int8::DenseScores(weights, model_->Params(layer).data(), in, layer.in.elements(),
                          layer.out.c, scores);
        break;
      case Op::kInputBinarize:
      case Op::kBnnDense:
      case Op::kBnnDenseScores:
        break;  // Binarized programs run in RunOne().
    }
  }
}

}  // namespace pynq::accel
