// Fuzz target: the whole picture path of the service (preprocess/prepare.h, PreparePicture):
// recognise the format, decode (PNG, JPEG or PGM), normalise to the model's input. The first byte
// picks the model (MNIST's or Fashion-MNIST's preprocessing, from models/zoo); the rest is the
// picture, as ClassifyRequest.encoded_images carries it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/types/span.h"
#include "accel/model/model.h"
#include "fuzz/zoo_models.h"
#include "preprocess/prepare.h"

using pynq::fuzz::LoadZooModelOrDie;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::shared_ptr<const pynq::accel::Model> models[] = {
      LoadZooModelOrDie("mnist-bnn-tfc.pim"), LoadZooModelOrDie("fashion-bnn-tfc.pim")};
  if (size == 0) return 0;
  const pynq::accel::Model& model = *models[data[0] % 2];
  const pynq::preprocess::DecodeLimits limits{.max_pixels = 1 << 20,
                                              .max_decoded_bytes = 8 << 20};
  (void)pynq::preprocess::PreparePicture(absl::MakeConstSpan(data + 1, size - 1), model, limits);
  return 0;
}
