#include "service/security/tls_material.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "service/security/pem.h"
#include "service/security/secret_file.h"

namespace pynq::service::security {

namespace {

struct NamesFree {
  void operator()(GENERAL_NAMES* names) const { GENERAL_NAMES_free(names); }
};

absl::StatusOr<std::string> ReadPublicFile(std::string_view flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrFormat("%s %s: cannot open the file", flag, path));
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

absl::StatusOr<std::string> ReadCertificates(std::string_view flag, const std::string& path,
                                             std::string_view what) {
  PYNQ_ASSIGN_OR_RETURN(std::string pem, ReadPublicFile(flag, path));
  if (ParsePemCertificates(pem).empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s %s: no PEM certificate in the file (expected %s)", flag, path, what));
  }
  return pem;
}

}  // namespace

absl::StatusOr<TlsMaterial> LoadTlsMaterial(const TlsFiles& files) {
  if (files.cert_file.empty() != files.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key go together: give both (the server's certificate and its "
        "private key) or neither");
  }
  if (files.cert_file.empty() && !files.client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_client_ca needs --tls_cert and --tls_key: client certificates are checked only "
        "on a TLS listener");
  }
  TlsMaterial tls{.files = files};
  if (files.cert_file.empty()) return tls;
  PYNQ_ASSIGN_OR_RETURN(tls.cert_chain_pem,
                        ReadCertificates("--tls_cert", files.cert_file,
                                         "the server's certificate, then any intermediates"));
  PYNQ_ASSIGN_OR_RETURN(tls.private_key_pem, ReadSecretFile("--tls_key", files.key_file));
  UniquePkey key = ParsePemPrivateKey(tls.private_key_pem);
  if (key == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrFormat(
        "--tls_key %s: no unencrypted PEM private key in the file", files.key_file));
  }
  std::vector<UniqueX509> chain = ParsePemCertificates(tls.cert_chain_pem);
  if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrFormat(
        "--tls_key %s does not belong to the certificate in --tls_cert %s (the first "
        "certificate of that file must be the server's own)",
        files.key_file, files.cert_file));
  }
  if (!files.client_ca_file.empty()) {
    PYNQ_ASSIGN_OR_RETURN(tls.client_ca_pem,
                          ReadCertificates("--tls_client_ca", files.client_ca_file,
                                           "the CA certificates that sign client certificates"));
  }
  return tls;
}

std::vector<std::string> CertificateIdentities(const x509_st* certificate) {
  std::vector<std::string> names;
  const X509_NAME* subject = X509_get_subject_name(certificate);
  if (const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); at >= 0) {
    const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
    unsigned char* utf8 = nullptr;
    if (const int length = ASN1_STRING_to_UTF8(&utf8, cn); length >= 0) {
      names.emplace_back(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
      OPENSSL_free(utf8);
    }
  }
  std::unique_ptr<GENERAL_NAMES, NamesFree> sans(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr)));
  if (sans == nullptr) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans.get(), i);
    const ASN1_STRING* text = nullptr;
    switch (name->type) {
      case GEN_DNS:
        text = name->d.dNSName;
        break;
      case GEN_URI:
        text = name->d.uniformResourceIdentifier;
        break;
      case GEN_EMAIL:
        text = name->d.rfc822Name;
        break;
      case GEN_IPADD: {
        // Written as text the way gRPC writes it (inet_ntop), so names from both agree.
        const ASN1_OCTET_STRING* ip = name->d.iPAddress;
        char buffer[INET6_ADDRSTRLEN] = {};
        const int family = ip->length == 4 ? AF_INET : ip->length == 16 ? AF_INET6 : 0;
        if (family != 0 && inet_ntop(family, ip->data, buffer, sizeof(buffer)) != nullptr) {
          names.emplace_back(buffer);
        }
        break;
      }
      default:
        break;
    }
    if (text != nullptr) {
      names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                         static_cast<size_t>(ASN1_STRING_length(text)));
    }
  }
  return names;
}

absl::StatusOr<std::vector<std::string>> CertificateIdentitiesFromPem(std::string_view pem) {
  std::vector<UniqueX509> certificates = ParsePemCertificates(pem);
  if (certificates.empty()) return absl::InvalidArgumentError("no PEM certificate in the text");
  return CertificateIdentities(certificates.front().get());
}

}  // namespace pynq::service::security
