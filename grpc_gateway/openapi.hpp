#pragma once

#include "grpc_gateway/rest_routes.hpp"

#include <string>
#include <vector>

namespace lpa::rest {

// The OpenAPI 2.0 (Swagger) document of `routes`, laid out as protoc-gen-openapiv2 lays it out
// and built from the routes and the messages' descriptors, so it cannot drift from the proto:
// body or path and query parameters (nested fields as dotted names), a definition per message
// ("v1Package", ...), and rpcStatus as the error response.
std::string openapi_document(const std::vector<route>& routes);

// A small HTML page listing the routes, their parameters and a link to /swagger.json.
std::string routes_page(const std::vector<route>& routes);

} // namespace lpa::rest
