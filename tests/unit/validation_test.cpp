#include "grpc_gateway/validation.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>
#include <string>

using namespace std::string_literals;

namespace {

namespace v1 = lpa::v1;

std::string repeat(std::string_view piece, size_t times) {
  std::string out;
  for (size_t i = 0; i < times; ++i) {
    out += piece;
  }
  return out;
}

const lpa::field_violation* find(const lpa::violations& list, const std::string& field) {
  auto it = std::find_if(list.begin(), list.end(),
                         [&](const lpa::field_violation& v) { return v.field == field; });
  return it == list.end() ? nullptr : &*it;
}

bool has(const lpa::violations& list, const std::string& field, const std::string& description) {
  return std::any_of(list.begin(), list.end(), [&](const lpa::field_violation& v) {
    return v.field == field && v.description == description;
  });
}

// Every reported field (except the whole-request one) must be a real field of the message.
template <class Request>
void require_proto_field_names(const lpa::violations& list) {
  for (const auto& v : list) {
    if (v.field != "(request)") {
      INFO("field " << v.field);
      REQUIRE(Request::descriptor()->FindFieldByName(v.field) != nullptr);
    }
  }
}

v1::CreatePackageV1Request good_create() {
  v1::CreatePackageV1Request req;
  req.set_title("Box");
  req.set_material("Cardboard");
  req.set_maximumvolume(1500.5f);
  req.set_reusable(true);
  return req;
}

const float nan_f = std::numeric_limits<float>::quiet_NaN();
const float inf_f = std::numeric_limits<float>::infinity();

} // namespace

TEST_CASE("utf8_length counts code points of valid UTF-8") {
  CHECK(lpa::utf8_length("") == 0u);
  CHECK(lpa::utf8_length("abc") == 3u);
  CHECK(lpa::utf8_length("ё") == 1u);                // 2 bytes
  CHECK(lpa::utf8_length("€") == 1u);                // 3 bytes
  CHECK(lpa::utf8_length("\xF0\x9F\x93\xA6") == 1u); // U+1F4E6, 4 bytes
  CHECK(lpa::utf8_length("\xF4\x8F\xBF\xBF") == 1u); // U+10FFFF, the last code point
  CHECK(lpa::utf8_length("\xEE\x80\x80") == 1u);     // U+E000, just after the surrogates
  CHECK(lpa::utf8_length("\xED\x9F\xBF") == 1u);     // U+D7FF, just before the surrogates
  CHECK(lpa::utf8_length("a\0b"s) == 3u);            // NUL is valid UTF-8
  CHECK(lpa::utf8_length("ёж€\xF0\x9F\x93\xA6x") == 5u);
}

TEST_CASE("utf8_length rejects malformed UTF-8") {
  CHECK_FALSE(lpa::utf8_length("\x80"));             // lone continuation byte
  CHECK_FALSE(lpa::utf8_length("a\xBFz"));           // stray continuation byte mid-string
  CHECK_FALSE(lpa::utf8_length("\xC0\xAF"));         // overlong '/'
  CHECK_FALSE(lpa::utf8_length("\xC1\xBF"));         // overlong 2-byte
  CHECK_FALSE(lpa::utf8_length("\xE0\x80\xAF"));     // overlong 3-byte
  CHECK_FALSE(lpa::utf8_length("\xF0\x80\x80\xAF")); // overlong 4-byte
  CHECK_FALSE(lpa::utf8_length("\xED\xA0\x80"));     // U+D800 surrogate
  CHECK_FALSE(lpa::utf8_length("\xED\xBF\xBF"));     // U+DFFF surrogate
  CHECK_FALSE(lpa::utf8_length("\xF4\x90\x80\x80")); // U+110000
  CHECK_FALSE(lpa::utf8_length("\xF5\x80\x80\x80")); // lead byte beyond U+10FFFF
  CHECK_FALSE(lpa::utf8_length("\xFF"));
  CHECK_FALSE(lpa::utf8_length("\xE2\x82"));     // truncated at end
  CHECK_FALSE(lpa::utf8_length("\xE2\x82x"));    // truncated before ASCII
  CHECK_FALSE(lpa::utf8_length("\xF0\x9F\x93")); // truncated 4-byte
  // A view that ends mid-sequence inside a longer buffer: must not read past the view.
  const std::string euro = "\xE2\x82\xAC";
  CHECK(lpa::utf8_length(euro) == 1u);
  CHECK_FALSE(lpa::utf8_length(std::string_view(euro.data(), 2)));
  CHECK_FALSE(lpa::utf8_length(std::string_view(euro.data(), 1)));
}

