#include "accel/model/layer_rules.h"

#include <array>
#include <cstdint>
#include <limits>

#include "absl/strings/str_format.h"
#include "base/status_macros.h"

namespace pynq::accel {

namespace {

using engine::Op;

// Size a layer's weight and param blobs must have, by op.
struct BlobSizes {
  uint64_t weights;
  uint64_t params;
};

// A tensor of at least one and at most kMaxFeatures elements, each side checked first so the
// product cannot overflow.
bool FitsFeatures(const Shape& s) {
  for (uint32_t side : {s.c, s.h, s.w}) {
    if (side < 1 || side > engine::kMaxFeatures) return false;
  }
  return s.elements() <= engine::kMaxFeatures;
}

absl::Status CheckTensor(const Shape& s, std::string_view what, size_t index, Op op) {
  if (!FitsFeatures(s)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "PROGRAM: layer %d (%s) %s shape %s, expected 1..%d elements", index, engine::OpName(op),
        what, ShapeString(s), engine::kMaxFeatures));
  }
  return absl::OkStatus();
}

absl::Status CheckFlat(const Shape& s, std::string_view what, size_t index) {
  if (s.h != 1 || s.w != 1 || s.c < 1 || s.c > engine::kMaxFeatures) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "PROGRAM: layer %d %s shape %s, expected (1..%d,1,1)", index, what, ShapeString(s),
        engine::kMaxFeatures));
  }
  return absl::OkStatus();
}

// Each arg within its inclusive range.
absl::Status CheckArgs(const Layer& layer, size_t index,
                       const std::array<std::array<int32_t, 2>, 3>& ranges) {
  for (size_t i = 0; i < ranges.size(); ++i) {
    const auto [lo, hi] = ranges[i];
    if (layer.arg[i] < lo || layer.arg[i] > hi) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "PROGRAM: layer %d (%s) arg[%d] is %d, expected %d..%d", index,
          engine::OpName(layer.op), i, layer.arg[i], lo, hi));
    }
  }
  return absl::OkStatus();
}

constexpr std::array<int32_t, 2> kZero = {0, 0};
constexpr std::array<int32_t, 2> kReluFlag = {0, 1};

absl::Status CheckInputBinarize(const Layer& layer) {
  if (layer.out != Shape{static_cast<uint32_t>(layer.in.elements()), 1, 1}) {
    return absl::InvalidArgumentError(
        absl::StrFormat("PROGRAM: layer 0 INPUT_BINARIZE output %s, expected (%d,1,1)",
                        ShapeString(layer.out), layer.in.elements()));
  }
  if (layer.out.c > engine::kMaxFeatures) {
    return absl::InvalidArgumentError(
        absl::StrFormat("PROGRAM: layer 0 binarizes %d pixels, more than the engine's %d",
                        layer.out.c, engine::kMaxFeatures));
  }
  if (layer.arg[0] < 1 || layer.arg[0] > 255 || layer.arg[1] != 0 || layer.arg[2] != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "PROGRAM: layer 0 INPUT_BINARIZE threshold is %d (expected 1..255, other args 0)",
        layer.arg[0]));
  }
  return absl::OkStatus();
}

absl::Status CheckBnnDense(const Layer& layer, size_t index) {
  PYNQ_RETURN_IF_ERROR(CheckFlat(layer.in, "input", index));
  PYNQ_RETURN_IF_ERROR(CheckFlat(layer.out, "output", index));
  if (layer.arg != std::array<int32_t, 3>{}) {
    return absl::InvalidArgumentError(absl::StrFormat("PROGRAM: layer %d (%s) args must be 0",
                                                      index, engine::OpName(layer.op)));
  }
  return absl::OkStatus();
}

absl::Status CheckInputQuantize(const Layer& layer, size_t index) {
  PYNQ_RETURN_IF_ERROR(CheckTensor(layer.in, "input", index, layer.op));
  if (layer.out != layer.in) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "PROGRAM: layer %d (INPUT_QUANTIZE) output %s, expected the input's shape %s", index,
        ShapeString(layer.out), ShapeString(layer.in)));
  }
  return CheckArgs(layer, index,
                   {{{1, engine::kMaxInputMultiplier}, {0, engine::kMaxInputShift}, kZero}});
}

