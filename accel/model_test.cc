#include "accel/model.h"

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "accel/model_builder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pynq::accel {
namespace {

using format::Op;
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

TEST(ModelTest, RejectsWrongMagic) {
  std::vector<uint8_t> file = SerializeModel(SmallSpec());
  file[0] = 'X';
  absl::Status status = ParseStatus(file);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("not a pynq-infer model file"));
}

TEST(ModelTest, RejectsOtherVersionsAsUnimplemented) {
  std::vector<uint8_t> file = SerializeModel(SmallSpec());
  Patch<uint16_t>(file, format::kFormatVersionOffset, 2);
  EXPECT_EQ(ParseStatus(file).code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(ParseStatus(file).message(), HasSubstr("format_version is 2"));

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

  const std::string path = ::testing::TempDir() + "/bad.pim";
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
