#include "accel/model/model.h"

#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "accel/model/model_builder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace pynq::accel {
namespace {

using engine::Op;
using ::testing::HasSubstr;

ModelSpec SmallSpec() { return RandomBnnSpec({.seed = 3, .hidden = {70, 33}, .num_classes = 4}); }

absl::Status ParseStatus(const std::vector<uint8_t>& file) {
  return Model::FromBytes(file).status();
}

absl::Status ParseSpecStatus(const ModelSpec& spec) { return ParseStatus(SerializeModel(spec)); }

template <typename T>
void Patch(std::vector<uint8_t>& file, size_t offset, T value) {
  std::memcpy(file.data() + offset, &value, sizeof(T));
  RewriteChecksum(file);
}

TEST(ModelTest, ParsesWhatTheBuilderWrites) {
  ModelSpec spec = SmallSpec();
  spec.name = "mnist-bnn-tfc";
  spec.version = "1.2.3";
  spec.description = "a test model";
  std::vector<uint8_t> file = SerializeModel(spec);
  absl::StatusOr<std::shared_ptr<const Model>> model = Model::FromBytes(file);
  ASSERT_TRUE(model.ok()) << model.status();
  const Model& m = **model;
  EXPECT_EQ(m.name(), "mnist-bnn-tfc");
  EXPECT_EQ(m.version(), "1.2.3");
  EXPECT_EQ(m.description(), "a test model");
  EXPECT_EQ(m.input_shape(), (Shape{1, 28, 28}));
  EXPECT_EQ(m.input_bytes(), 784u);
  EXPECT_THAT(m.labels(), ::testing::ElementsAre("0", "1", "2", "3"));
  EXPECT_EQ(m.file_bytes(), file.size());
  ASSERT_EQ(m.layers().size(), 4u);
  EXPECT_EQ(m.layers()[0].op, Op::kInputBinarize);
  EXPECT_EQ(m.layers()[0].arg[0], 128);
  EXPECT_EQ(m.layers()[1].out.c, 70u);
  EXPECT_EQ(m.layers()[3].op, Op::kBnnDenseScores);
  EXPECT_EQ(m.max_features(), 784u);
  EXPECT_THAT(m.LayerSummary(),
              ::testing::ElementsAre("INPUT_BINARIZE 784->784 (pixel >= 128)", "BNN_DENSE 784->70",
                                     "BNN_DENSE 70->33", "BNN_DENSE_SCORES 33->4"));
  // The typed views return the blobs exactly as built.
  const Layer& hidden = m.layers()[1];
  ASSERT_EQ(m.BitRows(hidden).size(), 70u * 13u);
  EXPECT_EQ(std::memcmp(m.BitRows(hidden).data(), spec.layers[1].weights.data(),
                        spec.layers[1].weights.size()),
            0);
  ASSERT_EQ(m.Params(hidden).size(), 70u);
  EXPECT_EQ(std::memcmp(m.Params(hidden).data(), spec.layers[1].params.data(), 70 * 4), 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(m.weights_section().data()) % 64, 0u);
  EXPECT_EQ(m.program_section().size(), 16u + 4 * 64);
}

TEST(ModelTest, EveryTruncationIsDataLoss) {
  const std::vector<uint8_t> file = SerializeModel(SmallSpec());
  for (size_t length = 0; length < file.size(); ++length) {
    std::vector<uint8_t> prefix(file.begin(), file.begin() + length);
    EXPECT_EQ(ParseStatus(prefix).code(), absl::StatusCode::kDataLoss) << "length " << length;
  }
}

TEST(ModelTest, AnyFlippedBitPastTheHeaderIsDataLoss) {
  const std::vector<uint8_t> file = SerializeModel(SmallSpec());
  for (size_t offset = format::kHeaderBytes; offset < file.size(); offset += 7) {
    std::vector<uint8_t> corrupted = file;
    corrupted[offset] ^= 0x10;
    absl::Status status = ParseStatus(corrupted);
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << "offset " << offset;
    EXPECT_THAT(status.message(), HasSubstr("CRC-32")) << "offset " << offset;
  }
}

TEST(ModelTest, AnyFlippedHeaderBitIsRejected) {
  const std::vector<uint8_t> file = SerializeModel(SmallSpec());
  for (size_t offset = 0; offset < format::kHeaderBytes; ++offset) {
    std::vector<uint8_t> corrupted = file;
    corrupted[offset] ^= 0x01;
    EXPECT_FALSE(ParseStatus(corrupted).ok()) << "offset " << offset;
  }
}

constexpr InputPreprocessing kMnistRecipe{.method = PictureMethod::kCropFit,
                                          .box_height = 20,
                                          .box_width = 20,
                                          .placement = Placement::kCentreOfMass,
                                          .levels = Levels::kStretch,
                                          .foreground = Foreground::kLightOnDark};

TEST(ModelTest, ReadsThePreprocessingRecord) {
  ModelSpec spec = SmallSpec();
  spec.preprocessing = kMnistRecipe;
  absl::StatusOr<std::shared_ptr<const Model>> model = Model::FromBytes(SerializeModel(spec));
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->preprocessing(), kMnistRecipe);
  EXPECT_EQ(PreprocessingSummary((*model)->preprocessing()),
            "crop_fit box=20x20 centre_of_mass stretch light_on_dark");

