// What sets the pace of the virtual board: the host running the engine's C simulation, or the
// engine's modeled time. For each model, the FPGA backend runs batches on a SimDevice without the
// timing delay, with the weights resident (if they fit the store) and streamed, and the program
// prints, per batch size, the host's median CPU time per call (the process's, so the driver's
// staging and syncs and the engine thread's C simulation of every MAC; on an idle machine the
// wall time, also printed, is about the same) next to the modeled time of the same call (the
// counted cycles at the clock, plus the per-call overhead the virtual board adds), and which is
// larger. With --sim_timing=true the virtual board raises ap_done at the later of the two, so the
// larger one is what a daemon on it sees.
//
//   sim_engine_pace [--rounds=20] [--clock_mhz=100] models/zoo/*.pim
//
// On a shared machine the wall time includes waiting for a core; read the CPU time.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "accel/fpga/devices/sim/sim_device.h"
#include "accel/fpga/fpga_backend.h"
#include "accel/fpga/fpga_engine.h"
#include "accel/model/model.h"
#include "bench/median.h"

ABSL_FLAG(int, rounds, 20, "Calls per batch size; the median is reported.");
ABSL_FLAG(double, clock_mhz, 100, "The engine clock the modeled time is at.");

namespace {

double ProcessCpuUs() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "%s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> files = absl::ParseCommandLine(argc, argv);
  if (files.size() < 2 || absl::GetFlag(FLAGS_rounds) < 1) {
    std::fprintf(stderr, "usage: %s [--rounds=N] [--clock_mhz=F] model.pim...\n", argv[0]);
    return 2;
  }
  const double clock_mhz = absl::GetFlag(FLAGS_clock_mhz);
  // The fixed cost per call the virtual board adds with --sim_timing (SimDevice::Options).
  const double overhead_us =
      absl::ToDoubleMicroseconds(pynq::accel::SimDevice::Options{}.call_overhead);
  std::printf("%-20s %-9s %5s %12s %12s %10s %14s %14s  %s\n", "model", "weights", "batch",
              "host CPU us", "host wall us", "model us", "host images/s", "model images/s",
              "pace set by");
  using Residency = pynq::accel::FpgaAccelerator::Options::Residency;
  for (size_t f = 1; f < files.size(); ++f) {
    auto model = pynq::accel::Model::LoadFile(files[f]);
    if (!model.ok()) return Fail(model.status());
    auto board = pynq::accel::SimDevice::Create({.timing = false});
    if (!board.ok()) return Fail(board.status());
    pynq::accel::SimDevice* sim = board->get();
    auto engine = pynq::accel::FpgaEngine::Create(std::move(*board), {});
    if (!engine.ok()) return Fail(engine.status());
    std::mt19937 rng(1);
    std::vector<uint8_t> images(64 * (*model)->input_bytes());
    for (uint8_t& p : images) p = static_cast<uint8_t>(rng());
    for (Residency residency : {Residency::kAuto, Residency::kStreamed}) {
      auto fpga = pynq::accel::FpgaAccelerator::Create(
          *model, *engine, {.max_batch_size = 64, .cpu_fallback = false, .residency = residency});
      if (!fpga.ok()) return Fail(fpga.status());
      const char* weights = (*fpga)->resident() ? "resident" : "streamed";
      for (size_t batch : {size_t{1}, size_t{64}}) {
        const absl::Span<const uint8_t> in =
            absl::MakeConstSpan(images).subspan(0, batch * (*model)->input_bytes());
        std::vector<int32_t> scores(batch * (*model)->num_classes());
        std::vector<double> cpu_us, wall_us;
        for (int r = 0; r < absl::GetFlag(FLAGS_rounds) + 2; ++r) {
          const double cpu_start = ProcessCpuUs();
          const auto start = std::chrono::steady_clock::now();
          if (absl::Status run = (*fpga)->Run(in, absl::MakeSpan(scores)); !run.ok()) {
            return Fail(run);
          }
          const std::chrono::duration<double, std::micro> took =
              std::chrono::steady_clock::now() - start;
          if (r >= 2) {  // two calls to warm up
            wall_us.push_back(took.count());
            cpu_us.push_back(ProcessCpuUs() - cpu_start);
          }
        }
        const double host = pynq::bench::Median(cpu_us);
        const double modeled = sim->stats().cycles_last / clock_mhz + overhead_us;
        std::printf("%-20s %-9s %5zu %12.1f %12.1f %10.1f %14.0f %14.0f  %s\n",
                    (*model)->name().c_str(), weights, batch, host,
                    pynq::bench::Median(wall_us), modeled, batch / host * 1e6,
                    batch / modeled * 1e6, host > modeled ? "host (C simulation)" : "modeled engine");
      }
    }
  }
  return 0;
}
