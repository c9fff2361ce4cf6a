// The ops of engine ABI v1 (accel/model/MODEL_FORMAT.md "Ops of engine ABI v1"): their codes as
// the model file and the engine's program store them, their names, and which tensor each takes
// and makes. The model loader, the CPU backend, the FPGA driver and the HLS engine all read these.
//
//   if (!IsAbiOp(code)) ...                      // a code the file format does not know
//   const Op op = static_cast<Op>(code);
//   if (InputKind(op) == TensorKind::kInt8) ...  // an int8 layer
//
// Part of the engine's ABI (this folder): plain C++14, no dependencies, so Vitis HLS compiles it.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_ABI_OPS_H_
#define PYNQ_OVERLAYS_NN_ENGINE_ABI_OPS_H_

#include <cstdint>

namespace pynq {
namespace engine {

enum class Op : uint32_t {
  kInputBinarize = 1,
  kBnnDense = 2,
  kBnnDenseScores = 3,
  kInputQuantize = 4,
  kInt8Dense = 5,
  kInt8DenseScores = 6,
  kInt8Conv = 7,
  kMaxPool = 8,
};
constexpr uint32_t kFirstOp = 1;
constexpr uint32_t kLastOp = 8;

constexpr bool IsAbiOp(uint32_t code) { return code >= kFirstOp && code <= kLastOp; }

// Op masks (the engine's caps register, registers.h) have bit `op` set for each op; codes fit
// in the mask's 16 bits.
constexpr uint32_t kOpMaskBits = 16;
constexpr uint32_t OpBit(Op op) { return 1u << static_cast<uint32_t>(op); }
// Whether the op code `code` (any u32 a program holds) has its bit set in `op_mask`.
constexpr bool MaskHasOp(uint32_t op_mask, uint32_t code) {
  return code < kOpMaskBits && ((op_mask >> code) & 1u) != 0;
}
// Every op of ABI v1.
constexpr uint32_t kAbiV1Ops = OpBit(Op::kInputBinarize) | OpBit(Op::kBnnDense) |
                               OpBit(Op::kBnnDenseScores) | OpBit(Op::kInputQuantize) |
                               OpBit(Op::kInt8Dense) | OpBit(Op::kInt8DenseScores) |
                               OpBit(Op::kInt8Conv) | OpBit(Op::kMaxPool);

// "INPUT_BINARIZE", ..., as MODEL_FORMAT.md and error messages spell them; "UNKNOWN" otherwise.
constexpr const char* OpName(Op op) {
  switch (op) {
    case Op::kInputBinarize:
      return "INPUT_BINARIZE";
    case Op::kBnnDense:
      return "BNN_DENSE";
    case Op::kBnnDenseScores:
      return "BNN_DENSE_SCORES";
    case Op::kInputQuantize:
      return "INPUT_QUANTIZE";
    case Op::kInt8Dense:
      return "INT8_DENSE";
    case Op::kInt8DenseScores:
      return "INT8_DENSE_SCORES";
    case Op::kInt8Conv:
      return "INT8_CONV";
    case Op::kMaxPool:
      return "MAXPOOL";
  }
  return "UNKNOWN";
}

// Whether the op has a weights blob and a params blob (the layers a LOAD copies on chip).
constexpr bool HasWeights(Op op) {
  return op == Op::kBnnDense || op == Op::kBnnDenseScores || op == Op::kInt8Dense ||
         op == Op::kInt8DenseScores || op == Op::kInt8Conv;
}

// What a tensor between layers holds.
enum class TensorKind {
  kPixels,  // the uint8 model input
  kBits,    // packed +-1 bits (binarized ops), kBitsPerWord to a word
  kInt8,    // signed bytes, CHW (int8 ops)
  kScores,  // int32 class scores: the program's result
};

constexpr TensorKind InputKind(Op op) {
  switch (op) {
    case Op::kInputBinarize:
    case Op::kInputQuantize:
      return TensorKind::kPixels;
    case Op::kBnnDense:
    case Op::kBnnDenseScores:
      return TensorKind::kBits;
    case Op::kInt8Dense:
    case Op::kInt8DenseScores:
    case Op::kInt8Conv:
    case Op::kMaxPool:
      return TensorKind::kInt8;
  }
  return TensorKind::kPixels;
}

constexpr TensorKind OutputKind(Op op) {
  switch (op) {
    case Op::kInputBinarize:
    case Op::kBnnDense:
      return TensorKind::kBits;
    case Op::kBnnDenseScores:
    case Op::kInt8DenseScores:
      return TensorKind::kScores;
    case Op::kInputQuantize:
    case Op::kInt8Dense:
    case Op::kInt8Conv:
    case Op::kMaxPool:
      return TensorKind::kInt8;
  }
  return TensorKind::kScores;
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_ABI_OPS_H_
