// Whole-file reads and writes for the client's data files, with errors a user can act on.
//
// Data sets are often shipped gzipped (Debian's dataset-fashion-mnist installs
// /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz), so ReadFileBytes() inflates gzip
// transparently: callers parse the same bytes whether or not the file was compressed.
//
//   absl::StatusOr<std::string> bytes = pynq::clients::ReadFileBytes("t10k-images-idx3-ubyte.gz");
//   if (!bytes.ok()) return bytes.status();  // e.g. NOT_FOUND: cannot open ...: No such file ...
#ifndef PYNQ_CLIENTS_FILE_IO_H_
#define PYNQ_CLIENTS_FILE_IO_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pynq::clients {

// Returns the contents of the file at `path`, inflated if it starts with the gzip magic (1f 8b).
// Errors: the errno-derived code when the file cannot be opened or read (NOT_FOUND for a missing
// file, PERMISSION_DENIED, ...); DATA_LOSS when gzip data is truncated or corrupt.
// Blocks on file I/O; thread-safe.
absl::StatusOr<std::string> ReadFileBytes(const std::string& path);

// Creates or truncates the file at `path` and writes `bytes` to it. Errors: the errno-derived code
// when the file cannot be created or written. Blocks on file I/O; thread-safe (for distinct paths).
absl::Status WriteFileBytes(const std::string& path, absl::string_view bytes);

}  // namespace pynq::clients

#endif  // PYNQ_CLIENTS_FILE_IO_H_
