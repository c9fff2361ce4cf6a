// cpu_golden_check: every shipped model (models/zoo.tsv) on every CPU kernel set this machine
// runs, forced one by one, against the Python integer reference's golden scores, bit for bit.
//
//   build/tests/cpu_golden_check                            # all sets, whole test sets
//   qemu-aarch64 build-arm64/tests/cpu_golden_check --require=neon,neon-dotprod \
//       --max_images=500 --source_dir=$PWD
//
// A plain program rather than a GoogleTest binary, so that the cross builds (which have no
// GoogleTest for the target) make it too and the suite runs the ARM kernels under qemu-user.
// Prints one line per model and set; exits 1 on any mismatch or error, including a set named by
// --require that this CPU does not run (so a qemu that stopped offering NEON cannot make the
// check pass without testing NEON).
#include <algorithm>
#include <cstdio>
#include <memory>
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
#include "base/status_macros.h"
#include "clients/idx_file.h"
#include "tests/zoo_manifest.h"

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
  std::printf("%s\n", ok ? "all kernel sets reproduce the golden scores" : "FAILED");
  return ok ? 0 : 1;
}