  spec.preprocessing = {.method = PictureMethod::kCropFit,
                        .box_height = 28,
                        .box_width = 26,
                        .foreground = Foreground::kDarkOnLight};
  model = Model::FromBytes(SerializeModel(spec));
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->preprocessing(), spec.preprocessing);
  EXPECT_EQ(PreprocessingSummary((*model)->preprocessing()),
            "crop_fit box=26x28 box_centre keep dark_on_light");
}

// A format v1 file has no preprocessing record and means "raw tensors only".
TEST(ModelTest, ReadsFormatV1WithoutPreprocessing) {
  ModelSpec spec = SmallSpec();
  spec.format_version = 1;
  std::vector<uint8_t> v1 = SerializeModel(spec);
  spec.format_version = 2;
  uint32_t meta_v1 = 0;
  uint32_t meta_v2 = 0;
  std::memcpy(&meta_v1, v1.data() + format::kMetaOffsetOffset + 4, 4);
  std::memcpy(&meta_v2, SerializeModel(spec).data() + format::kMetaOffsetOffset + 4, 4);
  EXPECT_EQ(meta_v2, meta_v1 + 24);
  absl::StatusOr<std::shared_ptr<const Model>> model = Model::FromBytes(v1);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->preprocessing(), InputPreprocessing{});
  EXPECT_EQ(PreprocessingSummary((*model)->preprocessing()), "none");

  // A v2 file without the record runs short; a v1 file carrying one has bytes left over.
  Patch<uint16_t>(v1, format::kFormatVersionOffset, 2);
  EXPECT_EQ(ParseStatus(v1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ParseStatus(v1).message(), HasSubstr("'preprocess'"));
  std::vector<uint8_t> v2 = SerializeModel(spec);
  Patch<uint16_t>(v2, format::kFormatVersionOffset, 1);
  EXPECT_EQ(ParseStatus(v2).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ParseStatus(v2).message(), HasSubstr("24 bytes left over after the last label"));
}

