#include "grpc_gateway/status_mapping.hpp"

#include "actors/repo/protocol.hpp"
#include "google/rpc/error_details.pb.h"

namespace lpa {

namespace {

grpc::Status with_details(grpc::StatusCode code, const std::string& message,
                          const google::protobuf::Message& details) {
  google::rpc::Status status;
  status.set_code(code);
  status.set_message(message);
  status.add_details()->PackFrom(details);
  return {code, message, status.SerializeAsString()};
}

grpc::Status overloaded(std::chrono::milliseconds retry_after, const std::string& suffix) {
  google::rpc::RetryInfo info;
  info.mutable_retry_delay()->set_seconds(retry_after.count() / 1000);
  info.mutable_retry_delay()->set_nanos(static_cast<int32_t>(retry_after.count() % 1000) * 1000000);
  return with_details(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      "the server is overloaded, retry after " + std::to_string(retry_after.count())
                          + " ms" + suffix,
                      info);
}

} // namespace

grpc::Status to_status(const caf::error& err, const std::string& not_found_message,
                       const std::string& request_id, std::chrono::milliseconds retry_after) {
  auto suffix = " (request id " + request_id + ")";
  if (err == repo_errc::overloaded)
    return overloaded(retry_after, suffix);
  if (err == repo_errc::key_reused)
    return {grpc::StatusCode::FAILED_PRECONDITION,
            "the idempotency-key was already used with other fields" + suffix};
  if (err == repo_errc::not_found)
    return {grpc::StatusCode::NOT_FOUND, not_found_message};
  if (err == repo_errc::unavailable || err == caf::sec::request_receiver_down)
    return {grpc::StatusCode::UNAVAILABLE, "storage is unavailable, retry later" + suffix};
  if (err == caf::sec::request_timeout)
    return {grpc::StatusCode::DEADLINE_EXCEEDED, "deadline exceeded" + suffix};
  return {grpc::StatusCode::INTERNAL, "internal error" + suffix};
}

grpc::Status invalid_argument(const violations& bad) {
  google::rpc::BadRequest details;
  for (const auto& v : bad) {
    auto* fv = details.add_field_violations();
    fv->set_field(v.field);
    fv->set_description(v.description);
  }
  return with_details(grpc::StatusCode::INVALID_ARGUMENT, summarize(bad), details);
}

} // namespace lpa
