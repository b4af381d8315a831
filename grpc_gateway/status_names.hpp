#pragma once

#include <grpcpp/support/status.h>

#include <string>

namespace lpa {

// A gRPC status code's canonical name ("OK", "DEADLINE_EXCEEDED", ...), as in metrics labels,
// logs and the clients' output; "CODE_<n>" for a number gRPC does not define.
std::string status_code_name(grpc::StatusCode code);

} // namespace lpa
