// The daemon's TLS credentials, read and checked once at start and shared by every listener (the
// gRPC port; any HTTP listener serves with the same files), and the names a verified client
// certificate is known by.
//
//   PYNQ_ASSIGN_OR_RETURN(TlsMaterial tls, LoadTlsMaterial({.cert_file = "server.crt",
//                                                          .key_file = "server.key",
//                                                          .client_ca_file = "clients-ca.crt"}));
//   // gRPC: GrpcServerCredentials(&tls) (grpc_security.h). An HTTP library that takes files:
//   // tls.files.cert_file / key_file / client_ca_file; one that takes PEM text: the *_pem fields.
//
// Everything here blocks on the file system at most; values are immutable once loaded.
#ifndef PYNQ_SERVICE_SECURITY_TLS_MATERIAL_H_
#define PYNQ_SERVICE_SECURITY_TLS_MATERIAL_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

// OpenSSL's certificate type (X509), declared here so that this header does not pull in OpenSSL.
struct x509_st;

namespace pynq::service::security {

struct TlsFiles {
  // PEM: the server's certificate, then any intermediate certificates (leaf first).
  std::string cert_file;
  // PEM: the certificate's private key. A secret: see ReadSecretFile() (mode 0600 or 0400).
  std::string key_file;
  // PEM: the CA certificates client certificates must chain to. Empty: clients need none (TLS);
  // set: every client must present a certificate that verifies against them (mTLS).
  std::string client_ca_file;
};

struct TlsMaterial {
  TlsFiles files;
  std::string cert_chain_pem;
  std::string private_key_pem;
  // Empty unless files.client_ca_file is set.
  std::string client_ca_pem;

  bool requires_client_certificate() const { return !client_ca_pem.empty(); }
};

// Reads the files and checks them, so a wrong file stops the daemon at start with a message
// naming the flag and the problem instead of failing every handshake later:
//   kInvalidArgument   a file holds no PEM certificate (or key); the key does not belong to the
//                      first certificate of cert_file; cert_file or key_file is missing while the
//                      other is set;
//   ReadSecretFile()'s codes for key_file (e.g. kPermissionDenied when group/others may read it);
//   kNotFound          a file does not exist.
// Messages name files by the flags that set them (--tls_cert, --tls_key, --tls_client_ca).
absl::StatusOr<TlsMaterial> LoadTlsMaterial(const TlsFiles& files);

// The names a certificate is known by, as gRPC's auth context reports them for a verified peer
// (x509_common_name and x509_subject_alternative_name): the subject's common name, then every
// subject alternative name that is a DNS name, URI, e-mail address or IP address (as text,
// e.g. "10.0.0.7"). For an HTTP listener whose TLS library hands over the verified peer
// certificate (civetweb: mg_request_info::client_cert->peer_cert; OpenSSL:
// SSL_get0_peer_certificate()). `certificate` is not taken over.
std::vector<std::string> CertificateIdentities(const x509_st* certificate);

// The same for the first certificate of a PEM text; kInvalidArgument if it holds none.
absl::StatusOr<std::vector<std::string>> CertificateIdentitiesFromPem(std::string_view pem);

}  // namespace pynq::service::security

#endif  // PYNQ_SERVICE_SECURITY_TLS_MATERIAL_H_
