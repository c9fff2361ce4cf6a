// Prints the engine's resource estimate (overlays/nn_engine/resource_model.h) for the PYNQ-Z2 and
// KV260 builds: per unit of the design, BRAM36 and UltraRAM from the arrays, DSP48 from the
// multipliers, LUTs from the per-unit formula; then the totals against the part, and whether
// each stays within 80% of it.
//
//   engine_resource_report
//
// An estimate: csynth's and Vivado's utilization reports are what to check it against.
#include <cstdio>

#include "overlays/nn_engine/engine_config.h"
#include "overlays/nn_engine/resource_model.h"

namespace {

using namespace pynq::engine;

double Percent(uint32_t used, uint32_t have) { return have == 0 ? 0 : 100.0 * used / have; }

bool Report(const ResourceEstimate& e, uint32_t store_rows, uint32_t lanes, uint32_t axi_bits) {
  std::printf("%s: %u-row weight store, %u lanes x 8 int8 MACs, %u-bit AXI\n", e.part.name,
              store_rows, lanes, axi_bits);
  std::printf("  %-30s %8s %6s %6s %7s\n", "unit", "BRAM36", "URAM", "DSP48", "LUT");
  for (uint32_t i = 0; i < e.count; ++i) {
    const ResourceItem& item = e.items[i];
    std::printf("  %-30s %8.1f %6u %6u %7u\n", item.unit, item.bram18 / 2.0, item.uram,
                item.dsp48, item.luts);
  }
  const bool fits = e.bram36 * 10 <= e.part.bram36 * 8 && e.uram * 10 <= e.part.uram * 8 &&
                    e.dsp48 * 10 <= e.part.dsp48 * 8 && e.luts * 10 <= e.part.luts * 8;
  std::printf("  %-30s %8u %6u %6u %7u\n", "total", e.bram36, e.uram, e.dsp48, e.luts);
  std::printf("  %-30s %8u %6u %6u %7u\n", "part", e.part.bram36, e.part.uram, e.part.dsp48,
              e.part.luts);
  std::printf("  %-30s %7.0f%% %5.0f%% %5.0f%% %6.0f%%   within 80%%: %s\n\n", "used",
              Percent(e.bram36, e.part.bram36), Percent(e.uram, e.part.uram),
              Percent(e.dsp48, e.part.dsp48), Percent(e.luts, e.part.luts), fits ? "yes" : "NO");
  return fits;
}

}  // namespace

int main() {
  const bool z2 = Report(EstimateResources<PynqZ2EngineConfig>(kPynqZ2Part),
                         PynqZ2EngineConfig::kStoreRows, PynqZ2EngineConfig::kLanes,
                         64 * PynqZ2EngineConfig::kAxiWords);
  const bool kv = Report(EstimateResources<Kv260EngineConfig>(kKv260Part),
                         Kv260EngineConfig::kStoreRows, Kv260EngineConfig::kLanes,
                         64 * Kv260EngineConfig::kAxiWords);
  return z2 && kv ? 0 : 2;
}
