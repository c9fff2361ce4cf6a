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
// Several boards: `address` may be a comma-separated list ("10.0.0.5:50051,10.0.0.6:50051",
// host names allowed) or a DNS name with several records ("dns:///boards.lan:50051"). Such a
// channel spreads calls over the boards with gRPC's round_robin policy, keeps a board out of
// rotation while its grpc.health.v1 status for pynq_infer.v1.Inference is not SERVING (a
// draining daemon turns NOT_SERVING before it refuses anything, see --drain_delay_ms), and
// retries a call that fails with UNAVAILABLE on another board (ChannelServiceConfig()). A list
// becomes gRPC's own "ipv4:"/"ipv6:" multi-address target (host names are resolved once, when
// the channel is made); a dns:/// target is re-resolved by gRPC.
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
#include <vector>

#include "absl/status/statusor.h"
#include "clients/board_counts.h"

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

// The service config of the channel CreateSecureChannel() makes. Always: up to 4 attempts per
// call of either inference service that fails with UNAVAILABLE (a board draining, gone, or not
// accepting connections), 50 ms to 1 s apart; gRPC retries only while the call's deadline lasts,
// and never a call whose answer has started to arrive. Behind a proxy (nginx, HAProxy), which
// passes a board's UNAVAILABLE on, the retry reaches another board. With `fleet` (several
// boards) also round_robin over the boards whose grpc.health.v1 status of
// pynq_infer.v1.Inference is SERVING.
std::string ChannelServiceConfig(bool fleet);

// The gRPC target for `address` and whether it names several boards (see above).
struct ChannelTarget {
  std::string target;
  bool fleet = false;
};
// kInvalidArgument: a list item that is not host:port, a list mixing IPv4 and IPv6 addresses;
// kNotFound: a host name of a list does not resolve.
absl::StatusOr<ChannelTarget> ResolveChannelTarget(const std::string& address);

// The boards `address` names, one host:port each: the items of a list, the addresses a
// dns:///name:port resolves to now, or `address` itself. Errors as ResolveChannelTarget().
absl::StatusOr<std::vector<std::string>> ListBoards(const std::string& address);

// A channel to `address` (host:port, a list of them, or any gRPC target) with
// MakeChannelCredentials() and ChannelServiceConfig(): balanced over the boards when there are
// several, trying a board that went away again at least every 2 s. With `counts`, every call is
// counted by the board that answered. TLS to a list of addresses needs tls_server_name (the name
// the boards' certificates carry): kInvalidArgument otherwise.
// Connects lazily, like grpc::CreateChannel().
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateSecureChannel(
    const std::string& address, const ChannelSecurity& security,
    std::shared_ptr<BoardCounts> counts = nullptr);

}  // namespace pynq::clients

#endif  // PYNQ_CLIENTS_CHANNEL_SECURITY_H_