TEST_CASE("Create: a good request passes") {
  auto req = good_create();
  CHECK(lpa::validate(req).empty());
  req.set_reusable(false); // Reusable has no rule
  CHECK(lpa::validate(req).empty());
}

TEST_CASE("Create: Title and Material length in code points") {
  const std::string emoji = "\xF0\x9F\x93\xA6";
  auto req = good_create();

  SECTION("32 two-byte characters pass, 33 fail") {
    req.set_title(repeat("ё", 32));
    req.set_material(repeat("ё", 32));
    CHECK(lpa::validate(req).empty());
    req.set_title(repeat("ё", 33));
    auto result = lpa::validate(req);
    REQUIRE(result.size() == 1);
    CHECK(result[0].field == "Title");
    CHECK(result[0].description == "must be 1 to 32 characters, got 33");
  }
  SECTION("32 four-byte emoji pass (128 bytes), 33 fail") {
    req.set_material(repeat(emoji, 32));
    CHECK(lpa::validate(req).empty());
    req.set_material(repeat(emoji, 33));
    auto result = lpa::validate(req);
    REQUIRE(result.size() == 1);
    CHECK(has(result, "Material", "must be 1 to 32 characters, got 33"));
  }
  SECTION("ASCII boundary") {
    req.set_title(std::string(1, 'x'));
    req.set_material(std::string(32, 'x'));
    CHECK(lpa::validate(req).empty());
    req.set_material(std::string(33, 'x'));
    CHECK(has(lpa::validate(req), "Material", "must be 1 to 32 characters, got 33"));
  }
  SECTION("empty is rejected") {
    req.set_title("");
    req.set_material("");
    auto result = lpa::validate(req);
    REQUIRE(result.size() == 2);
    CHECK(has(result, "Title", "must be 1 to 32 characters, got 0"));
    CHECK(has(result, "Material", "must be 1 to 32 characters, got 0"));
  }
}

TEST_CASE("Create: invalid UTF-8 is rejected without echoing the bytes") {
  auto bad = GENERATE(as<std::string>{}, "\x80", "ok\x80", "\xC0\xAF", "\xED\xA0\x80", "\xE2\x82",
                      "\xF4\x90\x80\x80");
  auto req = good_create();
  req.set_title(bad);
  auto result = lpa::validate(req);
  REQUIRE(result.size() == 1);
  CHECK(result[0].field == "Title");
  CHECK(result[0].description == "must be valid UTF-8");

  req = good_create();
  req.set_material(bad);
  result = lpa::validate(req);
  REQUIRE(result.size() == 1);
  CHECK(has(result, "Material", "must be valid UTF-8"));
}

TEST_CASE("Create: NUL characters are rejected") {
  auto req = good_create();
  req.set_title("Bo\0x"s);
  auto result = lpa::validate(req);
  REQUIRE(result.size() == 1);
  CHECK(has(result, "Title", "must not contain NUL characters"));

  req = good_create();
  req.set_material("\0"s);
  result = lpa::validate(req);
  REQUIRE(result.size() == 1);
  CHECK(has(result, "Material", "must not contain NUL characters"));
}

TEST_CASE("Create: NUL and a bad length are both reported for one field") {
  auto req = good_create();
  req.set_title(std::string(40, '\0'));
  auto result = lpa::validate(req);
  REQUIRE(result.size() == 2);
  CHECK(has(result, "Title", "must not contain NUL characters"));
  CHECK(has(result, "Title", "must be 1 to 32 characters, got 40"));
}

TEST_CASE("Create: MaximumVolume must be finite and greater than 0") {
  auto req = good_create();
  req.set_maximumvolume(std::numeric_limits<float>::denorm_min());
  CHECK(lpa::validate(req).empty());
  req.set_maximumvolume(std::numeric_limits<float>::max());
  CHECK(lpa::validate(req).empty());

  auto check_rejected = [&](float value, const std::string& shown) {
    INFO("value " << shown);
    req.set_maximumvolume(value);
    auto result = lpa::validate(req);
    REQUIRE(result.size() == 1);
    CHECK(result[0].field == "MaximumVolume");
    CHECK(result[0].description == "must be a finite number greater than 0, got " + shown);
  };
  check_rejected(0.0f, "0");
  check_rejected(-0.0f, "-0");
  check_rejected(-1.5f, "-1.5");
  check_rejected(nan_f, "nan");
  check_rejected(inf_f, "inf");
  check_rejected(-inf_f, "-inf");
}

