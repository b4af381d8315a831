// The history API's validation, cursor and event mapping, without a server or a database.
#include "actors/history/api/history_api_mapping.hpp"

#include <catch2/catch.hpp>
#include <google/protobuf/util/time_util.h>

using namespace lpa::history_api;
using google::protobuf::util::TimeUtil;

namespace {

lpa::db::history_entry event(uint64_t package_id, uint64_t seq, uint64_t event_id) {
  lpa::db::history_entry row;
  row.package_id = package_id;
  row.seq = seq;
  row.event_id = event_id;
  row.type = "Updated";
  return row;
}

hv1::ListPackageEventsV1Request list_request(uint64_t id, int32_t limit,
                                             const std::string& cursor) {
  hv1::ListPackageEventsV1Request req;
  req.set_packageid(id);
  req.set_limit(limit);
  req.set_cursor(cursor);
  return req;
}

} // namespace

TEST_CASE("a cursor leads to the position after its event, in its package only") {
  const list_limits limits{100, 1000};
  auto cursor = next_cursor(event(42, 7, 9001));
  CHECK(cursor.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        == std::string::npos);
  lpa::db::history_page_query query;
  REQUIRE(validate(list_request(42, 10, cursor), limits, query).empty());
  CHECK(query.package_id == 42);
  CHECK(query.after_seq == 7);
  CHECK(query.after_event_id == 9001);
  CHECK(query.limit == 11); // one more, to know whether a next page exists

  auto other = validate(list_request(43, 10, cursor), limits, query);
  REQUIRE(other.size() == 1);
  CHECK(other[0].description == "belongs to package 42, not to PackageID 43");

  // The largest ids survive the round trip.
  auto max = next_cursor(event(UINT64_MAX, UINT64_MAX, UINT64_MAX));
  REQUIRE(validate(list_request(UINT64_MAX, 0, max), limits, query).empty());
  CHECK(query.after_seq == UINT64_MAX);
  CHECK(query.limit == 101);
}

TEST_CASE("what is not a cursor is rejected") {
  lpa::db::history_page_query query;
  for (std::string bad : {"%%%", "MTox", /* "1:1" */ "MTowOjE" /* "1:0:1" */, "YTpiOmM" /* a:b:c */,
                          "MToxOjE6MQ" /* 1:1:1:1 */, "OTk5OTk5OTk5OTk5OTk5OTk5OTk6MToy"}) {
    INFO(bad);
    auto v = validate(list_request(1, 0, bad), {}, query);
    REQUIRE(v.size() == 1);
    CHECK(v[0].field == "Cursor");
  }
}

TEST_CASE("GetPackageAtV1 needs a valid Time, rounded down to the microsecond") {
  hv1::GetPackageAtV1Request req;
  req.set_packageid(1);
  CHECK(validate(req).at(0).field == "Time");
  req.mutable_time()->set_nanos(-1);
  CHECK(validate(req).at(0).field == "Time");
  REQUIRE(TimeUtil::FromString("1969-12-31T23:59:59.9999999Z", req.mutable_time()));
  CHECK(validate(req).empty());
  CHECK(to_unix_us(req.time()) == -1);
  CHECK(format_unix_us(-1) == "1969-12-31T23:59:59.999999Z");
}

TEST_CASE("an event shows its payload decoded, or only as JSON when it does not decode") {
  auto row = event(3, 2, 5);
  row.created_us = 1767261600123456; // 2026-01-01T10:00:00.123456Z
  row.payload = R"({"ID": 3, "Title": "box", "Material": "tin", "MaximumVolume": 1.5,)"
                R"( "Reusable": false, "Created": "2026-01-01T09:00:00+00:00",)"
                R"( "Updated": "2026-01-01T10:00:00.123456+00:00"})";
  row.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  hv1::PackageEvent out;
  to_proto(row, &out);
  CHECK(out.type() == hablof::proto::v1::Updated);
  CHECK(TimeUtil::ToString(out.created()) == "2026-01-01T10:00:00.123456Z");
  CHECK(out.value().title() == "box");
  CHECK(TimeUtil::ToString(out.value().updated().time()) == "2026-01-01T10:00:00.123456Z");
  CHECK(out.traceid() == "0af7651916cd43dd8448eb211c80319c");

  for (std::string bad : {"not json", R"({"ID": "3"})", R"({"ID": 3, "Title": "box"})"}) {
    row.payload = bad;
    row.traceparent = "garbage";
    hv1::PackageEvent shown;
    to_proto(row, &shown);
    CHECK_FALSE(shown.has_value());
    CHECK(shown.payloadjson() == bad);
    CHECK(shown.traceid().empty());
  }
}
