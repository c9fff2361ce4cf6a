#include "preprocess/png_decoder.h"

#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace pynq::preprocess {
namespace {

constexpr uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
// Ancillary chunks (ICC profiles, compressed text) may not make libpng allocate more than this,
// nor may a file carry more than kMaxAncillaryChunks of them: the pixel limits do not cover them.
constexpr png_alloc_size_t kMaxChunkBytes = png_alloc_size_t{8} << 20;
constexpr png_uint_32 kMaxAncillaryChunks = 256;

// What libpng's callbacks share with the decoder. Trivially destructible on purpose: a longjmp
// may leave any frame that holds it.
struct PngSource {
  const uint8_t* data;
  size_t size;
  size_t offset;
  bool truncated;
  char error[200];
};

void ReadFromMemory(png_structp png, png_bytep out, size_t length) {
  auto* source = static_cast<PngSource*>(png_get_io_ptr(png));
  if (source->size - source->offset < length) {
    source->truncated = true;
    png_error(png, "the data ends early");
  }
  std::memcpy(out, source->data + source->offset, length);
  source->offset += length;
}

[[noreturn]] void OnError(png_structp png, png_const_charp message) {
  auto* source = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(source->error, sizeof(source->error), "%s", message);
  png_longjmp(png, 1);
}

// Warnings (unknown chunks, odd colour profiles, bad CRCs of ancillary chunks, which libpng then
// skips) leave the pixels readable.
void OnWarning(png_structp, png_const_charp) {}

struct PngLayout {
  png_uint_32 width;
  png_uint_32 height;
  int color_type;
  bool interlaced;
  int channels;  // After the transforms: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA; 8 bits each.
  size_t row_bytes;
};

// Each function below that calls setjmp() holds only trivially destructible locals, and libpng
// longjmps only into them: no destructor is ever skipped. They return false when libpng failed;
// the reason is in the PngSource.

bool ReadHeader(png_structp png, png_infop info, PngLayout* layout) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  layout->width = png_get_image_width(png, info);
  layout->height = png_get_image_height(png, info);
  layout->color_type = png_get_color_type(png, info);
  layout->interlaced = png_get_interlace_type(png, info) != PNG_INTERLACE_NONE;
  return true;
}

// Every colour type to 8-bit samples: palette to RGB, gray below 8 bits to 8, tRNS to an alpha
// channel, 16 bits to 8 (rounded).
bool SetTransforms(png_structp png, png_infop info, PngLayout* layout) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_expand(png);
  png_set_scale_16(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  layout->channels = png_get_channels(png, info);
  layout->row_bytes = png_get_rowbytes(png, info);
  return png_get_bit_depth(png, info) == 8;
}

void RowToGray(const uint8_t* row, int channels, uint32_t width, uint8_t* out) {
  for (uint32_t x = 0; x < width; ++x) {
    const uint8_t* p = row + size_t{x} * channels;
    switch (channels) {
      case 1:
        out[x] = p[0];
        break;
      case 2:
        out[x] = OverWhite(p[0], p[1]);
        break;
      case 3:
        out[x] = LumaOf(p[0], p[1], p[2]);
        break;
      default:
        out[x] = OverWhite(LumaOf(p[0], p[1], p[2]), p[3]);
        break;
    }
  }
}

// Non-interlaced: one row at a time through `row`, straight into the gray output.
bool ReadRowsToGray(png_structp png, const PngLayout& layout, uint8_t* row, uint8_t* gray) {
  if (setjmp(png_jmpbuf(png))) return false;
  for (png_uint_32 y = 0; y < layout.height; ++y) {
    png_read_row(png, row, nullptr);
    RowToGray(row, layout.channels, layout.width, gray + size_t{y} * layout.width);
  }
  png_read_end(png, nullptr);
  return true;
}

// Interlaced: every pass writes into the whole image, so all of it is held at once.
bool ReadWholeImage(png_structp png, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  png_read_end(png, nullptr);
  return true;
}

