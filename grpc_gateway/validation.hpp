#pragma once

// Request validation for the LogisticPackageApiService gRPC handlers.
//
// Every rule is checked and every offending field is reported at once, so a client can fix a
// request in one round trip. Field names are the proto field names (PascalCase), ready for a
// google.rpc.BadRequest.FieldViolation. Descriptions state the rule and, when it is a number or a
// length, the received value; they never echo a received string (it may be huge or binary).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "logistic_package_api.pb.h"

namespace lpa {

struct field_violation {
  std::string field;
  std::string description;
};
using violations = std::vector<field_violation>;

namespace v1 = hablof::logistic_package_api::v1;

// ListPackagesV1Request.Limit: 0 selects default_page_size; more than max_page_size is rejected.
inline constexpr uint64_t default_page_size = 100, max_page_size = 1000;
// Title and Material: at most this many Unicode code points.
inline constexpr size_t max_text_chars = 32;

// Title, Material: valid UTF-8, no NUL, 1..32 code points. MaximumVolume: finite and > 0.
violations validate(const v1::CreatePackageV1Request&);
// PackageID > 0.
violations validate(const v1::DescribePackageV1Request&);
// Limit <= 1000 (0 = default page); Offset and Cursor not both non-zero.
violations validate(const v1::ListPackagesV1Request&);
// PackageID > 0.
violations validate(const v1::RemovePackageV1Request&);
// PackageID > 0. Title, Material: "" = unchanged, else valid UTF-8, no NUL, <= 32 code points.
// MaximumVolume: 0 = unchanged, else finite and > 0. Reusable: present = change.
// A request that changes nothing gets a violation on field "(request)", reported only when
// there is no other violation.
violations validate(const v1::UpdatePackageV1Request&);

// CreatePackageV1's `idempotency-key` metadata, when sent: 1..128 printable ASCII characters
// (no spaces), e.g. a UUID. Reported under the field name "idempotency-key".
inline constexpr size_t max_idempotency_key_length = 128;
violations validate_idempotency_key(std::string_view key);

// One line for a gRPC INVALID_ARGUMENT message, e.g.
// "invalid request: Title: must be 1 to 32 characters, got 33; MaximumVolume: must be a finite
// number greater than 0, got nan". An empty list gives "invalid request".
std::string summarize(const violations&);

// Counts Unicode code points of valid UTF-8; std::nullopt when the bytes are not valid UTF-8
// (overlong forms, surrogates U+D800..U+DFFF, code points > U+10FFFF, truncated sequences and
// stray continuation bytes are all rejected).
std::optional<size_t> utf8_length(std::string_view);

} // namespace lpa
