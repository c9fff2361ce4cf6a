#include "fuzz/zoo_models.h"

#include <cstdio>
#include <cstdlib>

namespace pynq::fuzz {

std::shared_ptr<const accel::Model> LoadZooModelOrDie(const std::string& file_name) {
  auto model = accel::Model::LoadFile(std::string(PYNQ_FUZZ_MODELS_DIR) + "/" + file_name);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
    std::abort();
  }
  return *model;
}

}  // namespace pynq::fuzz
