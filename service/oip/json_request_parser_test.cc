#include "service/oip/json_request_parser.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pynq::service::oip {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::Status Error(std::string_view json, std::string_view binary = {}) {
  return ParseJsonInferRequest(json, binary).status();
}

TEST(JsonRequestParserTest, ReadsTheSpecificationsExample) {
  absl::StatusOr<InferRequest> request = ParseJsonInferRequest(R"({
    "id": "42",
    "parameters": {"timeout": 1500, "custom": "kept out"},
    "inputs": [{"name": "images", "shape": [2, 1, 1, 2], "datatype": "UINT8",
                "parameters": {}, "data": [[0, 1], [254, 255]]}],
    "outputs": [{"name": "scores", "parameters": {"classification": 2, "binary_data": false}}]
  })");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->id, "42");
  EXPECT_EQ(request->timeout, absl::Microseconds(1500));
  ASSERT_EQ(request->inputs.size(), 1u);
  EXPECT_EQ(request->inputs[0].name, "images");
  EXPECT_EQ(request->inputs[0].datatype, "UINT8");
  EXPECT_THAT(request->inputs[0].shape, ElementsAre(2, 1, 1, 2));
  EXPECT_EQ(request->inputs[0].bytes(), std::string("\x00\x01\xfe\xff", 4));
  ASSERT_EQ(request->outputs.size(), 1u);
  EXPECT_EQ(request->outputs[0].name, "scores");
  EXPECT_EQ(request->outputs[0].classification, 2u);
  EXPECT_FALSE(request->outputs[0].binary_data);
}

TEST(JsonRequestParserTest, KeysMayComeInAnyOrder) {
  absl::StatusOr<InferRequest> request = ParseJsonInferRequest(
      R"({"inputs": [{"data": [5, 6, 7], "datatype": "UINT8", "shape": [1, 3], "name": "x"}]})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->inputs[0].bytes(), "\x05\x06\x07");
  EXPECT_TRUE(request->outputs.empty());
}

TEST(JsonRequestParserTest, BinaryTensorDataFollowsTheJson) {
  const std::string json =
      R"({"inputs": [{"name": "a", "shape": [1, 2], "datatype": "UINT8",
                      "parameters": {"binary_data_size": 2}},
                     {"name": "b", "shape": [3], "datatype": "UINT8",
                      "parameters": {"binary_data_size": 3}}],
          "parameters": {"binary_data_output": true}})";
  const std::string binary = "ABcde";
  absl::StatusOr<InferRequest> request = ParseJsonInferRequest(json, binary);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->inputs[0].bytes(), "AB");
  EXPECT_EQ(request->inputs[1].bytes(), "cde");
  EXPECT_EQ(request->inputs[1].bytes().data(), binary.data() + 2);
  EXPECT_TRUE(request->binary_data_output);
  EXPECT_THAT(Error(json, "ABcdef").message(), HasSubstr("add up to 5"));
  EXPECT_THAT(Error(json, "ABcd").message(), HasSubstr("only 2 bytes of binary data are left"));
}

TEST(JsonRequestParserTest, DataMustBeUint8Integers) {
  const auto with_data = [](absl::string_view data, absl::string_view shape = "[1, 2]") {
    return absl::StrCat(R"({"inputs": [{"name": "images", "datatype": "UINT8", "shape": )", shape,
                        R"(, "data": )", data, "}]}");
  };
  EXPECT_TRUE(ParseJsonInferRequest(with_data("[0, 255]")).ok());
  EXPECT_THAT(Error(with_data("[0, 256]")).message(), HasSubstr("data element 1 is 256"));
  EXPECT_THAT(Error(with_data("[-1, 2]")).message(), HasSubstr("data element 0 is -1"));
  EXPECT_THAT(Error(with_data("[1.5, 2]")).message(), HasSubstr("is 1.5"));
  EXPECT_THAT(Error(with_data("[1.0, 2]")).message(), HasSubstr("integers 0..255"));
  EXPECT_THAT(Error(with_data(R"(["1", 2])")).message(),
              HasSubstr("\"data\" of UINT8 holds 1 strings; UINT8 elements are integers 0..255"));
  EXPECT_THAT(Error(with_data("[true, 2]")).message(), HasSubstr("a boolean"));
  EXPECT_THAT(Error(with_data("[{}, 2]")).message(), HasSubstr("not objects"));
  EXPECT_THAT(Error(with_data("[1, 2, 3]")).message(),
              HasSubstr("\"data\" holds 3 elements, but shape [1, 2] needs 2"));
  EXPECT_THAT(Error(with_data("[1, 2]", "[1, -2]")).message(), HasSubstr("shape dimension 1"));
  EXPECT_THAT(Error(with_data("[1, 2]", "[1, 2.0]")).message(), HasSubstr("shape dimension 1"));
  EXPECT_THAT(Error(with_data("[1, 2]", "[[1], 2]")).message(), HasSubstr("flat array"));
  EXPECT_THAT(Error(with_data("[1, 2]", "[4294967296, 4294967296, 4294967296]")).message(),
              HasSubstr("does not fit in int64"));
}

