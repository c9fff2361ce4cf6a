// The per-op rules of the layer program (accel/model/MODEL_FORMAT.md, "Ops of engine ABI v1" and
// "Int8 ops"): which tensors each op takes and produces, which shapes, args and blob sizes a
// descriptor may have, and which values its blobs may hold. The model loader (model.cc) applies
// them to every layer after checking how the layers chain; they live apart so each op's rules read
// in one place.
//
//   PYNQ_RETURN_IF_ERROR(CheckLayerDescriptor(layer, index));     // before the blobs are read
//   ...
//   PYNQ_RETURN_IF_ERROR(CheckLayerBlobs(model, layer, index));   // once the WEIGHTS are in memory
//
// Every failure is kInvalidArgument with a message that names the layer, the field, the value
// found and the values allowed. Pure functions: thread-safe, no allocation but the messages.
#ifndef PYNQ_ACCEL_MODEL_LAYER_RULES_H_
#define PYNQ_ACCEL_MODEL_LAYER_RULES_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "accel/model/model.h"
#include "accel/model/model_format.h"
#include "overlays/nn_engine/abi/ops.h"

namespace pynq::accel {

using engine::TensorKind;

std::string_view TensorKindName(TensorKind kind);

// "(c,h,w)", as messages print shapes.
std::string ShapeString(const Shape& s);

// Checks the shapes, args and blob sizes of one descriptor against its op's rules. The input
// shape must already be known to equal the previous layer's output (or the model input).
absl::Status CheckLayerDescriptor(const Layer& layer, size_t index);

// Checks the values in one layer's blobs: zero padding bits of binarized weight rows, thresholds
// and biases within +-kMaxParamMagnitude, requantization multipliers and shifts in range. `layer`
// must be one of model.layers(), already checked by CheckLayerDescriptor().
absl::Status CheckLayerBlobs(const Model& model, const Layer& layer, size_t index);

}  // namespace pynq::accel

#endif  // PYNQ_ACCEL_MODEL_LAYER_RULES_H_
