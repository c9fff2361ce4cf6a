#include "service/oip/tensor_mapping.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "accel/model/model_builder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "preprocess/prepare.h"
#include "tests/support/picture_writer.h"
#include "tests/support/source_dir.h"

namespace pynq::service::oip {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class TensorMappingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    accel::ModelSpec spec = accel::RandomBnnSpec({.seed = 3, .input = {1, 4, 2}, .num_classes = 4});
    spec.name = "tiny";
    spec.version = "3";
    spec.labels = {"zero", "one", "two", "three"};
    auto model = accel::Model::FromBytes(accel::SerializeModel(spec));
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = *std::move(model);
  }

  // A request of `n` images of 8 pixels each (pixel value = image index), with `shape`.
  InferRequest Request(std::vector<int64_t> shape, int n = 2) {
    InferRequest request{.model_name = "tiny", .id = "r1"};
    std::string data;
    for (int i = 0; i < n; ++i) data += std::string(8, static_cast<char>(i));
    request.inputs.push_back(
        {.name = "images", .datatype = "UINT8", .shape = std::move(shape), .data = data});
    return request;
  }

  std::shared_ptr<const accel::Model> model_;
};

TEST_F(TensorMappingTest, AcceptsNchwNhwAndFlatShapes) {
  for (const std::vector<int64_t>& shape : std::vector<std::vector<int64_t>>{
           {2, 1, 4, 2}, {2, 4, 2}, {2, 8}}) {
    const InferRequest request = Request(shape);  // the images are views of its data
    absl::StatusOr<BoundRequest> bound = BindToModel(request, *model_, 16);
    ASSERT_TRUE(bound.ok()) << bound.status();
    ASSERT_EQ(bound->images.size(), 2u);
    EXPECT_EQ(bound->images[0], std::string(8, '\0'));
    EXPECT_EQ(bound->images[1], std::string(8, '\1'));
    ASSERT_EQ(bound->outputs.size(), 1u);
    EXPECT_EQ(bound->outputs[0].name, "scores");
    EXPECT_EQ(bound->outputs[0].classification, 0u);
  }
}

TEST_F(TensorMappingTest, RefusesWhatTheModelDoesNotTake) {
  const auto error = [&](const InferRequest& request, size_t max_images = 16) {
    return BindToModel(request, *model_, max_images).status();
  };
  EXPECT_THAT(error(Request({2, 2, 4})).message(), HasSubstr("shape [2, 2, 4]"));
  EXPECT_THAT(error(Request({2, 2, 4})).message(), HasSubstr("[N, 1, 4, 2], [N, 4, 2] or [N, 8]"));
  EXPECT_THAT(error(Request({16})).message(), HasSubstr("shape [16]"));
  EXPECT_THAT(error(Request({2, 8}), 1).message(), HasSubstr("holds 2 images; a request holds 1 to 1"));
  EXPECT_THAT(error(Request({0, 8}, 0)).message(), HasSubstr("holds 0 images"));
  EXPECT_THAT(error(Request({3, 8})).message(), HasSubstr("16 bytes of data; shape [3, 8] needs 24"));
  InferRequest renamed = Request({2, 8});
  renamed.inputs[0].name = "pixels";
  EXPECT_THAT(error(renamed).message(), HasSubstr("request has input \"pixels\""));
  InferRequest two = Request({2, 8});
  two.inputs.push_back(two.inputs[0]);
  EXPECT_THAT(error(two).message(), HasSubstr("request has 2 inputs"));
  InferRequest other_output = Request({2, 8});
  other_output.outputs.push_back({.name = "logits"});
  EXPECT_THAT(error(other_output).message(), HasSubstr("no output \"logits\""));
  InferRequest too_many = Request({2, 8});
  too_many.outputs.push_back({.name = "scores", .classification = 5});
  EXPECT_THAT(error(too_many).message(), HasSubstr("5 classes, but model tiny has 4"));
  for (const absl::Status& s : {error(renamed), error(two), error(too_many)}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST_F(TensorMappingTest, ResultsCarryScoresAndClassifications) {
  InferRequest request = Request({2, 8});
  request.outputs.push_back({.name = "scores", .classification = 3, .binary_data = true});
  absl::StatusOr<BoundRequest> bound = BindToModel(request, *model_, 16);
  ASSERT_TRUE(bound.ok()) << bound.status();
  bound->outputs.push_back({.name = "scores"});  // the tensor too, as a second output
  InferenceRequest done(*model_, bound->images, [](InferenceRequest&) {});
  const std::vector<std::vector<int32_t>> scores = {{5, -2, 9, 5}, {0, 0, 1, -7}};
  for (size_t i = 0; i < 2; ++i) {
    std::copy(scores[i].begin(), scores[i].end(), done.mutable_scores(i).begin());
  }
  const InferResult result = BuildResult(request, *bound, done, *model_);
  EXPECT_EQ(result.model_name, "tiny");
  EXPECT_EQ(result.model_version, "3");
  EXPECT_EQ(result.id, "r1");
  ASSERT_EQ(result.outputs.size(), 2u);
  const OutputTensor& classes = result.outputs[0];
  EXPECT_EQ(classes.datatype, "BYTES");
  EXPECT_THAT(classes.shape, ElementsAre(2, 3));
  EXPECT_TRUE(classes.binary_data);
  // Best first; of equal scores the lower index first (TopClasses()).
  EXPECT_THAT(classes.strings, ElementsAre("9:2:two", "5:0:zero", "5:3:three", "1:2:two",
                                           "0:0:zero", "0:1:one"));
  const OutputTensor& tensor = result.outputs[1];
  EXPECT_EQ(tensor.datatype, "INT32");
  EXPECT_THAT(tensor.shape, ElementsAre(2, 4));
  EXPECT_THAT(tensor.int32s, ElementsAre(5, -2, 9, 5, 0, 0, 1, -7));
}

// A dark "1" on white paper, 60x80, as a PNG.
std::string DrawnOne() {
  testing::Rgba picture(60, 80, {255, 255, 255, 255});
  for (uint32_t y = 12; y < 68; ++y) {
    for (uint32_t x = 27; x < 34; ++x) picture.at(x, y) = {20, 20, 20, 255};
  }
  absl::StatusOr<std::string> png = testing::EncodePng(picture, {});
  EXPECT_TRUE(png.ok()) << png.status();
  return png.ok() ? *png : "";
}

InferRequest PictureRequest(const std::vector<std::string>& pictures,
                            std::vector<int64_t> shape) {
  InferRequest request{.model_name = "mnist-lenet5-int8"};
  std::string data;
  for (const std::string& picture : pictures) AppendBytesElement(picture, data);
  request.inputs.push_back(
      {.name = "images", .datatype = "BYTES", .shape = std::move(shape), .data = data});
  return request;
}

class PictureMappingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::shared_ptr<const accel::Model>> model = accel::Model::LoadFile(
        absl::StrCat(testing::SourceDir(), "/models/zoo/mnist-lenet5-int8.pim"));
    ASSERT_TRUE(model.ok()) << model.status();
    mnist_ = *model;
  }
  std::shared_ptr<const accel::Model> mnist_;
};