TEST(JsonRequestParserTest, NestingIsBounded) {
  const std::string deep = absl::StrCat(std::string(17, '['), "1", std::string(17, ']'));
  EXPECT_THAT(Error(absl::StrCat(R"({"inputs": [{"name": "i", "datatype": "UINT8", "shape": [1], "data": )",
                                 deep, "}]}"))
                  .message(),
              HasSubstr("nested deeper than 16"));
  // Far deeper nesting of arrays anywhere is refused at its first level, without recursion.
  const std::string abyss = absl::StrCat(R"({"inputs": )", std::string(100000, '['));
  EXPECT_EQ(Error(abyss).code(), absl::StatusCode::kInvalidArgument);
}

TEST(JsonRequestParserTest, StructureIsStrict) {
  EXPECT_THAT(Error("").message(), HasSubstr("not valid JSON"));
  EXPECT_THAT(Error("{").message(), HasSubstr("not valid JSON"));
  EXPECT_THAT(Error("[]").message(), HasSubstr("must be a JSON object"));
  EXPECT_THAT(Error("7").message(), HasSubstr("must be a JSON object"));
  EXPECT_THAT(Error(R"({"inputs": []} {})").message(), HasSubstr("not valid JSON"));
  EXPECT_THAT(Error("{}").message(), HasSubstr("no inputs"));
  EXPECT_THAT(Error(R"({"inputs": []})").message(), HasSubstr("no inputs"));
  EXPECT_THAT(Error(R"({"input": []})").message(), HasSubstr("unknown key \"input\""));
  EXPECT_THAT(Error(R"({"id": "a", "id": "b"})").message(), HasSubstr("key \"id\" twice"));
  EXPECT_THAT(Error(R"({"id": 5})").message(), HasSubstr("\"id\" must be a string"));
  EXPECT_THAT(Error(R"({"inputs": [{"name": "i", "shape": [1], "datatype": "UINT8"}]})").message(),
              HasSubstr("exactly one of \"data\" and the \"binary_data_size\""));
  EXPECT_THAT(Error(R"({"inputs": [{"name": "i", "shape": [1], "data": [1]}]})").message(),
              HasSubstr("has no \"datatype\""));
  EXPECT_THAT(
      Error(R"({"inputs": [{"name": "i", "shape": [1], "datatype": "FP32", "data": [1]}]})")
          .message(),
      HasSubstr("datatype \"FP32\""));
  EXPECT_THAT(Error(R"({"inputs": [{"name": "i", "shape": [1], "datatype": "UINT8",
                                    "data": [1], "extra": 1}]})")
                  .message(),
              HasSubstr("unknown key \"extra\""));
  EXPECT_THAT(Error(R"({"inputs": [1]})").message(), HasSubstr("input objects"));
  EXPECT_THAT(Error(R"({"outputs": [{"parameters": {}}], "inputs": []})").message(),
              HasSubstr("has no \"name\""));
  EXPECT_THAT(Error(R"({"parameters": {"a": {"b": 1}}})").message(),
              HasSubstr("string, number or boolean"));
  EXPECT_THAT(Error(R"({"parameters": {"a": 1, "a": 2}})").message(), HasSubstr("twice"));
  EXPECT_THAT(Error("{\"id\": \"\xff\"}").message(), HasSubstr("not valid JSON"));
}

TEST(JsonRequestParserTest, ParametersAreChecked) {
  const auto with_output = [](absl::string_view parameters) {
    return absl::StrCat(
        R"({"inputs": [{"name": "i", "shape": [1], "datatype": "UINT8", "data": [1]}],
            "outputs": [{"name": "scores", "parameters": )",
        parameters, "}]}");
  };
  EXPECT_THAT(Error(with_output(R"({"classification": 0})")).message(), HasSubstr("at least 1"));
  EXPECT_THAT(Error(with_output(R"({"classification": "3"})")).message(),
              HasSubstr("number of classes"));
  EXPECT_THAT(Error(with_output(R"({"binary_data": 1})")).message(), HasSubstr("true or false"));
  EXPECT_THAT(Error(R"({"parameters": {"timeout": -5}})").message(), HasSubstr("microseconds"));
  EXPECT_THAT(Error(R"({"parameters": {"timeout": 1e3}})").message(), HasSubstr("microseconds"));
  EXPECT_THAT(Error(R"({"outputs": [{"name": "a"}, {"name": "a"}],
                        "inputs": [{"name": "i", "shape": [1], "datatype": "UINT8", "data": [1]}]})")
                  .message(),
              HasSubstr("requested twice"));
}

