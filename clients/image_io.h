// Images the client sends: 8-bit grayscale pixels read from IDX, binary PGM or PNG files.
//
// The daemon's MNIST-style models take uint8 pixels, row-major HxW, 0 = black; GrayImages holds one
// or more such images back to back, exactly the bytes a ClassifyRequest carries per image.
//
//   absl::StatusOr<GrayImages> images = ReadImageFile("digit.png");   // or .pgm, or an IDX file
//   if (!images.ok()) return images.status();
//   for (uint32_t i = 0; i < images->count; ++i) request.add_images(AsString(images->image(i)));
//
// IDX-specific reading (labels, int32 score matrices) is in clients/idx_file.h.
#ifndef PYNQ_CLIENTS_IMAGE_IO_H_
#define PYNQ_CLIENTS_IMAGE_IO_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace pynq::clients {

// `count` images of `height` x `width` uint8 pixels, each row-major, stored back to back.
// Invariant: pixels.size() == count * height * width.
struct GrayImages {
  uint32_t count = 0;
  uint32_t height = 0;
  uint32_t width = 0;
  std::vector<uint8_t> pixels;

  size_t image_bytes() const { return size_t{height} * width; }
  // Image `i` (< count); valid while this object lives and `pixels` is not resized.
  absl::Span<const uint8_t> image(size_t i) const {
    return absl::MakeConstSpan(pixels).subspan(i * image_bytes(), image_bytes());
  }
};

// Reads the image file at `path` (gzipped or not), recognised by its content, not its name:
//   - IDX uint8 3-D [N, H, W] (the MNIST `*-images-idx3-ubyte` files): all N images;
//   - binary PGM (P5) with maxval 255: one image;
//   - PNG of any colour type and bit depth: one image, converted to 8-bit gray (palette expanded,
//     16-bit scaled to 8, alpha dropped, colour converted with libpng's default Rec. 709 weights).
//     8-bit gray PNGs are returned pixel for pixel.
// Errors (messages name the file and what was wrong): NOT_FOUND (missing file) and the other
// errno-derived codes; INVALID_ARGUMENT for an unknown format or a malformed file (bad magic, wrong
// dimensions, unsupported maxval, trailing bytes); DATA_LOSS for a truncated file.
// Blocks on file I/O; thread-safe.
absl::StatusOr<GrayImages> ReadImageFile(const std::string& path);

}  // namespace pynq::clients

#endif  // PYNQ_CLIENTS_IMAGE_IO_H_