TEST(ModelTest, RejectsInconsistentPreprocessing) {
  struct Case {
    std::function<void(ModelSpec&)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](ModelSpec& s) { s.preprocessing.method = static_cast<PictureMethod>(2); },
       "preprocess is 2, expected 0..1"},
      {[](ModelSpec& s) { s.preprocessing.box_width = 20; },
       "preprocess is 0 (none), but box_height"},
      {[](ModelSpec& s) { s.preprocessing.levels = Levels::kStretch; },
       "preprocess is 0 (none), but box_height"},
      {[](ModelSpec& s) { s.preprocessing.box_height = 0; }, "box_height is 0, expected 1..28"},
      {[](ModelSpec& s) { s.preprocessing.box_width = 29; }, "box_width is 29, expected 1..28"},
      {[](ModelSpec& s) { s.preprocessing.placement = static_cast<Placement>(2); },
       "placement is 2, expected 0..1"},
      {[](ModelSpec& s) { s.preprocessing.levels = static_cast<Levels>(7); },
       "levels is 7, expected 0..1"},
      {[](ModelSpec& s) { s.preprocessing.foreground = static_cast<Foreground>(2); },
       "foreground is 2, expected 0..1"},
  };
  for (const Case& c : cases) {
    ModelSpec spec = SmallSpec();
    if (c.message.find("none") == std::string::npos &&
        c.message.find("preprocess is 2") == std::string::npos) {
      spec.preprocessing = kMnistRecipe;
    }
    c.edit(spec);
    const absl::Status status = ParseSpecStatus(spec);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(status.message(), HasSubstr(c.message));
  }
  // Pictures become one gray channel.
  ModelSpec rgb = RandomBnnSpec({.input = {3, 8, 8}});
  rgb.preprocessing = {.method = PictureMethod::kCropFit, .box_height = 8, .box_width = 8};
  EXPECT_THAT(ParseSpecStatus(rgb).message(), HasSubstr("input_channels is 3"));
}

TEST(ModelTest, RejectsWrongMagic) {
  std::vector<uint8_t> file = SerializeModel(SmallSpec());
  file[0] = 'X';
  absl::Status status = ParseStatus(file);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("not a pynq-infer model file"));
}

