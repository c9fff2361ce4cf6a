#include "clients/channel_security.h"

#include <arpa/inet.h>
#include <grpcpp/create_channel.h>
#include <netdb.h>
#include <sys/socket.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
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

struct HostPort {
  std::string host;  // without brackets
  std::string port;
};

absl::StatusOr<HostPort> SplitHostPort(absl::string_view item) {
  const size_t colon = item.rfind(':');
  HostPort parts;
  int port = 0;
  if (colon != absl::string_view::npos) {
    parts.host = std::string(item.substr(0, colon));
    parts.port = std::string(item.substr(colon + 1));
  }
  if (absl::StartsWith(parts.host, "[") && absl::EndsWith(parts.host, "]")) {
    parts.host = parts.host.substr(1, parts.host.size() - 2);
  }
  if (parts.host.empty() || !absl::SimpleAtoi(parts.port, &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--server: \"", item, "\" is not host:port (IPv6 as [addr]:port) with a port 1..65535"));
  }
  return parts;
}

// The numeric addresses `host` stands for: itself if it is one, else what it resolves to now.
absl::StatusOr<std::vector<std::string>> NumericAddresses(const HostPort& board) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int error = getaddrinfo(board.host.c_str(), board.port.c_str(), &hints, &found);
      error != 0) {
    return absl::NotFoundError(
        absl::StrCat("--server: cannot resolve ", board.host, ": ", gai_strerror(error)));
  }
  std::vector<std::string> addresses;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw = a->ai_family == AF_INET6
                          ? static_cast<const void*>(
                                &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr)
                          : &reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr;
    if (inet_ntop(a->ai_family, raw, text, sizeof(text)) == nullptr) continue;
    std::string address = a->ai_family == AF_INET6
                              ? absl::StrCat("[", text, "]:", board.port)
                              : absl::StrCat(text, ":", board.port);
    if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) {
      addresses.push_back(std::move(address));
    }
  }
  freeaddrinfo(found);
  return addresses;
}

}  // namespace

std::string ChannelServiceConfig(bool fleet) {
  constexpr char kBalancing[] = R"json(
  "loadBalancingConfig": [{"round_robin": {}}],
  "healthCheckConfig": {"serviceName": "pynq_infer.v1.Inference"},)json";
  constexpr char kRetries[] = R"json(
  "methodConfig": [{
    "name": [{"service": "pynq_infer.v1.Inference"}, {"service": "inference.GRPCInferenceService"}],
    "retryPolicy": {
      "maxAttempts": 4,
      "initialBackoff": "0.05s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
})json";
  return absl::StrCat("{", fleet ? kBalancing : "", kRetries);
}

absl::StatusOr<ChannelTarget> ResolveChannelTarget(const std::string& address) {
  if (absl::StartsWith(address, "dns:")) return ChannelTarget{address, true};
  if (!absl::StrContains(address, ',')) return ChannelTarget{address, false};
  std::vector<std::string> v4;
  std::vector<std::string> v6;
  for (absl::string_view item : absl::StrSplit(address, ',', absl::SkipWhitespace())) {
    PYNQ_ASSIGN_OR_RETURN(HostPort board, SplitHostPort(absl::StripAsciiWhitespace(item)));
    PYNQ_ASSIGN_OR_RETURN(std::vector<std::string> numeric, NumericAddresses(board));
    for (std::string& a : numeric) (absl::StartsWith(a, "[") ? v6 : v4).push_back(std::move(a));
  }
  if (!v4.empty() && !v6.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--server=", address, ": mixes IPv4 and IPv6 boards; gRPC's address lists take one "
        "family (use a dns:/// name, or addresses of one family)"));
  }
  return ChannelTarget{v6.empty() ? absl::StrCat("ipv4:", absl::StrJoin(v4, ","))
                                  : absl::StrCat("ipv6:", absl::StrJoin(v6, ",")),
                       true};
}

absl::StatusOr<std::vector<std::string>> ListBoards(const std::string& address) {
  if (absl::StartsWith(address, "dns:")) {
    // dns:[//authority/]host:port
    absl::string_view rest = absl::StripPrefix(address, "dns:");
    if (absl::ConsumePrefix(&rest, "//")) rest = rest.substr(std::min(rest.find('/'), rest.size()));
    rest = absl::StripPrefix(rest, "/");
    PYNQ_ASSIGN_OR_RETURN(HostPort board, SplitHostPort(rest));
    return NumericAddresses(board);
  }
  std::vector<std::string> boards;
  for (absl::string_view item : absl::StrSplit(address, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    PYNQ_RETURN_IF_ERROR(SplitHostPort(item).status());
    boards.emplace_back(item);
  }
  return boards;
}

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
    const std::string& address, const ChannelSecurity& security,
    std::shared_ptr<BoardCounts> counts) {
  PYNQ_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials,
                        MakeChannelCredentials(security));
  PYNQ_ASSIGN_OR_RETURN(ChannelTarget target, ResolveChannelTarget(address));
  grpc::ChannelArguments arguments;
  if (!security.tls_server_name.empty()) {
    arguments.SetSslTargetNameOverride(security.tls_server_name);
  } else if (security.uses_tls() && target.fleet && !absl::StartsWith(address, "dns:")) {
    return absl::InvalidArgumentError(
        "TLS to a list of boards needs --tls_server_name: the name their certificates carry "
        "(the list has no one host name to check them against)");
  }
  arguments.SetServiceConfigJSON(ChannelServiceConfig(target.fleet));
  // A board that restarts is tried again within 2 s (gRPC's default backoff grows to 120 s).
  if (target.fleet) arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  if (counts == nullptr) return grpc::CreateCustomChannel(target.target, credentials, arguments);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(BoardCounts::Interceptor(std::move(counts)));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      target.target, credentials, arguments, std::move(interceptors));
}

}  // namespace pynq::clients
