// The C-simulation testbench Vitis HLS runs (run_hls.tcl: csim_design): plain C++14 with no
// library beyond the standard one, as Vitis HLS compiles it. It loads a shipped model file
// (run_hls.tcl: the binarized MLP; CMake also runs it on the MNIST int8 models), places its
// PROGRAM and WEIGHTS sections and the held-out images in "DDR" (host arrays), LOADs the weights
// into the engine's store, calls the top function nn_engine() in batches on the resident copy
// and streamed (the weights copied in tiles during the call), and compares every score with the
// golden file of the Python integer reference. Returns 0 only if all 2,000 x 10 scores match on
// both paths.
//
//   csim_main <model.pim> <images.idx3-ubyte> <golden.idx2-int>
//
// CMake also builds and runs it (engine_hls_testbench), so the testbench handed to Vitis is
// known to pass.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "overlays/nn_engine/abi/memory_layout.h"
#include "overlays/nn_engine/abi/registers.h"
#include "overlays/nn_engine/nn_engine.h"

namespace {

std::vector<uint8_t> ReadAll(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

uint32_t Le32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t{b[at]} | uint32_t{b[at + 1]} << 8 | uint32_t{b[at + 2]} << 16 |
         uint32_t{b[at + 3]} << 24;
}

uint32_t Be32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t{b[at]} << 24 | uint32_t{b[at + 1]} << 16 | uint32_t{b[at + 2]} << 8 |
         uint32_t{b[at + 3]};
}

// A section of the model file as u64 words (the engine reads DDR in words).
std::vector<uint64_t> Section(const std::vector<uint8_t>& file, uint32_t offset, uint32_t bytes) {
  std::vector<uint64_t> words((bytes + 7) / 8 + 1, 0);
  std::memcpy(words.data(), file.data() + offset, bytes);
  return words;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pynq::engine;
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s model.pim images.idx3-ubyte golden.idx2-int\n", argv[0]);
    return 2;
  }
  const std::vector<uint8_t> model = ReadAll(argv[1]);
  const std::vector<uint8_t> images = ReadAll(argv[2]);
  const std::vector<uint8_t> golden = ReadAll(argv[3]);
  // Header fields of MODEL_FORMAT.md; the IDX headers are big-endian.
  if (model.size() < 64 || images.size() < 16 || golden.size() < 16) {
    std::fprintf(stderr, "cannot read the inputs\n");
    return 2;
  }
  std::vector<uint64_t> program = Section(model, Le32(model, 28), Le32(model, 32));
  std::vector<uint64_t> weights = Section(model, Le32(model, 36), Le32(model, 40));
  const uint32_t count = Be32(images, 4);
  const uint32_t pixels = Be32(images, 8) * Be32(images, 12);
  const uint32_t classes = Be32(golden, 8);
  if (Be32(golden, 4) != count || images.size() != 16 + size_t{count} * pixels) {
    std::fprintf(stderr, "images and golden scores disagree\n");
    return 2;
  }

  const uint32_t kBatch = 100;
  const uint32_t in_stride = InputStride(pixels);
  const uint32_t out_stride = OutputStride(classes);
  std::vector<uint64_t> input(kBatch * in_stride / 8);
  std::vector<uint64_t> output(OutputBytes(kBatch, classes) / 8);
  std::vector<uint64_t> scratch(ScratchBytes(kBatch) / 8);
  uint32_t status = 0, checksum = 0, id = 0, version = 0, caps = 0;
  uint32_t store_rows = 0, store_params = 0, need_rows = 0, need_params = 0;
  const uint32_t kSlot = 0, kKey = 0x10AD;
  nn_engine(program.data(), weights.data(), input.data(), output.data(), 0, kCommandLoad, 0,
            &status, &checksum, &id, &version, &caps, scratch.data(), kSlot, kKey, 0, 0,
            &store_rows, &store_params, &need_rows, &need_params);
  if (status != kStatusOk) {
    std::fprintf(stderr, "LOAD: engine status 0x%08x (needs %u of %u store rows)\n", status,
                 need_rows, store_rows);
    return 1;
  }
  std::printf("csim: %s resident in %u of %u store rows, %u of %u params rows\n", argv[1],
              need_rows, store_rows, need_params, store_params);
  uint32_t mismatches = 0;
  for (uint32_t streamed = 0; streamed < 2; ++streamed) {
    for (uint32_t first = 0; first < count; first += kBatch) {
      const uint32_t n = count - first < kBatch ? count - first : kBatch;
      for (uint32_t i = 0; i < n; ++i) {
        std::memcpy(reinterpret_cast<uint8_t*>(input.data()) + i * in_stride,
                    images.data() + 16 + size_t{first + i} * pixels, pixels);
      }
      nn_engine(program.data(), weights.data(), input.data(), output.data(), n, kCommandRun,
                first, &status, &checksum, &id, &version, &caps, scratch.data(),
                streamed != 0 ? kSlotStreamed : kSlot, kKey, 0, 0, &store_rows, &store_params,
                &need_rows, &need_params);
      if (status != kStatusOk) {
        std::fprintf(stderr, "batch at %u (%s): engine status 0x%08x\n", first,
                     streamed != 0 ? "streamed" : "resident", status);
        return 1;
      }
      for (uint32_t i = 0; i < n; ++i) {
        for (uint32_t c = 0; c < classes; ++c) {
          int32_t got = 0;
          std::memcpy(&got, reinterpret_cast<const uint8_t*>(output.data()) + i * out_stride + 4 * c, 4);
          const auto want = static_cast<int32_t>(Be32(golden, 12 + 4 * (size_t{first + i} * classes + c)));
          if (got != want && mismatches++ < 10) {
            std::fprintf(stderr, "image %u class %u (%s): engine %d, golden %d\n", first + i, c,
                         streamed != 0 ? "streamed" : "resident", got, want);
          }
        }
      }
    }
  }
  std::printf("csim: %u images, resident and streamed, %u scores differ from the golden file\n",
              count, mismatches);
  return mismatches == 0 ? 0 : 1;
}
