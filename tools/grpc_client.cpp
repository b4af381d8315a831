#include "tools/grpc_client.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace lpa::client {

namespace {

std::string read_file(const std::string& flag, const std::string& path) {
  if (path.empty())
    return "";
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read " + flag + " '" + path
                             + "': " + (errno ? std::strerror(errno) : "open failed"));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace

bool is_tls_flag(std::string_view flag) {
  return flag == "--tls-ca" || flag == "--tls-cert" || flag == "--tls-key";
}

void set_tls_file(tls_files& tls, std::string_view flag, std::string_view path) {
  std::string& file = flag == "--tls-ca" ? tls.ca : flag == "--tls-cert" ? tls.cert : tls.key;
  file = path;
}

std::shared_ptr<grpc::ChannelCredentials> channel_credentials(const tls_files& tls) {
  if (tls.ca.empty() && tls.cert.empty() && tls.key.empty())
    return grpc::InsecureChannelCredentials();
  if (tls.cert.empty() != tls.key.empty())
    throw std::runtime_error("--tls-cert and --tls-key go together");
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = read_file("--tls-ca", tls.ca);
  options.pem_cert_chain = read_file("--tls-cert", tls.cert);
  options.pem_private_key = read_file("--tls-key", tls.key);
  return grpc::SslCredentials(options);
}

} // namespace lpa::client
