// cpu_golden_check: every shipped model (models/zoo.tsv) on every CPU kernel set this machine
// runs, forced one by one, against the Python integer reference's golden scores, bit for bit.
//
//   build/tests/cpu_golden_check                            # all sets, whole test sets
//   qemu-aarch64 build-arm64/tests/cpu_golden_check --require=neon,neon-dotprod
//       --max_images=500 --source_dir=$PWD   (one command line)
//
// Then random models (accel/model/model_builder.h: signed and ReLU layers, every pooling window
// and kernel size, requantization at the format's extremes, which the shipped models do not
// reach) on every set against the portable one, which the native unit tests check against
// reference loops: that covers the paths the shipped models leave out, under qemu too.
//
// A plain program rather than a GoogleTest binary, so that the cross builds (which have no
// GoogleTest for the target) make it too and the suite runs the ARM kernels under qemu-user.
// Prints one line per model and set; exits 1 on any mismatch or error, including a set named by
// --require that this CPU does not run (so a qemu that stopped offering NEON cannot make the
// check pass without testing NEON).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/types/span.h"
#include "accel/cpu/cpu_backend.h"
#include "accel/cpu/kernel_set.h"
#include "accel/model/model.h"
#include "accel/model/model_builder.h"
#include "base/status_macros.h"
#include "clients/idx_file.h"
#include "tests/support/zoo_manifest.h"

ABSL_FLAG(std::string, source_dir, PYNQ_SOURCE_DIR, "The repository (for models/zoo.tsv).");
ABSL_FLAG(std::string, require, "",
          "Kernel sets that must be among the ones this CPU runs, comma-separated.");
ABSL_FLAG(uint32_t, max_images, 0,
          "Check at most this many images of each test set (0: all); for slow emulators.");

