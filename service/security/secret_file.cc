#include "service/security/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"

namespace pynq::service::security {

namespace {

constexpr off_t kMaxSecretBytes = 1 << 20;

bool IsToken68Char(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~' || c == '+' || c == '/';
}

}  // namespace

absl::StatusOr<std::string> ReadSecretFile(std::string_view what, const std::string& path) {
  // The checks are made on the open descriptor, so the file checked is the file read.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    const std::string message =
        absl::StrFormat("%s %s: cannot open: %s", what, path, std::strerror(error));
    if (error == ENOENT) return absl::NotFoundError(message);
    if (error == EACCES) return absl::PermissionDeniedError(message);
    return absl::InvalidArgumentError(message);
  }
  absl::Cleanup close_fd = [fd] { close(fd); };
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrFormat("%s %s: not a regular file", what, path));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "%s %s: the file is readable or writable by its group or by others (mode %04o); a "
        "secret must be readable only by the user pynq-inferd runs as: chmod 600 %s",
        what, path, st.st_mode & 07777, path));
  }
  if (st.st_size > kMaxSecretBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s %s: %d bytes, more than the %d a secret may have", what, path, st.st_size,
        kMaxSecretBytes));
  }
  std::string content(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = read(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s %s: read failed: %s", what, path,
                          n == 0 ? "file shrank while read" : std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  return content;
}

bool IsToken68(std::string_view token) {
  size_t i = 0;
  while (i < token.size() && IsToken68Char(token[i])) ++i;
  if (i == 0) return false;
  while (i < token.size() && token[i] == '=') ++i;
  return i == token.size();
}

absl::StatusOr<std::string> ReadBearerTokenFile(std::string_view what, const std::string& path) {
  absl::StatusOr<std::string> content = ReadSecretFile(what, path);
  if (!content.ok()) return content.status();
  std::string token(absl::StripTrailingAsciiWhitespace(*content));
  if (token.size() < kMinTokenLength || !IsToken68(token)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s %s: not a bearer token: expected one line of at least %d characters from "
        "A-Z a-z 0-9 - . _ ~ + / (then optional '='), e.g. made by `openssl rand -hex 32`",
        what, path, kMinTokenLength));
  }
  return token;
}

}  // namespace pynq::service::security
