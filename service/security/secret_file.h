// Reading a secret (a bearer token, a TLS private key) from a file that must be readable only by
// the user the daemon runs as: a file whose mode lets its group or others read or write it is
// refused, so a secret left world-readable by mistake stops the daemon at start instead of being
// served with.
//
//   PYNQ_ASSIGN_OR_RETURN(std::string token,
//                         ReadBearerTokenFile("/run/credentials/pynq-inferd.service/admin-token"));
//
// Both functions block on the file system, keep no state and are thread-safe.
#ifndef PYNQ_SERVICE_SECURITY_SECRET_FILE_H_
#define PYNQ_SERVICE_SECURITY_SECRET_FILE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace pynq::service::security {

// The whole content of the regular file `path`. Errors (messages name the file):
//   kNotFound            no such file;
//   kPermissionDenied    the daemon may not read it; or its mode has any group or other bit set
//                        (the message gives the mode and the chmod that fixes it);
//   kInvalidArgument     not a regular file, or larger than 1 MiB.
// `what` names the secret in messages, e.g. "--admin_token_file".
absl::StatusOr<std::string> ReadSecretFile(std::string_view what, const std::string& path);

// The shortest bearer token accepted, in characters.
inline constexpr size_t kMinTokenLength = 16;

// A bearer token: ReadSecretFile(), less trailing whitespace (a final newline), which must then be
// a token68 of RFC 7235 (letters, digits, "-._~+/", then optional "="s; what `openssl rand -hex
// 32` or `-base64 32` prints), at least kMinTokenLength characters. kInvalidArgument otherwise,
// without quoting the file's content.
absl::StatusOr<std::string> ReadBearerTokenFile(std::string_view what, const std::string& path);

// Whether `token` is a token68 as ReadBearerTokenFile() requires (the length is not checked).
bool IsToken68(std::string_view token);

}  // namespace pynq::service::security

#endif  // PYNQ_SERVICE_SECURITY_SECRET_FILE_H_
