// An int8 model's layer program (INPUT_QUANTIZE, INT8_DENSE / INT8_CONV / MAXPOOL..., and
// INT8_DENSE_SCORES) run on one kernel set, a tile of images at a time.
//
//   Int8Program program(*model, *FindKernelSet("avx2"), /*tile=*/32);
//   program.Run(images, 32, scores);   // 32 * input_bytes() pixels -> 32 * num_classes() scores
//
// Activations are int8, channel-last (hwc_ops.h), one row per image. A dense layer is one GEMM
// over the tile (its rows x the tile's images); a convolution is, image by image, an im2col and
// one GEMM over the output pixels; both requantize with the set's vectorized kernel. The weights
// are packed for the set once, here, with their columns reordered to the channel-last order.
//
// Owns its packed weights and scratch, both sized at construction: Run() allocates nothing. Not
// thread-safe (the scratch is shared); one Run() at a time.
#ifndef PYNQ_ACCEL_CPU_INT8_PROGRAM_H_
#define PYNQ_ACCEL_CPU_INT8_PROGRAM_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "accel/cpu/hwc_ops.h"
#include "accel/cpu/kernel_set.h"
#include "accel/cpu/packed_weights.h"
#include "accel/model/model.h"

namespace pynq::accel::cpu {

class Int8Program {
 public:
  // `model` must be an int8 program (layer 0 is INPUT_QUANTIZE) and outlive this object.
  Int8Program(const Model& model, const KernelSet& kernels, size_t tile);

  // Scores `count` images (1..tile), model().input_bytes() each, back to back, into `scores`
  // (count * num_classes()).
  void Run(const uint8_t* images, size_t count, int32_t* scores);

 private:
  // One layer, prepared for the kernel set.
  struct Step {
    Int8Matrix weights;        // INT8_DENSE, INT8_DENSE_SCORES, INT8_CONV.
    RequantTable requant;      // INT8_DENSE, INT8_CONV.
    bool nonnegative_input = false;
    ConvShape conv{};          // INT8_CONV.
  };

  void Quantize(const Layer& layer, const uint8_t* images, size_t count, int8_t* out);
  void Conv(const Layer& layer, const Step& step, const int8_t* in, size_t count, int8_t* out);

  const Model& model_;
  const KernelSet& kernels_;
  const size_t tile_;
  std::vector<Step> steps_;      // Indexed like model_.layers().
  size_t stride_ = 0;            // Bytes per image row of the activation buffers.
  std::vector<int8_t> act_a_;    // tile x stride_, ping-pong.
  std::vector<int8_t> act_b_;
  std::vector<int8_t> patches_;  // The largest convolution's patch matrix.
  std::vector<int32_t> acc_;     // GEMM results: tile (or pixels) x padded rows.
};

}  // namespace pynq::accel::cpu

#endif  // PYNQ_ACCEL_CPU_INT8_PROGRAM_H_
