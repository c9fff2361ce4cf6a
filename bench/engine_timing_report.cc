// Prints the engine's modeled throughput for a model (overlays/nn_engine/timing_model.h), for the
// PYNQ-Z2 build (the virtual board's) or the KV260's: the store rows it takes resident, each
// layer's cycles per image, the three processes of a pass (input, compute, output) per image and
// which one bounds it, and for several batch sizes the cycles per call and images per second at
// a clock, resident and streamed, with and without a per-call overhead (the driver's register
// writes, syncs and polling, as the virtual board charges it).
//
//   engine_timing_report model.pim [clock_mhz=100] [call_overhead_us=20] [pynq-z2|kv260]
//
// A model, not a measurement: csynth's latency report and a board are what to check it against.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "accel/model/model.h"
#include "overlays/nn_engine/nn_engine.h"
#include "overlays/nn_engine/timing_model.h"

namespace {

using namespace pynq::engine;

template <typename Config>
int Report(const pynq::accel::Model& model, const char* board, double clock_mhz,
           double overhead_us) {
  const auto section = model.program_section();
  std::vector<uint64_t> words((section.size() + 7) / 8, 0);
  std::memcpy(words.data(), section.data(), section.size());
  LayerDesc layers[kMaxLayers];
  uint32_t count = 0;
  Clock unused;
  if (StatusCode(ReadProgram<Config>(words.data(), layers, count, unused)) != kStatusOk) {
    std::fprintf(stderr, "the engine cannot run %s\n", model.name().c_str());
    return 1;
  }
  ProgramPlan plan;
  PlanProgram<Config>(layers, count, plan, unused);
  const bool streamable = plan.too_large == count;
  std::printf(
      "model %s, engine for %s: %u lanes x 8 int8 MACs (PE %u x SIMD %u words binarized), "
      "%u-bit AXI, %.0f MHz, call overhead %.0f us\n",
      model.name().c_str(), board, Config::kLanes, Config::kPe, Config::kSimd,
      64 * Config::kAxiWords, clock_mhz, overhead_us);
  std::printf("  resident: %u of %u store rows, %u of %u params rows; LOAD %llu cycles%s\n",
              plan.rows, Config::kResidentRows, plan.params, Config::kResidentParamRows,
              static_cast<unsigned long long>(CallCycles<Config>(layers, count, kCommandLoad, 0,
                                                                 true)),
              streamable ? "" : "; cannot be streamed");
  PassArgs resident_pass;
  ForEachPass<Config>(layers, count, plan, true, 64,
                      [&](const PassArgs& pass, uint32_t, uint32_t, uint32_t) {
                        resident_pass = pass;
                      });
  uint32_t channels = 0;
  for (uint32_t l = 1; l < count; ++l) {
    const uint32_t units = HasWeights(layers[l].op) ? Units(layers[l]) : 0;
    std::printf("  layer %u: %-17s %4u -> %4u, %6llu cycles per image on chip\n", l,
                OpName(layers[l].op), layers[l].n_in, layers[l].n_out,
                static_cast<unsigned long long>(kLayerOverheadCycles +
                                                LayerCycles<Config>(layers[l], units, channels)));
    if (layers[l].op == Op::kInt8Conv) channels = units;
  }
  const PassTimes t = PassImageCycles<Config>(layers, resident_pass);
  const uint64_t slowest = t.input > t.compute ? (t.input > t.output ? t.input : t.output)
                                               : (t.compute > t.output ? t.compute : t.output);
  std::printf("  per image (resident): input %llu, compute %llu, output %llu cycles: bound by %s\n",
              static_cast<unsigned long long>(t.input), static_cast<unsigned long long>(t.compute),
              static_cast<unsigned long long>(t.output),
              slowest == t.compute ? "compute" : slowest == t.input ? "input (DDR reads)"
                                                                    : "output (DDR writes)");
  std::printf("%8s %12s %14s %14s %12s %14s\n", "batch", "resident", "images/s", "with overhead",
              "streamed", "images/s");
  for (uint32_t batch : {1u, 8u, 64u, 256u, 1024u}) {
    const uint64_t resident = CallCycles<Config>(layers, count, kCommandRun, batch, true);
    const double resident_us = static_cast<double>(resident) / clock_mhz;
    std::printf("%8u %12llu %14.0f %14.0f", batch, static_cast<unsigned long long>(resident),
                batch / resident_us * 1e6, batch / (resident_us + overhead_us) * 1e6);
    if (streamable) {
      const uint64_t streamed = CallCycles<Config>(layers, count, kCommandRun, batch, false);
      std::printf(" %12llu %14.0f\n", static_cast<unsigned long long>(streamed),
                  batch / (static_cast<double>(streamed) / clock_mhz) * 1e6);
    } else {
      std::printf(" %12s %14s\n", "-", "-");
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s model.pim [clock_mhz] [call_overhead_us] [pynq-z2|kv260]\n",
                 argv[0]);
    return 2;
  }
  const double clock_mhz = argc > 2 ? std::atof(argv[2]) : 100.0;
  const double overhead_us = argc > 3 ? std::atof(argv[3]) : 20.0;
  const std::string board = argc > 4 ? argv[4] : "pynq-z2";
  if (!(clock_mhz > 0) || overhead_us < 0 || (board != "pynq-z2" && board != "kv260")) {
    std::fprintf(stderr, "clock must be positive, overhead not negative, board pynq-z2 or kv260\n");
    return 2;
  }
  auto model = pynq::accel::Model::LoadFile(argv[1]);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
    return 1;
  }
  return board == "kv260" ? Report<Kv260EngineConfig>(**model, "KV260", clock_mhz, overhead_us)
                          : Report<PynqZ2EngineConfig>(**model, "PYNQ-Z2", clock_mhz,
                                                       overhead_us);
}
