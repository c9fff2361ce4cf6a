// cpu_backend_benchmark: images per second of the CPU backend, one core, for each model file given.
//
//   build/accel/cpu/cpu_backend_benchmark models/zoo/*.pim
//
// Each model runs batches of --batch images (uniformly random pixels: the kernels do the same
// work whatever the pixel values) on the calling thread, first for a short warm-up, then for at
// least --seconds; it prints one line per model with the throughput and the time per image, both
// by the wall clock and by the thread's CPU time. On an idle machine the two agree; on a shared
// one the CPU-time figure is what one core of this machine does, the wall-clock figure what this
// run got.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_join.h"
#include "accel/cpu/cpu_backend.h"
#include "accel/model/model.h"

ABSL_FLAG(uint32_t, batch, 64, "Images per Run() call.");
ABSL_FLAG(double, seconds, 2.0, "Measure each model for at least this long.");

namespace {

using Clock = std::chrono::steady_clock;

struct Measurement {
  size_t images = 0;
  double seconds = 0;      // Wall clock.
  double cpu_seconds = 0;  // This thread's CPU time.
};

double ThreadCpuSeconds() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// Runs `cpu` on `images` until at least `seconds` have passed; returns how many images ran.
absl::Status Measure(pynq::accel::CpuAccelerator& cpu, const std::vector<uint8_t>& images,
                     std::vector<int32_t>& scores, double seconds, Measurement& result) {
  const size_t batch = images.size() / cpu.model().input_bytes();
  const Clock::time_point start = Clock::now();
  const double cpu_start = ThreadCpuSeconds();
  Clock::time_point now = start;
  do {
    if (absl::Status s = cpu.Run(images, absl::MakeSpan(scores)); !s.ok()) return s;
    result.images += batch;
    now = Clock::now();
  } while (std::chrono::duration<double>(now - start).count() < seconds);
  result.seconds = std::chrono::duration<double>(now - start).count();
  result.cpu_seconds = ThreadCpuSeconds() - cpu_start;
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "images/s of the CPU backend on one core, per model.\n"
      "Usage: cpu_backend_benchmark [--batch=64] [--seconds=2] MODEL.pim...");
  const std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 2) {
    std::fprintf(stderr, "cpu_backend_benchmark: give one or more model files (see --help)\n");
    return 2;
  }
  const size_t batch = absl::GetFlag(FLAGS_batch);
  const double seconds = absl::GetFlag(FLAGS_seconds);
  std::printf("%-22s %6s %9s %10s %10s %9s %9s  %s\n", "model", "batch", "images",
              "images/s", "cpu_img/s", "us/image", "cpu_us", "layers");
  std::mt19937 rng(1);
  for (size_t i = 1; i < args.size(); ++i) {
    absl::StatusOr<std::shared_ptr<const pynq::accel::Model>> model =
        pynq::accel::Model::LoadFile(args[i]);
    if (!model.ok()) {
      std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
      return 1;
    }
    auto cpu = pynq::accel::CpuAccelerator::Create(*model, {.max_batch_size = batch});
    if (!cpu.ok()) {
      std::fprintf(stderr, "%s\n", cpu.status().ToString().c_str());
      return 1;
    }
    std::vector<uint8_t> images(batch * (*model)->input_bytes());
    for (uint8_t& p : images) p = static_cast<uint8_t>(rng());
    std::vector<int32_t> scores(batch * (*model)->num_classes());
    Measurement warm_up;
    Measurement measured;
    absl::Status status = Measure(**cpu, images, scores, seconds / 10, warm_up);
    if (status.ok()) status = Measure(**cpu, images, scores, seconds, measured);
    if (!status.ok()) {
      std::fprintf(stderr, "%s: %s\n", args[i], status.ToString().c_str());
      return 1;
    }
    const auto images_count = static_cast<double>(measured.images);
    const double per_second = images_count / measured.seconds;
    const double per_cpu_second = images_count / measured.cpu_seconds;
    std::printf("%-22s %6zu %9zu %10.0f %10.0f %9.2f %9.2f  %s\n", (*model)->name().c_str(),
                batch, measured.images, per_second, per_cpu_second, 1e6 / per_second,
                1e6 / per_cpu_second, absl::StrJoin((*model)->LayerSummary(), "; ").c_str());
  }
  return 0;
}
