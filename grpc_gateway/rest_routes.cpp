#include "grpc_gateway/rest_routes.hpp"

#include <algorithm>

namespace lpa::rest {

namespace {

namespace v1 = hablof::logistic_package_api::v1;
using stub_type = v1::LogisticPackageApiService::Stub;

template <class Req, class Rep>
route unary(std::string verb, std::string path, std::string rpc, bool body_is_request,
            stub_type& stub,
            grpc::Status (stub_type::*method)(grpc::ClientContext*, const Req&, Rep*)) {
  return route{std::move(verb),
               std::move(path),
               std::move(rpc),
               body_is_request,
               &Req::default_instance(),
               &Rep::default_instance(),
               [&stub, method](grpc::ClientContext& ctx, const google::protobuf::Message& req,
                               google::protobuf::Message& rep) {
                 return (stub.*method)(&ctx, static_cast<const Req&>(req), static_cast<Rep*>(&rep));
               }};
}

std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 1; // past the leading '/'
  while (start <= path.size()) {
    auto end = std::min(path.find('/', start), path.size());
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool is_parameter(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

} // namespace

std::vector<route> package_routes(stub_type& stub) {
  return {
      unary("POST", "/v1/packages", "CreatePackageV1", true, stub, &stub_type::CreatePackageV1),
      unary("GET", "/v1/packages/{PackageID}", "DescribePackageV1", false, stub,
            &stub_type::DescribePackageV1),
      unary("GET", "/v1/packages", "ListPackagesV1", false, stub, &stub_type::ListPackagesV1),
      unary("DELETE", "/v1/packages/{PackageID}", "RemovePackageV1", false, stub,
            &stub_type::RemovePackageV1),
      unary("PUT", "/v1/packages/{PackageID}", "UpdatePackageV1", false, stub,
            &stub_type::UpdatePackageV1),
  };
}

std::optional<path_values> match_path(const std::string& path_template, const std::string& path) {
  if (path.empty() || path.front() != '/')
    return std::nullopt;
  auto expected = segments(path_template);
  auto actual = segments(path);
  if (expected.size() != actual.size())
    return std::nullopt;
  path_values values;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (is_parameter(expected[i]) && !actual[i].empty())
      values.emplace_back(expected[i].substr(1, expected[i].size() - 2), actual[i]);
    else if (expected[i] != actual[i])
      return std::nullopt;
  }
  return values;
}

std::vector<std::string> path_parameters(const std::string& path_template) {
  std::vector<std::string> names;
  for (const auto& segment : segments(path_template))
    if (is_parameter(segment))
      names.push_back(segment.substr(1, segment.size() - 2));
  return names;
}

} // namespace lpa::rest
