#include "clients/idx_file.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "clients/file_io.h"

namespace pynq::clients {
namespace {

constexpr uint8_t kTypeUint8 = 0x08;
constexpr uint8_t kTypeInt32 = 0x0C;
constexpr size_t kMagicBytes = 4;

absl::string_view TypeName(uint8_t type) {
  switch (type) {
    case 0x08:
      return "uint8";
    case 0x09:
      return "int8";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return "unknown";
  }
}

size_t ElementBytes(uint8_t type) { return type == kTypeInt32 ? sizeof(int32_t) : 1; }

uint32_t LoadBigEndian32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{u[0]} << 24 | uint32_t{u[1]} << 16 | uint32_t{u[2]} << 8 | uint32_t{u[3]};
}

void AppendBigEndian32(uint32_t v, std::string* out) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                         static_cast<char>(v >> 8), static_cast<char>(v)};
  out->append(bytes, sizeof(bytes));
}

// What the caller expects, for checks and messages: "images" with rank 3 "[N, H, W]", ...
struct IdxExpectation {
  uint8_t type;
  uint8_t rank;
  absl::string_view what;
};

// A parsed IDX file: its dimensions and a view of its element bytes (inside the parsed buffer).
struct IdxArray {
  std::vector<uint32_t> dims;
  absl::string_view data;
};

absl::StatusOr<IdxArray> ParseIdx(absl::string_view bytes, absl::string_view name,
                                  const IdxExpectation& want) {
  if (bytes.size() < kMagicBytes) {
    return absl::DataLossError(
        absl::StrFormat("%s: truncated: %d bytes, an IDX header needs at least %d", name,
                        bytes.size(), kMagicBytes));
  }
  const auto* magic = reinterpret_cast<const unsigned char*>(bytes.data());
  if (magic[0] != 0 || magic[1] != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: not an IDX file: it starts with 0x%02x 0x%02x, expected 0x00 0x00",
                        name, magic[0], magic[1]));
  }
  const uint8_t type = magic[2];
  const uint8_t rank = magic[3];
  if (type != want.type) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: IDX element type 0x%02x (%s), expected 0x%02x (%s) for %s", name, type,
                        TypeName(type), want.type, TypeName(want.type), want.what));
  }
  if (rank != want.rank) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: IDX rank %d, expected %d for %s", name, rank, want.rank, want.what));
  }
  const size_t header_bytes = kMagicBytes + size_t{rank} * sizeof(uint32_t);
  if (bytes.size() < header_bytes) {
    return absl::DataLossError(
        absl::StrFormat("%s: truncated: %d bytes, the IDX header of rank %d needs %d", name,
                        bytes.size(), rank, header_bytes));
  }
  IdxArray array;
  for (size_t i = 0; i < rank; ++i) {
    array.dims.push_back(LoadBigEndian32(bytes.data() + kMagicBytes + i * sizeof(uint32_t)));
  }
  const size_t available = bytes.size() - header_bytes;
  // The product of the dimensions can overflow (size_t is 32 bits on the armhf boards), so it is
  // checked against what the file holds before each multiplication; past that, the file is
  // truncated whatever the remaining dimensions are.
  bool has_zero_dim = false;
  for (uint32_t d : array.dims) has_zero_dim |= d == 0;
  size_t expected = has_zero_dim ? 0 : ElementBytes(type);
  bool exceeds_file = false;
  for (uint32_t d : array.dims) {
    if (has_zero_dim) break;
    if (expected > available / d) {
      exceeds_file = true;
      break;
    }
    expected *= d;
  }
  if (exceeds_file) {
    return absl::DataLossError(absl::StrFormat(
        "%s: truncated: the header declares [%s] %s elements, the file holds only %d bytes of "
        "data",
        name, absl::StrJoin(array.dims, ", "), TypeName(type), available));
  }
  if (expected < available) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: %d trailing bytes after the %d bytes of data the header declares ([%s] %s)", name,
        available - expected, expected, absl::StrJoin(array.dims, ", "), TypeName(type)));
  }
  array.data = bytes.substr(header_bytes);
  return array;
}

}  // namespace

absl::StatusOr<GrayImages> ParseIdxImages(absl::string_view bytes, absl::string_view name) {
  absl::StatusOr<IdxArray> array =
      ParseIdx(bytes, name, {.type = kTypeUint8, .rank = 3, .what = "images [N, H, W]"});
  if (!array.ok()) return array.status();
  GrayImages images{.count = array->dims[0], .height = array->dims[1], .width = array->dims[2]};
  if (images.height == 0 || images.width == 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: images of %dx%d pixels; height and width must be at least 1", name,
                        images.height, images.width));
  }
  images.pixels.assign(array->data.begin(), array->data.end());
  return images;
}

absl::StatusOr<GrayImages> ReadIdxImages(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFileBytes(path);
  if (!bytes.ok()) return bytes.status();
  return ParseIdxImages(*bytes, path);
}

absl::StatusOr<std::vector<uint8_t>> ReadIdxLabels(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFileBytes(path);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<IdxArray> array =
      ParseIdx(*bytes, path, {.type = kTypeUint8, .rank = 1, .what = "labels [N]"});
  if (!array.ok()) return array.status();
  return std::vector<uint8_t>(array->data.begin(), array->data.end());
}

absl::StatusOr<Int32Matrix> ReadIdxInt32Matrix(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFileBytes(path);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<IdxArray> array =
      ParseIdx(*bytes, path, {.type = kTypeInt32, .rank = 2, .what = "a matrix [rows, cols]"});
  if (!array.ok()) return array.status();
  Int32Matrix matrix{.rows = array->dims[0], .cols = array->dims[1]};
  matrix.values.resize(size_t{matrix.rows} * matrix.cols);
  for (size_t i = 0; i < matrix.values.size(); ++i) {
    matrix.values[i] =
        static_cast<int32_t>(LoadBigEndian32(array->data.data() + i * sizeof(int32_t)));
  }
  return matrix;
}

absl::Status WriteIdxInt32Matrix(const std::string& path, const Int32Matrix& matrix) {
  if (matrix.values.size() != size_t{matrix.rows} * matrix.cols) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "cannot write %s: a %dx%d matrix needs %d values, it has %d", path, matrix.rows,
        matrix.cols, size_t{matrix.rows} * matrix.cols, matrix.values.size()));
  }
  std::string bytes;
  bytes.reserve(kMagicBytes + 2 * sizeof(uint32_t) + matrix.values.size() * sizeof(int32_t));
  bytes.append({0, 0, static_cast<char>(kTypeInt32), 2});
  AppendBigEndian32(matrix.rows, &bytes);
  AppendBigEndian32(matrix.cols, &bytes);
  for (int32_t v : matrix.values) AppendBigEndian32(static_cast<uint32_t>(v), &bytes);
  return WriteFileBytes(path, bytes);
}

}  // namespace pynq::clients
