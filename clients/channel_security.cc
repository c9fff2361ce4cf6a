#include "clients/channel_security.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace pynq::clients {

namespace {

absl::StatusOr<std::string> ReadFile(const char* flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(flag, " ", path, ": cannot open the file"));
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

absl::StatusOr<std::string> ReadToken(const std::string& path) {
  PYNQ_ASSIGN_OR_RETURN(std::string content, ReadFile("--token_file", path));
  std::string token(absl::StripAsciiWhitespace(content));
  if (token.empty() || std::any_of(token.begin(), token.end(), [](char c) {
        return absl::ascii_isspace(static_cast<unsigned char>(c)) ||
               !absl::ascii_isprint(static_cast<unsigned char>(c));
      })) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--token_file ", path, ": expected one line holding the bearer token, without spaces"));
  }
  return token;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const ChannelSecurity& security) {
  if (!security.uses_tls()) {
    if (!security.token_file.empty()) {
      return absl::InvalidArgumentError(
          "--token_file needs TLS (--tls or --tls_ca): a bearer token must not travel in clear "
          "text, and pynq-inferd accepts tokens only over TLS");
    }
    if (!security.tls_server_name.empty()) {
      return absl::InvalidArgumentError("--tls_server_name needs TLS (--tls or --tls_ca)");
    }
    return grpc::InsecureChannelCredentials();
  }
  if (security.tls_cert_file.empty() != security.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key go together: the client certificate and its private key");
  }
  grpc::SslCredentialsOptions ssl;
  if (!security.tls_ca_file.empty()) {
    PYNQ_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile("--tls_ca", security.tls_ca_file));
  }
  if (!security.tls_cert_file.empty()) {
    PYNQ_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadFile("--tls_cert", security.tls_cert_file));
    PYNQ_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadFile("--tls_key", security.tls_key_file));
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::SslCredentials(ssl);
  if (security.token_file.empty()) return credentials;
  PYNQ_ASSIGN_OR_RETURN(std::string token, ReadToken(security.token_file));
  return grpc::CompositeChannelCredentials(credentials, grpc::AccessTokenCredentials(token));
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateSecureChannel(
    const std::string& address, const ChannelSecurity& security) {
  PYNQ_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials,
                        MakeChannelCredentials(security));
  grpc::ChannelArguments arguments;
  if (!security.tls_server_name.empty()) {
    arguments.SetSslTargetNameOverride(security.tls_server_name);
  }
  return grpc::CreateCustomChannel(address, credentials, arguments);
}

}  // namespace pynq::clients
