#include "clients/image_io.h"

#include <png.h>

#include <csetjmp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "clients/file_io.h"
#include "clients/idx_file.h"

namespace pynq::clients {
namespace {

constexpr absl::string_view kPngSignature("\x89PNG\r\n\x1a\n", 8);

// ---- PGM ----------------------------------------------------------------------------------------

// Reads the next header token of a PGM file: skips whitespace and '#' comments (which run to the
// end of the line), then returns the run of non-whitespace characters. Empty at end of input.
absl::string_view NextPgmToken(absl::string_view bytes, size_t* pos) {
  while (*pos < bytes.size()) {
    if (absl::ascii_isspace(static_cast<unsigned char>(bytes[*pos]))) {
      ++*pos;
    } else if (bytes[*pos] == '#') {
      while (*pos < bytes.size() && bytes[*pos] != '\n' && bytes[*pos] != '\r') ++*pos;
    } else {
      break;
    }
  }
  const size_t start = *pos;
  while (*pos < bytes.size() && !absl::ascii_isspace(static_cast<unsigned char>(bytes[*pos]))) {
    ++*pos;
  }
  return bytes.substr(start, *pos - start);
}

absl::StatusOr<GrayImages> DecodePgm(absl::string_view bytes, absl::string_view name) {
  size_t pos = 2;      // The caller checked the "P5" magic.
  uint32_t fields[3];  // width, height, maxval
  constexpr absl::string_view kFieldNames[3] = {"width", "height", "maxval"};
  for (int i = 0; i < 3; ++i) {
    const absl::string_view token = NextPgmToken(bytes, &pos);
    if (token.empty()) {
      return absl::DataLossError(
          absl::StrFormat("%s: truncated PGM header: it ends before the %s", name, kFieldNames[i]));
    }
    if (!absl::SimpleAtoi(token, &fields[i])) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: PGM %s is \"%s\", expected a decimal number", name, kFieldNames[i],
                          absl::CHexEscape(token.substr(0, 20))));
    }
  }
  const auto [width, height, maxval] = fields;
  if (width == 0 || height == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: PGM image of %dx%d pixels; width and height must be at least 1", name, width, height));
  }
  if (maxval != 255) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: PGM maxval %d is not supported, expected 255 (8-bit pixels)", name, maxval));
  }
  // Exactly one whitespace character separates maxval from the pixels; the pixels themselves may
  // be any byte, including whitespace, so no further skipping.
  if (pos >= bytes.size()) {
    return absl::DataLossError(
        absl::StrFormat("%s: truncated PGM: no pixel data after the header", name));
  }
  ++pos;
  const size_t expected = size_t{width} * height;
  const size_t available = bytes.size() - pos;
  if (available < expected) {
    return absl::DataLossError(
        absl::StrFormat("%s: truncated PGM: %dx%d pixels need %d bytes, the file has %d", name,
                        width, height, expected, available));
  }
  if (available > expected) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: %d bytes after the %dx%d PGM image; expected exactly one image", name,
                        available - expected, width, height));
  }
  GrayImages image{.count = 1, .height = height, .width = width};
  image.pixels.assign(bytes.begin() + pos, bytes.end());
  return image;
}

// ---- PNG ----------------------------------------------------------------------------------------
//
// libpng reports errors by longjmp() to the last setjmp() on its jmp_buf. Jumping over a C++ frame
// skips its destructors, so every setjmp() below sits in a function whose locals are all trivially
// destructible and that libpng only jumps back into: PngReadHeader() and PngReadRows(). The vectors
// and the libpng structures are owned by DecodePng(), which calls them and never longjmps itself.

// State shared with libpng's callbacks; trivially destructible on purpose (see above).
struct PngSource {
  const unsigned char* data;
  size_t size;
  size_t offset;
  bool truncated;
  char error[160];
};

void PngRead(png_structp png, png_bytep out, size_t length) {
  auto* source = static_cast<PngSource*>(png_get_io_ptr(png));
  if (source->size - source->offset < length) {
    source->truncated = true;
    png_error(png, "unexpected end of file");
  }
  std::memcpy(out, source->data + source->offset, length);
  source->offset += length;
}

[[noreturn]] void PngError(png_structp png, png_const_charp message) {
  auto* source = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(source->error, sizeof(source->error), "%s", message);
  png_longjmp(png, 1);
}

// Warnings (unknown chunks, odd ICC profiles) do not make the pixels unreadable; libpng's default
// handler would print them to stderr in the middle of the client's output.
void PngWarning(png_structp, png_const_charp) {}

