// The shipped models (models/zoo) for fuzz targets that need a model to check input against.
#ifndef PYNQ_FUZZ_ZOO_MODELS_H_
#define PYNQ_FUZZ_ZOO_MODELS_H_

#include <memory>
#include <string>

#include "accel/model/model.h"

namespace pynq::fuzz {

// Loads models/zoo/<file_name>, e.g. "mnist-bnn-tfc.pim". Aborts with the loader's message if it
// cannot: a fuzz target without its model would fuzz nothing.
std::shared_ptr<const accel::Model> LoadZooModelOrDie(const std::string& file_name);

}  // namespace pynq::fuzz

#endif  // PYNQ_FUZZ_ZOO_MODELS_H_
