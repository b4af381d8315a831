#include "grpc_gateway/transport.hpp"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace lpa {

namespace {

struct bio_deleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct x509_deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct pkey_deleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;
using x509_ptr = std::unique_ptr<X509, x509_deleter>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

[[noreturn]] void bad_file(const std::string& key, const std::string& path,
                           const std::string& why) {
  throw config_error("config: grpc." + key + ": '" + path + "' " + why);
}

std::string read_file(const std::string& key, const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    bad_file(key, path,
             std::string("cannot be read: ") + (errno ? std::strerror(errno) : "open failed"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad())
    bad_file(key, path, "cannot be read");
  return text;
}

bio_ptr memory_bio(const std::string& pem) {
  return bio_ptr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The first certificate of a PEM text (a chain or a CA bundle), or null.
x509_ptr first_certificate(const std::string& pem) {
  auto bio = memory_bio(pem);
  return x509_ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

// An unencrypted private key: a key with a passphrase is refused instead of prompting for it.
pkey_ptr private_key(const std::string& pem) {
  auto no_passphrase = [](char*, int, int, void*) { return 0; };
  auto bio = memory_bio(pem);
  return pkey_ptr(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
}

std::string certificate_file(const std::string& key, const std::string& path) {
  std::string pem = read_file(key, path);
  if (!first_certificate(pem))
    bad_file(key, path, "holds no PEM certificate");
  return pem;
}

std::string key_file_for(const std::string& certificate_pem, const settings::grpc_t& cfg) {
  std::string pem = read_file("tls_key_file", cfg.tls_key_file);
  auto key = private_key(pem);
  if (!key)
    bad_file("tls_key_file", cfg.tls_key_file, "holds no unencrypted PEM private key");
  auto certificate = first_certificate(certificate_pem);
  if (X509_check_private_key(certificate.get(), key.get()) != 1)
    bad_file("tls_key_file", cfg.tls_key_file,
             "is not the key of the certificate in '" + cfg.tls_cert_file
                 + "' (grpc.tls_cert_file)");
  return pem;
}

} // namespace

std::shared_ptr<grpc::ServerCredentials> server_credentials(const settings::grpc_t& cfg) {
  if (cfg.tls_cert_file.empty())
    return grpc::InsecureServerCredentials();
  const bool mtls = !cfg.tls_client_ca_file.empty();
  grpc::SslServerCredentialsOptions options(
      mtls ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
           : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  std::string chain = certificate_file("tls_cert_file", cfg.tls_cert_file);
  options.pem_key_cert_pairs.push_back({key_file_for(chain, cfg), chain});
  if (mtls)
    options.pem_root_certs = certificate_file("tls_client_ca_file", cfg.tls_client_ca_file);
  return grpc::SslServerCredentials(options);
}

const char* transport_security(const settings::grpc_t& cfg) {
  if (cfg.tls_cert_file.empty())
    return "plaintext";
  return cfg.tls_client_ca_file.empty() ? "TLS" : "mTLS";
}

void apply_transport_limits(grpc::ServerBuilder& builder, const settings::grpc_t& cfg) {
  auto ms = [](std::chrono::milliseconds d) { return static_cast<int>(d.count()); };
  builder.SetMaxReceiveMessageSize(cfg.max_receive_message_size);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, cfg.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, ms(cfg.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ms(cfg.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
                             cfg.keepalive_permit_without_calls ? 1 : 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             ms(cfg.keepalive_min_ping_interval));
}

} // namespace lpa
