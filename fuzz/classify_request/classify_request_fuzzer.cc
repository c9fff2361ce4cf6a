// Fuzz target: a native-API ClassifyRequest as InferenceService receives it: the bytes gRPC hands
// over are parsed as a ClassifyRequest (what the generated handler does), then checked against
// the model it names and its pictures decoded and prepared by the service's own code
// (service/classify_request.h: ValidateClassifyRequest, then PrepareClassifyPictures).
// The models are the zoo's (models/zoo). A request naming none of them would end at the
// registry's NOT_FOUND in the service; here it is checked against the model its name's length
// picks, so that random names still reach the validation.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "accel/model/model.h"
#include "fuzz/zoo_models.h"
#include "pynq_infer/v1/inference.pb.h"
#include "service/classify_request.h"

using pynq::fuzz::LoadZooModelOrDie;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::shared_ptr<const pynq::accel::Model>> models = {
      LoadZooModelOrDie("mnist-bnn-tfc.pim"),     LoadZooModelOrDie("fashion-bnn-tfc.pim"),
      LoadZooModelOrDie("mnist-int8-mlp.pim"),    LoadZooModelOrDie("fashion-int8-mlp.pim"),
      LoadZooModelOrDie("mnist-lenet5-int8.pim"), LoadZooModelOrDie("fashion-lenet5-int8.pim")};
  pynq_infer::v1::ClassifyRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  const pynq::accel::Model* model = models[request.model().size() % models.size()].get();
  for (const auto& m : models) {
    if (m->name() == request.model()) model = m.get();
  }
  // The daemon's per-request bound; pictures bounded as in fuzz/prepare_picture, to stay fast.
  const pynq::service::ClassifyLimits limits{
      .max_images_per_request = 1024,
      .picture_limits = {.max_pixels = 1 << 20, .max_decoded_bytes = 8 << 20}};
  if (!pynq::service::ValidateClassifyRequest(request, *model, limits).ok()) return 0;
  auto inputs = pynq::service::PrepareClassifyPictures(request, *model, limits.picture_limits);
  if (!inputs.ok()) return 0;
  // What the service then queues: one input per image, each of the model's input size.
  const size_t expected = static_cast<size_t>(request.encoded_images_size()) * model->input_bytes();
  if (*inputs == nullptr ? request.encoded_images_size() != 0 : (*inputs)->size() != expected) {
    std::fprintf(stderr, "prepared %zu bytes of input for %d pictures of %zu bytes\n",
                 *inputs == nullptr ? size_t{0} : (*inputs)->size(),
                 request.encoded_images_size(), model->input_bytes());
    std::abort();
  }
  return 0;
}
