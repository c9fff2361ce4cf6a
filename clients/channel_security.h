// How a client reaches pynq-inferd: plaintext, or TLS (verifying the daemon's certificate, and
// presenting a client certificate to an mTLS daemon), with a bearer token on every call for a
// daemon that requires one (--admin_token_file, --inference_token_file). The command-line client
// turns its --tls* and --token_file flags into ChannelSecurity; the Python client takes the same
// settings (clients/python/pynq_infer/client.py).
//
//   absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = CreateSecureChannel(
//       "board.local:50051", {.tls_ca_file = "ca.crt", .token_file = "admin.token"});
//   if (!channel.ok()) ...  // a file could not be read or is not what it should be
//
// The token goes with gRPC's own call credentials (AccessTokenCredentials: "authorization:
// Bearer <token>"), which gRPC sends only over a channel that has privacy and integrity; a token
// without TLS is therefore refused here, before anything is sent. Thread-safe; blocks only to
// read the files.
#ifndef PYNQ_CLIENTS_CHANNEL_SECURITY_H_
#define PYNQ_CLIENTS_CHANNEL_SECURITY_H_

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace pynq::clients {

struct ChannelSecurity {
  // Use TLS; implied by any of the files below.
  bool tls = false;
  // PEM CA certificates that the daemon's certificate must chain to; empty: the system's roots.
  std::string tls_ca_file;
  // mTLS: the client's PEM certificate chain and its private key (both or neither).
  std::string tls_cert_file;
  std::string tls_key_file;
  // The name checked against the daemon's certificate instead of the host of the address (for
  // an address by IP that the certificate names only by DNS name, or the reverse).
  std::string tls_server_name;
  // A file holding the bearer token to send with every call (one line; trailing whitespace is
  // dropped). Needs TLS.
  std::string token_file;

  bool uses_tls() const {
    return tls || !tls_ca_file.empty() || !tls_cert_file.empty() || !tls_key_file.empty();
  }
};

// The credentials `security` describes. kInvalidArgument: a token, a server name or key files
// without TLS; a certificate without its key or the reverse; an empty or multi-word token.
// kNotFound: a file cannot be read.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const ChannelSecurity& security);

// A channel to `address` (host:port, or any gRPC target) with MakeChannelCredentials(). Connects
// lazily, like grpc::CreateChannel().
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateSecureChannel(
    const std::string& address, const ChannelSecurity& security);

}  // namespace pynq::clients

#endif  // PYNQ_CLIENTS_CHANNEL_SECURITY_H_
