#include "service/oip/grpc_request_parser.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pynq::service::oip {
namespace {

using ::inference::ModelInferRequest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

ModelInferRequest RawRequest(std::string pixels, std::vector<int64_t> shape) {
  ModelInferRequest request;
  request.set_model_name("m");
  request.set_model_version("2");
  request.set_id("req-7");
  auto* input = request.add_inputs();
  input->set_name("images");
  input->set_datatype("UINT8");
  for (int64_t d : shape) input->add_shape(d);
  request.add_raw_input_contents(std::move(pixels));
  return request;
}

TEST(GrpcRequestParserTest, RawContentsAreViewsOfTheMessage) {
  const ModelInferRequest message = RawRequest(std::string(6, '\x07'), {2, 3});
  absl::StatusOr<InferRequest> request = ParseModelInferRequest(message);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->model_name, "m");
  EXPECT_EQ(request->model_version, "2");
  EXPECT_EQ(request->id, "req-7");
  ASSERT_EQ(request->inputs.size(), 1u);
  EXPECT_EQ(request->inputs[0].name, "images");
  EXPECT_THAT(request->inputs[0].shape, ElementsAre(2, 3));
  EXPECT_EQ(request->inputs[0].bytes().data(), message.raw_input_contents(0).data());
  EXPECT_TRUE(request->outputs.empty());
  EXPECT_FALSE(request->timeout.has_value());
}

TEST(GrpcRequestParserTest, UintContentsAreDecodedToBytes) {
  ModelInferRequest message = RawRequest("", {1, 3});
  message.clear_raw_input_contents();
  for (uint32_t v : {0u, 128u, 255u}) message.mutable_inputs(0)->mutable_contents()->add_uint_contents(v);
  absl::StatusOr<InferRequest> request = ParseModelInferRequest(message);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->inputs[0].bytes(), std::string("\x00\x80\xff", 3));
}

TEST(GrpcRequestParserTest, UintContentsOutsideUint8AreRefused) {
  ModelInferRequest message = RawRequest("", {1, 2});
  message.clear_raw_input_contents();
  message.mutable_inputs(0)->mutable_contents()->add_uint_contents(3);
  message.mutable_inputs(0)->mutable_contents()->add_uint_contents(256);
  absl::StatusOr<InferRequest> request = ParseModelInferRequest(message);
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(request.status().message(), HasSubstr("uint_contents[1] is 256"));
}

TEST(GrpcRequestParserTest, ElementCountMustMatchTheShapeBeforeDecoding) {
  ModelInferRequest message = RawRequest("", {2, 2});
  message.clear_raw_input_contents();
  message.mutable_inputs(0)->mutable_contents()->add_uint_contents(1);
  EXPECT_THAT(ParseModelInferRequest(message).status().message(),
              HasSubstr("holds 1 values, but shape [2, 2] needs 4"));
  ModelInferRequest raw = RawRequest(std::string(5, 'x'), {2, 3});
  EXPECT_THAT(ParseModelInferRequest(raw).status().message(),
              HasSubstr("holds 5 bytes, but shape [2, 3] of UINT8 needs 6"));
}

TEST(GrpcRequestParserTest, ShapesMustBeNonNegativeAndNotOverflow) {
  ModelInferRequest negative = RawRequest("", {-1, 784});
  EXPECT_EQ(ParseModelInferRequest(negative).status().code(),
            absl::StatusCode::kInvalidArgument);
  ModelInferRequest huge = RawRequest("", {1LL << 40, 1LL << 40});
  EXPECT_THAT(ParseModelInferRequest(huge).status().message(), HasSubstr("fit in int64"));
}

TEST(GrpcRequestParserTest, RawAndTypedContentsDoNotMix) {
  ModelInferRequest message = RawRequest(std::string(2, 'a'), {1, 2});
  message.mutable_inputs(0)->mutable_contents()->add_uint_contents(1);
  EXPECT_THAT(ParseModelInferRequest(message).status().message(),
              HasSubstr("use one or the other"));
}

TEST(GrpcRequestParserTest, OnlyUint8InUintContents) {
  ModelInferRequest message = RawRequest("", {1, 1});
  message.clear_raw_input_contents();
  message.mutable_inputs(0)->mutable_contents()->add_fp32_contents(0.5f);
  EXPECT_THAT(ParseModelInferRequest(message).status().message(),
              HasSubstr("found fp32_contents"));
  ModelInferRequest fp32 = RawRequest(std::string(4, 'a'), {1, 1});
  fp32.mutable_inputs(0)->set_datatype("FP32");
  EXPECT_THAT(ParseModelInferRequest(fp32).status().message(), HasSubstr("datatype \"FP32\""));
}