absl::Status Failure(const PngSource& source) {
  if (source.truncated) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "truncated PNG: its %d bytes end before the image does (%s)", source.size, source.error));
  }
  return absl::InvalidArgumentError(absl::StrFormat("invalid PNG: %s", source.error));
}

std::string_view ColourTypeName(int color_type) {
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY:
      return "gray";
    case PNG_COLOR_TYPE_GRAY_ALPHA:
      return "gray+alpha";
    case PNG_COLOR_TYPE_RGB:
      return "RGB";
    case PNG_COLOR_TYPE_RGB_ALPHA:
      return "RGBA";
    default:
      return "palette";
  }
}

}  // namespace

bool LooksLikePng(absl::Span<const uint8_t> bytes) {
  return bytes.size() >= sizeof(kSignature) &&
         std::memcmp(bytes.data(), kSignature, sizeof(kSignature)) == 0;
}

absl::StatusOr<GrayImage> DecodePng(absl::Span<const uint8_t> bytes, const DecodeLimits& limits) {
  PngSource source{
      .data = bytes.data(), .size = bytes.size(), .offset = 0, .truncated = false, .error = {}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, OnError, OnWarning);
  if (png == nullptr) return absl::ResourceExhaustedError("cannot allocate a PNG reader");
  png_infop info = png_create_info_struct(png);
  struct ReaderOwner {
    png_structp png;
    png_infop info;
    ~ReaderOwner() { png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr); }
  } owner{png, info};
  if (info == nullptr) return absl::ResourceExhaustedError("cannot allocate a PNG reader");
  png_set_read_fn(png, &source, ReadFromMemory);
  png_set_chunk_malloc_max(png, kMaxChunkBytes);
  png_set_chunk_cache_max(png, kMaxAncillaryChunks);

  PngLayout layout{};
  if (!ReadHeader(png, info, &layout)) return Failure(source);
  const uint64_t pixels = uint64_t{layout.width} * layout.height;
  if (pixels > limits.max_pixels) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "PNG of %dx%d pixels (%.1f Mpx) is larger than the limit of %.1f Mpx", layout.width,
        layout.height, pixels / 1e6, limits.max_pixels / 1e6));
  }
  if (!SetTransforms(png, info, &layout)) return Failure(source);
  if (layout.channels < 1 || layout.channels > 4 ||
      layout.row_bytes != size_t{layout.width} * layout.channels) {
    return absl::InternalError(absl::StrFormat(
        "libpng expanded the PNG to %d channels in %d bytes per row of %d pixels; expected 1..4 "
        "channels of 8 bits",
        layout.channels, layout.row_bytes, layout.width));
  }
  const uint64_t held = layout.interlaced
                            ? pixels * layout.channels + layout.height * sizeof(png_bytep)
                            : layout.row_bytes;
  const uint64_t needed = pixels + held;
  if (needed > limits.max_decoded_bytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "decoding the %dx%d %s%s PNG needs %d bytes, more than the limit of %d", layout.width,
        layout.height, layout.interlaced ? "interlaced " : "", ColourTypeName(layout.color_type),
        needed, limits.max_decoded_bytes));
  }

  GrayImage image{.width = layout.width, .height = layout.height};
  image.pixels.resize(pixels);
  if (!layout.interlaced) {
    std::vector<uint8_t> row(layout.row_bytes);
    if (!ReadRowsToGray(png, layout, row.data(), image.pixels.data())) return Failure(source);
    return image;
  }
  std::vector<uint8_t> whole(held);
  std::vector<png_bytep> rows(layout.height);
  for (size_t y = 0; y < rows.size(); ++y) rows[y] = whole.data() + y * layout.row_bytes;
  if (!ReadWholeImage(png, rows.data())) return Failure(source);
  for (size_t y = 0; y < rows.size(); ++y) {
    RowToGray(rows[y], layout.channels, layout.width, image.pixels.data() + y * layout.width);
  }
  return image;
}

}  // namespace pynq::preprocess
