#include "preprocess/jpeg_decoder.h"

#include <cstdlib>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/picture_writer.h"

namespace pynq::preprocess {
namespace {

using ::pynq::testing::EncodeJpeg;
using ::pynq::testing::JpegColour;
using ::pynq::testing::Rgba;
using ::testing::HasSubstr;

absl::Span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Smooth colour ramps: JPEG keeps them within a few levels.
Rgba Ramps(uint32_t w, uint32_t h) {
  Rgba p(w, h, {0, 0, 0, 255});
  for (uint32_t y = 0; y < h; ++y) {
    for (uint32_t x = 0; x < w; ++x) {
      p.at(x, y) = {static_cast<uint8_t>(x * 255 / (w - 1)), static_cast<uint8_t>(y * 255 / (h - 1)),
                    static_cast<uint8_t>(128), 255};
    }
  }
  return p;
}

double MeanAbsError(const GrayImage& image, const Rgba& picture, bool gray_source) {
  double sum = 0;
  for (uint32_t y = 0; y < image.height; ++y) {
    for (uint32_t x = 0; x < image.width; ++x) {
      const auto& p = picture.at(x, y);
      const int expected = gray_source ? p[0] : LumaOf(p[0], p[1], p[2]);
      sum += std::abs(image.at(x, y) - expected);
    }
  }
  return sum / (static_cast<double>(image.width) * image.height);
}

TEST(JpegDecoderTest, DecodesGrayColourAndCmykBaselineAndProgressive) {
  const Rgba picture = Ramps(64, 48);
  for (JpegColour colour : {JpegColour::kGray, JpegColour::kYCbCr, JpegColour::kCmyk}) {
    for (bool progressive : {false, true}) {
      absl::StatusOr<std::string> jpeg =
          EncodeJpeg(picture, {.colour = colour, .quality = 95, .progressive = progressive});
      ASSERT_TRUE(jpeg.ok()) << jpeg.status();
      absl::StatusOr<GrayImage> image = DecodeJpeg(Bytes(*jpeg), {});
      ASSERT_TRUE(image.ok()) << image.status();
      ASSERT_EQ(image->width, 64u);
      ASSERT_EQ(image->height, 48u);
      EXPECT_LT(MeanAbsError(*image, picture, colour == JpegColour::kGray), 3.0)
          << "colour " << static_cast<int>(colour) << " progressive " << progressive;
    }
  }
}

TEST(JpegDecoderTest, DecodesLargePicturesReduced) {
  const Rgba picture = Ramps(1600, 1200);
  absl::StatusOr<std::string> jpeg = EncodeJpeg(picture, {.quality = 80});
  ASSERT_TRUE(jpeg.ok());
  absl::StatusOr<GrayImage> full = DecodeJpeg(Bytes(*jpeg), {}, 0);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->width, 1600u);
  // The smallest of 1/2, 1/4, 1/8 whose longer side is still >= 300: 1/4 (400 x 300).
  absl::StatusOr<GrayImage> reduced = DecodeJpeg(Bytes(*jpeg), {}, 300);
  ASSERT_TRUE(reduced.ok());
  EXPECT_EQ(reduced->width, 400u);
  EXPECT_EQ(reduced->height, 300u);
  EXPECT_NEAR(reduced->at(200, 150), full->at(801, 601), 4);
}

TEST(JpegDecoderTest, RefusesTruncatedAndCorruptData) {
  absl::StatusOr<std::string> jpeg = EncodeJpeg(Ramps(64, 48), {});
  ASSERT_TRUE(jpeg.ok());
  for (size_t keep : {size_t{3}, size_t{100}, jpeg->size() / 2, jpeg->size() - 2}) {
    absl::StatusOr<GrayImage> image = DecodeJpeg(Bytes(jpeg->substr(0, keep)), {});
    EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument) << keep;
    EXPECT_THAT(image.status().message(), HasSubstr("JPEG")) << keep;
  }
  EXPECT_THAT(DecodeJpeg(Bytes(jpeg->substr(0, jpeg->size() / 2)), {}).status().message(),
              HasSubstr("truncated JPEG"));
  // The entropy-coded data cut short by an end-of-image marker: libjpeg sees the image end early.
  const std::string corrupt = jpeg->substr(0, jpeg->size() / 2) + "\xff\xd9";
  absl::StatusOr<GrayImage> image = DecodeJpeg(Bytes(corrupt), {});
  EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(image.status().message(), HasSubstr("truncated JPEG"));
  // A header that is not a JPEG's.
  EXPECT_THAT(DecodeJpeg(Bytes("\xff\xd8\xff\xe0 nonsense"), {}).status().message(),
              HasSubstr("JPEG"));
}

TEST(JpegDecoderTest, RefusesPicturesOverTheLimits) {
  absl::StatusOr<std::string> jpeg = EncodeJpeg(Ramps(400, 300), {.progressive = true});
  ASSERT_TRUE(jpeg.ok());
  absl::StatusOr<GrayImage> image = DecodeJpeg(Bytes(*jpeg), {.max_pixels = 119999});
  EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(image.status().message(),
              HasSubstr("JPEG of 400x300 pixels (0.1 Mpx) is larger than the limit"));
  // A progressive JPEG keeps its coefficients: 2 bytes x 64 per 8x8 block of each component.
  image = DecodeJpeg(Bytes(*jpeg), {.max_decoded_bytes = 200000});
  EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(image.status().message(), HasSubstr("decoding the 400x300 progressive JPEG needs"));
  EXPECT_TRUE(DecodeJpeg(Bytes(*jpeg), {.max_decoded_bytes = 1000000}).ok());
}

}  // namespace
}  // namespace pynq::preprocess