namespace {

using pynq::accel::CpuAccelerator;
using pynq::accel::Model;

// 100 images per Run() call: three full tiles of 32 and a part one, as the daemon's batches mix.
constexpr size_t kBatch = 100;

// Returns the number of images whose scores differ from the golden ones, printing the first few.
absl::StatusOr<size_t> Check(const pynq::testing::ZooEntry& entry,
                             std::shared_ptr<const Model> model,
                             const pynq::clients::GrayImages& images,
                             const pynq::clients::Int32Matrix& golden, size_t count,
                             const char* kernels) {
  const size_t classes = model->num_classes();
  PYNQ_ASSIGN_OR_RETURN(
      std::unique_ptr<CpuAccelerator> cpu,
      CpuAccelerator::Create(std::move(model), {.max_batch_size = kBatch, .kernels = kernels}));
  std::vector<int32_t> scores(kBatch * classes);
  size_t mismatches = 0;
  for (size_t first = 0; first < count; first += kBatch) {
    const size_t n = std::min(kBatch, count - first);
    PYNQ_RETURN_IF_ERROR(cpu->Run(
        absl::MakeConstSpan(images.pixels)
            .subspan(first * images.image_bytes(), n * images.image_bytes()),
        absl::MakeSpan(scores).subspan(0, n * classes)));
    for (size_t i = 0; i < n; ++i) {
      const absl::Span<const int32_t> got = absl::MakeConstSpan(scores).subspan(i * classes, classes);
      const absl::Span<const int32_t> want = golden.row(first + i);
      if (std::equal(got.begin(), got.end(), want.begin())) continue;
      if (++mismatches <= 3) {
        std::printf("  %s on %s, image %zu: scores %s, golden %s\n", entry.name.c_str(), kernels,
                    first + i, absl::StrJoin(got, " ").c_str(),
                    absl::StrJoin(want, " ").c_str());
      }
    }
  }
  return mismatches;
}

// Random models in the shapes the unit tests use, binarized and int8.
std::vector<pynq::accel::ModelSpec> RandomSpecs() {
  using namespace pynq::accel;  // NOLINT: the builder's many small helpers
  std::vector<ModelSpec> specs;
  for (uint64_t seed = 1; seed <= 2; ++seed) {
    specs.push_back(RandomBnnSpec({.seed = seed, .hidden = {64}}));
    specs.push_back(RandomBnnSpec({.seed = seed, .input = {3, 5, 7}, .hidden = {200, 129},
                                   .num_classes = 7, .binarize_threshold = 1}));
    specs.push_back(RandomBnnSpec({.seed = seed, .input = {1, 8, 8}, .hidden = {63},
                                   .num_classes = 65, .binarize_threshold = 255}));
    const std::vector<RandomInt8Options> int8 = {
        {.stages = {Int8Dense(128), Int8Dense(64)}},
        {.stages = {Int8Conv(6, 5), Int8Pool(2), Int8Conv(16, 5), Int8Pool(2), Int8Dense(120),
                    Int8Dense(84)}},
        {.input = {3, 12, 12},
         .stages = {Int8Conv(4, 3, false), Int8Pool(2), Int8Dense(7, false)},
         .num_classes = 3},
        {.input = {2, 24, 24},
         .stages = {Int8Conv(5, 7), Int8Pool(3), Int8Conv(3, 1), Int8Pool(2)},
         .num_classes = 4},
        {.input = {4, 32, 32}, .stages = {Int8Conv(4, 1), Int8Pool(4), Int8Dense(4096, false)},
         .num_classes = 5},
        {.input = {2, 5, 7}, .stages = {Int8Dense(9, false), Int8Dense(20)}},
        {.input = {1, 1, 1}, .stages = {}, .num_classes = 2},
    };
    for (RandomInt8Options options : int8) {
      options.seed = seed;
      specs.push_back(RandomInt8Spec(options));
    }
  }
  return specs;
}

// Runs `images` through `model` on `kernels`, in batches of kBatch.
absl::StatusOr<std::vector<int32_t>> Scores(std::shared_ptr<const Model> model,
                                            const std::vector<uint8_t>& images, size_t count,
                                            const char* kernels) {
  const size_t classes = model->num_classes();
  const size_t bytes = model->input_bytes();
  PYNQ_ASSIGN_OR_RETURN(
      std::unique_ptr<CpuAccelerator> cpu,
      CpuAccelerator::Create(std::move(model), {.max_batch_size = kBatch, .kernels = kernels}));
  std::vector<int32_t> scores(count * classes);
  for (size_t first = 0; first < count; first += kBatch) {
    const size_t n = std::min(kBatch, count - first);
    PYNQ_RETURN_IF_ERROR(
        cpu->Run(absl::MakeConstSpan(images).subspan(first * bytes, n * bytes),
                 absl::MakeSpan(scores).subspan(first * classes, n * classes)));
  }
  return scores;
}

// Every set against the portable one on RandomSpecs(); false on any difference or error.
bool CheckRandomModels() {
  const std::vector<pynq::accel::ModelSpec> specs = RandomSpecs();
  std::mt19937 rng(20261129);
  bool ok = true;
  std::vector<size_t> differing(pynq::accel::cpu::SupportedKernelSets().size(), 0);
  for (size_t m = 0; m < specs.size(); ++m) {
    absl::StatusOr<std::shared_ptr<const Model>> model =
        Model::FromBytes(pynq::accel::SerializeModel(specs[m]));
    if (!model.ok()) {
      std::printf("FAILED: random model %zu: %s\n", m, model.status().ToString().c_str());
      return false;
    }
    // 137 images: a batch of 100 in tiles of 32 and a part one; the first spans every pixel.
    const size_t count = 137;
    std::vector<uint8_t> images(count * (*model)->input_bytes());
    for (uint8_t& p : images) p = static_cast<uint8_t>(rng());
    for (size_t j = 0; j < (*model)->input_bytes(); ++j) images[j] = static_cast<uint8_t>(j);
    absl::StatusOr<std::vector<int32_t>> expected = Scores(*model, images, count, "portable");
    if (!expected.ok()) {
      std::printf("FAILED: random model %zu: %s\n", m, expected.status().ToString().c_str());
      return false;
    }
    const std::vector<const pynq::accel::cpu::KernelSet*> sets =
        pynq::accel::cpu::SupportedKernelSets();
    for (size_t s = 1; s < sets.size(); ++s) {
      absl::StatusOr<std::vector<int32_t>> got = Scores(*model, images, count, sets[s]->name);
      if (!got.ok()) {
        std::printf("FAILED: random model %zu on %s: %s\n", m, sets[s]->name,
                    got.status().ToString().c_str());
        ok = false;
      } else if (*got != *expected) {
        ++differing[s];
        std::printf("  random model %zu (%s) on %s differs from portable\n", m,
                    absl::StrJoin((*model)->LayerSummary(), "; ").c_str(), sets[s]->name);
      }
    }
  }
  const std::vector<const pynq::accel::cpu::KernelSet*> sets =
      pynq::accel::cpu::SupportedKernelSets();
  for (size_t s = 1; s < sets.size(); ++s) {
    std::printf("%-20s %-13s %6zu models  %s\n", "random models", sets[s]->name, specs.size(),
                differing[s] == 0 ? "portable: identical" : "portable: DIFFERENT");
    ok = ok && differing[s] == 0;
  }
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "every shipped model on every CPU kernel set, against the golden scores.\n"
      "Usage: cpu_golden_check [--require=SET,...] [--max_images=N] [--source_dir=DIR]");
  absl::ParseCommandLine(argc, argv);
  std::vector<std::string> supported;
  for (const auto* set : pynq::accel::cpu::SupportedKernelSets()) supported.push_back(set->name);
  std::printf("kernel sets this CPU runs: %s\n", absl::StrJoin(supported, ", ").c_str());
  bool ok = true;
  const std::vector<std::string> required =
      absl::StrSplit(absl::GetFlag(FLAGS_require), ',', absl::SkipEmpty());
  for (const std::string& name : required) {
    if (std::find(supported.begin(), supported.end(), name) == supported.end()) {
      std::printf("FAILED: kernel set %s is required but this CPU does not run it\n",
                  name.c_str());
      ok = false;
    }
  }
  absl::StatusOr<std::vector<pynq::testing::ZooEntry>> zoo =
      pynq::testing::ReadZooManifest(absl::GetFlag(FLAGS_source_dir) + "/models");
  if (!zoo.ok()) {
    std::printf("FAILED: %s\n", zoo.status().ToString().c_str());
    return 1;
  }
  for (const pynq::testing::ZooEntry& entry : *zoo) {
    absl::StatusOr<std::shared_ptr<const Model>> model = Model::LoadFile(entry.model_path);
    absl::StatusOr<pynq::clients::GrayImages> images =
        pynq::clients::ReadIdxImages(entry.images_path);
    absl::StatusOr<pynq::clients::Int32Matrix> golden =
        pynq::clients::ReadIdxInt32Matrix(entry.golden_path);
    for (const absl::Status& s : {model.status(), images.status(), golden.status()}) {
      if (!s.ok()) {
        std::printf("FAILED: %s: %s\n", entry.name.c_str(), s.ToString().c_str());
        return 1;
      }
    }
    if (images->image_bytes() != (*model)->input_bytes() || golden->rows != images->count ||
        golden->cols != (*model)->num_classes()) {
      std::printf("FAILED: %s: the test images or golden scores do not fit the model\n",
                  entry.name.c_str());
      return 1;
    }
    size_t count = images->count;
    if (const uint32_t max = absl::GetFlag(FLAGS_max_images); max > 0) {
      count = std::min<size_t>(count, max);
    }
    for (const auto* set : pynq::accel::cpu::SupportedKernelSets()) {
      absl::StatusOr<size_t> mismatches =
          Check(entry, *model, *images, *golden, count, set->name);
      if (!mismatches.ok()) {
        std::printf("FAILED: %s on %s: %s\n", entry.name.c_str(), set->name,
                    mismatches.status().ToString().c_str());
        ok = false;
        continue;
      }
      std::printf("%-20s %-13s %6zu images  %s\n", entry.name.c_str(), set->name, count,
                  *mismatches == 0 ? "golden: identical" : "golden: DIFFERENT");
      ok = ok && *mismatches == 0;
    }
  }
  ok = CheckRandomModels() && ok;
  std::printf("%s\n", ok ? "all kernel sets reproduce the golden scores" : "FAILED");
  return ok ? 0 : 1;
}
