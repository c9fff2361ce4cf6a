// The CPU backend: runs a model's layer program on the ARM (or x86) cores, with bit-packed
// XNOR-popcount for binarized layers and an int8 GEMM for quantized ones, on the fastest kernel
// set this CPU supports (kernel_set.h: AVX2, AVX-512 VNNI, NEON, NEON dot-product, or portable
// C++), chosen at run time. It is the fallback when no overlay is present and the reference every
// other backend must match bit for bit; every kernel set gives the same integers.
//
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<CpuAccelerator> cpu, CpuAccelerator::Create(model, {}));
//   PYNQ_RETURN_IF_ERROR(cpu->Run(images, scores));
//   CpuAccelerator::Create(model, {.kernels = "portable"});   // force one set
//
// The environment variable PYNQ_CPU_KERNELS forces a set for backends created with an empty
// Options::kernels (e.g. `PYNQ_CPU_KERNELS=portable pynq-inferd ...` to compare on a board).
#ifndef PYNQ_ACCEL_CPU_CPU_BACKEND_H_
#define PYNQ_ACCEL_CPU_CPU_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "accel/accelerator.h"
#include "accel/cpu/bnn_program.h"
#include "accel/cpu/int8_program.h"
#include "accel/cpu/kernel_set.h"
#include "accel/model/model.h"

namespace pynq::accel {

class CpuAccelerator final : public Accelerator {
 public:
  struct Options {
    // Largest batch Run() accepts. The CPU has no per-dispatch cost, so this only bounds how
    // many images one call may carry.
    size_t max_batch_size = 1024;
    // The kernel set by name (cpu::KernelSet); empty: $PYNQ_CPU_KERNELS if set, otherwise the
    // best this CPU supports.
    std::string kernels;
  };

  // Builds a backend for `model`, packing its weights for the kernel set and allocating all
  // scratch memory up front (the packed weights take about as much memory as the file's).
  // kInvalidArgument if max_batch_size is 0, or if the kernel set asked for is unknown or not
  // supported by this CPU (the message lists the ones it supports).
  static absl::StatusOr<std::unique_ptr<CpuAccelerator>> Create(
      std::shared_ptr<const Model> model, const Options& options);

  const Model& model() const override { return *model_; }
  std::string_view backend_name() const override { return "cpu"; }
  size_t max_batch_size() const override { return max_batch_size_; }
  // See Accelerator::Run(). The batch runs on the calling thread, a tile of images at a time.
  absl::Status Run(absl::Span<const uint8_t> images, absl::Span<int32_t> scores) override;

  // The kernel set in use, e.g. "avx2" (see kernel_set.h).
  std::string_view kernels_name() const { return kernels_.name; }

 private:
  CpuAccelerator(std::shared_ptr<const Model> model, size_t max_batch_size,
                 const cpu::KernelSet& kernels);

  std::shared_ptr<const Model> model_;
  const size_t max_batch_size_;
  const cpu::KernelSet& kernels_;
  // Exactly one of the two, by the model's input op.
  std::unique_ptr<cpu::BnnProgram> bnn_;
  std::unique_ptr<cpu::Int8Program> int8_;
};

}  // namespace pynq::accel

#endif  // PYNQ_ACCEL_CPU_CPU_BACKEND_H_
