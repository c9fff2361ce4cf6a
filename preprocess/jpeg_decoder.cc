#include "preprocess/jpeg_decoder.h"

// jpeglib.h needs size_t and FILE declared first.
#include <cstddef>
#include <cstdio>
// clang-format off
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include <algorithm>
#include <climits>
#include <csetjmp>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace pynq::preprocess {
namespace {

// libjpeg's state for one decode. Trivially destructible on purpose (C structs only): a longjmp
// may leave any frame that holds it. `error` must stay the first member of JpegError, which
// libjpeg's callbacks recover from cinfo->err.
struct JpegError {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

struct JpegSession {
  jpeg_decompress_struct cinfo;
  JpegError error;
  jpeg_progress_mgr progress;
  bool created;
};

[[noreturn]] void Fail(j_common_ptr cinfo) {
  auto* error = reinterpret_cast<JpegError*>(cinfo->err);
  std::longjmp(error->jump, 1);
}

[[noreturn]] void OnErrorExit(j_common_ptr cinfo) {
  auto* error = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, error->message);
  Fail(cinfo);
}

// Warnings about the entropy-coded data mean the pixels are damaged or missing (libjpeg would
// fill them with grey and go on); they fail the decode. Warnings about metadata do not.
void OnMessage(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace messages
  switch (cinfo->err->msg_code) {
    case JWRN_ADOBE_XFORM:
    case JWRN_EXTRANEOUS_DATA:
    case JWRN_JFIF_MAJOR:
    case JWRN_BOGUS_ICC:
      return;
    default:
      OnErrorExit(cinfo);
  }
}

void OnProgress(j_common_ptr cinfo) {
  auto* decompress = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (decompress->input_scan_number > kMaxJpegScans) {
    auto* error = reinterpret_cast<JpegError*>(cinfo->err);
    error->manager.msg_code = 0;
    std::snprintf(error->message, sizeof(error->message),
                  "more than %d scans (a progressive JPEG is re-read once per scan)",
                  kMaxJpegScans);
    Fail(cinfo);
  }
}

// Each function below that calls setjmp() holds only trivially destructible locals, and libjpeg
// longjmps only into them: no destructor is ever skipped. They return false when libjpeg failed;
// the reason is in session->error.message.

bool ReadHeader(JpegSession* s, const uint8_t* data, size_t size) {
  s->cinfo.err = jpeg_std_error(&s->error.manager);
  s->error.manager.error_exit = OnErrorExit;
  s->error.manager.emit_message = OnMessage;
  if (setjmp(s->error.jump)) return false;
  jpeg_create_decompress(&s->cinfo);
  s->created = true;
  s->progress.progress_monitor = OnProgress;
  s->cinfo.progress = &s->progress;
  jpeg_mem_src(&s->cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&s->cinfo, TRUE);
  return true;
}

bool ComputeOutputSize(JpegSession* s) {
  if (setjmp(s->error.jump)) return false;
  jpeg_calc_output_dimensions(&s->cinfo);
  return true;
}

// Decodes every scanline through `row` (output_components bytes per pixel) into `gray`.
bool ReadScanlines(JpegSession* s, uint8_t* row, uint8_t* gray) {
  if (setjmp(s->error.jump)) return false;
  jpeg_decompress_struct& cinfo = s->cinfo;
  jpeg_start_decompress(&cinfo);
  const bool inverted_cmyk = cinfo.saw_Adobe_marker;
  while (cinfo.output_scanline < cinfo.output_height) {
    uint8_t* out = gray + size_t{cinfo.output_scanline} * cinfo.output_width;
    JSAMPROW rows[1] = {cinfo.output_components == 1 ? out : row};
    jpeg_read_scanlines(&cinfo, rows, 1);
    if (cinfo.output_components == 1) continue;
    for (JDIMENSION x = 0; x < cinfo.output_width; ++x) {
      uint32_t ink[4];
      for (int c = 0; c < 4; ++c) {
        const uint8_t v = row[4 * size_t{x} + c];
        ink[c] = inverted_cmyk ? 255 - v : v;
      }
      const uint32_t white = 255 - ink[3];
      out[x] = LumaOf((255 - ink[0]) * white / 255, (255 - ink[1]) * white / 255,
                      (255 - ink[2]) * white / 255);
    }
  }
  jpeg_finish_decompress(&cinfo);
  return true;
}

absl::Status Failure(const JpegSession& s) {
  if (s.error.manager.msg_code == JWRN_JPEG_EOF) {
    return absl::InvalidArgumentError("truncated JPEG: the data ends before the image does");
  }
  return absl::InvalidArgumentError(absl::StrFormat("corrupt JPEG: %s", s.error.message));
}

}  // namespace