TEST(ModelTest, RejectsOtherVersionsAsUnimplemented) {
  std::vector<uint8_t> file = SerializeModel(SmallSpec());
  Patch<uint16_t>(file, format::kFormatVersionOffset, 3);
  EXPECT_EQ(ParseStatus(file).code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(ParseStatus(file).message(), HasSubstr("format_version is 3"));
  Patch<uint16_t>(file, format::kFormatVersionOffset, 0);
  EXPECT_EQ(ParseStatus(file).code(), absl::StatusCode::kUnimplemented);

  file = SerializeModel(SmallSpec());
  Patch<uint16_t>(file, format::kAbiVersionOffset, 7);
  EXPECT_EQ(ParseStatus(file).code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(ParseStatus(file).message(), HasSubstr("engine_abi_version is 7"));
}

TEST(ModelTest, RejectsUnknownOpAsUnimplemented) {
  ModelSpec spec = SmallSpec();
  spec.layers[2].op = static_cast<Op>(42);
  absl::Status status = ParseSpecStatus(spec);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(status.message(), HasSubstr("op 42"));
}

TEST(ModelTest, RejectsTrailingBytes) {
  std::vector<uint8_t> file = SerializeModel(SmallSpec());
  file.push_back(0);
  EXPECT_EQ(ParseStatus(file).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ModelTest, RejectsSectionPastTheEnd) {
  std::vector<uint8_t> file = SerializeModel(SmallSpec());
  Patch<uint32_t>(file, format::kMetaOffsetOffset + 20, 1 << 20);  // weights_bytes
  absl::Status status = ParseStatus(file);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("WEIGHTS section"));
}

TEST(ModelTest, RejectsNonZeroReservedHeaderBytes) {
  std::vector<uint8_t> file = SerializeModel(SmallSpec());
  Patch<uint8_t>(file, 50, 1);
  EXPECT_EQ(ParseStatus(file).code(), absl::StatusCode::kInvalidArgument);
}

struct InconsistentCase {
  std::string name;
  std::function<void(ModelSpec&)> edit;
  std::string message;
};

class InconsistentModelTest : public ::testing::TestWithParam<InconsistentCase> {};

TEST_P(InconsistentModelTest, IsInvalidArgumentNamingTheProblem) {
  ModelSpec spec = SmallSpec();
  GetParam().edit(spec);
  absl::Status status = ParseSpecStatus(spec);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, InconsistentModelTest,
    ::testing::Values(
        InconsistentCase{"EmptyName", [](ModelSpec& s) { s.name = ""; }, "name is 0 bytes"},
        InconsistentCase{"UpperCaseName", [](ModelSpec& s) { s.name = "MNIST"; },
                         "may only contain"},
        InconsistentCase{"NoVersion", [](ModelSpec& s) { s.version = ""; }, "version is 0"},
        InconsistentCase{"OneClass",
                         [](ModelSpec& s) { s.labels.resize(1); },
                         "num_classes is 1"},
        InconsistentCase{"FewerLabelsThanScores",
                         [](ModelSpec& s) {
                           s.labels.resize(3);
                         },
                         "the last layer produces 4 scores, but META has 3 classes"},
        InconsistentCase{"HugeInput", [](ModelSpec& s) { s.input = {1, 300, 300}; },
                         "input_height is 300"},
        InconsistentCase{"ChainBroken", [](ModelSpec& s) { s.layers[2].in.c = 71; },
                         "does not match the previous layer's output"},
        InconsistentCase{"InputNotFirst",
                         [](ModelSpec& s) { std::swap(s.layers[0], s.layers[1]); },
                         "does not match the model input"},
        InconsistentCase{"ScoresNotLast",
                         [](ModelSpec& s) { s.layers[3].op = Op::kBnnDense; },
                         "the last layer, and only it, must produce scores"},
        InconsistentCase{"WeightsTooShort",
                         [](ModelSpec& s) { s.layers[1].weights.resize(64); },
                         "weights_bytes 64"},
        InconsistentCase{"ParamsTooLong",
                         [](ModelSpec& s) { s.layers[3].params.resize(32); },
                         "params_bytes 32"},
        InconsistentCase{"BadThreshold", [](ModelSpec& s) { s.layers[0].arg[0] = 0; },
                         "threshold is 0"},
        InconsistentCase{"DenseWithArgs", [](ModelSpec& s) { s.layers[2].arg[1] = 5; },
                         "args must be 0"},
        InconsistentCase{"NotFlatDense", [](ModelSpec& s) {
                           s.layers[1].out = {35, 2, 1};
                           s.layers[2].in = {35, 2, 1};
                         },
                         "output shape (35,2,1)"},
        InconsistentCase{"BiasOutOfRange",
                         [](ModelSpec& s) {
                           s.layers[3].params = Int32Bytes({0, 0, (1 << 24) + 1, 0});
                         },
                         "bias of 16777217, outside +-16777216"},
        InconsistentCase{"PaddingBitsSet",
                         [](ModelSpec& s) {
                           // Row 0 of the 70-input layer: bit 6 of its second word is input 70.
                           s.layers[2].weights[8] |= 0x40;
                         },
                         "padding bits set"}),
    [](const ::testing::TestParamInfo<InconsistentCase>& info) { return info.param.name; });

// An int8 LeNet-like program: 0 INPUT_QUANTIZE (1,28,28), 1 INT8_CONV 5x5 -> (6,24,24),
// 2 MAXPOOL 2x2 -> (6,12,12), 3 INT8_DENSE -> 20, 4 INT8_DENSE_SCORES -> 4.
ModelSpec Int8Spec() {
  return RandomInt8Spec(
      {.seed = 5, .stages = {Int8Conv(6, 5), Int8Pool(2), Int8Dense(20)}, .num_classes = 4});
}

// Sets element `index` of int32 array `array` (0 bias, 1 multiplier, 2 shift) of a requantizing
// layer's params.
void SetRequantParam(LayerSpec& layer, size_t array, size_t index, int32_t value) {
  const size_t n = layer.out.c;
  std::memcpy(layer.params.data() + (array * n + index) * sizeof(int32_t), &value, sizeof(value));
}

TEST(ModelTest, ParsesInt8Program) {
  const ModelSpec spec = Int8Spec();
  absl::StatusOr<std::shared_ptr<const Model>> model = Model::FromBytes(SerializeModel(spec));
  ASSERT_TRUE(model.ok()) << model.status();
  const Model& m = **model;
  EXPECT_THAT(m.LayerSummary(),
              ::testing::ElementsAre(
                  ::testing::MatchesRegex("INPUT_QUANTIZE 784->784 \\(pixel \\* [0-9]+ / 2\\^[0-9]+\\)"),
                  "INT8_CONV 784->3456 (5x5 -> 6x24x24, relu)",
                  "MAXPOOL 3456->864 (2x2 -> 6x12x12)", "INT8_DENSE 864->20 (relu)",
                  "INT8_DENSE_SCORES 20->4"));
  EXPECT_EQ(m.max_features(), 3456u);
  const Layer& conv = m.layers()[1];
  ASSERT_EQ(m.Int8Weights(conv).size(), 6u * 25u);
  EXPECT_EQ(std::memcmp(m.Int8Weights(conv).data(), spec.layers[1].weights.data(), 150), 0);
  const Model::Requantization rq = m.RequantParams(conv);
  ASSERT_EQ(rq.bias.size(), 6u);
  ASSERT_EQ(rq.multiplier.size(), 6u);
  ASSERT_EQ(rq.shift.size(), 6u);
  // The builder gives channel 1 of every 16 the multiplier 1 and the shift 0, channel 2 the
  // largest multiplier and shift.
  EXPECT_EQ(rq.multiplier[1], 1);
  EXPECT_EQ(rq.shift[1], 0);
  EXPECT_EQ(rq.multiplier[2], 2147483647);
  EXPECT_EQ(rq.shift[2], 62);
  EXPECT_EQ(std::memcmp(rq.bias.data(), spec.layers[1].params.data(), 24), 0);
  EXPECT_EQ(m.Params(m.layers()[4]).size(), 4u);
}

TEST(ModelTest, RejectsUndefinedOpsAsUnimplemented) {
  for (uint32_t op : {0u, 9u, 1000u}) {
    ModelSpec spec = Int8Spec();
    spec.layers[2].op = static_cast<Op>(op);
    absl::Status status = ParseSpecStatus(spec);
    EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented) << op;
    EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("layer 2 has op ", op)));
  }
}

