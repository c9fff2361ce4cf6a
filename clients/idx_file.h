// IDX files: the container of the MNIST and Fashion-MNIST data sets, and of the golden score files
// the end-to-end tests diff against.
//
// An IDX file is: two zero bytes, a type byte (0x08 uint8, 0x0C int32, ...), a rank byte, `rank`
// big-endian uint32 dimensions, then the elements row-major, multi-byte types big-endian.
//
//   absl::StatusOr<GrayImages> images = ReadIdxImages("t10k-images-idx3-ubyte.gz");
//   absl::StatusOr<std::vector<uint8_t>> labels = ReadIdxLabels("t10k-labels-idx1-ubyte.gz");
//   Int32Matrix scores{.rows = n, .cols = 10, .values = ...};
//   absl::Status written = WriteIdxInt32Matrix("scores.idx", scores);
//
// All readers accept gzipped files (see ReadFileBytes()) and share one error contract: NOT_FOUND
// (and the other errno-derived codes) when the file cannot be read; INVALID_ARGUMENT when it is not
// the IDX the caller asked for (bad magic, other element type or rank, trailing bytes); DATA_LOSS
// when it is shorter than its header says. Messages name the file and give expected and actual
// values. All functions block on file I/O and are thread-safe.
#ifndef PYNQ_CLIENTS_IDX_FILE_H_
#define PYNQ_CLIENTS_IDX_FILE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "clients/image_io.h"

namespace pynq::clients {

// A row-major `rows` x `cols` matrix of int32. Invariant: values.size() == rows * cols.
struct Int32Matrix {
  uint32_t rows = 0;
  uint32_t cols = 0;
  std::vector<int32_t> values;

  absl::Span<const int32_t> row(size_t r) const {
    return absl::MakeConstSpan(values).subspan(r * cols, cols);
  }
};

// Reads a uint8 (0x08) IDX file of rank 3 [N, H, W]. N may be 0; H and W must not.
absl::StatusOr<GrayImages> ReadIdxImages(const std::string& path);

// Parses the bytes of a uint8 rank-3 IDX file already in memory; `name` is used in error messages.
// ReadImageFile() uses this after recognising the format.
absl::StatusOr<GrayImages> ParseIdxImages(absl::string_view bytes, absl::string_view name);

// Reads a uint8 (0x08) IDX file of rank 1 [N] (the MNIST `*-labels-idx1-ubyte` files).
absl::StatusOr<std::vector<uint8_t>> ReadIdxLabels(const std::string& path);

// Reads an int32 (0x0C) IDX file of rank 2 [rows, cols].
absl::StatusOr<Int32Matrix> ReadIdxInt32Matrix(const std::string& path);

// Writes `matrix` as an int32 (0x0C) IDX file of rank 2, uncompressed. Errors: INVALID_ARGUMENT if
// the matrix breaks its invariant; the errno-derived code if the file cannot be written.
absl::Status WriteIdxInt32Matrix(const std::string& path, const Int32Matrix& matrix);

}  // namespace pynq::clients

#endif  // PYNQ_CLIENTS_IDX_FILE_H_
