#pragma once

#include "grpc_gateway/status_names.hpp"

// What lpa-cli and lpa-bench share: channel credentials from the --tls-* options (and, through
// grpc_gateway/status_names.hpp, the status code names).

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <string_view>

namespace lpa::client {

// PEM files for a TLS channel; all empty: plaintext.
struct tls_files {
  std::string ca;   // --tls-ca: CAs that signed the server's certificate (empty: system roots)
  std::string cert; // --tls-cert: client certificate chain, for a server that requires one (mTLS)
  std::string key;  // --tls-key: its private key
};

// --tls-ca, --tls-cert or --tls-key.
bool is_tls_flag(std::string_view flag);

// Sets the file of a flag for which is_tls_flag holds.
void set_tls_file(tls_files& tls, std::string_view flag, std::string_view path);

// Plaintext when no file is given, TLS otherwise. Throws std::runtime_error when --tls-cert and
// --tls-key do not come together or a file cannot be read.
std::shared_ptr<grpc::ChannelCredentials> channel_credentials(const tls_files& tls);

} // namespace lpa::client