class InconsistentInt8ModelTest : public ::testing::TestWithParam<InconsistentCase> {};

TEST_P(InconsistentInt8ModelTest, IsInvalidArgumentNamingTheProblem) {
  ModelSpec spec = Int8Spec();
  GetParam().edit(spec);
  absl::Status status = ParseSpecStatus(spec);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, InconsistentInt8ModelTest,
    ::testing::Values(
        // Which tensors ops take.
        InconsistentCase{"BinarizedOpAfterQuantize",
                         [](ModelSpec& s) { s.layers[1].op = Op::kBnnDense; },
                         "layer 1 (BNN_DENSE) takes binarized bits, but layer 0 (INPUT_QUANTIZE) "
                         "produces int8 values"},
        InconsistentCase{"Int8OpAfterBinarize",
                         [](ModelSpec& s) {
                           s = SmallSpec();
                           s.layers[2].op = Op::kInt8Dense;
                         },
                         "layer 2 (INT8_DENSE) takes int8 values, but layer 1 (BNN_DENSE) "
                         "produces binarized bits"},
        InconsistentCase{"QuantizeNotFirst",
                         [](ModelSpec& s) { s.layers[2].op = Op::kInputQuantize; },
                         "layer 2 is INPUT_QUANTIZE; an input op must be layer 0"},
        InconsistentCase{"Int8ScoresNotLast",
                         [](ModelSpec& s) { s.layers[4].op = Op::kInt8Dense; },
                         "the last layer, and only it, must produce scores"},
        InconsistentCase{"Int8ScoresCountIsNotClasses",
                         [](ModelSpec& s) { s.labels.push_back("extra"); },
                         "the last layer produces 4 scores, but META has 5 classes"},
        // INPUT_QUANTIZE.
        InconsistentCase{"QuantizeMultiplierZero", [](ModelSpec& s) { s.layers[0].arg[0] = 0; },
                         "layer 0 (INPUT_QUANTIZE) arg[0] is 0, expected 1..65536"},
        InconsistentCase{"QuantizeMultiplierTooBig",
                         [](ModelSpec& s) { s.layers[0].arg[0] = 65537; },
                         "arg[0] is 65537, expected 1..65536"},
        InconsistentCase{"QuantizeShiftTooBig", [](ModelSpec& s) { s.layers[0].arg[1] = 32; },
                         "arg[1] is 32, expected 0..31"},
        InconsistentCase{"QuantizeShiftNegative", [](ModelSpec& s) { s.layers[0].arg[1] = -1; },
                         "arg[1] is -1, expected 0..31"},
        InconsistentCase{"QuantizeThirdArg", [](ModelSpec& s) { s.layers[0].arg[2] = 3; },
                         "arg[2] is 3, expected 0..0"},
        InconsistentCase{"QuantizeChangesShape",
                         [](ModelSpec& s) {
                           s.layers[0].out = {784, 1, 1};
                           s.layers[1].in = {784, 1, 1};
                         },
                         "(INPUT_QUANTIZE) output (784,1,1), expected the input's shape (1,28,28)"},
        InconsistentCase{"QuantizeInputTooLarge",
                         [](ModelSpec& s) {
                           s.input = {2, 64, 64};
                           s.layers[0].in = s.layers[0].out = s.input;
                         },
                         "layer 0 (INPUT_QUANTIZE) input shape (2,64,64), expected 1..4096 "
                         "elements"},
        InconsistentCase{"QuantizeWithWeights",
                         [](ModelSpec& s) { s.layers[0].weights.assign(8, 1); },
                         "has weights_bytes 8 and params_bytes 0, expected 0 and 0"},
        // INT8_CONV.
        InconsistentCase{"ConvKernelZero", [](ModelSpec& s) { s.layers[1].arg[0] = 0; },
                         "layer 1 (INT8_CONV) arg[0] is 0, expected 1..7"},
        InconsistentCase{"ConvKernelEight", [](ModelSpec& s) { s.layers[1].arg[0] = 8; },
                         "arg[0] is 8, expected 1..7"},
        InconsistentCase{"ConvReluTwo", [](ModelSpec& s) { s.layers[1].arg[1] = 2; },
                         "layer 1 (INT8_CONV) arg[1] is 2, expected 0..1"},
        InconsistentCase{"ConvWrongOutput",
                         [](ModelSpec& s) {
                           s.layers[1].out = {6, 24, 23};
                           s.layers[2].in = {6, 24, 23};
                         },
                         "(INT8_CONV) output (6,24,23), expected (6,24,24) for a valid 5x5 "
                         "convolution of (1,28,28)"},
        InconsistentCase{"ConvKernelLargerThanInput",
                         [](ModelSpec& s) {
                           s.input = {1, 4, 28};
                           s.layers[0].in = s.layers[0].out = s.input;
                           s.layers[1].in = s.input;
                         },
                         "input (1,4,28) is smaller than its 5x5 kernel"},
        InconsistentCase{"ConvOutputTooLarge",
                         [](ModelSpec& s) {
                           s.layers[1].out = {8, 24, 24};
                           s.layers[2].in = {8, 24, 24};
                         },
                         "layer 1 (INT8_CONV) output shape (8,24,24), expected 1..4096 elements"},
        InconsistentCase{"ConvWeightsWrongSize",
                         [](ModelSpec& s) { s.layers[1].weights.resize(6 * 24); },
                         "(INT8_CONV 784->3456) has weights_bytes 144 and params_bytes 72, "
                         "expected 150 and 72"},
        InconsistentCase{"ConvParamsWithoutRequantization",
                         [](ModelSpec& s) { s.layers[1].params.resize(6 * 4); },
                         "params_bytes 24, expected 150 and 72"},
        // MAXPOOL.
        InconsistentCase{"PoolWindowOne", [](ModelSpec& s) { s.layers[2].arg[0] = 1; },
                         "layer 2 (MAXPOOL) arg[0] is 1, expected 2..4"},
        InconsistentCase{"PoolWindowFive", [](ModelSpec& s) { s.layers[2].arg[0] = 5; },
                         "arg[0] is 5, expected 2..4"},
        InconsistentCase{"PoolWithRelu", [](ModelSpec& s) { s.layers[2].arg[1] = 1; },
                         "layer 2 (MAXPOOL) arg[1] is 1, expected 0..0"},
        InconsistentCase{"PoolPartialWindows",
                         [](ModelSpec& s) {
                           s.input = {1, 27, 27};
                           s.layers[0].in = s.layers[0].out = s.layers[1].in = s.input;
                           s.layers[1].out = s.layers[2].in = {6, 23, 23};
                         },
                         "(MAXPOOL) input (6,23,23) is not a whole number of 2x2 windows"},
        InconsistentCase{"PoolWrongOutput",
                         [](ModelSpec& s) {
                           s.layers[2].out = {6, 12, 11};
                           s.layers[3].in = {6, 12, 11};
                         },
                         "(MAXPOOL) output (6,12,11), expected (6,12,12)"},
        InconsistentCase{"PoolWithParams",
                         [](ModelSpec& s) { s.layers[2].params.assign(12, 0); },
                         "(MAXPOOL 3456->864) has weights_bytes 0 and params_bytes 12, expected "
                         "0 and 0"},
        // INT8_DENSE and INT8_DENSE_SCORES.
        InconsistentCase{"DenseFirstArg", [](ModelSpec& s) { s.layers[3].arg[0] = 1; },
                         "layer 3 (INT8_DENSE) arg[0] is 1, expected 0..0"},
        InconsistentCase{"DenseReluTwo", [](ModelSpec& s) { s.layers[3].arg[1] = 2; },
                         "layer 3 (INT8_DENSE) arg[1] is 2, expected 0..1"},
        InconsistentCase{"DenseNotFlat",
                         [](ModelSpec& s) {
                           s.layers[3].out = {10, 2, 1};
                           s.layers[4].in = {10, 2, 1};
                         },
                         "layer 3 output shape (10,2,1), expected (1..4096,1,1)"},
        InconsistentCase{"DenseWeightsWrongSize",
                         [](ModelSpec& s) { s.layers[3].weights.resize(20 * 863); },
                         "(INT8_DENSE 864->20) has weights_bytes 17260 and params_bytes 240, "
                         "expected 17280 and 240"},
        InconsistentCase{"ScoresWithRelu", [](ModelSpec& s) { s.layers[4].arg[1] = 1; },
                         "layer 4 (INT8_DENSE_SCORES) arg[1] is 1, expected 0..0"},
        InconsistentCase{"ScoresWithRequantParams",
                         [](ModelSpec& s) { s.layers[4].params.resize(4 * 12); },
                         "(INT8_DENSE_SCORES 20->4) has weights_bytes 80 and params_bytes 48, "
                         "expected 80 and 16"},
        // Values in the blobs.
        InconsistentCase{"MultiplierZero",
                         [](ModelSpec& s) { SetRequantParam(s.layers[1], 1, 4, 0); },
                         "WEIGHTS: layer 1 (INT8_CONV) multiplier[4] is 0, outside 1..2147483647"},
        InconsistentCase{"MultiplierNegative",
                         [](ModelSpec& s) { SetRequantParam(s.layers[3], 1, 19, -7); },
                         "WEIGHTS: layer 3 (INT8_DENSE) multiplier[19] is -7, outside "
                         "1..2147483647"},
        InconsistentCase{"ShiftTooBig",
                         [](ModelSpec& s) { SetRequantParam(s.layers[3], 2, 5, 63); },
                         "WEIGHTS: layer 3 (INT8_DENSE) shift[5] is 63, outside 0..62"},
        InconsistentCase{"ShiftNegative",
                         [](ModelSpec& s) { SetRequantParam(s.layers[1], 2, 0, -1); },
                         "WEIGHTS: layer 1 (INT8_CONV) shift[0] is -1, outside 0..62"},
        InconsistentCase{"Int8BiasOutOfRange",
                         [](ModelSpec& s) { SetRequantParam(s.layers[3], 0, 7, -(1 << 24) - 1); },
                         "layer 3 has a threshold or bias of -16777217, outside +-16777216"},
        InconsistentCase{"ScoresBiasOutOfRange",
                         [](ModelSpec& s) { s.layers[4].params = Int32Bytes({0, 0, 0, 1 << 25}); },
                         "layer 4 has a threshold or bias of 33554432, outside +-16777216"}),
    [](const ::testing::TestParamInfo<InconsistentCase>& info) { return info.param.name; });

