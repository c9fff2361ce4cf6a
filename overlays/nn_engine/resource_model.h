// What an engine configuration costs its part: BRAM36 (and UltraRAM) exactly from the sizes of
// the arrays the HLS code declares, DSP48 exactly from its multipliers, and LUTs from a per-unit
// formula (in the manner of FINN's res_estimation). engine_resource_report prints it for the
// PYNQ-Z2 and KV260 builds; tests/engine_resource_test.cc keeps each within 80% of its part.
//
//   const ResourceEstimate e = EstimateResources<PynqZ2EngineConfig>(kPynqZ2Part);
//   if (e.bram36 > e.part.bram36 * 0.8) ...
//
// A model, not a synthesis result: the LUT constants are estimates per unit of logic (stated
// below with what they stand for), and csynth's and Vivado's utilization reports are what to
// check them against (overlays/README.md).
#ifndef PYNQ_OVERLAYS_NN_ENGINE_RESOURCE_MODEL_H_
#define PYNQ_OVERLAYS_NN_ENGINE_RESOURCE_MODEL_H_

#include <cstdint>

#include "overlays/nn_engine/abi/limits.h"
#include "overlays/nn_engine/abi/registers.h"
#include "overlays/nn_engine/act_buffers.h"
#include "overlays/nn_engine/engine_config.h"
#include "overlays/nn_engine/pass.h"

