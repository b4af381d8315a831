#pragma once

#include "grpc_gateway/validation.hpp"

#include <caf/error.hpp>
#include <grpcpp/support/status.h>

#include <chrono>
#include <string>

namespace lpa {

// The one place where failures become gRPC statuses. Messages say what the client can do and
// carry the request id; they never carry SQL or driver text.
//   repo not_found         -> NOT_FOUND (not_found_message)
//   repo unavailable,
//   RepoActor gone         -> UNAVAILABLE
//   request timeout        -> DEADLINE_EXCEEDED
//   repo key_reused        -> FAILED_PRECONDITION
//   repo overloaded        -> RESOURCE_EXHAUSTED, with a google.rpc.RetryInfo of `retry_after`
//                             in the binary error details
//   anything else          -> INTERNAL
grpc::Status to_status(const caf::error& err, const std::string& not_found_message,
                       const std::string& request_id, std::chrono::milliseconds retry_after);

// INVALID_ARGUMENT naming every offending field in the message, with a google.rpc.BadRequest
// in the binary error details (trailer grpc-status-details-bin).
grpc::Status invalid_argument(const violations& bad);

} // namespace lpa
