#include "clients/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace pynq::clients {
namespace {

bool HasGzipMagic(absl::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

absl::StatusOr<std::string> Gunzip(const std::string& path, absl::string_view compressed) {
  // zlib counts input in uInt; data sets are far smaller, but a silent wrap would read garbage.
  if (static_cast<uint64_t>(compressed.size()) > std::numeric_limits<uInt>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": gzip file of ", compressed.size(), " bytes is too large"));
  }
  z_stream zs{};
  // 16 + MAX_WBITS: expect a gzip header and trailer (not raw deflate or zlib).
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    return absl::InternalError(absl::StrCat(path, ": cannot initialize zlib"));
  }
  absl::Cleanup end_inflate = [&zs] { inflateEnd(&zs); };
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  zs.avail_in = static_cast<uInt>(compressed.size());

  // The gzip trailer ends with the uncompressed size (mod 2^32, of the last member): the right
  // size to allocate on the first try, which matters with 512 MB of RAM. It is only a hint, capped
  // at deflate's best ratio (about 1032:1) so that a lying trailer cannot demand gigabytes.
  uint64_t size_hint = 1 << 16;
  if (compressed.size() >= 4) {
    const auto* t =
        reinterpret_cast<const unsigned char*>(compressed.data() + compressed.size() - 4);
    const uint32_t isize = t[0] | uint32_t{t[1]} << 8 | uint32_t{t[2]} << 16 | uint32_t{t[3]} << 24;
    size_hint = std::max<uint64_t>(size_hint,
                                   std::min<uint64_t>(isize, uint64_t{compressed.size()} * 1032));
  }
  std::string out(static_cast<size_t>(size_hint), '\0');
  size_t produced = 0;
  for (;;) {
    if (produced == out.size()) out.resize(out.size() * 2);
    const size_t room = std::min<size_t>(out.size() - produced, std::numeric_limits<uInt>::max());
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // gzip allows several members back to back (`cat a.gz b.gz`); anything else after the
      // trailer means the file is not what it claims to be.
      const absl::string_view rest(reinterpret_cast<const char*>(zs.next_in), zs.avail_in);
      if (!HasGzipMagic(rest)) {
        return absl::DataLossError(
            absl::StrCat(path, ": ", rest.size(), " bytes of non-gzip data after the gzip stream"));
      }
      inflateReset(&zs);
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_out == 0) continue;  // Output full: grow and go on.
    if (rc == Z_BUF_ERROR) {
      return absl::DataLossError(absl::StrCat(path, ": gzip data ends early (truncated after ",
                                              compressed.size(), " compressed bytes)"));
    }
    return absl::DataLossError(absl::StrCat(
        path, ": gzip data is corrupt: ", zs.msg != nullptr ? zs.msg : "unknown zlib error"));
  }
  out.resize(produced);
  return out;
}

}  // namespace

absl::StatusOr<std::string> ReadFileBytes(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  absl::Cleanup close_fd = [fd] { close(fd); };

  struct stat st {};
  if (fstat(fd, &st) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot stat ", path));
  std::string bytes;
  // The size is a hint only (files can change while read); the loop below reads until EOF.
  if (S_ISREG(st.st_mode)) bytes.reserve(static_cast<size_t>(st.st_size));
  char chunk[1 << 16];
  for (;;) {
    const ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot read ", path));
    }
    if (n == 0) break;
    bytes.append(chunk, static_cast<size_t>(n));
  }
  if (HasGzipMagic(bytes)) return Gunzip(path, bytes);
  return bytes;
}

absl::Status WriteFileBytes(const std::string& path, absl::string_view bytes) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot create ", path));
  absl::Cleanup close_fd = [fd] { close(fd); };
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", path));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  std::move(close_fd).Cancel();
  // close() reports deferred write errors (NFS, full disk): the scores file must be complete.
  if (close(fd) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace pynq::clients