TEST_CASE("Create: all offending fields are reported at once") {
  v1::CreatePackageV1Request req;
  req.set_title(repeat("ё", 33));
  req.set_material("\xC0\xAF");
  req.set_maximumvolume(nan_f);
  auto result = lpa::validate(req);
  require_proto_field_names<v1::CreatePackageV1Request>(result);
  REQUIRE(result.size() == 3);
  CHECK(has(result, "Title", "must be 1 to 32 characters, got 33"));
  CHECK(has(result, "Material", "must be valid UTF-8"));
  CHECK(has(result, "MaximumVolume", "must be a finite number greater than 0, got nan"));
}

TEST_CASE("Describe and Remove: PackageID must be greater than 0") {
  v1::DescribePackageV1Request describe;
  auto result = lpa::validate(describe);
  REQUIRE(result.size() == 1);
  CHECK(result[0].field == "PackageID");
  CHECK(result[0].description == "must be greater than 0, got 0");
  require_proto_field_names<v1::DescribePackageV1Request>(result);
  describe.set_packageid(1);
  CHECK(lpa::validate(describe).empty());
  describe.set_packageid(std::numeric_limits<uint64_t>::max());
  CHECK(lpa::validate(describe).empty());

  v1::RemovePackageV1Request remove;
  result = lpa::validate(remove);
  REQUIRE(result.size() == 1);
  CHECK(has(result, "PackageID", "must be greater than 0, got 0"));
  require_proto_field_names<v1::RemovePackageV1Request>(result);
  remove.set_packageid(42);
  CHECK(lpa::validate(remove).empty());
}

TEST_CASE("List: Limit 0 is the default page, at most 1000") {
  v1::ListPackagesV1Request req;
  CHECK(lpa::validate(req).empty()); // Limit 0 = default page
  req.set_limit(1);
  CHECK(lpa::validate(req).empty());
  req.set_limit(lpa::max_page_size);
  CHECK(lpa::validate(req).empty());
  req.set_limit(1001);
  auto result = lpa::validate(req);
  REQUIRE(result.size() == 1);
  CHECK(result[0].field == "Limit");
  CHECK(result[0].description == "must be at most 1000, got 1001");
  require_proto_field_names<v1::ListPackagesV1Request>(result);
  req.set_limit(std::numeric_limits<uint64_t>::max());
  CHECK(has(lpa::validate(req), "Limit", "must be at most 1000, got 18446744073709551615"));
}

TEST_CASE("List: Offset and Cursor cannot be combined") {
  v1::ListPackagesV1Request req;
  req.set_offset(10);
  CHECK(lpa::validate(req).empty());
  req.set_offset(0);
  req.set_cursor(10);
  CHECK(lpa::validate(req).empty());
  req.set_offset(5);
  auto result = lpa::validate(req);
  REQUIRE(result.size() == 1);
  CHECK(result[0].field == "Cursor");
  CHECK(result[0].description == "cannot be combined with Offset");

  req.set_limit(5000); // both reported at once
  result = lpa::validate(req);
  REQUIRE(result.size() == 2);
  CHECK(has(result, "Limit", "must be at most 1000, got 5000"));
  CHECK(has(result, "Cursor", "cannot be combined with Offset"));
  require_proto_field_names<v1::ListPackagesV1Request>(result);
}

TEST_CASE("Update: each single change is accepted") {
  v1::UpdatePackageV1Request req;
  req.set_packageid(7);
  SECTION("Title") {
    req.set_title(repeat("ё", 32));
    CHECK(lpa::validate(req).empty());
  }
  SECTION("Material") {
    req.set_material(repeat("\xF0\x9F\x93\xA6", 32));
    CHECK(lpa::validate(req).empty());
  }
  SECTION("MaximumVolume") {
    req.set_maximumvolume(0.25f);
    CHECK(lpa::validate(req).empty());
  }
  SECTION("Reusable set to false still counts as a change") {
    req.mutable_reusable()->set_reusable(false);
    CHECK(lpa::validate(req).empty());
  }
}

TEST_CASE("Update: PackageID must be greater than 0") {
  v1::UpdatePackageV1Request req;
  req.set_title("Box");
  auto result = lpa::validate(req);
  REQUIRE(result.size() == 1);
  CHECK(has(result, "PackageID", "must be greater than 0, got 0"));
}

