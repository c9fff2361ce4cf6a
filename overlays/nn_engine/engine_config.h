// Compile-time configuration of the engine: its parallelism, the size of its on-chip weight store
// and the width of its DDR port, as typed structs (in the manner of hls4ml's layer configs),
// never macros; and the cycle costs its loops are counted with.
//
//   using Config = PynqZ2EngineConfig;          // what the PYNQ-Z2 bitstream is built with
//   uint64_t store[Config::kStoreRows][Config::kLanes];   // kLanes banks of kStoreRows words
//
// A different configuration is a different struct passed as the template argument of
// RunEngine(); the driver learns the one in the bitstream from the caps and store registers.
// engine_resource_report (resource_model.h) estimates what each configuration costs its part.
#ifndef PYNQ_OVERLAYS_NN_ENGINE_ENGINE_CONFIG_H_
#define PYNQ_OVERLAYS_NN_ENGINE_ENGINE_CONFIG_H_

#include <cstdint>

#include "overlays/nn_engine/abi/limits.h"
#include "overlays/nn_engine/abi/ops.h"

namespace pynq {
namespace engine {

// The ops this engine build executes (all of ABI v1); others are rejected with
// kStatusUnsupportedOp.
constexpr uint32_t kImplementedOps = kAbiV1Ops;

// The datapath every configuration shares (the layer headers document how each op maps on it):
//   - kLanes output lanes. A dense layer computes kLanes rows at once; lane p reads its weights
//     from store bank p, one 64-bit word per cycle: 64 XNOR-popcount bits (binarized) or eight
//     int8 multiply-accumulates (int8). Those kLanes x 8 = 128 int8 MACs are the DSP48 array.
//     A convolution uses the same 128 MACs as kConvChannels channels x kConvPixels pixels.
//   - kDrainLanes requantization units: results leave the lanes kDrainLanes per cycle, while the
//     lanes work on the next rows.
//   - Activations on chip in two ping-pong buffers of kMaxFeatures int8 and two of kMaxFeatures
//     bits (act_buffers.h); a dataflow region of three processes (input, compute, output)
//     overlaps one image's DDR reads, the previous one's compute and the one before's writes.
//
// \tparam AxiWords   64-bit words the m_axi port moves per cycle (Zynq-7000 HP port: 1;
//                    Zynq UltraScale+ HP port, 128 bits: 2)
// \tparam StoreRows  rows of the weight store; a row is one 64-bit word in each of kLanes banks
// \tparam StreamRows of them, the stream region that streamed RUNs load their tiles into (the
//                    rest, kResidentRows, is for resident models)
// \tparam ParamRows  rows of the params store; a row holds one channel's bias, multiplier and
//                    shift in each of kDrainLanes banks
// \tparam StreamParamRows of them, the stream region's
template <uint32_t AxiWords, uint32_t StoreRows, uint32_t StreamRows, uint32_t ParamRows,
          uint32_t StreamParamRows>
struct EngineConfig {
  static constexpr uint32_t kLanes = 16;
  static constexpr uint32_t kPe = kLanes;
  static constexpr uint32_t kSimd = 1;
  static constexpr uint32_t kConvChannels = 2;
  static constexpr uint32_t kConvPixels = 8;
  static constexpr uint32_t kDrainLanes = 4;
  static constexpr uint32_t kAxiWords = AxiWords;
  static constexpr uint32_t kStoreRows = StoreRows;
  static constexpr uint32_t kStreamRows = StreamRows;
  static constexpr uint32_t kResidentRows = StoreRows - StreamRows;
  static constexpr uint32_t kParamRows = ParamRows;
  static constexpr uint32_t kStreamParamRows = StreamParamRows;
  static constexpr uint32_t kResidentParamRows = ParamRows - StreamParamRows;
  static_assert(kConvChannels * kConvPixels == kLanes, "a convolution fills the lanes");
  static_assert(kLanes % kDrainLanes == 0 && kConvPixels % kDrainLanes == 0,
                "a drain step takes lanes of one convolution channel");
  static_assert(kAxiWords == 1 || kAxiWords == 2, "AXI port of 64 or 128 bits");
  static_assert(StreamRows < StoreRows && StreamParamRows < ParamRows, "room for residents");
  // Whether every dense layer the format allows can be streamed: a tile of kLanes of the widest
  // int8 rows (kMaxFeatures bytes) and 64 binarized rows fit the stream region. The shipped
  // configurations do (tested); a smaller region makes such layers kStatusTooLarge.
  static constexpr bool kStreamsEveryDenseLayer =
      StreamRows >= kMaxFeatures / 8 && StreamParamRows * kDrainLanes >= 64;
};

// PYNQ-Z2 (xc7z020): 64-bit HP port; 2,560 store rows = 16 banks x 5 BRAM36 (320 KiB), 512 of
// them the stream region; 1,024 params rows. resource_model.h has the whole budget.
using PynqZ2EngineConfig = EngineConfig<1, 2560, 512, 1024, 256>;
// KV260 (xck26): 128-bit HP port; 12,288 store rows = 16 banks x 3 UltraRAM (1.5 MiB).
using Kv260EngineConfig = EngineConfig<2, 12288, 2048, 4096, 1024>;
// What the virtual board runs and the timing report shows: the PYNQ-Z2 build.
using DefaultEngineConfig = PynqZ2EngineConfig;

// --- Cycle costs ------------------------------------------------------------------------------
// What a loop costs beyond its iterations: the latency of one iteration (its pipeline depth),
// paid once when the loop drains, and the latency of a DDR burst. The C simulation adds them
// where the loops run (hls_compat.h Clock), the timing model (timing_model.h) where its formulas
// say; both read them here. They are estimates to check against csynth's latency report
// (overlays/README.md lists what csynth must confirm).

// Opening a DDR read burst (address to first data) or closing a write burst (last data to the
// write response) through a Zynq HP port at 100 MHz. A run of consecutive words pays it once:
// the m_axi adapter keeps up to 16 bursts outstanding, so the next burst's latency hides behind
// the current one's data.
constexpr uint64_t kMemLatencyCycles = 32;
// ap_start to the first program read, and the last write to ap_done.
constexpr uint64_t kCallOverheadCycles = 16;
// Starting one layer of the compute process (the layer loop's step and the call's handshake).
constexpr uint64_t kLayerOverheadCycles = 2;
// Pipeline depths (cycles from an iteration's first stage to its last).
constexpr uint64_t kDepthProgram = 3;   // program words into the descriptor buffer
constexpr uint64_t kDepthDecode = 6;    // one descriptor: shapes, products, checks
constexpr uint64_t kDepthInput = 4;     // DDR word -> binarize / quantize -> stream
constexpr uint64_t kDepthOutput = 3;    // stream -> checksum -> DDR word
constexpr uint64_t kDepthCopy = 2;      // stream <-> activation buffer
constexpr uint64_t kDepthMac = 12;      // store read, 8 products, adder tree, accumulate; drain:
                                        // params read, 64-bit multiply, round, clamp, write
constexpr uint64_t kDepthPool = 4;      // 16 bytes in, row maxima, window max, write
constexpr uint64_t kDepthLoad = 3;      // DDR word -> FIFO (the tile loader's reader)
constexpr uint64_t kDepthAlign = 3;     // FIFO -> byte realignment -> store word
constexpr uint64_t kDepthParams = 3;    // DDR word -> two params into the params store
constexpr uint64_t kDepthTrailer = 2;   // trailer words and score read-back

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_ENGINE_CONFIG_H_