absl::Status CheckInt8Dense(const Layer& layer, size_t index) {
  PYNQ_RETURN_IF_ERROR(CheckTensor(layer.in, "input", index, layer.op));
  PYNQ_RETURN_IF_ERROR(CheckFlat(layer.out, "output", index));
  const bool requantizes = layer.op == Op::kInt8Dense;
  return CheckArgs(layer, index, {{kZero, requantizes ? kReluFlag : kZero, kZero}});
}

absl::Status CheckInt8Conv(const Layer& layer, size_t index) {
  PYNQ_RETURN_IF_ERROR(CheckTensor(layer.in, "input", index, layer.op));
  PYNQ_RETURN_IF_ERROR(CheckArgs(layer, index, {{{1, engine::kMaxKernelSide}, kReluFlag, kZero}}));
  const auto k = static_cast<uint32_t>(layer.arg[0]);
  if (layer.in.h < k || layer.in.w < k) {
    return absl::InvalidArgumentError(
        absl::StrFormat("PROGRAM: layer %d (INT8_CONV) input %s is smaller than its %dx%d kernel",
                        index, ShapeString(layer.in), k, k));
  }
  const Shape expected{layer.out.c, layer.in.h - k + 1, layer.in.w - k + 1};
  if (layer.out != expected) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "PROGRAM: layer %d (INT8_CONV) output %s, expected %s for a valid %dx%d convolution of %s",
        index, ShapeString(layer.out), ShapeString(expected), k, k, ShapeString(layer.in)));
  }
  return CheckTensor(layer.out, "output", index, layer.op);
}

absl::Status CheckMaxPool(const Layer& layer, size_t index) {
  PYNQ_RETURN_IF_ERROR(CheckTensor(layer.in, "input", index, layer.op));
  PYNQ_RETURN_IF_ERROR(
      CheckArgs(layer, index, {{{engine::kMinPoolSide, engine::kMaxPoolSide}, kZero, kZero}}));
  const auto p = static_cast<uint32_t>(layer.arg[0]);
  if (layer.in.h % p != 0 || layer.in.w % p != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "PROGRAM: layer %d (MAXPOOL) input %s is not a whole number of %dx%d windows", index,
        ShapeString(layer.in), p, p));
  }
  const Shape expected{layer.in.c, layer.in.h / p, layer.in.w / p};
  if (layer.out != expected) {
    return absl::InvalidArgumentError(
        absl::StrFormat("PROGRAM: layer %d (MAXPOOL) output %s, expected %s", index,
                        ShapeString(layer.out), ShapeString(expected)));
  }
  return absl::OkStatus();
}

BlobSizes ExpectedBlobSizes(const Layer& layer) {
  const uint64_t n_out = layer.out.c;
  switch (layer.op) {
    case Op::kInputBinarize:
    case Op::kInputQuantize:
    case Op::kMaxPool:
      return {0, 0};
    case Op::kBnnDense:
    case Op::kBnnDenseScores:
      return {n_out * sizeof(uint64_t) * engine::WordsForBits(layer.in.c),
              n_out * sizeof(int32_t)};
    case Op::kInt8Dense:
      return {n_out * layer.in.elements(),
              n_out * sizeof(int32_t) * engine::kRequantParamArrays};
    case Op::kInt8DenseScores:
      return {n_out * layer.in.elements(), n_out * sizeof(int32_t)};
    case Op::kInt8Conv: {
      const uint64_t k = static_cast<uint64_t>(layer.arg[0]);
      return {n_out * layer.in.c * k * k, n_out * sizeof(int32_t) * engine::kRequantParamArrays};
    }
  }
  return {0, 0};
}

absl::Status CheckOpRules(const Layer& layer, size_t index) {
  switch (layer.op) {
    case Op::kInputBinarize:
      return CheckInputBinarize(layer);
    case Op::kBnnDense:
    case Op::kBnnDenseScores:
      return CheckBnnDense(layer, index);
    case Op::kInputQuantize:
      return CheckInputQuantize(layer, index);
    case Op::kInt8Dense:
    case Op::kInt8DenseScores:
      return CheckInt8Dense(layer, index);
    case Op::kInt8Conv:
      return CheckInt8Conv(layer, index);
    case Op::kMaxPool:
      return CheckMaxPool(layer, index);
  }
  return absl::OkStatus();
}

