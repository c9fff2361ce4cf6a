#include "accel/cpu_backend.h"

#include <utility>

#include "absl/status/status.h"
#include "accel/bnn_kernels.h"
#include "accel/status_macros.h"

namespace pynq::accel {

using format::Op;

absl::StatusOr<std::unique_ptr<CpuAccelerator>> CpuAccelerator::Create(
    std::shared_ptr<const Model> model, const Options& options) {
  if (model == nullptr) return absl::InvalidArgumentError("CpuAccelerator needs a model");
  if (options.max_batch_size == 0) {
    return absl::InvalidArgumentError("CpuAccelerator: max_batch_size must be at least 1");
  }
  return std::unique_ptr<CpuAccelerator>(new CpuAccelerator(std::move(model), options));
}

CpuAccelerator::CpuAccelerator(std::shared_ptr<const Model> model, const Options& options)
    : model_(std::move(model)),
      options_(options),
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
        bnn::Binarize(image, layer.in.elements(), static_cast<uint8_t>(layer.arg[0]), in);
        break;
      case Op::kBnnDense:
        bnn::DenseSign(model_->BitRows(layer).data(), model_->Params(layer).data(), in,
                       layer.in.c, layer.out.c, out);
        std::swap(in, out);
        break;
      case Op::kBnnDenseScores:
        bnn::DenseScores(model_->BitRows(layer).data(), model_->Params(layer).data(), in,
                         layer.in.c, layer.out.c, scores);
        break;
    }
  }
}

}  // namespace pynq::accel
