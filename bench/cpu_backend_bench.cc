// cpu_backend_bench: images per second of the CPU backend on one core, per model and kernel set.
//
//   build/bench/cpu_backend_bench                       # every shipped model, every kernel set
//   build/bench/cpu_backend_bench --kernels=avx2 --batch=1000 models/zoo/mnist-int8-mlp.pim
//   pynq-infer-cpu-bench                                # on a board, from the .deb
//
// For each model and kernel set it runs batches of --batch random images (the kernels do the
// same work whatever the pixel values) on the calling thread: a warm-up, then --repeats
// measurements of at least --seconds each, and prints the median. Throughput is given by the
// thread's CPU time (what one core of this machine does, even when other work shares it) and by
// the wall clock (what this run got). The first lines name the CPU and the kernel sets it runs,
// so a figure never travels without its machine. --json prints one JSON object per line instead,
// for scripts (bench/cpu_vs_torch.py).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"
#include "accel/cpu/cpu_backend.h"
#include "accel/cpu/kernel_set.h"
#include "accel/model/model.h"
#include "bench/median.h"

ABSL_FLAG(std::string, model_dir, "",
          "Directory whose *.pim models are measured when no model file is given; default: the "
          "source tree's models/zoo if it exists (a build tree), else the package's "
          "/usr/share/pynq-infer/models (a board).");
ABSL_FLAG(std::string, kernels, "all",
          "Kernel sets to measure: 'all' (every set this CPU runs), 'best', or names, "
          "comma-separated (portable, avx2, avx512vnni, neon, neon-dotprod).");
ABSL_FLAG(uint32_t, batch, 1000, "Images per Run() call.");
ABSL_FLAG(double, seconds, 1.0, "Length of each measurement.");
ABSL_FLAG(uint32_t, repeats, 3, "Measurements per model and set; the median is printed.");
ABSL_FLAG(bool, json, false, "Print one JSON object per measurement instead of a table.");
ABSL_FLAG(uint32_t, runs, 0,
          "If set, each measurement runs exactly this many batches (and the warm-up one) instead "
          "of lasting --seconds: a fixed amount of work, for counting instructions under an "
          "emulator (bench/arm_cpu_estimate.py).");

namespace {

using pynq::accel::CpuAccelerator;
using pynq::accel::Model;
using Clock = std::chrono::steady_clock;

double ThreadCpuSeconds() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

struct Rates {
  double cpu = 0;   // Images per second of this thread's CPU time.
  double wall = 0;  // Images per second of wall-clock time.
};

// Runs batches until `seconds` of wall-clock time have passed, or exactly `runs` batches.
absl::StatusOr<Rates> Measure(CpuAccelerator& cpu, const std::vector<uint8_t>& images,
                              std::vector<int32_t>& scores, double seconds, uint32_t runs) {
  const size_t batch = images.size() / cpu.model().input_bytes();
  const Clock::time_point start = Clock::now();
  const double cpu_start = ThreadCpuSeconds();
  size_t done = 0;
  double elapsed = 0;
  do {
    if (absl::Status s = cpu.Run(images, absl::MakeSpan(scores)); !s.ok()) return s;
    done += batch;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (runs > 0 ? done < runs * batch : elapsed < seconds);
  elapsed = std::max(elapsed, 1e-9);
  const double cpu_seconds = std::max(ThreadCpuSeconds() - cpu_start, 1e-9);
  return Rates{.cpu = static_cast<double>(done) / cpu_seconds,
               .wall = static_cast<double>(done) / elapsed};
}

// The processor's name as the kernel reports it ("model name" on x86, "Hardware" or
// "CPU part" on ARM), for the header line.
std::string CpuName() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  std::string part;
  while (std::getline(cpuinfo, line)) {
    const std::vector<std::string> kv = absl::StrSplit(line, absl::MaxSplits(':', 1));
    if (kv.size() != 2) continue;
    std::string key(absl::StripAsciiWhitespace(kv[0]));
    std::string value(absl::StripAsciiWhitespace(kv[1]));
    if (key == "model name" || key == "Hardware") return value;
    if (key == "CPU part" && part.empty()) part = "ARM CPU part " + value;
  }
  return part.empty() ? "unknown CPU" : part;
}

absl::StatusOr<std::vector<const pynq::accel::cpu::KernelSet*>> KernelSetsToMeasure() {
  const std::string flag = absl::GetFlag(FLAGS_kernels);
  std::vector<const pynq::accel::cpu::KernelSet*> all = pynq::accel::cpu::SupportedKernelSets();
  if (flag == "all") return all;
  if (flag == "best") return std::vector{all.back()};
  std::vector<const pynq::accel::cpu::KernelSet*> sets;
  for (const std::string& name : std::vector<std::string>(absl::StrSplit(flag, ','))) {
    const pynq::accel::cpu::KernelSet* set = pynq::accel::cpu::FindKernelSet(name);
    if (set == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("--kernels: '", name,
                                                     "' is not a kernel set this CPU runs"));
    }
    sets.push_back(set);
  }
  return sets;
}