// Edits of the PROGRAM's offsets, which the builder computes itself.
class ProgramPatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = SerializeModel(SmallSpec());
    std::memcpy(&program_offset_, file_.data() + format::kMetaOffsetOffset + 8, 4);
  }
  // Byte offset in the file of field `field_offset` of layer `layer`.
  size_t LayerField(size_t layer, size_t field_offset) const {
    return program_offset_ + format::kProgramHeaderBytes + layer * format::kLayerBytes +
           field_offset;
  }
  std::vector<uint8_t> file_;
  uint32_t program_offset_ = 0;
};

TEST_F(ProgramPatchTest, RejectsGapsInTheLayout) {
  std::vector<uint8_t> moved = file_;
  Patch<uint32_t>(moved, format::kMetaOffsetOffset, 128);  // META must start right after the header
  absl::Status status = ParseStatus(moved);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("META section starts at 128, expected 64"));
}

TEST_F(ProgramPatchTest, RejectsMisalignedBlob) {
  Patch<uint32_t>(file_, LayerField(1, 32), 8);
  absl::Status status = ParseStatus(file_);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("not a multiple of 64"));
}

TEST_F(ProgramPatchTest, RejectsOverlappingBlobs) {
  uint32_t first_weights;
  std::memcpy(&first_weights, file_.data() + LayerField(1, 32), 4);
  Patch<uint32_t>(file_, LayerField(2, 32), first_weights);
  absl::Status status = ParseStatus(file_);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("overlaps"));
}

TEST_F(ProgramPatchTest, RejectsBlobOutsideWeights) {
  Patch<uint32_t>(file_, LayerField(3, 40), 1 << 20);
  absl::Status status = ParseStatus(file_);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("outside the"));
}

TEST_F(ProgramPatchTest, RejectsNonZeroLayerReservedWord) {
  Patch<uint32_t>(file_, LayerField(1, 60), 9);
  absl::Status status = ParseStatus(file_);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("reserved word is 9"));
}

TEST(ModelTest, LoadFileReportsMissingFileAndPrefixesPath) {
  absl::StatusOr<std::shared_ptr<const Model>> missing = Model::LoadFile("/nonexistent/m.pim");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/m.pim"));

  const std::string path = testing::TestTempPath("bad.pim");
  std::vector<uint8_t> file = SerializeModel(SmallSpec());
  file.resize(file.size() / 2);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(file.data()),
                                              static_cast<std::streamsize>(file.size()));
  absl::StatusOr<std::shared_ptr<const Model>> truncated = Model::LoadFile(path);
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(truncated.status().message(), HasSubstr(path + ": truncated"));
}

}  // namespace
}  // namespace pynq::accel