namespace pynq {
namespace engine {

// A part's resources, from its data sheet.
struct Part {
  const char* name;
  uint32_t luts;
  uint32_t bram36;
  uint32_t uram;
  uint32_t dsp48;
  bool store_in_uram;  // where the weight store goes
};

// Zynq-7020 (PYNQ-Z2): DS190.
constexpr Part kPynqZ2Part = {"xc7z020 (PYNQ-Z2)", 53200, 140, 0, 220, false};
// Zynq UltraScale+ K26 SOM (KV260): DS987.
constexpr Part kKv260Part = {"xck26 (KV260)", 117120, 144, 64, 1248, true};

// BRAM18s for a memory of `depth` words of `width` bits: the cheapest aspect ratio of a RAMB18
// (16K x 1, 8K x 2, 4K x 4, 2K x 9, 1K x 18, 512 x 36), columns side by side for the width.
constexpr uint32_t Bram18For(uint32_t depth, uint32_t width) {
  const uint32_t widths[] = {1, 2, 4, 9, 18, 36};
  const uint32_t depths[] = {16384, 8192, 4096, 2048, 1024, 512};
  uint32_t best = 0xFFFFFFFFu;
  for (uint32_t i = 0; i < 6; ++i) {
    const uint32_t n = ((width + widths[i] - 1) / widths[i]) * ((depth + depths[i] - 1) / depths[i]);
    if (n < best) best = n;
  }
  return best;
}

// UltraRAMs (4K x 72) for a memory of `depth` words of `width` bits.
constexpr uint32_t UramFor(uint32_t depth, uint32_t width) {
  return ((width + 71) / 72) * ((depth + 4095) / 4096);
}

// LUTs per unit of logic. Each stands for what csynth builds for the loops of the named header.
struct LutCosts {
  // bnn_dense.h, one lane: a 64-bit XNOR folded into a popcount compressor tree (about 1.5 LUT
  // per input bit, FINN-R's binary MVU cost) and a 12-bit accumulator.
  static constexpr uint32_t kXnorPopcountLane = 110;
  // int8_dense.h / int8_conv.h, one lane: the adder tree of eight 17-bit products (7 adders of
  // about 18 LUTs) and the 32-bit accumulator; the products are in DSPs.
  static constexpr uint32_t kMacLaneTree = 160;
  // One requantization unit (abi/arith.h Requantize): a 64-bit rounding barrel shifter (6 levels
  // of 64 2:1 muxes), the rounding add and the two clamps; its multiply is in DSPs.
  static constexpr uint32_t kRequantUnit = 470;
  // act_buffers.h ReadWindow: 16 bytes rotated by a 4-bit amount (16:1 muxes, 4 LUTs per bit).
  static constexpr uint32_t kWindowRead = 512;
  // act_buffers.h WriteRun of up to 16 bytes: per bank an 8-bit 16:1 mux and a write enable.
  static constexpr uint32_t kWindowWrite = 520;
  // int8_conv.h: two 64-bit 8:1 muxes picking the pair's kernel rows out of the 16 banks.
  static constexpr uint32_t kConvWeightSelect = 256;
  // pass.h input process, per 64-bit word of the AXI beat: 8 binarize comparators and 8
  // QuantizePixel (a 5-level 24-bit shifter and a clamp each; the multiply is in a DSP).
  static constexpr uint32_t kInputPerWord = 1050;
  // pass.h output process: word select, zero padding, four chained 32-bit checksum adds.
  static constexpr uint32_t kOutputProcess = 300;
  // weight_loader.h: the aligner's 128-bit byte funnel shifter, mask and bank decode, and the
  // params loader.
  static constexpr uint32_t kLoaders = 650;
  // store.h resident slots: 16 x 5 32-bit registers' compare logic (overlap, key match).
  static constexpr uint32_t kResidentSlots = 1000;
  // LUTRAM: a 64 x 1 simple dual-port RAM is 2 LUTs (RAM64X1D), plus a 4:1 read mux per 256 bits.
  static constexpr uint32_t kLutramPer64Bits = 2;
  // Control: the loops' counters and state machines (about 40 loops, ~60 LUTs each), the
  // dataflow handshakes and the AXI-Lite register file.
  static constexpr uint32_t kControl = 3200;
  // The Vitis HLS m_axi adapter (read and write channels, burst logic), per 64 bits of width.
  static constexpr uint32_t kMaxiPer64Bits = 1500;
};

struct ResourceItem {
  const char* unit;
  uint32_t bram18;
  uint32_t uram;
  uint32_t dsp48;
  uint32_t luts;
};

constexpr uint32_t kMaxResourceItems = 16;

struct ResourceEstimate {
  Part part;
  ResourceItem items[kMaxResourceItems];
  uint32_t count;
  uint32_t bram36;  // sum of the items' BRAM18s, two to a BRAM36
  uint32_t uram;
  uint32_t dsp48;
  uint32_t luts;
};

// Words the m_axi adapter buffers per direction: num_*_outstanding (16) x burst length (64).
constexpr uint32_t kMaxiBufferWords = 16 * 64;

template <typename Config>
ResourceEstimate EstimateResources(const Part& part) {
  ResourceEstimate e = {};
  e.part = part;
  auto add = [&e](const char* unit, uint32_t bram18, uint32_t uram, uint32_t dsp, uint32_t luts) {
    e.items[e.count++] = ResourceItem{unit, bram18, uram, dsp, luts};
  };
  const uint32_t lanes = Config::kLanes;
  // The weight store: kLanes banks of kStoreRows 64-bit words (store.h).
  if (part.store_in_uram) {
    add("weight store (UltraRAM)", 0, lanes * UramFor(Config::kStoreRows, 64), 0, 0);
  } else {
    add("weight store", lanes * Bram18For(Config::kStoreRows, 64), 0, 0, 0);
  }
  // Params: kDrainLanes banks each of bias and multiplier (32 bits) and shift (8 bits).
  const uint32_t drain = Config::kDrainLanes;
  add("params store",
      drain * (2 * Bram18For(Config::kParamRows, 32) + Bram18For(Config::kParamRows, 8)), 0, 0,
      0);
  // Compute process: int8 activations (2 x 16 banks of kActRows bytes) and bits (2 x 2 banks of
  // kBitRows words) in LUTRAM (pass.h BIND_STORAGE), scores (4 banks of 256 int32) in BRAM.
  const uint32_t act_bits = 2 * kActBanks * kActRows * 8 + 2 * kBitBanks * kBitRows * 64;
  add("activation buffers (LUTRAM)", 0, 0, 0, act_bits / 64 * LutCosts::kLutramPer64Bits +
                                                  act_bits / 256);
  add("score buffer", kScoreBanks * Bram18For(kScoreRows, 32), 0, 0, 0);
  // The pass's two FIFOs of 256 128-bit entries.
  add("pass FIFOs", 2 * Bram18For(kPassFifoEntries, 128), 0, 0, 0);
  // XNOR-popcount lanes (PE = kLanes, SIMD = one 64-bit word).
  add("binarized lanes (PE x SIMD)", 0, 0, 0, lanes * LutCosts::kXnorPopcountLane);
  // int8 MAC array: one DSP48 per int8 x int8 product, kLanes x 8 of them.
  add("int8 MAC array", 0, 0, lanes * 8, lanes * LutCosts::kMacLaneTree);
  // Requantization: int64(acc) * multiplier, a 32 x 32 product = 4 DSP48s, per unit.
  add("requantization units", 0, 0, drain * 4, drain * LutCosts::kRequantUnit);
  // Window reads (int8 dense, convolution, pool, emit) and writes (copy-in, the two drains,
  // pool); the convolution's kernel-row select.
  add("activation windows", 0, 0, 0,
      4 * LutCosts::kWindowRead + 4 * LutCosts::kWindowWrite + LutCosts::kConvWeightSelect);
  // Input: one DSP48 per QuantizePixel (8-bit pixel x 17-bit multiplier), 8 per word.
  add("input process", 0, 0, 8 * Config::kAxiWords,
      Config::kAxiWords * LutCosts::kInputPerWord);
  add("output process", 0, 0, 0, LutCosts::kOutputProcess);
  add("loaders, resident slots", 0, 0, 0, LutCosts::kLoaders + LutCosts::kResidentSlots);
  // Products of loop counters csynth may put in DSP48s: the convolution's output index and
  // pixel origin, the images' strides in the input and output processes, the program decode.
  add("address arithmetic", 0, 0, 12, 0);
  // The m_axi adapter: read and write data buffers of kMaxiBufferWords beats each.
  add("m_axi adapter", 2 * Bram18For(kMaxiBufferWords, 64 * Config::kAxiWords), 0, 0,
      Config::kAxiWords * LutCosts::kMaxiPer64Bits);
  add("control, AXI-Lite", 0, 0, 0, LutCosts::kControl);
  uint32_t bram18 = 0;
  for (uint32_t i = 0; i < e.count; ++i) {
    bram18 += e.items[i].bram18;
    e.uram += e.items[i].uram;
    e.dsp48 += e.items[i].dsp48;
    e.luts += e.items[i].luts;
  }
  e.bram36 = (bram18 + 1) / 2;
  return e;
}

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_RESOURCE_MODEL_H_
