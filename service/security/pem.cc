#include "service/security/pem.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

namespace pynq::service::security {

namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using UniqueBio = std::unique_ptr<BIO, BioFree>;

UniqueBio MemoryBio(std::string_view text) {
  return UniqueBio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

}  // namespace

std::vector<UniqueX509> ParsePemCertificates(std::string_view pem) {
  std::vector<UniqueX509> certificates;
  UniqueBio bio = MemoryBio(pem);
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certificates.emplace_back(x);
  }
  // Reading stops with a "no start line" error at the end of the text; it is not a failure.
  ERR_clear_error();
  return certificates;
}

UniquePkey ParsePemPrivateKey(std::string_view pem) {
  UniqueBio bio = MemoryBio(pem);
  return UniquePkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

}  // namespace pynq::service::security
