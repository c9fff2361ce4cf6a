#include "clients/image_io.h"

#include <png.h>
#include <zlib.h>

#include <csetjmp>
#include <cstdint>
#include <cstdio>
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
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

std::string WriteTemp(absl::string_view name, const std::string& bytes) {
  const std::string path = TestTempPath(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string ReadTemp(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFileBytes(path);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : "";
}

struct PngSpec {
  png_uint_32 width;
  png_uint_32 height;
  int bit_depth;
  int color_type;
  int interlace = PNG_INTERLACE_NONE;
  std::vector<png_color> palette;
};

// libpng longjmps here on error, so this frame holds nothing with a destructor.
bool WritePngRows(png_structp png, png_infop info, FILE* file, const PngSpec* spec,
                  png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_init_io(png, file);
  png_set_IHDR(png, info, spec->width, spec->height, spec->bit_depth, spec->color_type,
               spec->interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!spec->palette.empty()) {
    png_set_PLTE(png, info, spec->palette.data(), static_cast<int>(spec->palette.size()));
  }
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  return true;
}

// Writes a PNG with libpng; `raw` holds the packed rows exactly as PNG stores them (16-bit samples
// big-endian, sub-byte pixels packed from the most significant bit).
std::string WritePng(absl::string_view name, const PngSpec& spec, std::vector<uint8_t> raw) {
  const std::string path = TestTempPath(name);
  FILE* file = std::fopen(path.c_str(), "wb");
  EXPECT_NE(file, nullptr);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  std::vector<png_bytep> rows;
  const size_t row_bytes = raw.size() / spec.height;
  for (size_t y = 0; y < spec.height; ++y) rows.push_back(raw.data() + y * row_bytes);
  EXPECT_TRUE(WritePngRows(png, info, file, &spec, rows.data()));
  png_destroy_write_struct(&png, &info);
  std::fclose(file);
  return path;
}

TEST(ImageIoTest, ReadsBinaryPgmWithComments) {
  const std::string path =
      WriteTemp("ok.pgm", std::string("P5\n# made by a test\n3 2\n# max\n255\n") +
                              std::string("\x00\x01\x7f\x80\xfe\xff", 6));
  absl::StatusOr<GrayImages> image = ReadImageFile(path);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->count, 1u);
  EXPECT_EQ(image->width, 3u);
  EXPECT_EQ(image->height, 2u);
  EXPECT_THAT(image->pixels, ElementsAre(0, 1, 127, 128, 254, 255));
}

TEST(ImageIoTest, PgmPixelsMayBeWhitespaceBytes) {
  // After the single separator, bytes 0x0a and 0x20 are pixels, not header whitespace.
  absl::StatusOr<GrayImages> image = ReadImageFile(WriteTemp("ws.pgm", "P5 2 1 255\n\n "));
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_THAT(image->pixels, ElementsAre('\n', ' '));
}

TEST(ImageIoTest, MalformedPgmIsInvalidArgument) {
  const auto code = [](absl::string_view name, const std::string& bytes) {
    return ReadImageFile(WriteTemp(name, bytes)).status().code();
  };
  EXPECT_EQ(code("maxval.pgm", "P5 1 1 65535\n\x01\x02"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code("width.pgm", "P5 x 1 255\n\x01"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code("zero.pgm", "P5 0 1 255\n"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code("trailing.pgm", "P5 1 1 255\n\x01\x02"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code("ascii.pgm", "P2 1 1 255\n1\n"), absl::StatusCode::kInvalidArgument);
  absl::Status maxval = ReadImageFile(TestTempPath("maxval.pgm")).status();
  EXPECT_THAT(maxval.message(), HasSubstr("maxval 65535"));
  EXPECT_THAT(maxval.message(), HasSubstr("maxval.pgm"));
}

TEST(ImageIoTest, TruncatedPgmIsDataLoss) {
  EXPECT_EQ(ReadImageFile(WriteTemp("short.pgm", "P5 2 2 255\n\x01\x02\x03")).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReadImageFile(WriteTemp("header.pgm", "P5 2 2")).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(ImageIoTest, MissingFileIsNotFound) {
  absl::Status status = ReadImageFile(TestTempPath("missing.png")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("missing.png"));
}

TEST(ImageIoTest, UnknownFormatIsInvalidArgument) {
  absl::Status status = ReadImageFile(WriteTemp("text.txt", "hello, world")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("not an IDX"));
}

TEST(ImageIoTest, ReadsIdxImagesAndRejectsIdxLabels) {
  const std::string images = std::string("\x00\x00\x08\x03", 4) +
                             std::string("\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x02", 12) +
                             "\x05\x06\x07\x08";
  absl::StatusOr<GrayImages> read = ReadImageFile(WriteTemp("images.idx", images));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->count, 2u);
  EXPECT_THAT(read->image(1), ElementsAre(7, 8));

  const std::string labels = std::string("\x00\x00\x08\x01\x00\x00\x00\x01", 8) + "\x03";
  EXPECT_EQ(ReadImageFile(WriteTemp("labels.idx", labels)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ImageIoTest, ReadsGzippedFilesTransparently) {
  const std::string path = TestTempPath("gz.pgm.gz");
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  const std::string pgm = "P5 2 1 255\n\x10\x20";
  ASSERT_EQ(gzwrite(gz, pgm.data(), static_cast<unsigned>(pgm.size())),
            static_cast<int>(pgm.size()));
  ASSERT_EQ(gzclose(gz), Z_OK);
  absl::StatusOr<GrayImages> image = ReadImageFile(path);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_THAT(image->pixels, ElementsAre(0x10, 0x20));

  const std::string compressed = ReadTemp(path);
  absl::Status truncated =
      ReadImageFile(WriteTemp("cut.pgm.gz", compressed.substr(0, compressed.size() - 6))).status();
  EXPECT_EQ(truncated.code(), absl::StatusCode::kDataLoss);
}

TEST(ImageIoTest, ReadsGray8PngExactly) {
  const std::vector<uint8_t> pixels = {0, 1, 2, 127, 128, 255};
  absl::StatusOr<GrayImages> image = ReadImageFile(WritePng(
      "gray8.png", {.width = 3, .height = 2, .bit_depth = 8, .color_type = PNG_COLOR_TYPE_GRAY},
      pixels));
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->count, 1u);
  EXPECT_EQ(image->width, 3u);
  EXPECT_EQ(image->height, 2u);
  EXPECT_EQ(image->pixels, pixels);
}

TEST(ImageIoTest, ReadsInterlacedPng) {
  std::vector<uint8_t> pixels(9 * 7);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 4);
  absl::StatusOr<GrayImages> image = ReadImageFile(WritePng("adam7.png",
                                                            {.width = 9,
                                                             .height = 7,
                                                             .bit_depth = 8,
                                                             .color_type = PNG_COLOR_TYPE_GRAY,
                                                             .interlace = PNG_INTERLACE_ADAM7},
                                                            pixels));
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_THAT(image->pixels, ElementsAreArray(pixels));
}

TEST(ImageIoTest, ConvertsOtherPngFormatsToGray8) {
  // 16-bit gray, big-endian samples: scaled to 8 bits with rounding.
  absl::StatusOr<GrayImages> gray16 = ReadImageFile(WritePng(
      "gray16.png", {.width = 3, .height = 1, .bit_depth = 16, .color_type = PNG_COLOR_TYPE_GRAY},
      {0x00, 0x00, 0xff, 0xff, 0x80, 0x80}));
  ASSERT_TRUE(gray16.ok()) << gray16.status();
  EXPECT_THAT(gray16->pixels, ElementsAre(0, 255, 128));

  // 1-bit gray: expanded to 0 / 255.
  absl::StatusOr<GrayImages> gray1 = ReadImageFile(WritePng(
      "gray1.png", {.width = 4, .height = 1, .bit_depth = 1, .color_type = PNG_COLOR_TYPE_GRAY},
      {0b10100000}));
  ASSERT_TRUE(gray1.ok()) << gray1.status();
  EXPECT_THAT(gray1->pixels, ElementsAre(255, 0, 255, 0));

  // RGB: equal channels stay exact; pure red weighs about 0.21.
  absl::StatusOr<GrayImages> rgb = ReadImageFile(WritePng(
      "rgb.png", {.width = 3, .height = 1, .bit_depth = 8, .color_type = PNG_COLOR_TYPE_RGB},
      {0, 0, 0, 200, 200, 200, 255, 0, 0}));
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  ASSERT_EQ(rgb->pixels.size(), 3u);
  EXPECT_EQ(rgb->pixels[0], 0);
  EXPECT_EQ(rgb->pixels[1], 200);
  EXPECT_NEAR(rgb->pixels[2], 54, 1);

  // RGBA: alpha is dropped, not composited.
  absl::StatusOr<GrayImages> rgba = ReadImageFile(WritePng(
      "rgba.png", {.width = 2, .height = 1, .bit_depth = 8, .color_type = PNG_COLOR_TYPE_RGBA},
      {10, 10, 10, 0, 90, 90, 90, 255}));
  ASSERT_TRUE(rgba.ok()) << rgba.status();
  EXPECT_THAT(rgba->pixels, ElementsAre(10, 90));

  // Palette: indices replaced by their (gray) colours.
  absl::StatusOr<GrayImages> palette =
      ReadImageFile(WritePng("palette.png",
                             {.width = 3,
                              .height = 1,
                              .bit_depth = 8,
                              .color_type = PNG_COLOR_TYPE_PALETTE,
                              .palette = {{0, 0, 0}, {100, 100, 100}, {255, 255, 255}}},
                             {2, 1, 0}));
  ASSERT_TRUE(palette.ok()) << palette.status();
  EXPECT_THAT(palette->pixels, ElementsAre(255, 100, 0));
}

TEST(ImageIoTest, TruncatedPngIsDataLoss) {
  std::vector<uint8_t> pixels(16 * 16);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 7);
  const std::string png = ReadTemp(WritePng(
      "whole.png", {.width = 16, .height = 16, .bit_depth = 8, .color_type = PNG_COLOR_TYPE_GRAY},
      pixels));
  // Cut inside the header chunk, inside the image data, and just before the IEND chunk.
  for (size_t keep : {size_t{20}, png.size() / 2, png.size() - 12}) {
    absl::Status status = ReadImageFile(WriteTemp("cut.png", png.substr(0, keep))).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << "kept " << keep << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr("truncated PNG"));
  }
}

TEST(ImageIoTest, CorruptPngIsInvalidArgument) {
  std::string png = ReadTemp(WritePng(
      "good.png", {.width = 2, .height = 2, .bit_depth = 8, .color_type = PNG_COLOR_TYPE_GRAY},
      {1, 2, 3, 4}));
  png[29] = static_cast<char>(png[29] ^ 0xff);  // A byte of the IHDR chunk's CRC.
  absl::Status status = ReadImageFile(WriteTemp("corrupt.png", png)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("invalid PNG"));
}

}  // namespace
}  // namespace pynq::clients
