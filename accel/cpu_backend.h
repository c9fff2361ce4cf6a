// The CPU backend: runs a model's layer program on the ARM (or x86) cores with bit-packed
// XNOR-popcount for binarized layers. It is the fallback when no overlay is present and the
// reference every other backend must match bit for bit.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<CpuAccelerator> cpu, CpuAccelerator::Create(model, {}));
//   RETURN_IF_ERROR(cpu->Run(images, scores));
#ifndef PYNQ_ACCEL_CPU_BACKEND_H_
#define PYNQ_ACCEL_CPU_BACKEND_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "accel/accelerator.h"
#include "accel/model.h"

namespace pynq::accel {

class CpuAccelerator final : public Accelerator {
 public:
  struct Options {
    // Largest batch Run() accepts. The CPU has no per-dispatch cost, so this only bounds how
    // many images one call may carry.
    size_t max_batch_size = 1024;
  };

  // Builds a backend for `model`, allocating all scratch memory up front. kInvalidArgument if
  // max_batch_size is 0.
  static absl::StatusOr<std::unique_ptr<CpuAccelerator>> Create(
      std::shared_ptr<const Model> model, const Options& options);

  const Model& model() const override { return *model_; }
  std::string_view backend_name() const override { return "cpu"; }
  size_t max_batch_size() const override { return options_.max_batch_size; }
  // See Accelerator::Run(). Images are processed one after another on the calling thread.
  absl::Status Run(absl::Span<const uint8_t> images, absl::Span<int32_t> scores) override;

 private:
  CpuAccelerator(std::shared_ptr<const Model> model, const Options& options);

  void RunOne(const uint8_t* image, int32_t* scores);

  std::shared_ptr<const Model> model_;
  Options options_;
  // Ping-pong activation buffers of the widest layer, packed bits.
  std::vector<uint64_t> bits_a_;
  std::vector<uint64_t> bits_b_;
};

}  // namespace pynq::accel

#endif  // PYNQ_ACCEL_CPU_BACKEND_H_
