#include "preprocess/prepare.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "accel/model/model.h"
#include "accel/model/model_builder.h"
#include "clients/image_io.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/digit_pictures.h"
#include "tests/support/picture_writer.h"

namespace pynq::preprocess {
namespace {

using ::pynq::testing::EncodePng;
using ::pynq::testing::Rgba;
using ::testing::HasSubstr;

std::string SourcePath(const std::string& relative) {
  const char* root = std::getenv("PYNQ_SOURCE_DIR");
  return absl::StrCat(root != nullptr ? root : ".", "/", relative);
}

absl::Span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class PrepareTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::shared_ptr<const accel::Model>> model =
        accel::Model::LoadFile(SourcePath("models/zoo/mnist-lenet5-int8.pim"));
    ASSERT_TRUE(model.ok()) << model.status();
    mnist_ = *model;
    absl::StatusOr<clients::GrayImages> digits =
        clients::ReadImageFile(SourcePath("models/data/mnist-heldout-images.idx3-ubyte"));
    ASSERT_TRUE(digits.ok()) << digits.status();
    digits_ = *std::move(digits);
  }

  std::shared_ptr<const accel::Model> mnist_;
  clients::GrayImages digits_;
};

TEST_F(PrepareTest, RawOnlyModelsRefusePicturesBeforeDecoding) {
  accel::ModelSpec spec = accel::RandomBnnSpec({});
  spec.name = "raw-only";
  absl::StatusOr<std::shared_ptr<const accel::Model>> model =
      accel::Model::FromBytes(accel::SerializeModel(spec));
  ASSERT_TRUE(model.ok());
  absl::StatusOr<PreparedInput> input = PreparePicture(Bytes("anything"), **model, {});
  EXPECT_EQ(input.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(input.status().message(),
              HasSubstr("model raw-only takes raw images only (its file declares no picture "
                        "preprocessing): send 784 bytes"));
}

TEST_F(PrepareTest, NamesWhatIsWrongWithAPicture) {
  absl::StatusOr<std::string> png = EncodePng(Rgba(30, 30, {255, 255, 255, 255}), {});
  ASSERT_TRUE(png.ok());
  struct Case {
    std::string bytes;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"", "the picture is empty (0 bytes)"},
           {"hello, world", "not a PNG, JPEG or PGM picture: its 12 bytes start with \"hello, w\""},
           {png->substr(0, 50), "truncated PNG"},
           {*png, "nothing on the picture"},
           {"P5 2 2 255\n\x01", "truncated PGM"},
       }) {
    absl::StatusOr<PreparedInput> input = PreparePicture(Bytes(c.bytes), *mnist_, {});
    EXPECT_EQ(input.status().code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(input.status().message(), HasSubstr(c.message));
  }
  absl::StatusOr<PreparedInput> input =
      PreparePicture(Bytes("P5 5000 5000 255\n"), *mnist_, {.max_pixels = 1 << 20});
  EXPECT_THAT(input.status().message(), HasSubstr("larger than the limit of 1.0 Mpx"));
}

// An MNIST digit as a 28x28 PNG is already in MNIST's form: preparing it changes little.
TEST_F(PrepareTest, MnistDigitsAsPicturesComeBackNearlyUnchanged) {
  double total_error = 0;
  size_t unchanged = 0;
  for (uint32_t i = 0; i < digits_.count; ++i) {
    Rgba picture(28, 28, {0, 0, 0, 255});
    for (size_t p = 0; p < 784; ++p) {
      const uint8_t v = digits_.image(i)[p];
      picture.pixels[p] = {v, v, v, 255};
    }
    absl::StatusOr<std::string> png = EncodePng(picture, {});
    ASSERT_TRUE(png.ok());
    absl::StatusOr<PreparedInput> input = PreparePicture(Bytes(*png), *mnist_, {});
    ASSERT_TRUE(input.ok()) << i << ": " << input.status();
    ASSERT_EQ(input->pixels.size(), 784u);
    double error = 0;
    for (size_t p = 0; p < 784; ++p) error += std::abs(input->pixels[p] - digits_.image(i)[p]);
    total_error += error / 784;
    unchanged += error / 784 < 1.0;
  }
  const double mean_error = total_error / digits_.count;
  std::printf("MNIST held-out digits as 28x28 PNGs: mean |prepared - raw| %.2f levels; %zu of %u "
              "within 1 level on average\n", mean_error, unchanged, digits_.count);
  EXPECT_LT(mean_error, 4.0);
}

TEST_F(PrepareTest, PreparesEveryPictureOfTheTestSet) {
  const size_t count = 200;
  absl::StatusOr<std::vector<testing::DigitPicture>> set = testing::MakeDigitPictures(
      absl::MakeConstSpan(digits_.pixels).subspan(0, count * 784),
      std::vector<uint8_t>(count, 0), 13);
  ASSERT_TRUE(set.ok()) << set.status();
  for (size_t i = 0; i < count; ++i) {
    absl::StatusOr<PreparedInput> input = PreparePicture(Bytes((*set)[i].bytes), *mnist_, {});
    ASSERT_TRUE(input.ok()) << i << ": " << input.status();
    EXPECT_TRUE(input->report.inverted) << i;
    EXPECT_EQ(input->format, (*set)[i].extension == "png" ? "PNG" : "JPEG");
  }
}

}  // namespace
}  // namespace pynq::preprocess
