#pragma once

// What a gRPC service reads from a call's metadata, shared by the API's services.

#include <grpcpp/grpcpp.h>

#include <string>

namespace lpa {

// The value of metadata `key` (lower case); "" when the client sent none.
std::string metadata_value(const grpc::CallbackServerContext* ctx, const char* key);

// The call's request id: the client's `x-request-id` when it is 1..64 characters of
// [A-Za-z0-9._-], else a new one. Logs and error messages carry it.
std::string request_id_of(const grpc::CallbackServerContext* ctx);

// True when the client sent `log_level: debug` (any case): the call's work is logged at debug
// level, if the server allows it per request.
bool asks_for_debug_log(const grpc::CallbackServerContext* ctx);

} // namespace lpa
