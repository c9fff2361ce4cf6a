// A binarized model's layer program (INPUT_BINARIZE, BNN_DENSE..., BNN_DENSE_SCORES) run on one
// kernel set, a tile of images at a time: each layer's XOR-popcount covers all rows x all images
// of the tile, so every weight word loaded serves several images.
//
//   BnnProgram program(*model, *FindKernelSet("avx2"), /*tile=*/32);
//   program.Run(images, 32, scores);   // 32 * input_bytes() pixels -> 32 * num_classes() scores
//
// Owns its packed weights and scratch, both sized at construction: Run() allocates nothing. Not
// thread-safe (the scratch is shared); one Run() at a time.
#ifndef PYNQ_ACCEL_CPU_BNN_PROGRAM_H_
#define PYNQ_ACCEL_CPU_BNN_PROGRAM_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "accel/cpu/kernel_set.h"
#include "accel/cpu/packed_weights.h"
#include "accel/model/model.h"

namespace pynq::accel::cpu {

class BnnProgram {
 public:
  // `model` must be a binarized program (layer 0 is INPUT_BINARIZE) and outlive this object.
  BnnProgram(const Model& model, const KernelSet& kernels, size_t tile);

  // Scores `count` images (1..tile), model().input_bytes() each, back to back, into `scores`
  // (count * num_classes()).
  void Run(const uint8_t* images, size_t count, int32_t* scores);

 private:
  const Model& model_;
  const KernelSet& kernels_;
  const size_t tile_;
  std::vector<BitMatrix> weights_;  // Per layer; empty for INPUT_BINARIZE.
  // Per BNN_DENSE layer: output bit r fires when the +-1 dot product n_in - 2 * differing
  // reaches threshold r, that is when differing <= floor((n_in - threshold) / 2); padded to a
  // multiple of 64 with -1 (never fires).
  std::vector<std::vector<int32_t>> max_differing_;
  std::vector<uint64_t> bits_a_;    // tile x words of the widest layer, ping-pong.
  std::vector<uint64_t> bits_b_;
  size_t counts_stride_ = 0;        // Padded rows of the widest layer, rounded up to 64.
  std::vector<int32_t> counts_;     // tile x counts_stride_ differing-bit counts.
};

}  // namespace pynq::accel::cpu

#endif  // PYNQ_ACCEL_CPU_BNN_PROGRAM_H_