TEST_F(PictureMappingTest, PicturesArePreparedAsTheNativeApiPreparesThem) {
  const std::string one = DrawnOne();
  absl::StatusOr<preprocess::PreparedInput> expected = preprocess::PreparePicture(
      {reinterpret_cast<const uint8_t*>(one.data()), one.size()}, *mnist_, {});
  ASSERT_TRUE(expected.ok()) << expected.status();
  for (const std::vector<int64_t>& shape : std::vector<std::vector<int64_t>>{{2}, {2, 1}}) {
    InferRequest request = PictureRequest({one, one}, shape);
    request.return_model_input = true;
    absl::StatusOr<BoundRequest> bound = BindToModel(request, *mnist_, 16);
    ASSERT_TRUE(bound.ok()) << bound.status();
    ASSERT_EQ(bound->images.size(), 2u);
    const std::string_view pixels(reinterpret_cast<const char*>(expected->pixels.data()),
                                  expected->pixels.size());
    EXPECT_EQ(bound->images[0], pixels);
    EXPECT_EQ(bound->images[1], pixels);

    // The result hands back what the model ran on, after moving the BoundRequest (its views
    // stay valid).
    BoundRequest moved = *std::move(bound);
    InferenceRequest done(*mnist_, moved.images, [](InferenceRequest&) {});
    const InferResult result = BuildResult(request, moved, done, *mnist_);
    ASSERT_EQ(result.outputs.size(), 2u);
    const OutputTensor& seen = result.outputs[1];
    EXPECT_EQ(seen.name, "model_input");
    EXPECT_EQ(seen.datatype, "UINT8");
    EXPECT_THAT(seen.shape, ElementsAre(2, 1, 28, 28));
    EXPECT_EQ(seen.uint8s, std::string(pixels) + std::string(pixels));
  }
}

TEST_F(PictureMappingTest, BadPicturesAreRefusedByIndex) {
  const std::string one = DrawnOne();
  const auto error = [&](const InferRequest& request) {
    absl::Status status = BindToModel(request, *mnist_, 16).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    return std::string(status.message());
  };
  EXPECT_THAT(error(PictureRequest({one, one.substr(0, 60)}, {2})),
              HasSubstr("input \"images\" picture 1: truncated PNG"));
  EXPECT_THAT(error(PictureRequest({one, "hello"}, {2})),
              HasSubstr("picture 1: not a PNG, JPEG or PGM picture"));
  EXPECT_THAT(error(PictureRequest({one}, {2})),
              HasSubstr("has 1 BYTES elements; shape [2] needs 2"));
  EXPECT_THAT(error(PictureRequest({one}, {1, 28})), HasSubstr("has shape [1, 28]"));
  InferRequest cut = PictureRequest({one}, {1});
  cut.inputs[0].data = std::string("\x05\x00\x00\x00" "ab", 6);
  EXPECT_THAT(error(cut), HasSubstr("BYTES element 0 says it has 5 bytes, but only 2 follow"));
  cut.inputs[0].data = std::string("\x05\x00", 2);
  EXPECT_THAT(error(cut), HasSubstr("BYTES element 0 has 2 bytes of its 4-byte length prefix"));
}

TEST_F(TensorMappingTest, RawOnlyModelsRefusePictures) {
  InferRequest request = PictureRequest({DrawnOne()}, {1});
  absl::Status status = BindToModel(request, *model_, 16).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("takes raw images only"));
}

}  // namespace
}  // namespace pynq::service::oip
