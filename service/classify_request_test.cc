#include "service/classify_request.h"

#include <memory>
#include <string>
#include <vector>

#include "accel/model/model_builder.h"
#include "gtest/gtest.h"
#include "tests/support/picture_writer.h"

namespace pynq::service {
namespace {

namespace v1 = ::pynq_infer::v1;

class ClassifyRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    accel::ModelSpec spec = accel::RandomBnnSpec({.seed = 3, .hidden = {64}});
    spec.name = "digits";
    spec.preprocessing = {.method = accel::PictureMethod::kCropFit, .box_height = 20,
                          .box_width = 20};
    auto model = accel::Model::FromBytes(accel::SerializeModel(spec));
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = *std::move(model);
  }

  v1::ClassifyRequest RawRequest(int images) const {
    v1::ClassifyRequest request;
    request.set_model("digits");
    for (int i = 0; i < images; ++i) request.add_images(std::string(model_->input_bytes(), '\x7f'));
    return request;
  }

  // A light square on a dark background.
  std::string Png(uint32_t width, uint32_t height) const {
    testing::Rgba picture(width, height, {0, 0, 0, 255});
    for (uint32_t y = height / 4; y < height * 3 / 4; ++y) {
      for (uint32_t x = width / 4; x < width * 3 / 4; ++x) picture.at(x, y) = {230, 230, 230, 255};
    }
    absl::StatusOr<std::string> png = testing::EncodePng(picture, {});
    EXPECT_TRUE(png.ok()) << png.status();
    return png.ok() ? *png : std::string();
  }

  std::shared_ptr<const accel::Model> model_;
  const ClassifyLimits limits_{.max_images_per_request = 4};
};

TEST_F(ClassifyRequestTest, AcceptsRawImagesOfTheModelsSize) {
  v1::ClassifyRequest request = RawRequest(4);
  request.set_top_k(10);
  EXPECT_TRUE(ValidateClassifyRequest(request, *model_, limits_).ok());
}

TEST_F(ClassifyRequestTest, RefusesEachMalformedRequestNamingTheProblem) {
  auto message_of = [&](const v1::ClassifyRequest& request) {
    absl::Status status = ValidateClassifyRequest(request, *model_, limits_);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    return std::string(status.message());
  };
  EXPECT_EQ(message_of(RawRequest(0)), "request has no images");
  EXPECT_EQ(message_of(RawRequest(5)), "request has 5 images, more than the 4 allowed per request");
  v1::ClassifyRequest both = RawRequest(1);
  both.add_encoded_images(Png(28, 28));
  EXPECT_EQ(message_of(both),
            "request has 1 images and 1 encoded_images; send raw images or pictures, not both");
  v1::ClassifyRequest short_image = RawRequest(2);
  short_image.mutable_images(1)->pop_back();
  EXPECT_EQ(message_of(short_image),
            "image 1 has 783 bytes; model digits takes 1x28x28 uint8 images of 784 bytes");
  v1::ClassifyRequest top_k = RawRequest(1);
  top_k.set_top_k(11);
  EXPECT_EQ(message_of(top_k), "top_k is 11, but model digits has only 10 classes");
}

TEST_F(ClassifyRequestTest, PreparesPicturesBackToBackAndNamesTheOneThatFails) {
  v1::ClassifyRequest request;
  request.set_model("digits");
  request.add_encoded_images(Png(28, 28));
  request.add_encoded_images(Png(56, 40));
  ASSERT_TRUE(ValidateClassifyRequest(request, *model_, limits_).ok());
  auto inputs = PrepareClassifyPictures(request, *model_, {});
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  ASSERT_NE(*inputs, nullptr);
  EXPECT_EQ((*inputs)->size(), 2 * model_->input_bytes());

  request.add_encoded_images("not a picture");
  inputs = PrepareClassifyPictures(request, *model_, {});
  EXPECT_EQ(inputs.status().code(), absl::StatusCode::kInvalidArgument) << inputs.status();
  EXPECT_EQ(inputs.status().message().rfind("encoded image 2: ", 0), 0) << inputs.status();
}

TEST_F(ClassifyRequestTest, RawImagesNeedNoPreparation) {
  auto inputs = PrepareClassifyPictures(RawRequest(2), *model_, {});
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  EXPECT_EQ(*inputs, nullptr);
}

}  // namespace
}  // namespace pynq::service