// Padding bits of binarized rows must be 0 (MODEL_FORMAT.md): the XOR-popcount counts them.
absl::Status CheckRowPadding(const Model& model, const Layer& l, size_t index) {
  const size_t spare = l.in.c % engine::kBitsPerWord;
  if (spare == 0) return absl::OkStatus();
  const uint64_t padding_mask = ~uint64_t{0} << spare;
  const size_t words = engine::WordsForBits(l.in.c);
  absl::Span<const uint64_t> rows = model.BitRows(l);
  for (size_t row = 0; row < l.out.c; ++row) {
    if ((rows[row * words + words - 1] & padding_mask) != 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "WEIGHTS: layer %d row %d has padding bits set beyond input %d", index, row, l.in.c));
    }
  }
  return absl::OkStatus();
}

// Thresholds and biases are bounded so that dot + param can never overflow int32 in any backend
// (|dot| <= kMaxFeatures for binarized layers, <= kMaxFeatures * 128 * 128 for int8 ones).
absl::Status CheckParamMagnitudes(absl::Span<const int32_t> params, size_t index) {
  for (int32_t p : params) {
    if (p < -engine::kMaxParamMagnitude || p > engine::kMaxParamMagnitude) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "WEIGHTS: layer %d has a threshold or bias of %d, outside +-%d", index, p,
          engine::kMaxParamMagnitude));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckEachInRange(absl::Span<const int32_t> values, int32_t lo, int32_t hi,
                              std::string_view what, const Layer& layer, size_t index) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] < lo || values[i] > hi) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "WEIGHTS: layer %d (%s) %s[%d] is %d, outside %d..%d", index, engine::OpName(layer.op),
          what, i, values[i], lo, hi));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view TensorKindName(TensorKind kind) {
  switch (kind) {
    case TensorKind::kPixels:
      return "uint8 pixels";
    case TensorKind::kBits:
      return "binarized bits";
    case TensorKind::kInt8:
      return "int8 values";
    case TensorKind::kScores:
      return "int32 scores";
  }
  return "?";
}

std::string ShapeString(const Shape& s) { return absl::StrFormat("(%d,%d,%d)", s.c, s.h, s.w); }

absl::Status CheckLayerDescriptor(const Layer& layer, size_t index) {
  PYNQ_RETURN_IF_ERROR(CheckOpRules(layer, index));
  const BlobSizes expected = ExpectedBlobSizes(layer);
  if (layer.weights_bytes != expected.weights || layer.params_bytes != expected.params) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "PROGRAM: layer %d (%s %d->%d) has weights_bytes %d and params_bytes %d, expected %d "
        "and %d",
        index, engine::OpName(layer.op), layer.in.elements(), layer.out.elements(),
        layer.weights_bytes, layer.params_bytes, expected.weights, expected.params));
  }
  return absl::OkStatus();
}

absl::Status CheckLayerBlobs(const Model& model, const Layer& layer, size_t index) {
  absl::Span<const int32_t> params = model.Params(layer);
  switch (layer.op) {
    case Op::kInputBinarize:
    case Op::kInputQuantize:
    case Op::kMaxPool:
      return absl::OkStatus();
    case Op::kBnnDense:
    case Op::kBnnDenseScores:
      PYNQ_RETURN_IF_ERROR(CheckRowPadding(model, layer, index));
      return CheckParamMagnitudes(params, index);
    case Op::kInt8DenseScores:
      return CheckParamMagnitudes(params, index);
    case Op::kInt8Dense:
    case Op::kInt8Conv: {
      const Model::Requantization requant = model.RequantParams(layer);
      PYNQ_RETURN_IF_ERROR(CheckParamMagnitudes(requant.bias, index));
      PYNQ_RETURN_IF_ERROR(CheckEachInRange(requant.multiplier, 1,
                                            std::numeric_limits<int32_t>::max(), "multiplier",
                                            layer, index));
      return CheckEachInRange(requant.shift, 0, engine::kMaxRequantShift, "shift", layer, index);
    }
  }
  return absl::OkStatus();
}

}  // namespace pynq::accel