bool LooksLikeJpeg(absl::Span<const uint8_t> bytes) {
  return bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
}

absl::StatusOr<GrayImage> DecodeJpeg(absl::Span<const uint8_t> bytes, const DecodeLimits& limits,
                                     uint32_t min_long_side) {
  // Value-initialized: a session whose creation failed has cinfo.mem == nullptr, which
  // jpeg_destroy_decompress() accepts.
  struct SessionOwner {
    JpegSession session{};
    ~SessionOwner() {
      if (session.created) jpeg_destroy_decompress(&session.cinfo);
    }
  } owner;
  JpegSession* s = &owner.session;
  if (!ReadHeader(s, bytes.data(), bytes.size())) return Failure(*s);
  jpeg_decompress_struct& cinfo = s->cinfo;

  const uint64_t pixels = uint64_t{cinfo.image_width} * cinfo.image_height;
  if (pixels > limits.max_pixels) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "JPEG of %dx%d pixels (%.1f Mpx) is larger than the limit of %.1f Mpx",
        cinfo.image_width, cinfo.image_height, pixels / 1e6, limits.max_pixels / 1e6));
  }
  switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB:
      cinfo.out_color_space = JCS_GRAYSCALE;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      cinfo.out_color_space = JCS_CMYK;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrFormat(
          "JPEG of an unknown colour space (%d components) cannot be made gray",
          cinfo.num_components));
  }
  const uint32_t long_side = std::max(cinfo.image_width, cinfo.image_height);
  unsigned denominator = 1;
  while (denominator < 8 && min_long_side > 0 && long_side / (denominator * 2) >= min_long_side) {
    denominator *= 2;
  }
  cinfo.scale_num = 1;
  cinfo.scale_denom = denominator;
  if (!ComputeOutputSize(s)) return Failure(*s);

  // What libjpeg holds besides the output: a progressive (multi-scan) image keeps every
  // coefficient of every component, 64 per 8x8 block.
  uint64_t coefficients = 0;
  if (jpeg_has_multiple_scans(&cinfo)) {
    for (int c = 0; c < cinfo.num_components; ++c) {
      const jpeg_component_info& component = cinfo.comp_info[c];
      coefficients += uint64_t{component.width_in_blocks} * component.height_in_blocks *
                      DCTSIZE2 * sizeof(JCOEF);
    }
  }
  const uint64_t output = uint64_t{cinfo.output_width} * cinfo.output_height;
  const uint64_t row_bytes = uint64_t{cinfo.output_width} * cinfo.output_components;
  const uint64_t needed = output + row_bytes + coefficients;
  if (needed > limits.max_decoded_bytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "decoding the %dx%d %sJPEG needs %d bytes, more than the limit of %d",
        cinfo.image_width, cinfo.image_height, coefficients > 0 ? "progressive " : "", needed,
        limits.max_decoded_bytes));
  }
  // libjpeg's own bound on its large buffers, in case its needs differ from the estimate above:
  // past it, it fails (it has no backing store) instead of allocating.
  cinfo.mem->max_memory_to_use = static_cast<long>(
      std::min<uint64_t>(limits.max_decoded_bytes, static_cast<uint64_t>(LONG_MAX)));

  GrayImage image{.width = cinfo.output_width, .height = cinfo.output_height};
  image.pixels.resize(output);
  std::vector<uint8_t> row(cinfo.output_components == 1 ? 0 : row_bytes);
  if (!ReadScanlines(s, row.data(), image.pixels.data())) return Failure(*s);
  return image;
}

}  // namespace pynq::preprocess
