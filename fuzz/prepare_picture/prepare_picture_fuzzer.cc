// Fuzz target: the whole picture path of the service (preprocess/prepare.h, PreparePicture):
// recognise the format, decode (PNG, JPEG or PGM), normalise to the model's input. The first byte
// picks the model (MNIST's or Fashion-MNIST's preprocessing, from models/zoo); the rest is the
// picture, as ClassifyRequest.encoded_images carries it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/types/span.h"
#include "accel/model/model.h"
#include "preprocess/prepare.h"

namespace {

std::shared_ptr<const pynq::accel::Model> LoadOrDie(const std::string& name) {
  auto model = pynq::accel::Model::LoadFile(std::string(PYNQ_FUZZ_MODELS_DIR) + "/" + name);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
    std::abort();
  }
  return *model;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::shared_ptr<const pynq::accel::Model> models[] = {
      LoadOrDie("mnist-bnn-tfc.pim"), LoadOrDie("fashion-bnn-tfc.pim")};
  if (size == 0) return 0;
  const pynq::accel::Model& model = *models[data[0] % 2];
  const pynq::preprocess::DecodeLimits limits{.max_pixels = 1 << 20,
                                              .max_decoded_bytes = 8 << 20};
  (void)pynq::preprocess::PreparePicture(absl::MakeConstSpan(data + 1, size - 1), model, limits);
  return 0;
}
