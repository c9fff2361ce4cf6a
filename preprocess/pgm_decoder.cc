#include "preprocess/pgm_decoder.h"

#include <cstddef>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace pynq::preprocess {
namespace {

bool IsSpace(uint8_t c) { return absl::ascii_isspace(c); }

// Reads the tokens of a PGM header or of a P2 body: skips whitespace and `#` comments (to the end
// of the line), then returns the run of non-whitespace bytes; empty at the end of the data.
class TokenReader {
 public:
  explicit TokenReader(absl::string_view text) : text_(text) {}

  absl::string_view Next() {
    while (pos_ < text_.size()) {
      if (IsSpace(text_[pos_])) {
        ++pos_;
      } else if (text_[pos_] == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n' && text_[pos_] != '\r') ++pos_;
      } else {
        break;
      }
    }
    const size_t start = pos_;
    while (pos_ < text_.size() && !IsSpace(text_[pos_]) && text_[pos_] != '#') ++pos_;
    return text_.substr(start, pos_ - start);
  }

  // Whether only whitespace (and comments) is left.
  bool AtEnd() {
    const size_t saved = pos_;
    const bool empty = Next().empty();
    pos_ = saved;
    return empty;
  }

  size_t pos() const { return pos_; }

 private:
  absl::string_view text_;
  size_t pos_ = 0;
};

absl::StatusOr<uint32_t> ReadNumber(TokenReader& reader, absl::string_view what, uint32_t lo,
                                    uint32_t hi) {
  const absl::string_view token = reader.Next();
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("truncated PGM: the data ends before the %s", what));
  }
  uint32_t value = 0;
  if (!absl::SimpleAtoi(token, &value) || value < lo || value > hi) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "PGM %s is \"%s\", expected a number in %d..%d", what,
        absl::CHexEscape(token.substr(0, 20)), lo, hi));
  }
  return value;
}

uint8_t ToEightBits(uint32_t sample, uint32_t maxval) {
  return static_cast<uint8_t>((sample * 255 + maxval / 2) / maxval);
}

}  // namespace

bool LooksLikePgm(absl::Span<const uint8_t> bytes) {
  return bytes.size() >= 3 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '2') &&
         IsSpace(bytes[2]);
}

absl::StatusOr<GrayImage> DecodePgm(absl::Span<const uint8_t> bytes, const DecodeLimits& limits) {
  if (!LooksLikePgm(bytes)) {
    return absl::InvalidArgumentError("not a PGM: it does not start with \"P5\" or \"P2\"");
  }
  const bool binary = bytes[1] == '5';
  const absl::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  TokenReader reader(text.substr(2));
  constexpr uint32_t kMaxSide = 1u << 30;
  absl::StatusOr<uint32_t> width = ReadNumber(reader, "width", 1, kMaxSide);
  if (!width.ok()) return width.status();
  absl::StatusOr<uint32_t> height = ReadNumber(reader, "height", 1, kMaxSide);
  if (!height.ok()) return height.status();
  absl::StatusOr<uint32_t> maxval = ReadNumber(reader, "maxval", 1, 65535);
  if (!maxval.ok()) return maxval.status();

  const uint64_t pixels = uint64_t{*width} * *height;
  if (pixels > limits.max_pixels) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "PGM of %dx%d pixels (%.1f Mpx) is larger than the limit of %.1f Mpx", *width, *height,
        pixels / 1e6, limits.max_pixels / 1e6));
  }
  if (pixels > limits.max_decoded_bytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("decoding the %dx%d PGM needs %d bytes, more than the limit of %d",
                        *width, *height, pixels, limits.max_decoded_bytes));
  }
  GrayImage image{.width = *width, .height = *height};

  if (!binary) {
    // A P2 sample is at least one digit and one separator: a body too short to hold them all is
    // refused before the image is allocated.
    if (text.size() - 2 - reader.pos() < 2 * pixels - 1) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "truncated PGM: %dx%d plain-text samples need at least %d bytes, %d are left", *width,
          *height, 2 * pixels - 1, text.size() - 2 - reader.pos()));
    }
    image.pixels.resize(pixels);
    for (uint64_t i = 0; i < pixels; ++i) {
      const absl::string_view token = reader.Next();
      uint32_t sample = 0;
      if (token.empty()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "truncated PGM: the data ends after %d of its %d samples", i, pixels));
      }
      if (!absl::SimpleAtoi(token, &sample) || sample > *maxval) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "PGM sample %d is \"%s\", expected a number in 0..%d", i,
            absl::CHexEscape(token.substr(0, 20)), *maxval));
      }
      image.pixels[i] = ToEightBits(sample, *maxval);
    }
    if (!reader.AtEnd()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "PGM holds more than its %dx%d samples; expected exactly one image", *width, *height));
    }
    return image;
  }

  // Exactly one whitespace byte separates maxval from the binary samples, which may be any byte.
  size_t pos = 2 + reader.pos();
  if (pos >= bytes.size() || !IsSpace(bytes[pos])) {
    return absl::InvalidArgumentError("truncated PGM: no samples after the header");
  }
  ++pos;
  const size_t sample_bytes = *maxval > 255 ? 2 : 1;
  const uint64_t expected = pixels * sample_bytes;
  const size_t available = bytes.size() - pos;
  if (available < expected) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "truncated PGM: %dx%d samples of %d byte(s) need %d bytes, %d are left", *width, *height,
        sample_bytes, expected, available));
  }
  if (available > expected) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "PGM has %d bytes after its %dx%d image; expected exactly one image",
        available - expected, *width, *height));
  }
  image.pixels.resize(pixels);
  const uint8_t* samples = bytes.data() + pos;
  for (uint64_t i = 0; i < pixels; ++i) {
    const uint32_t sample = sample_bytes == 2 ? (uint32_t{samples[2 * i]} << 8) | samples[2 * i + 1]
                                              : samples[i];
    if (sample > *maxval) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "PGM sample %d is %d, more than maxval %d", i, sample, *maxval));
    }
    image.pixels[i] = ToEightBits(sample, *maxval);
  }
  return image;
}

}  // namespace pynq::preprocess
