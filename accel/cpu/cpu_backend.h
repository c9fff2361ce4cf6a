// The CPU backend: runs a model's layer program on the ARM (or x86) cores with bit-packed
// XNOR-popcount for binarized layers and int8 multiply-accumulate (int8_kernels.h) for quantized
// ones. It is the fallback when no overlay is present and the reference every other backend must
// match bit for bit.
//
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<CpuAccelerator> cpu, CpuAccelerator::Create(model, {}));
//   PYNQ_RETURN_IF_ERROR(cpu->Run(images, scores));
#ifndef PYNQ_ACCEL_CPU_CPU_BACKEND_H_
#define PYNQ_ACCEL_CPU_CPU_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "accel/accelerator.h"
#include "accel/model/model.h"

namespace pynq::accel {

class CpuAccelerator final : public Accelerator {
 public:
  struct Options {
    // Largest batch Run() accepts. The CPU has no per-dispatch cost, so this only bounds how
    // many images one call may carry.
    size_t max_batch_size = 1024;
  };

  // Builds a backend for `model` with the fastest kernels this CPU supports, allocating all
  // scratch memory up front (for an int8 model also a copy of its weights widened to int16, twice
  // their size in the file). kInvalidArgument if max_batch_size is 0.
  static absl::StatusOr<std::unique_ptr<CpuAccelerator>> Create(
      std::shared_ptr<const Model> model, const Options& options);

  const Model& model() const override { return *model_; }
  std::string_view backend_name() const override { return "cpu"; }
  size_t max_batch_size() const override { return options_.max_batch_size; }
  // See Accelerator::Run(). Images are processed one after another on the calling thread.
  absl::Status Run(absl::Span<const uint8_t> images, absl::Span<int32_t> scores) override;

  // The kernels in use, chosen for this CPU at Create(): "portable", "sse2", "avx2+popcnt" or
  // "avx512+vpopcntdq".
  std::string_view kernels_name() const { return kernels_.name; }

  // The binarized-layer kernels, one version per instruction set (bnn_kernels.h); all compute
  // the same bits.
  struct Kernels {
    const char* name;
    void (*binarize)(const uint8_t* pixels, size_t n, uint8_t threshold, uint64_t* out);
    void (*dense_sign)(const uint64_t* rows, const int32_t* thresholds, const uint64_t* in,
                       size_t n_in, size_t n_out, uint64_t* out);
    void (*dense_scores)(const uint64_t* rows, const int32_t* bias, const uint64_t* in,
                         size_t n_in, size_t n_out, int32_t* scores);
  };
  // Every version this CPU can run, the best last; for tests that compare them.
  static std::vector<Kernels> SupportedKernels();

 private:
  CpuAccelerator(std::shared_ptr<const Model> model, const Options& options,
                 const Kernels& kernels);

  void RunOne(const uint8_t* image, int32_t* scores);
  // RunOne() for a program whose input op is INPUT_QUANTIZE: all its layers are int8 ops.
  void RunInt8One(const uint8_t* image, int32_t* scores);

  std::shared_ptr<const Model> model_;
  Options options_;
  const Kernels kernels_;
  // Ping-pong activation buffers of the widest layer, packed bits.
  std::vector<uint64_t> bits_a_;
  std::vector<uint64_t> bits_b_;
  // Int8 programs hold int8 values in int16 lanes (see int8_kernels.h): each weighted layer's
  // weights widened once (indexed like model_->layers(); conv rows padded to whole SIMD vectors),
  // ping-pong activations of the widest layer, and the patch matrix of the largest convolution.
  std::vector<std::vector<int16_t>> wide_weights_;
  std::vector<int16_t> int8_a_;
  std::vector<int16_t> int8_b_;
  std::vector<int16_t> conv_patches_;
};

}  // namespace pynq::accel

#endif  // PYNQ_ACCEL_CPU_CPU_BACKEND_H_
