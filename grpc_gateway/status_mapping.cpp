#include "grpc_gateway/status_mapping.hpp"

#include "actors/repo/protocol.hpp"
#include "google/rpc/error_details.pb.h"

namespace lpa {

grpc::Status to_status(const caf::error& err, const std::string& not_found_message,
                       const std::string& request_id) {
  auto suffix = " (request id " + request_id + ")";
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
  google::rpc::Status status;
  status.set_code(grpc::StatusCode::INVALID_ARGUMENT);
  status.set_message(summarize(bad));
  status.add_details()->PackFrom(details);
  return {grpc::StatusCode::INVALID_ARGUMENT, status.message(), status.SerializeAsString()};
}

} // namespace lpa
