#include "clients/idx_file.h"

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "clients/file_io.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace pynq::clients {
namespace {

using ::pynq::testing::TestTempPath;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string WriteTemp(absl::string_view name, const std::string& bytes) {
  const std::string path = TestTempPath(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// An IDX header: magic, type, rank, big-endian dimensions.
std::string Header(uint8_t type, const std::vector<uint32_t>& dims) {
  std::string h = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    h += {static_cast<char>(d >> 24), static_cast<char>(d >> 16), static_cast<char>(d >> 8),
          static_cast<char>(d)};
  }
  return h;
}

TEST(IdxFileTest, ReadsImages) {
  const std::string path =
      WriteTemp("images", Header(0x08, {2, 2, 3}) + std::string("\x00\x01\x02\x03\x04\x05"
                                                                "\x06\x07\x08\x09\x0a\xff",
                                                                12));
  absl::StatusOr<GrayImages> images = ReadIdxImages(path);
  ASSERT_TRUE(images.ok()) << images.status();
  EXPECT_EQ(images->count, 2u);
  EXPECT_EQ(images->height, 2u);
  EXPECT_EQ(images->width, 3u);
  EXPECT_EQ(images->image_bytes(), 6u);
  EXPECT_THAT(images->image(1), ElementsAre(6, 7, 8, 9, 10, 255));
}

TEST(IdxFileTest, ReadsZeroImages) {
  absl::StatusOr<GrayImages> images = ReadIdxImages(WriteTemp("none", Header(0x08, {0, 28, 28})));
  ASSERT_TRUE(images.ok()) << images.status();
  EXPECT_EQ(images->count, 0u);
  EXPECT_TRUE(images->pixels.empty());
}

TEST(IdxFileTest, ReadsLabels) {
  absl::StatusOr<std::vector<uint8_t>> labels =
      ReadIdxLabels(WriteTemp("labels", Header(0x08, {4}) + std::string("\x07\x02\x01\x00", 4)));
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_THAT(*labels, ElementsAre(7, 2, 1, 0));
}

TEST(IdxFileTest, Int32MatrixRoundTripsBigEndian) {
  const Int32Matrix matrix{.rows = 2, .cols = 3, .values = {1, -1, 256, -2147483647 - 1, 0, 42}};
  const std::string path = TestTempPath("scores");
  ASSERT_TRUE(WriteIdxInt32Matrix(path, matrix).ok());

  absl::StatusOr<std::string> bytes = ReadFileBytes(path);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(bytes->substr(0, 12), Header(0x0C, {2, 3}));
  EXPECT_EQ(bytes->substr(12, 8), std::string("\x00\x00\x00\x01\xff\xff\xff\xff", 8));

  absl::StatusOr<Int32Matrix> read = ReadIdxInt32Matrix(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->rows, 2u);
  EXPECT_EQ(read->cols, 3u);
  EXPECT_EQ(read->values, matrix.values);
  EXPECT_THAT(read->row(1), ElementsAre(-2147483647 - 1, 0, 42));
}

TEST(IdxFileTest, MissingFileIsNotFound) {
  absl::StatusOr<GrayImages> images = ReadIdxImages(TestTempPath("does-not-exist"));
  EXPECT_EQ(images.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(images.status().message(), HasSubstr("does-not-exist"));
}

TEST(IdxFileTest, BadMagicIsInvalidArgument) {
  absl::StatusOr<GrayImages> images =
      ReadIdxImages(WriteTemp("magic", std::string("\x01\x00\x08\x03xxxx", 8)));
  EXPECT_EQ(images.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(images.status().message(), HasSubstr("not an IDX file"));
}

TEST(IdxFileTest, WrongTypeIsInvalidArgument) {
  absl::StatusOr<std::vector<uint8_t>> labels =
      ReadIdxLabels(WriteTemp("type", Header(0x0C, {1}) + std::string(4, '\0')));
  EXPECT_EQ(labels.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(labels.status().message(), HasSubstr("0x0c (int32), expected 0x08 (uint8)"));
}

TEST(IdxFileTest, WrongRankIsInvalidArgument) {
  // A labels file given where images are expected.
  absl::StatusOr<GrayImages> images =
      ReadIdxImages(WriteTemp("rank", Header(0x08, {3}) + "\x01\x02\x03"));
  EXPECT_EQ(images.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(images.status().message(), HasSubstr("rank 1, expected 3"));
}

TEST(IdxFileTest, ZeroSizedImagesAreInvalidArgument) {
  absl::StatusOr<GrayImages> images = ReadIdxImages(WriteTemp("zero", Header(0x08, {5, 0, 28})));
  EXPECT_EQ(images.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(IdxFileTest, ShortFilesAreDataLoss) {
  EXPECT_EQ(ReadIdxImages(WriteTemp("empty", "")).status().code(), absl::StatusCode::kDataLoss);
  const std::string header = Header(0x08, {2, 2, 2});
  EXPECT_EQ(ReadIdxImages(WriteTemp("header", header.substr(0, 9))).status().code(),
            absl::StatusCode::kDataLoss);
  absl::StatusOr<GrayImages> data = ReadIdxImages(WriteTemp("data", header + "1234567"));
  EXPECT_EQ(data.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(data.status().message(), HasSubstr("[2, 2, 2]"));
}

TEST(IdxFileTest, HugeDimensionsAreDataLossNotOverflow) {
  // 2^32-1 cubed overflows 64 bits; the reader must notice the file is far too short instead.
  absl::StatusOr<GrayImages> images =
      ReadIdxImages(WriteTemp("huge", Header(0x08, {0xffffffff, 0xffffffff, 0xffffffff}) + "x"));
  EXPECT_EQ(images.status().code(), absl::StatusCode::kDataLoss);
}

TEST(IdxFileTest, TrailingBytesAreInvalidArgument) {
  absl::StatusOr<std::vector<uint8_t>> labels =
      ReadIdxLabels(WriteTemp("trailing", Header(0x08, {2}) + "\x01\x02\x03"));
  EXPECT_EQ(labels.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(labels.status().message(), HasSubstr("1 trailing bytes"));
}

TEST(IdxFileTest, WriteChecksTheMatrixAndThePath) {
  const Int32Matrix inconsistent{.rows = 2, .cols = 2, .values = {1, 2, 3}};
  EXPECT_EQ(WriteIdxInt32Matrix(TestTempPath("bad"), inconsistent).code(),
            absl::StatusCode::kInvalidArgument);
  const Int32Matrix ok{.rows = 1, .cols = 1, .values = {1}};
  EXPECT_EQ(WriteIdxInt32Matrix(TestTempPath("no-such-dir/scores"), ok).code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace pynq::clients