struct PngLayout {
  png_uint_32 width;
  png_uint_32 height;
  size_t row_bytes;
  int channels;
  int bit_depth;
};

// Reads the header and sets the transforms that turn any PNG into 8-bit gray. Returns false if
// libpng failed (the message is in the PngSource).
bool PngReadHeader(png_structp png, png_infop info, PngLayout* layout) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  const png_byte color_type = png_get_color_type(png, info);
  const png_byte bit_depth = png_get_bit_depth(png, info);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (bit_depth == 16) png_set_scale_16(png);  // Rounds, where png_set_strip_16 truncates.
  if ((color_type & PNG_COLOR_MASK_ALPHA) != 0) png_set_strip_alpha(png);
  if ((color_type & PNG_COLOR_MASK_COLOR) != 0) {
    // Negative weights select libpng's defaults (Rec. 709, or the file's cHRM chunk).
    png_set_rgb_to_gray_fixed(png, PNG_ERROR_ACTION_NONE, -1, -1);
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  layout->width = png_get_image_width(png, info);
  layout->height = png_get_image_height(png, info);
  layout->row_bytes = png_get_rowbytes(png, info);
  layout->channels = png_get_channels(png, info);
  layout->bit_depth = png_get_bit_depth(png, info);
  return true;
}

// Reads all rows (every interlace pass) and the chunks after the image data.
bool PngReadRows(png_structp png, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  png_read_end(png, nullptr);
  return true;
}

absl::Status PngFailure(const PngSource& source, absl::string_view name) {
  if (source.truncated) {
    return absl::DataLossError(
        absl::StrFormat("%s: truncated PNG (%d bytes): %s", name, source.size, source.error));
  }
  return absl::InvalidArgumentError(absl::StrFormat("%s: invalid PNG: %s", name, source.error));
}

absl::StatusOr<GrayImages> DecodePng(absl::string_view bytes, absl::string_view name) {
  PngSource source{.data = reinterpret_cast<const unsigned char*>(bytes.data()),
                   .size = bytes.size(),
                   .offset = 0,
                   .truncated = false,
                   .error = {}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, PngError, PngWarning);
  if (png == nullptr) {
    return absl::ResourceExhaustedError(absl::StrFormat("%s: cannot allocate a PNG reader", name));
  }
  png_infop info = png_create_info_struct(png);
  struct PngOwner {
    png_structp png;
    png_infop info;
    ~PngOwner() { png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr); }
  } owner{png, info};
  if (info == nullptr) {
    return absl::ResourceExhaustedError(absl::StrFormat("%s: cannot allocate a PNG reader", name));
  }
  png_set_read_fn(png, &source, PngRead);

  PngLayout layout{};
  if (!PngReadHeader(png, info, &layout)) return PngFailure(source, name);
  // The transforms above leave one 8-bit channel for every PNG colour type; anything else is a
  // libpng behaviour this code does not expect, reported rather than misread.
  if (layout.channels != 1 || layout.bit_depth != 8 || layout.row_bytes != layout.width) {
    return absl::InternalError(absl::StrFormat(
        "%s: PNG converted to %d channel(s) of %d bits (%d bytes per row of %d pixels), expected "
        "1 channel of 8 bits",
        name, layout.channels, layout.bit_depth, layout.row_bytes, layout.width));
  }
  GrayImages image{.count = 1, .height = layout.height, .width = layout.width};
  image.pixels.resize(image.image_bytes());
  std::vector<png_bytep> rows(layout.height);
  for (size_t y = 0; y < rows.size(); ++y) rows[y] = image.pixels.data() + y * layout.width;
  if (!PngReadRows(png, rows.data())) return PngFailure(source, name);
  return image;
}

}  // namespace

absl::StatusOr<GrayImages> ReadImageFile(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFileBytes(path);
  if (!bytes.ok()) return bytes.status();
  const absl::string_view data = *bytes;
  if (data.size() >= 4 && data[0] == 0 && data[1] == 0) return ParseIdxImages(data, path);
  if (data.size() >= 3 && absl::StartsWith(data, "P5") &&
      absl::ascii_isspace(static_cast<unsigned char>(data[2]))) {
    return DecodePgm(data, path);
  }
  if (absl::StartsWith(data, kPngSignature)) return DecodePng(data, path);
  if (absl::StartsWith(data, "P2")) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: ASCII PGM (P2) is not supported; convert it to binary PGM (P5)", path));
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s: not an IDX (00 00 ..), binary PGM (P5) or PNG file; it starts with \"%s\"", path,
      absl::CHexEscape(data.substr(0, 8))));
}

}  // namespace pynq::clients