TEST(JsonRequestParserTest, CountsAndStringsAreBounded) {
  std::vector<std::string> inputs(17, R"({"name": "i", "shape": [1], "datatype": "UINT8", "data": [1]})");
  EXPECT_THAT(Error(absl::StrCat(R"({"inputs": [)", absl::StrJoin(inputs, ","), "]}")).message(),
              HasSubstr("more than 16 inputs"));
  EXPECT_THAT(Error(absl::StrCat(R"({"id": ")", std::string(5000, 'x'), R"("})")).message(),
              HasSubstr("longer than the 4096 allowed"));
}

TEST(JsonRequestParserTest, BytesInputsCarryBase64PicturesInTheBytesSerialization) {
  // "iVBORw0KGgo=" is PNG's 8-byte signature; a picture longer than max_string_bytes is fine.
  const std::string long_picture(6000, 'A');
  absl::StatusOr<InferRequest> request = ParseJsonInferRequest(absl::StrCat(
      R"({"parameters": {"return_model_input": true},
          "inputs": [{"name": "images", "shape": [2], "datatype": "BYTES",
                      "data": ["iVBORw0KGgo=", ")",
      long_picture, R"("]}]})"));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_TRUE(request->return_model_input);
  ASSERT_EQ(request->inputs.size(), 1u);
  EXPECT_EQ(request->inputs[0].datatype, "BYTES");
  absl::StatusOr<std::vector<std::string_view>> pictures =
      SplitBytesElements(request->inputs[0].bytes(), "images");
  ASSERT_TRUE(pictures.ok()) << pictures.status();
  ASSERT_EQ(pictures->size(), 2u);
  EXPECT_EQ((*pictures)[0], "\x89PNG\r\n\x1a\n");
  EXPECT_EQ((*pictures)[1], std::string(4500, '\0'));
}

TEST(JsonRequestParserTest, BytesInputsMayComeAsBinaryData) {
  std::string binary;
  AppendBytesElement("P5 1 1 255 x", binary);
  absl::StatusOr<InferRequest> request = ParseJsonInferRequest(
      absl::StrCat(R"({"inputs": [{"name": "images", "shape": [1], "datatype": "BYTES",
                                    "parameters": {"binary_data_size": )",
                   binary.size(), "}}]}"),
      binary);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->inputs[0].bytes(), binary);
}

TEST(JsonRequestParserTest, BadBytesInputsAreRefused) {
  const auto bytes_input = [](const std::string& data, const std::string& shape = "[1]") {
    return absl::StrCat(R"({"inputs": [{"name": "images", "shape": )", shape,
                        R"(, "datatype": "BYTES", "data": )", data, "}]}");
  };
  EXPECT_THAT(Error(bytes_input(R"(["not base64!"])")).message(),
              HasSubstr("data element 0 is not base64"));
  EXPECT_THAT(Error(bytes_input(R"(["AAAA", "AAAA"])")).message(),
              HasSubstr("holds 2 strings, but shape [1] needs 1 base64 strings"));
  EXPECT_THAT(Error(bytes_input(R"(["AAAA", 7])", "[2]")).message(),
              HasSubstr("holds 1 strings and 1 numbers"));
  EXPECT_THAT(
      Error(R"({"inputs": [{"name": "images", "shape": [1], "datatype": "UINT8",
                            "data": ["AAAA"]}]})")
          .message(),
      HasSubstr("send base64 pictures as datatype BYTES"));
  EXPECT_THAT(Error(R"({"parameters": {"return_model_input": 1},
                        "inputs": [{"name": "images", "shape": [1], "datatype": "UINT8",
                                    "data": [0]}]})")
                  .message(),
              HasSubstr("\"return_model_input\" must be true or false"));
  EXPECT_THAT(Error(R"({"inputs": [{"name": "images", "shape": [1], "datatype": "FP32",
                                    "data": [0]}]})")
                  .message(),
              HasSubstr("UINT8 pixels or BYTES pictures"));
}

}  // namespace
}  // namespace pynq::service::oip
