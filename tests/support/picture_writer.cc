#include "tests/support/picture_writer.h"

#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstdlib>
#include <cstdio>
#include <map>
// clang-format off
#include <jpeglib.h>
// clang-format on

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace pynq::testing {
namespace {

struct PngSink {
  std::string* out;
  char error[200];
};

void WriteToString(png_structp png, png_bytep data, size_t length) {
  static_cast<PngSink*>(png_get_io_ptr(png))->out->append(reinterpret_cast<char*>(data), length);
}
void Flush(png_structp) {}
[[noreturn]] void OnPngError(png_structp png, png_const_charp message) {
  std::snprintf(static_cast<PngSink*>(png_get_error_ptr(png))->error, 200, "%s", message);
  png_longjmp(png, 1);
}

// Only trivially destructible locals here: libpng longjmps into it.
bool WritePng(png_structp png, png_infop info, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, info);
  return true;
}

uint32_t Scale(uint8_t v, int depth) { return (v * ((1u << depth) - 1) + 127) / 255; }

}  // namespace

absl::StatusOr<std::string> EncodePng(const Rgba& picture, const PngOptions& options) {
  const int depth = options.bit_depth;
  int colour_type = PNG_COLOR_TYPE_GRAY;
  int channels = 1;
  switch (options.colour) {
    case PngColour::kGray:
      break;
    case PngColour::kGrayAlpha:
      colour_type = PNG_COLOR_TYPE_GRAY_ALPHA;
      channels = 2;
      break;
    case PngColour::kRgb:
      colour_type = PNG_COLOR_TYPE_RGB;
      channels = 3;
      break;
    case PngColour::kRgba:
      colour_type = PNG_COLOR_TYPE_RGB_ALPHA;
      channels = 4;
      break;
    case PngColour::kPalette:
      colour_type = PNG_COLOR_TYPE_PALETTE;
      break;
  }
  const bool low_depth_ok =
      options.colour == PngColour::kGray || options.colour == PngColour::kPalette;
  if (!(depth == 8 || (depth == 16 && options.colour != PngColour::kPalette) ||
        (low_depth_ok && (depth == 1 || depth == 2 || depth == 4)))) {
    return absl::InvalidArgumentError(absl::StrFormat("no PNG of that colour at %d bits", depth));
  }
  // Samples, one per channel (or a palette index), before packing to the depth.
  std::vector<png_color> palette;
  std::vector<png_byte> palette_alpha;
  std::map<uint32_t, uint32_t> index_of;
  std::vector<uint32_t> samples;
  for (const Pixel& p : picture.pixels) {
    switch (options.colour) {
      case PngColour::kGray:
        samples.push_back(depth == 16 ? p[0] * 257u : Scale(p[0], std::min(depth, 8)));
        break;
      case PngColour::kGrayAlpha:
        for (int c : {0, 3}) samples.push_back(depth == 16 ? p[c] * 257u : p[c]);
        break;
      case PngColour::kRgb:
      case PngColour::kRgba:
        for (int c = 0; c < channels; ++c) samples.push_back(depth == 16 ? p[c] * 257u : p[c]);
        break;
      case PngColour::kPalette: {
        const uint32_t key = (uint32_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
        auto [it, added] = index_of.emplace(key, static_cast<uint32_t>(palette.size()));
        if (added) {
          palette.push_back({p[0], p[1], p[2]});
          palette_alpha.push_back(p[3]);
        }
        samples.push_back(it->second);
        break;
      }
    }
  }
  if (options.colour == PngColour::kPalette && palette.size() > (1u << depth)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%d colours do not fit a %d-bit palette", palette.size(), depth));
  }
  // Pack the rows.
  const size_t per_row = size_t{picture.width} * channels;
  const size_t row_bytes = (per_row * depth + 7) / 8;
  std::vector<png_byte> data(row_bytes * picture.height, 0);
  for (uint32_t y = 0; y < picture.height; ++y) {
    png_byte* row = data.data() + y * row_bytes;
    for (size_t i = 0; i < per_row; ++i) {
      const uint32_t s = samples[y * per_row + i];
      if (depth == 16) {
        row[2 * i] = static_cast<png_byte>(s >> 8);
        row[2 * i + 1] = static_cast<png_byte>(s);
      } else if (depth == 8) {
        row[i] = static_cast<png_byte>(s);
      } else {
        const size_t bit = i * depth;
        row[bit / 8] |= static_cast<png_byte>(s << (8 - depth - bit % 8));
      }
    }
  }
  std::vector<png_bytep> rows(picture.height);
  for (uint32_t y = 0; y < picture.height; ++y) rows[y] = data.data() + y * row_bytes;

  std::string out;
  PngSink sink{.out = &out, .error = {}};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, OnPngError, nullptr);
  png_infop info = png_create_info_struct(png);
  struct Owner {
    png_structp png;
    png_infop info;
    ~Owner() { png_destroy_write_struct(&png, &info); }
  } owner{png, info};
  png_set_write_fn(png, &sink, WriteToString, Flush);
  png_set_IHDR(png, info, picture.width, picture.height, depth, colour_type,
               options.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (options.colour == PngColour::kPalette) {
    png_set_PLTE(png, info, palette.data(), static_cast<int>(palette.size()));
    if (std::any_of(palette_alpha.begin(), palette_alpha.end(), [](png_byte a) { return a < 255; })) {
      png_set_tRNS(png, info, palette_alpha.data(), static_cast<int>(palette_alpha.size()), nullptr);
    }
  } else if (options.transparent_black &&
             (options.colour == PngColour::kGray || options.colour == PngColour::kRgb)) {
    png_color_16 black{};
    png_set_tRNS(png, info, nullptr, 0, &black);
  }
  if (!WritePng(png, info, rows.data())) {
    return absl::InternalError(absl::StrFormat("libpng: %s", sink.error));
  }
  return out;
}

namespace {

struct JpegErrorJump {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
};

[[noreturn]] void OnJpegError(j_common_ptr cinfo) {
  std::longjmp(reinterpret_cast<JpegErrorJump*>(cinfo->err)->jump, 1);
}

struct JpegWriter {
  jpeg_compress_struct cinfo;
  JpegErrorJump error;
  unsigned char* buffer;
  unsigned long size;
};

// Only trivially destructible locals here: libjpeg longjmps into it.
bool WriteJpeg(JpegWriter* w, const Rgba& picture, const JpegOptions& options, JSAMPLE* row) {
  w->cinfo.err = jpeg_std_error(&w->error.manager);
  w->error.manager.error_exit = OnJpegError;
  if (setjmp(w->error.jump)) return false;
  jpeg_create_compress(&w->cinfo);
  jpeg_mem_dest(&w->cinfo, &w->buffer, &w->size);
  w->cinfo.image_width = picture.width;
  w->cinfo.image_height = picture.height;
  const int components = options.colour == JpegColour::kGray ? 1
                         : options.colour == JpegColour::kCmyk ? 4
                                                               : 3;
  w->cinfo.input_components = components;
  w->cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 4 ? JCS_CMYK : JCS_RGB;
  jpeg_set_defaults(&w->cinfo);
  jpeg_set_quality(&w->cinfo, options.quality, TRUE);
  if (options.progressive) jpeg_simple_progression(&w->cinfo);
  jpeg_start_compress(&w->cinfo, TRUE);
  while (w->cinfo.next_scanline < w->cinfo.image_height) {
    const uint32_t y = w->cinfo.next_scanline;
    for (uint32_t x = 0; x < picture.width; ++x) {
      const Pixel& p = picture.at(x, y);
      if (components == 1) {
        row[x] = p[0];
      } else if (components == 3) {
        for (int c = 0; c < 3; ++c) row[3 * x + c] = p[c];
      } else {
        // Adobe CMYK is stored inverted: 255 - ink, so a white pixel is 255, 255, 255, 255.
        const uint8_t k = std::min({255 - p[0], 255 - p[1], 255 - p[2]});
        for (int c = 0; c < 3; ++c) {
          const int ink = k == 255 ? 0 : (255 - p[c] - k) * 255 / (255 - k);
          row[4 * x + c] = static_cast<JSAMPLE>(255 - ink);
        }
        row[4 * x + 3] = static_cast<JSAMPLE>(255 - k);
      }
    }
    JSAMPROW rows[1] = {row};
    jpeg_write_scanlines(&w->cinfo, rows, 1);
  }
  jpeg_finish_compress(&w->cinfo);
  return true;
}

}  // namespace

absl::StatusOr<std::string> EncodeJpeg(const Rgba& picture, const JpegOptions& options) {
  struct Owner {
    JpegWriter writer{};
    ~Owner() {
      jpeg_destroy_compress(&writer.cinfo);
      std::free(writer.buffer);
    }
  } owner;
  std::vector<JSAMPLE> row(size_t{picture.width} * 4);
  if (!WriteJpeg(&owner.writer, picture, options, row.data())) {
    char message[JMSG_LENGTH_MAX];
    (*owner.writer.error.manager.format_message)(
        reinterpret_cast<j_common_ptr>(&owner.writer.cinfo), message);
    return absl::InternalError(absl::StrFormat("libjpeg: %s", message));
  }
  return std::string(reinterpret_cast<char*>(owner.writer.buffer), owner.writer.size);
}

}  // namespace pynq::testing