std::vector<std::string> ModelFiles(const std::vector<char*>& args) {
  std::vector<std::string> files(args.begin() + 1, args.end());
  if (!files.empty()) return files;
  std::string dir = absl::GetFlag(FLAGS_model_dir);
  if (dir.empty()) {
    dir = std::filesystem::is_directory(PYNQ_SOURCE_MODEL_DIR) ? PYNQ_SOURCE_MODEL_DIR
                                                               : PYNQ_INSTALLED_MODEL_DIR;
  }
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.path().extension() == ".pim") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "images/s of the CPU backend on one core, per model and kernel set.\n"
      "Usage: cpu_backend_bench [--kernels=all] [--batch=1000] [--seconds=1] [MODEL.pim...]");
  const std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  const absl::StatusOr<std::vector<const pynq::accel::cpu::KernelSet*>> sets =
      KernelSetsToMeasure();
  if (!sets.ok()) {
    std::fprintf(stderr, "%s\n", std::string(sets.status().message()).c_str());
    return 2;
  }
  const std::vector<std::string> files = ModelFiles(args);
  if (files.empty()) {
    std::fprintf(stderr, "no models: give model files or a --model_dir holding *.pim files\n");
    return 2;
  }
  const size_t batch = std::max<uint32_t>(absl::GetFlag(FLAGS_batch), 1);
  const double seconds = absl::GetFlag(FLAGS_seconds);
  const bool json = absl::GetFlag(FLAGS_json);
  const std::string cpu_name = CpuName();
  std::vector<std::string> supported;
  for (const auto* set : pynq::accel::cpu::SupportedKernelSets()) supported.push_back(set->name);
  if (!json) {
    std::printf("cpu: %s; kernel sets it runs: %s; one thread\n", cpu_name.c_str(),
                absl::StrJoin(supported, ", ").c_str());
    std::printf("%-20s %-13s %6s %12s %12s %10s\n", "model", "kernels", "batch", "cpu_img/s",
                "wall_img/s", "us/image");
  }
  std::mt19937 rng(1);
  for (const std::string& file : files) {
    absl::StatusOr<std::shared_ptr<const Model>> model = Model::LoadFile(file);
    if (!model.ok()) {
      std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
      return 1;
    }
    std::vector<uint8_t> images(batch * (*model)->input_bytes());
    for (uint8_t& p : images) p = static_cast<uint8_t>(rng());
    std::vector<int32_t> scores(batch * (*model)->num_classes());
    for (const pynq::accel::cpu::KernelSet* set : *sets) {
      auto cpu = CpuAccelerator::Create(*model, {.max_batch_size = batch, .kernels = set->name});
      if (!cpu.ok()) {
        std::fprintf(stderr, "%s\n", cpu.status().ToString().c_str());
        return 1;
      }
      std::vector<double> cpu_rates, wall_rates;
      const uint32_t runs = absl::GetFlag(FLAGS_runs);
      absl::Status status = Measure(**cpu, images, scores, seconds / 10, runs > 0 ? 1 : 0).status();
      for (uint32_t r = 0; status.ok() && r < std::max<uint32_t>(absl::GetFlag(FLAGS_repeats), 1);
           ++r) {
        absl::StatusOr<Rates> rates = Measure(**cpu, images, scores, seconds, runs);
        status = rates.status();
        if (!rates.ok()) break;
        cpu_rates.push_back(rates->cpu);
        wall_rates.push_back(rates->wall);
      }
      if (!status.ok()) {
        std::fprintf(stderr, "%s: %s\n", file.c_str(), status.ToString().c_str());
        return 1;
      }
      const double cpu_rate = pynq::bench::Median(cpu_rates);
      const double wall_rate = pynq::bench::Median(wall_rates);
      if (json) {
        std::printf(
            "{\"model\": \"%s\", \"kernels\": \"%s\", \"batch\": %zu, \"cpu_images_per_s\": %.1f, "
            "\"wall_images_per_s\": %.1f, \"cpu\": \"%s\"}\n",
            (*model)->name().c_str(), set->name, batch, cpu_rate, wall_rate, cpu_name.c_str());
      } else {
        std::printf("%-20s %-13s %6zu %12.0f %12.0f %10.3f\n", (*model)->name().c_str(),
                    set->name, batch, cpu_rate, wall_rate, 1e6 / cpu_rate);
      }
      std::fflush(stdout);
    }
  }
  return 0;
}