TEST(GrpcRequestParserTest, RawContentsCountMustMatchInputs) {
  ModelInferRequest message = RawRequest("ab", {1, 2});
  message.add_raw_input_contents("cd");
  EXPECT_THAT(ParseModelInferRequest(message).status().message(),
              HasSubstr("2 raw_input_contents for 1 inputs"));
  ModelInferRequest none;
  none.set_model_name("m");
  EXPECT_THAT(ParseModelInferRequest(none).status().message(), HasSubstr("no inputs"));
}

TEST(GrpcRequestParserTest, ParametersAreChecked) {
  ModelInferRequest message = RawRequest("ab", {1, 2});
  (*message.mutable_parameters())["timeout"].set_int64_param(2500);
  auto* output = message.add_outputs();
  output->set_name("scores");
  (*output->mutable_parameters())["classification"].set_int64_param(3);
  absl::StatusOr<InferRequest> request = ParseModelInferRequest(message);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->timeout, absl::Microseconds(2500));
  ASSERT_EQ(request->outputs.size(), 1u);
  EXPECT_EQ(request->outputs[0].classification, 3u);

  (*message.mutable_parameters())["timeout"].set_string_param("soon");
  EXPECT_THAT(ParseModelInferRequest(message).status().message(),
              HasSubstr("\"timeout\" must be an integer"));
  (*message.mutable_parameters())["timeout"].set_int64_param(-1);
  EXPECT_EQ(ParseModelInferRequest(message).status().code(), absl::StatusCode::kInvalidArgument);
  message.mutable_parameters()->erase("timeout");
  (*output->mutable_parameters())["classification"].set_int64_param(0);
  EXPECT_THAT(ParseModelInferRequest(message).status().message(), HasSubstr("at least 1"));
}

TEST(GrpcRequestParserTest, AnOutputIsRequestedOnce) {
  ModelInferRequest message = RawRequest("ab", {1, 2});
  message.add_outputs()->set_name("scores");
  message.add_outputs()->set_name("scores");
  EXPECT_THAT(ParseModelInferRequest(message).status().message(), HasSubstr("twice"));
}

TEST(GrpcRequestParserTest, BytesInputsCarryPictures) {
  ModelInferRequest message;
  message.set_model_name("m");
  (*message.mutable_parameters())["return_model_input"].set_bool_param(true);
  auto* input = message.add_inputs();
  input->set_name("images");
  input->set_datatype("BYTES");
  input->add_shape(2);
  input->mutable_contents()->add_bytes_contents("first");
  input->mutable_contents()->add_bytes_contents("second!");
  absl::StatusOr<InferRequest> request = ParseModelInferRequest(message);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_TRUE(request->return_model_input);
  std::string expected;
  AppendBytesElement("first", expected);
  AppendBytesElement("second!", expected);
  EXPECT_EQ(request->inputs[0].bytes(), expected);

  // raw_input_contents already holds the serialization: a view of it.
  input->clear_contents();
  message.add_raw_input_contents(expected);
  request = ParseModelInferRequest(message);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->inputs[0].bytes().data(), message.raw_input_contents(0).data());
}

TEST(GrpcRequestParserTest, BadBytesInputsAreRefused) {
  ModelInferRequest message;
  auto* input = message.add_inputs();
  input->set_name("images");
  input->set_datatype("BYTES");
  input->add_shape(2);
  input->mutable_contents()->add_bytes_contents("only one");
  EXPECT_THAT(ParseModelInferRequest(message).status().message(),
              HasSubstr("contents.bytes_contents holds 1 pictures, but shape [2] needs 2"));
  input->mutable_contents()->clear_bytes_contents();
  input->mutable_contents()->add_uint_contents(3);
  EXPECT_THAT(ParseModelInferRequest(message).status().message(),
              HasSubstr("BYTES elements (encoded pictures) go in contents.bytes_contents"));
  input->mutable_contents()->clear_uint_contents();
  input->mutable_contents()->add_bytes_contents("a");
  input->mutable_contents()->add_bytes_contents("b");
  (*message.mutable_parameters())["return_model_input"].set_int64_param(1);
  EXPECT_THAT(ParseModelInferRequest(message).status().message(),
              HasSubstr("\"return_model_input\" must be a bool"));
}

}  // namespace
}  // namespace pynq::service::oip
