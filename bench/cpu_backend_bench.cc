// The CPU backend's throughput on one core, per shipped model and batch size (Google Benchmark).
// items_per_second is images/s; each run is single-threaded, so it is one core's figure.
//
//   build/bench/cpu_backend_bench [--model_dir=models/zoo] [--benchmark_filter=...]
//
// bench/cpu_vs_torch.py runs it next to PyTorch's float MLP of the same shape and prints the ratio.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "accel/cpu/cpu_backend.h"
#include "accel/model/model.h"
#include "benchmark/benchmark.h"

namespace {

using pynq::accel::CpuAccelerator;
using pynq::accel::Model;

void RunBatches(benchmark::State& state, std::shared_ptr<const Model> model, size_t batch) {
  auto cpu = CpuAccelerator::Create(model, {.max_batch_size = batch});
  if (!cpu.ok()) {
    state.SkipWithError(cpu.status().ToString().c_str());
    return;
  }
  // Random pixels: the binarized kernels cost the same for any input.
  std::mt19937 rng(7);
  std::vector<uint8_t> images(batch * model->input_bytes());
  for (uint8_t& p : images) p = static_cast<uint8_t>(rng());
  std::vector<int32_t> scores(batch * model->num_classes());
  for (auto _ : state) {
    const absl::Status s = (*cpu)->Run(images, absl::MakeSpan(scores));
    benchmark::DoNotOptimize(scores.data());
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
}

// Default: the models the project ships, found relative to this source file's repository.
std::string ModelDir(int argc, char** argv) {
  const std::string flag = "--model_dir=";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind(flag, 0) == 0) return arg.substr(flag.size());
  }
  return PYNQ_SOURCE_DIR "/models/zoo";
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = ModelDir(argc, argv);
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.path().extension() != ".pim") continue;
    absl::StatusOr<std::shared_ptr<const Model>> model = Model::LoadFile(entry.path().string());
    if (!model.ok()) {
      std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
      return 1;
    }
    for (size_t batch : {1, 64, 1000}) {
      benchmark::RegisterBenchmark(
          absl::StrCat("CpuBackend/", (*model)->name(), "/batch:", batch).c_str(),
          [model = *model, batch](benchmark::State& state) { RunBatches(state, model, batch); });
    }
  }
  if (error) {
    std::fprintf(stderr, "cannot read %s: %s\n", dir.c_str(), error.message().c_str());
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
