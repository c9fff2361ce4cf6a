// Fuzz target: the PGM decoder of preprocess/ (pgm_decoder.h), which decodes pictures clients send in
// ClassifyRequest.encoded_images. The limits are smaller than the daemon's defaults, so a picture
// that declares a huge size is refused quickly instead of decoded (the refusal is what is
// tested; the limit check is the same code at any value).
#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"
#include "preprocess/pgm_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pynq::preprocess::DecodeLimits limits{.max_pixels = 1 << 20,
                                              .max_decoded_bytes = 8 << 20};
  (void)pynq::preprocess::DecodePgm(absl::MakeConstSpan(data, size), limits);
  return 0;
}
