#include "preprocess/png_decoder.h"

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/picture_writer.h"
#include "zlib.h"

namespace pynq::preprocess {
namespace {

using ::pynq::testing::EncodePng;
using ::pynq::testing::PngColour;
using ::pynq::testing::Rgba;
using ::testing::HasSubstr;

absl::Span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A pattern with every gray level, colour and (in a corner) transparency.
Rgba Pattern(uint32_t w, uint32_t h, bool alpha) {
  Rgba p(w, h, {0, 0, 0, 255});
  for (uint32_t y = 0; y < h; ++y) {
    for (uint32_t x = 0; x < w; ++x) {
      const auto v = static_cast<uint8_t>((x * 7 + y * 13) % 256);
      p.at(x, y) = {v, static_cast<uint8_t>(255 - v), static_cast<uint8_t>(v / 2),
                    static_cast<uint8_t>(alpha && x < w / 3 ? (y * 37) % 256 : 255)};
    }
  }
  return p;
}

// What DecodePng must return for `p` written with `colour` at 8 or 16 bits.
uint8_t ExpectedGray(const ::pynq::testing::Pixel& p, PngColour colour) {
  switch (colour) {
    case PngColour::kGray:
      return p[0];
    case PngColour::kGrayAlpha:
      return OverWhite(p[0], p[3]);
    case PngColour::kRgb:
      return LumaOf(p[0], p[1], p[2]);
    default:
      return OverWhite(LumaOf(p[0], p[1], p[2]), p[3]);
  }
}

TEST(PngDecoderTest, DecodesEveryColourTypeDepthAndInterlacing) {
  for (bool interlaced : {false, true}) {
    for (PngColour colour :
         {PngColour::kGray, PngColour::kGrayAlpha, PngColour::kRgb, PngColour::kRgba}) {
      for (int depth : {8, 16}) {
        const bool alpha = colour == PngColour::kGrayAlpha || colour == PngColour::kRgba;
        const Rgba picture = Pattern(37, 23, alpha);
        absl::StatusOr<std::string> png =
            EncodePng(picture, {.colour = colour, .bit_depth = depth, .interlaced = interlaced});
        ASSERT_TRUE(png.ok()) << png.status();
        absl::StatusOr<GrayImage> image = DecodePng(Bytes(*png), {});
        const std::string what = absl::StrCat("colour ", static_cast<int>(colour), " depth ",
                                              depth, " interlaced ", interlaced);
        ASSERT_TRUE(image.ok()) << what << ": " << image.status();
        ASSERT_EQ(image->width, 37u);
        ASSERT_EQ(image->height, 23u);
        for (uint32_t y = 0; y < 23; ++y) {
          for (uint32_t x = 0; x < 37; ++x) {
            // 16-bit samples are v * 257, which scale back to v exactly.
            ASSERT_EQ(image->at(x, y), ExpectedGray(picture.at(x, y), colour))
                << what << " at " << x << "," << y;
          }
        }
      }
    }
  }
}

TEST(PngDecoderTest, DecodesLowBitDepthGrayAndPalettes) {
  Rgba picture(19, 5, {0, 0, 0, 255});
  for (uint32_t x = 0; x < 19; ++x) {
    const auto v = static_cast<uint8_t>(x * 255 / 18);
    for (uint32_t y = 0; y < 5; ++y) picture.at(x, y) = {v, v, v, 255};
  }
  for (int depth : {1, 2, 4}) {
    for (bool interlaced : {false, true}) {
      absl::StatusOr<std::string> png = EncodePng(
          picture, {.colour = PngColour::kGray, .bit_depth = depth, .interlaced = interlaced});
      ASSERT_TRUE(png.ok()) << png.status();
      absl::StatusOr<GrayImage> image = DecodePng(Bytes(*png), {});
      ASSERT_TRUE(image.ok()) << image.status();
      const uint32_t levels = (1u << depth) - 1;
      for (uint32_t x = 0; x < 19; ++x) {
        const uint32_t sample = (picture.at(x, 0)[0] * levels + 127) / 255;
        // libpng expands a sample s of `depth` bits to 8 bits as s * 255 / levels.
        EXPECT_EQ(image->at(x, 2), sample * 255 / levels) << "depth " << depth << " x " << x;
      }
    }
  }
  // A palette of 4 colours, one half transparent (tRNS), at 2 bits per pixel.
  Rgba few(8, 2, {255, 0, 0, 255});
  few.at(1, 0) = {0, 0, 255, 255};
  few.at(2, 0) = {0, 0, 0, 128};
  few.at(3, 1) = {255, 255, 255, 255};
  for (int depth : {2, 4, 8}) {
    absl::StatusOr<std::string> png =
        EncodePng(few, {.colour = PngColour::kPalette, .bit_depth = depth});
    ASSERT_TRUE(png.ok()) << png.status();
    absl::StatusOr<GrayImage> image = DecodePng(Bytes(*png), {});
    ASSERT_TRUE(image.ok()) << image.status();
    EXPECT_EQ(image->at(0, 0), LumaOf(255, 0, 0));
    EXPECT_EQ(image->at(1, 0), LumaOf(0, 0, 255));
    EXPECT_EQ(image->at(2, 0), OverWhite(0, 128));
    EXPECT_EQ(image->at(3, 1), 255);
  }
  // tRNS on a gray image: black is transparent, so over white it is white.
  absl::StatusOr<std::string> png =
      EncodePng(picture, {.colour = PngColour::kGray, .transparent_black = true});
  ASSERT_TRUE(png.ok());
  absl::StatusOr<GrayImage> image = DecodePng(Bytes(*png), {});
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->at(0, 0), 255);
  EXPECT_EQ(image->at(9, 0), picture.at(9, 0)[0]);
}

TEST(PngDecoderTest, RefusesTruncatedAndCorruptData) {
  absl::StatusOr<std::string> png = EncodePng(Pattern(40, 30, false), {});
  ASSERT_TRUE(png.ok());
  for (size_t keep : {size_t{8}, size_t{20}, size_t{40}, png->size() / 2, png->size() - 5}) {
    absl::StatusOr<GrayImage> image = DecodePng(Bytes(png->substr(0, keep)), {});
    EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument) << keep;
    EXPECT_THAT(image.status().message(), HasSubstr("truncated PNG")) << keep;
  }
  std::string corrupt = *png;
  corrupt[20] ^= 0x40;  // inside IHDR: its CRC no longer matches
  absl::StatusOr<GrayImage> image = DecodePng(Bytes(corrupt), {});
  EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(image.status().message(), HasSubstr("invalid PNG"));
  EXPECT_EQ(DecodePng(Bytes("\x89PNG\r\n\x1a\nnot chunks at all........"), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A PNG that is only a header declaring `width` x `height` (and a truncated data chunk).
std::string HeaderOnlyPng(uint32_t width, uint32_t height, uint8_t colour, bool interlaced) {
  std::string ihdr("IHDR", 4);
  for (uint32_t v : {width, height}) {
    for (int shift : {24, 16, 8, 0}) ihdr.push_back(static_cast<char>(v >> shift));
  }
  ihdr += std::string{8, static_cast<char>(colour), 0, 0, static_cast<char>(interlaced)};
  std::string png("\x89PNG\r\n\x1a\n", 8);
  png += std::string("\0\0\0\x0d", 4) + ihdr;
  const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(ihdr.data()), ihdr.size());
  for (int shift : {24, 16, 8, 0}) png.push_back(static_cast<char>(crc >> shift));
  return png + std::string("\0\0\x10\0IDAT", 8);
}

TEST(PngDecoderTest, RefusesPicturesOverTheLimitsBeforeAllocating) {
  // 40000 x 40000 gray would be 1.6 GB: refused from the header.
  absl::StatusOr<GrayImage> image = DecodePng(Bytes(HeaderOnlyPng(40000, 40000, 0, false)), {});
  EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(image.status().message(),
              HasSubstr("PNG of 40000x40000 pixels (1600.0 Mpx) is larger than the limit of 16.8 Mpx"));
  // Within the pixel limit, but an interlaced RGBA picture holds 4 bytes per pixel at once.
  image = DecodePng(Bytes(HeaderOnlyPng(4000, 4000, 6, true)), {});
  EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(image.status().message(),
              HasSubstr("decoding the 4000x4000 interlaced RGBA PNG needs 80032000 bytes"));
  // The same not interlaced is read row by row: the data's end is the next problem.
  image = DecodePng(Bytes(HeaderOnlyPng(4000, 4000, 6, false)), {});
  EXPECT_THAT(image.status().message(), HasSubstr("truncated PNG"));
  // Tighter limits apply as given.
  absl::StatusOr<std::string> png = EncodePng(Pattern(40, 30, false), {});
  image = DecodePng(Bytes(*png), {.max_pixels = 1199});
  EXPECT_THAT(image.status().message(), HasSubstr("larger than the limit"));
  EXPECT_TRUE(DecodePng(Bytes(*png), {.max_pixels = 1200}).ok());
}

}  // namespace
}  // namespace pynq::preprocess
