#include "preprocess/pgm_decoder.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pynq::preprocess {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<GrayImage> Decode(const std::string& s, const DecodeLimits& limits = {}) {
  return DecodePgm({reinterpret_cast<const uint8_t*>(s.data()), s.size()}, limits);
}

TEST(PgmDecoderTest, DecodesBinaryAndPlainWithAnyMaxval) {
  absl::StatusOr<GrayImage> image = Decode(std::string("P5 3 1 255\n\x00\x80\xff", 14));
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->width, 3u);
  EXPECT_THAT(image->pixels, ElementsAre(0, 128, 255));
  image = Decode("P5\n# a comment\n2 1\n# another\n15\n\x0f\x07");
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_THAT(image->pixels, ElementsAre(255, 119));  // 7 * 255 / 15 = 119
  image = Decode(std::string("P5 2 1 65535 \xff\xff\x80\x00", 17));
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_THAT(image->pixels, ElementsAre(255, 128));
  image = Decode("P2\n2 2\n100\n0 50\n# comment\n100   25\n");
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->height, 2u);
  EXPECT_THAT(image->pixels, ElementsAre(0, 128, 255, 64));
}

TEST(PgmDecoderTest, RefusesMalformedAndTruncatedFiles) {
  struct Case {
    std::string file;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"P5 3", "truncated PGM: the data ends before the height"},
           {"P5 3 1 255\n\x01", "truncated PGM: 3x1 samples of 1 byte(s) need 3 bytes, 1 are left"},
           {"P5 3 1 255", "truncated PGM: no samples after the header"},
           {"P5 0 1 255\n", "PGM width is \"0\", expected a number in 1..1073741824"},
           {"P5 1 1 0\n\x00", "PGM maxval is \"0\", expected a number in 1..65535"},
           {"P5 x 1 255\n", "PGM width is \"x\""},
           {"P5 1 1 255\n\x01\x02", "PGM has 1 bytes after its 1x1 image"},
           {"P5 1 1 100\n\xc8", "PGM sample 0 is 200, more than maxval 100"},
           {"P2 2 1 9\n1", "truncated PGM"},
           {"P2 2 1 9\n1 10", "PGM sample 1 is \"10\", expected a number in 0..9"},
           {"P2 1 1 9\n1 2", "PGM holds more than its 1x1 samples"},
           {"P6 1 1 255\n\x01\x02\x03", "not a PGM"},
       }) {
    absl::StatusOr<GrayImage> image = Decode(c.file);
    EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument) << c.file;
    EXPECT_THAT(image.status().message(), HasSubstr(c.message)) << c.file;
  }
}

TEST(PgmDecoderTest, RefusesPicturesOverTheLimitsBeforeAllocating) {
  absl::StatusOr<GrayImage> image = Decode("P5 40000 40000 255\n");
  EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(image.status().message(),
              HasSubstr("PGM of 40000x40000 pixels (1600.0 Mpx) is larger than the limit"));
  image = Decode("P5 100 100 255\n", {.max_decoded_bytes = 9999});
  EXPECT_THAT(image.status().message(), HasSubstr("needs 10000 bytes, more than the limit of 9999"));
  // A plain-text body too short for its samples is refused before the image is allocated.
  image = Decode("P2 4000 4000 255\n1 2 3");
  EXPECT_THAT(image.status().message(), HasSubstr("truncated PGM: 4000x4000 plain-text samples"));
}

}  // namespace
}  // namespace pynq::preprocess