TEST_CASE("Update: Title and Material rules when set") {
  v1::UpdatePackageV1Request req;
  req.set_packageid(1);
  req.set_title(repeat("ё", 33));
  req.set_material("a\0b"s);
  auto result = lpa::validate(req);
  REQUIRE(result.size() == 2);
  CHECK(has(result, "Title", "must be at most 32 characters, got 33"));
  CHECK(has(result, "Material", "must not contain NUL characters"));

  for (std::string bad : {"\x80"s, "\xC0\xAF"s, "\xED\xA0\x80"s, "\xE2\x82"s}) {
    req.set_title(bad);
    req.set_material(bad);
    result = lpa::validate(req);
    REQUIRE(result.size() == 2);
    CHECK(has(result, "Title", "must be valid UTF-8"));
    CHECK(has(result, "Material", "must be valid UTF-8"));
  }
}

TEST_CASE("Update: MaximumVolume 0 is unchanged, otherwise finite and greater than 0") {
  v1::UpdatePackageV1Request req;
  req.set_packageid(1);
  req.set_title("Box");
  req.set_maximumvolume(0.0f);
  CHECK(lpa::validate(req).empty());
  req.set_maximumvolume(-0.0f);
  CHECK(lpa::validate(req).empty());

  auto check_rejected = [&](float value, const std::string& shown) {
    INFO("value " << shown);
    req.set_maximumvolume(value);
    auto result = lpa::validate(req);
    REQUIRE(result.size() == 1);
    CHECK(result[0].field == "MaximumVolume");
    CHECK(result[0].description
          == "must be 0 (unchanged) or a finite number greater than 0, got " + shown);
  };
  check_rejected(-2.0f, "-2");
  check_rejected(nan_f, "nan");
  check_rejected(inf_f, "inf");
  check_rejected(-inf_f, "-inf");
}

TEST_CASE("Update: a request that changes nothing is rejected") {
  v1::UpdatePackageV1Request req;
  req.set_packageid(3);
  auto result = lpa::validate(req);
  REQUIRE(result.size() == 1);
  CHECK(result[0].field == "(request)");
  CHECK(result[0].description
        == "changes nothing: set at least one of Title, Material, MaximumVolume, Reusable");

  SECTION("only reported when there is no other violation") {
    req.set_packageid(0);
    result = lpa::validate(req);
    REQUIRE(result.size() == 1);
    CHECK(result[0].field == "PackageID");
  }
}

TEST_CASE("Update: all offending fields are reported at once") {
  v1::UpdatePackageV1Request req;
  req.set_title("\xED\xA0\x80");
  req.set_material(std::string(33, 'm'));
  req.set_maximumvolume(-inf_f);
  auto result = lpa::validate(req);
  require_proto_field_names<v1::UpdatePackageV1Request>(result);
  REQUIRE(result.size() == 4);
  CHECK(has(result, "PackageID", "must be greater than 0, got 0"));
  CHECK(has(result, "Title", "must be valid UTF-8"));
  CHECK(has(result, "Material", "must be at most 32 characters, got 33"));
  CHECK(find(result, "MaximumVolume") != nullptr);
  CHECK(find(result, "(request)") == nullptr);
}

TEST_CASE("summarize joins violations into one line") {
  lpa::violations list{
      {"Title", "must be 1 to 32 characters, got 33"},
      {"MaximumVolume", "must be a finite number greater than 0, got nan"},
  };
  CHECK(lpa::summarize(list)
        == "invalid request: Title: must be 1 to 32 characters, got 33; MaximumVolume: must be a "
           "finite number greater than 0, got nan");
  CHECK(lpa::summarize({{"PackageID", "must be greater than 0, got 0"}})
        == "invalid request: PackageID: must be greater than 0, got 0");
  CHECK(lpa::summarize({}) == "invalid request");
  CHECK(lpa::summarize({{"", "something"}}) == "invalid request: something");
}

TEST_CASE("summarize of a real Create request matches the documented example") {
  auto req = good_create();
  req.set_title(std::string(33, 't'));
  req.set_maximumvolume(nan_f);
  auto text = lpa::summarize(lpa::validate(req));
  CHECK(text
        == "invalid request: Title: must be 1 to 32 characters, got 33; MaximumVolume: must be a "
           "finite number greater than 0, got nan");
  CHECK(text.find('\n') == std::string::npos);
}

TEST_CASE("descriptions never echo the received string") {
  const std::string marker = "SECRET-MARKER-" + std::string(100, 'z');
  v1::CreatePackageV1Request create;
  create.set_title(marker);
  create.set_material(marker + "\x80");
  auto violations = lpa::validate(create);
  REQUIRE(violations.size() == 3); // Title too long, Material too long, MaximumVolume unset
  for (const auto& v : violations) {
    CHECK(v.description.find("SECRET") == std::string::npos);
  }
}
