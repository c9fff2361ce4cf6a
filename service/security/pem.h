// Reading PEM text with OpenSSL into owned objects: the certificates and the private key the
// daemon's TLS material holds (tls_material.h checks them at start; the HTTP listener configures
// its OpenSSL context from the same text).
//
//   std::vector<UniqueX509> chain = ParsePemCertificates(tls.cert_chain_pem);  // leaf first
//   UniquePkey key = ParsePemPrivateKey(tls.private_key_pem);                   // null if none
//
// Thread-safe (OpenSSL's error queue is per thread); nothing blocks.
#ifndef PYNQ_SERVICE_SECURITY_PEM_H_
#define PYNQ_SERVICE_SECURITY_PEM_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string_view>
#include <vector>

namespace pynq::service::security {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using UniqueX509 = std::unique_ptr<X509, X509Free>;
using UniquePkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Every PEM certificate in `pem`, in order; empty when it holds none. Leaves OpenSSL's error
// queue empty.
std::vector<UniqueX509> ParsePemCertificates(std::string_view pem);

// The first private key in `pem` (unencrypted), or null. Leaves OpenSSL's error queue as the
// failure left it, for the caller's message.
UniquePkey ParsePemPrivateKey(std::string_view pem);

}  // namespace pynq::service::security

#endif  // PYNQ_SERVICE_SECURITY_PEM_H_
