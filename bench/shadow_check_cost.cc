// What the shadow check (--shadow_check_rate, service/shadow_checker.h) costs the engine's
// throughput. For each model, the FPGA backend runs batches on the virtual board (with its timing
// model, as the daemon's --sim_timing=true) from one thread, in alternating rounds with the check
// off (no observer installed) and on at --rate; the program prints each side's median images/s
// and their ratio, each side's median process CPU time per image (the driver, the virtual board's
// C simulation, and with the check on its copies and CPU re-runs) and their ratio, and how many
// images the checker compared and skipped. On a shared machine the wall-clock rate swings with
// the other load; the CPU time per image is the steadier figure of what the check adds.
//
//   shadow_check_cost [--rate=0.01] [--rounds=5] [--round_ms=1000] [--batch=16] models/zoo/*.pim
#include <time.h>

#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "accel/fpga/devices/sim/sim_device.h"
#include "accel/fpga/fpga_backend.h"
#include "accel/fpga/fpga_engine.h"
#include "accel/model/model.h"
#include "bench/median.h"
#include "service/metrics.h"
#include "service/shadow_checker.h"

ABSL_FLAG(double, rate, 0.01, "The shadow check rate of the 'on' rounds.");
ABSL_FLAG(int, rounds, 5, "Rounds per side; the median is reported.");
ABSL_FLAG(int, round_ms, 1000, "Length of one round.");
ABSL_FLAG(int, batch, 16, "Images per batch.");

namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "%s\n", status.ToString().c_str());
  return 1;
}

double ProcessCpuUs() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) / 1e3;
}

struct RoundResult {
  double images_per_s = 0;
  double cpu_us_per_image = 0;
};

// Back-to-back batches for `length`.
RoundResult Round(pynq::accel::FpgaAccelerator& fpga, const std::vector<uint8_t>& images,
                  std::vector<int32_t>& scores, size_t batch, absl::Duration length) {
  const absl::Time start = absl::Now();
  const double cpu_start = ProcessCpuUs();
  size_t done = 0;
  while (absl::Now() - start < length) {
    if (absl::Status s = fpga.Run(images, absl::MakeSpan(scores)); !s.ok()) {
      std::fprintf(stderr, "run failed: %s\n", s.ToString().c_str());
      return {};
    }
    done += batch;
  }
  return {.images_per_s = static_cast<double>(done) / absl::ToDoubleSeconds(absl::Now() - start),
          .cpu_us_per_image = (ProcessCpuUs() - cpu_start) / static_cast<double>(done)};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> files = absl::ParseCommandLine(argc, argv);
  const int rounds = absl::GetFlag(FLAGS_rounds);
  const int batch = absl::GetFlag(FLAGS_batch);
  if (files.size() < 2 || rounds < 1 || batch < 1 || batch > 64) {
    std::fprintf(stderr,
                 "usage: %s [--rate=R] [--rounds=N] [--round_ms=MS] [--batch=1..64] model.pim...\n",
                 argv[0]);
    return 2;
  }
  const absl::Duration length = absl::Milliseconds(absl::GetFlag(FLAGS_round_ms));
  std::printf("%-20s %6s %10s %10s %7s %11s %11s %7s %8s %8s\n", "model", "batch", "off_img/s",
              "on_img/s", "on/off", "off_cpu_us", "on_cpu_us", "on/off", "checked", "skipped");
  for (size_t f = 1; f < files.size(); ++f) {
    absl::StatusOr<std::shared_ptr<const pynq::accel::Model>> model =
        pynq::accel::Model::LoadFile(files[f]);
    if (!model.ok()) return Fail(model.status());
    auto board = pynq::accel::SimDevice::Create({.timing = true});
    if (!board.ok()) return Fail(board.status());
    auto engine = pynq::accel::FpgaEngine::Create(std::move(*board), {});
    if (!engine.ok()) return Fail(engine.status());
    auto fpga = pynq::accel::FpgaAccelerator::Create(
        *model, *engine, {.max_batch_size = static_cast<size_t>(batch)});
    if (!fpga.ok()) return Fail(fpga.status());
    auto checker = pynq::service::ShadowChecker::Create({.rate = absl::GetFlag(FLAGS_rate)});
    if (!checker.ok()) return Fail(checker.status());
    pynq::service::ModelMetrics metrics;

    std::mt19937 rng(7);
    std::vector<uint8_t> images(batch * (*model)->input_bytes());
    for (uint8_t& p : images) p = static_cast<uint8_t>(rng());
    std::vector<int32_t> scores(batch * (*model)->num_classes());
    Round(**fpga, images, scores, batch, length / 4);  // warm-up
    std::vector<double> off, on, off_cpu, on_cpu;
    for (int r = 0; r < rounds; ++r) {
      const RoundResult a = Round(**fpga, images, scores, batch, length);
      auto registration = (*checker)->Attach(*model, **fpga, &metrics);
      if (!registration.ok()) return Fail(registration.status());
      const RoundResult b = Round(**fpga, images, scores, batch, length);
      off.push_back(a.images_per_s);
      off_cpu.push_back(a.cpu_us_per_image);
      on.push_back(b.images_per_s);
      on_cpu.push_back(b.cpu_us_per_image);
      registration->reset();
      (*fpga)->SetEngineBatchObserver(nullptr);
    }
    const pynq::service::ShadowChecker::Stats s = (*checker)->stats();
    const double off_median = pynq::bench::Median(off);
    const double on_median = pynq::bench::Median(on);
    const double off_cpu_median = pynq::bench::Median(off_cpu);
    const double on_cpu_median = pynq::bench::Median(on_cpu);
    std::printf("%-20s %6d %10.0f %10.0f %7.3f %11.2f %11.2f %7.3f %8llu %8llu\n",
                (*model)->name().c_str(), batch, off_median, on_median, on_median / off_median,
                off_cpu_median, on_cpu_median, on_cpu_median / off_cpu_median,
                static_cast<unsigned long long>(s.checked),
                static_cast<unsigned long long>(s.skipped));
    if (s.mismatches != 0) {
      std::fprintf(stderr, "%s: %llu shadow mismatches on a fault-free board\n",
                   (*model)->name().c_str(), static_cast<unsigned long long>(s.mismatches));
      return 1;
    }
  }
  return 0;
}
