#pragma once

#include "config/settings.hpp"

#include <memory>

namespace grpc {
class ServerBuilder;
class ServerCredentials;
} // namespace grpc

namespace lpa {

// The gRPC listener's credentials: plaintext when grpc.tls_cert_file is empty; TLS with that
// certificate chain and grpc.tls_key_file otherwise; and with grpc.tls_client_ca_file, mTLS:
// a client must present a certificate signed by one of those CAs. Reads and checks the files
// now, so a bad one stops the start: throws config_error naming the key when a file cannot be
// read, holds no PEM certificate (or unencrypted private key), or the key does not belong to
// the certificate.
std::shared_ptr<grpc::ServerCredentials> server_credentials(const settings::grpc_t& cfg);

// "plaintext", "TLS" or "mTLS", for the start-up log.
const char* transport_security(const settings::grpc_t& cfg);

// Applies grpc.max_receive_message_size, max_concurrent_streams and the keepalive settings.
void apply_transport_limits(grpc::ServerBuilder& builder, const settings::grpc_t& cfg);

} // namespace lpa
