// Prints the engine's modeled throughput for a model (overlays/nn_engine/timing_model.h): cycles
// per call and images per second at a clock, for several batch sizes, with and without the
// virtual board's per-call overhead (the driver's register writes, syncs and polling).
//
//   engine_timing_report models/zoo/mnist-bnn-tfc.pim [clock_mhz=100] [call_overhead_us=20]
//
// A model, not a measurement: csynth's latency report and a board are what to check it against.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "accel/model/model.h"
#include "overlays/nn_engine/nn_engine.h"
#include "overlays/nn_engine/timing_model.h"

int main(int argc, char** argv) {
  using namespace pynq::engine;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s model.pim [clock_mhz] [call_overhead_us]\n", argv[0]);
    return 2;
  }
  const double clock_mhz = argc > 2 ? std::atof(argv[2]) : 100.0;
  const double overhead_us = argc > 3 ? std::atof(argv[3]) : 20.0;
  auto model = pynq::accel::Model::LoadFile(argv[1]);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
    return 1;
  }
  const auto section = (*model)->program_section();
  std::vector<uint64_t> words((section.size() + 7) / 8, 0);
  std::memcpy(words.data(), section.data(), section.size());
  LayerDesc layers[kMaxLayers];
  uint32_t count = 0;
  if (StatusCode(ReadProgram<DefaultEngineConfig>(PointerPort(words.data()), layers, count)) !=
      kStatusOk) {
    std::fprintf(stderr, "the engine cannot run %s\n", argv[1]);
    return 1;
  }
  std::printf("model %s, engine PE %u SIMD %u, %u-bit AXI, %.0f MHz, call overhead %.0f us\n",
              (*model)->name().c_str(), DefaultEngineConfig::kPe, DefaultEngineConfig::kSimd,
              64 * DefaultEngineConfig::kAxiWords, clock_mhz, overhead_us);
  for (uint32_t l = 0; l < count; ++l) {
    std::printf("  layer %u: %s, %u -> %u, %llu cycles per image\n", l, OpName(layers[l].op),
                layers[l].n_in, layers[l].n_out,
                static_cast<unsigned long long>(LayerCycles<DefaultEngineConfig>(layers[l])));
  }
  std::printf("%8s %14s %16s %22s\n", "batch", "cycles/call", "images/s engine", "images/s with overhead");
  for (uint32_t batch : {1u, 8u, 64u, 256u, 1024u}) {
    const uint64_t cycles = CallCycles<DefaultEngineConfig>(layers, count, batch, kCommandRun);
    const double engine_us = static_cast<double>(cycles) / clock_mhz;
    std::printf("%8u %14llu %16.0f %22.0f\n", batch, static_cast<unsigned long long>(cycles),
                batch / engine_us * 1e6, batch / (engine_us + overhead_us) * 1e6);
  }
  return 0;
}
