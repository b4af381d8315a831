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

std::string status_code_name(grpc::StatusCode code) {
  switch (code) {
  case grpc::StatusCode::OK:
    return "OK";
  case grpc::StatusCode::CANCELLED:
    return "CANCELLED";
  case grpc::StatusCode::UNKNOWN:
    return "UNKNOWN";
  case grpc::StatusCode::INVALID_ARGUMENT:
    return "INVALID_ARGUMENT";
  case grpc::StatusCode::DEADLINE_EXCEEDED:
    return "DEADLINE_EXCEEDED";
  case grpc::StatusCode::NOT_FOUND:
    return "NOT_FOUND";
  case grpc::StatusCode::ALREADY_EXISTS:
    return "ALREADY_EXISTS";
  case grpc::StatusCode::PERMISSION_DENIED:
    return "PERMISSION_DENIED";
  case grpc::StatusCode::RESOURCE_EXHAUSTED:
    return "RESOURCE_EXHAUSTED";
  case grpc::StatusCode::FAILED_PRECONDITION:
    return "FAILED_PRECONDITION";
  case grpc::StatusCode::ABORTED:
    return "ABORTED";
  case grpc::StatusCode::OUT_OF_RANGE:
    return "OUT_OF_RANGE";
  case grpc::StatusCode::UNIMPLEMENTED:
    return "UNIMPLEMENTED";
  case grpc::StatusCode::INTERNAL:
    return "INTERNAL";
  case grpc::StatusCode::UNAVAILABLE:
    return "UNAVAILABLE";
  case grpc::StatusCode::DATA_LOSS:
    return "DATA_LOSS";
  case grpc::StatusCode::UNAUTHENTICATED:
    return "UNAUTHENTICATED";
  default:
    return "CODE_" + std::to_string(static_cast<int>(code));
  }
}

} // namespace lpa::client
