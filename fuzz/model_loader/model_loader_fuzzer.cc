// Fuzz target: the model file loader (accel/model/model.h, Model::FromBytes), which reads the
// .pim files an operator copies onto the board. Every input must end in a model or an error.
#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"
#include "accel/model/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)pynq::accel::Model::FromBytes(absl::MakeConstSpan(data, size));
  return 0;
}
