// The history API over real gRPC against a real history database (package_history, built by
// db/history_migrations): events inserted as package-history's ingest records them, read back
// through PackageHistoryService and through lpa-cli.
#include "actors/history/api/history_api_server.hpp"
#include "config/logging.hpp"
#include "db/migrator.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/test_postgres.hpp"

#include "google/rpc/error_details.pb.h"
#include "package_history.grpc.pb.h"

#include <catch2/catch.hpp>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <pqxx/pqxx>
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <numeric>

using namespace lpa::test;
using namespace std::chrono_literals;
namespace hv1 = hablof::logistic_package_api::history::v1;
using google::protobuf::util::TimeUtil;
using Stub = hv1::PackageHistoryService::Stub;

namespace {

const std::string trace_of_update = "4bf92f3577b34da6a3ce929d0e0e4736";

// The outbox's payload of a package (jsonb_build_object of the package row).
std::string payload(uint64_t id, const std::string& title, const std::string& updated = "") {
  return R"({"ID": )" + std::to_string(id) + R"(, "Title": ")" + title
         + R"(", "Material": "wood", "MaximumVolume": 2.5, "Reusable": true,)"
         + R"( "Created": "2026-01-01T10:00:00.123456+00:00", "Updated": )"
         + (updated.empty() ? "null" : "\"" + updated + "\"") + "}";
}

// Catch runs a test case once per SECTION, in one process and cluster: a database each time.
std::string new_database_name() {
  static int databases = 0;
  return "package_history_" + std::to_string(++databases);
}

struct history_fixture {
  explicit history_fixture(const std::function<void(lpa::settings::history_api_t&)>& adjust = {})
      : pg(shared_postgres()), dsn(pg.dsn_of_new_database(new_database_name())) {
    lpa::log::setup("lpa-test", "warn");
    {
      pqxx::connection conn{dsn};
      lpa::db::migrate(conn, lpa::db::history_migrations());
    }
    lpa::history_api::register_protocol(caf_cfg);
    sys = std::make_unique<caf::actor_system>(caf_cfg);
    lpa::history_api::server_config cfg;
    cfg.api.host = "127.0.0.1";
    cfg.api.port = 0;
    cfg.api.list_default_limit = 4;
    cfg.api.list_max_limit = 50;
    cfg.transport.shutdown_grace = 2s;
    cfg.store.dsn = dsn;
    if (adjust)
      adjust(cfg.api);
    server = std::make_unique<lpa::history_api::server>(
        *sys, cfg, std::make_shared<lpa::actor_probes>(registry));
    stub = hv1::PackageHistoryService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server->port()), grpc::InsecureChannelCredentials()));
  }

  ~history_fixture() { server->shutdown(); }

  // Records an event as the ingest does.
  void add(uint64_t package_id, uint64_t event_id, uint64_t seq, const std::string& type,
           const std::string& created_at, const std::string& json = "",
           const std::string& traceparent = "") {
    pqxx::connection conn{dsn};
    pqxx::work tx{conn};
    tx.exec_params0("INSERT INTO history_event (package_id, event_id, package_seq, event_type,"
                    " created_at, payload, traceparent, kafka_partition, kafka_offset)"
                    " VALUES ($1, $2, $3, $4, $5, NULLIF($6, '')::jsonb, NULLIF($7, ''), 0, $2)",
                    package_id, event_id, seq, type, created_at, json, traceparent);
    tx.commit();
  }

  // A package's history: Created, two Updates, Removed (seq 1..4, event ids 10 + seq), recorded
  // out of order, as a reordering broker may deliver them.
  void add_lifecycle(uint64_t id) {
    add(id, 13, 3, "Updated", "2026-01-01T12:00:00Z",
        payload(id, "crate", "2026-01-01T12:00:00+00:00"),
        "00-" + trace_of_update + "-00f067aa0ba902b7-01");
    add(id, 11, 1, "Created", "2026-01-01T10:00:00.123456Z", payload(id, "box"));
    add(id, 14, 4, "Removed", "2026-01-01T13:00:00Z");
    add(id, 12, 2, "Updated", "2026-01-01T11:00:00Z",
        payload(id, "bin", "2026-01-01T11:00:00+00:00"));
  }

  grpc::Status list(uint64_t id, int32_t limit, const std::string& cursor,
                    hv1::ListPackageEventsV1Response& rep) {
    hv1::ListPackageEventsV1Request req;
    req.set_packageid(id);
    req.set_limit(limit);
    req.set_cursor(cursor);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    return stub->ListPackageEventsV1(&ctx, req, &rep);
  }

  grpc::Status at(uint64_t id, const std::string& time, hv1::GetPackageAtV1Response& rep) {
    hv1::GetPackageAtV1Request req;
    req.set_packageid(id);
    if (!time.empty())
      REQUIRE(TimeUtil::FromString(time, req.mutable_time()));
    return at(req, rep);
  }

  grpc::Status at(const hv1::GetPackageAtV1Request& req, hv1::GetPackageAtV1Response& rep) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    return stub->GetPackageAtV1(&ctx, req, &rep);
  }

  test_postgres& pg;
  std::string dsn;
  prometheus::Registry registry;
  caf::actor_system_config caf_cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<lpa::history_api::server> server;
  std::unique_ptr<Stub> stub;
};

std::vector<uint64_t> seqs(const hv1::ListPackageEventsV1Response& rep) {
  std::vector<uint64_t> out;
  for (const auto& e : rep.events())
    out.push_back(e.seq());
  return out;
}

// The fields a google.rpc.BadRequest in the status details names.
std::vector<std::string> bad_fields(const grpc::Status& status) {
  google::rpc::Status details;
  REQUIRE(details.ParseFromString(status.error_details()));
  std::vector<std::string> fields;
  for (const auto& any : details.details()) {
    google::rpc::BadRequest bad;
    if (any.UnpackTo(&bad))
      for (const auto& v : bad.field_violations())
        fields.push_back(v.field());
  }
  return fields;
}

using fields = std::vector<std::string>;

} // namespace

TEST_CASE("ListPackageEventsV1 returns a package's events in order with type, time, payload and "
          "trace id",
          "[history]") {
  history_fixture f;
  f.add_lifecycle(7);
  f.add_lifecycle(8); // another package's events stay out
  hv1::ListPackageEventsV1Response rep;
  auto status = f.list(7, 10, "", rep);
  INFO(status.error_message());
  REQUIRE(status.ok());
  CHECK(seqs(rep) == std::vector<uint64_t>{1, 2, 3, 4});
  CHECK(rep.nextcursor().empty());

  const auto& created = rep.events(0);
  CHECK(created.id() == 11);
  CHECK(created.packageid() == 7);
  CHECK(created.type() == hablof::proto::v1::Created);
  CHECK(TimeUtil::ToString(created.created()) == "2026-01-01T10:00:00.123456Z");
  CHECK(created.value().id() == 7);
  CHECK(created.value().title() == "box");
  CHECK(created.value().material() == "wood");
  CHECK(created.value().maximumvolume() == 2.5f);
  CHECK(created.value().reusable());
  CHECK(TimeUtil::ToString(created.value().created()) == "2026-01-01T10:00:00.123456Z");
  CHECK_FALSE(created.value().has_updated());
  CHECK(created.payloadjson().find("\"Title\": \"box\"") != std::string::npos);
  CHECK(created.traceid().empty());

  const auto& updated = rep.events(2);
  CHECK(updated.type() == hablof::proto::v1::Updated);
  CHECK(updated.value().title() == "crate");
  CHECK(TimeUtil::ToString(updated.value().updated().time()) == "2026-01-01T12:00:00Z");
  CHECK(updated.traceid() == trace_of_update);

  const auto& removed = rep.events(3);
  CHECK(removed.type() == hablof::proto::v1::Removed);
  CHECK_FALSE(removed.has_value());
  CHECK(removed.payloadjson().empty());
}

TEST_CASE("ListPackageEventsV1 pages with an opaque cursor until NextCursor is empty",
          "[history]") {
  history_fixture f;
  for (uint64_t seq = 1; seq <= 23; ++seq) // event ids out of seq order: the order is by seq
    f.add(5, 1000 - seq, seq, seq == 1 ? "Created" : "Updated", "2026-01-01T10:00:00Z",
          payload(5, "v" + std::to_string(seq)));

  std::vector<uint64_t> all;
  std::vector<size_t> page_sizes;
  std::string cursor;
  do {
    hv1::ListPackageEventsV1Response rep;
    auto status = f.list(5, 10, cursor, rep);
    INFO(status.error_message());
    REQUIRE(status.ok());
    page_sizes.push_back(static_cast<size_t>(rep.events_size()));
    for (auto seq : seqs(rep))
      all.push_back(seq);
    cursor = rep.nextcursor();
    REQUIRE(page_sizes.size() < 10);
  } while (!cursor.empty());
  CHECK(page_sizes == std::vector<size_t>{10, 10, 3});
  std::vector<uint64_t> expected(23);
  std::iota(expected.begin(), expected.end(), 1);
  CHECK(all == expected);

  SECTION("a last page that is full says there is no more") {
    hv1::ListPackageEventsV1Response first, second;
    REQUIRE(f.list(5, 20, "", first).ok());
    REQUIRE(f.list(5, 3, first.nextcursor(), second).ok());
    CHECK(seqs(second) == std::vector<uint64_t>{21, 22, 23});
    CHECK(second.nextcursor().empty());
  }
  SECTION("Limit 0 gives the configured default page") {
    hv1::ListPackageEventsV1Response rep;
    REQUIRE(f.list(5, 0, "", rep).ok());
    CHECK(seqs(rep) == std::vector<uint64_t>{1, 2, 3, 4});
    CHECK_FALSE(rep.nextcursor().empty());
  }
}

TEST_CASE("a package without events: an empty list, and NOT_FOUND at any time", "[history]") {
  history_fixture f;
  f.add_lifecycle(7);
  hv1::ListPackageEventsV1Response rep;
  REQUIRE(f.list(9, 0, "", rep).ok());
  CHECK(rep.events_size() == 0);
  CHECK(rep.nextcursor().empty());
  hv1::GetPackageAtV1Response at;
  auto status = f.at(9, "2026-06-01T00:00:00Z", at);
  CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(status.error_message()
        == "package 9 has no recorded event at or before 2026-06-01T00:00:00Z");
}

TEST_CASE("GetPackageAtV1 gives the package as it was: before creation, between updates, after "
          "removal",
          "[history]") {
  history_fixture f;
  f.add_lifecycle(7);
  hv1::GetPackageAtV1Response rep;

  auto before = f.at(7, "2026-01-01T10:00:00.123455Z", rep);
  CHECK(before.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(before.error_message()
        == "package 7 has no recorded event at or before 2026-01-01T10:00:00.123455Z");

  auto at_creation = f.at(7, "2026-01-01T10:00:00.123456Z", rep);
  REQUIRE(at_creation.ok());
  CHECK(rep.value().title() == "box");
  CHECK(rep.event().seq() == 1);

  rep.Clear();
  REQUIRE(f.at(7, "2026-01-01T11:30:00Z", rep).ok());
  CHECK(rep.value().id() == 7);
  CHECK(rep.value().title() == "bin");
  CHECK(TimeUtil::ToString(rep.value().updated().time()) == "2026-01-01T11:00:00Z");
  CHECK(rep.event().seq() == 2);
  CHECK(rep.event().id() == 12);
  CHECK(rep.event().type() == hablof::proto::v1::Updated);

  rep.Clear();
  REQUIRE(f.at(7, "2026-01-01T14:00:00+02:00", rep).ok()); // 12:00Z, the second update
  CHECK(rep.value().title() == "crate");
  CHECK(rep.event().traceid() == trace_of_update);

  auto removed = f.at(7, "2026-01-02T00:00:00Z", rep);
  CHECK(removed.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(removed.error_message()
        == "package 7 was removed at 2026-01-01T13:00:00Z (event 4), before "
           "2026-01-02T00:00:00Z");
}

TEST_CASE("bad input is INVALID_ARGUMENT naming the field, and reads nothing", "[history]") {
  history_fixture f;
  f.add_lifecycle(7);
  f.add_lifecycle(8);
  hv1::ListPackageEventsV1Response page;
  REQUIRE(f.list(8, 2, "", page).ok());
  const std::string cursor_of_8 = page.nextcursor();
  REQUIRE_FALSE(cursor_of_8.empty());

  auto list_error = [&](uint64_t id, int32_t limit, const std::string& cursor) {
    hv1::ListPackageEventsV1Response rep;
    auto status = f.list(id, limit, cursor, rep);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(rep.events_size() == 0);
    return status;
  };
  auto zero = list_error(0, 0, "");
  CHECK(zero.error_message() == "invalid request: PackageID: must be greater than 0, got 0");
  CHECK(bad_fields(zero) == fields{"PackageID"});
  auto negative = list_error(7, -1, "");
  CHECK(negative.error_message()
        == "invalid request: Limit: must be 0 (the default page of 4) to 50, got -1");
  CHECK(bad_fields(list_error(7, 51, "")) == fields{"Limit"});
  for (const std::string& bad :
       {std::string{"not a cursor!"}, std::string{"bm9wZQ"}, std::string(200, 'A')}) {
    auto status = list_error(7, 0, bad);
    CHECK(status.error_message()
          == "invalid request: Cursor: is not a cursor of this API: pass a NextCursor unchanged");
    CHECK(bad_fields(status) == fields{"Cursor"});
  }
  auto foreign = list_error(7, 0, cursor_of_8);
  CHECK(foreign.error_message()
        == "invalid request: Cursor: belongs to package 8, not to PackageID 7");
  CHECK(bad_fields(list_error(0, -5, "x")) == fields{"PackageID", "Limit", "Cursor"});

  hv1::GetPackageAtV1Response rep;
  hv1::GetPackageAtV1Request no_time;
  no_time.set_packageid(7);
  auto missing = f.at(no_time, rep);
  CHECK(missing.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(missing.error_message() == "invalid request: Time: is required");
  hv1::GetPackageAtV1Request out_of_range = no_time;
  out_of_range.mutable_time()->set_seconds(TimeUtil::kTimestampMaxSeconds + 1);
  auto range = f.at(out_of_range, rep);
  CHECK(range.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(bad_fields(range) == fields{"Time"});
  auto no_id = f.at(0, "2026-01-01T11:30:00Z", rep);
  CHECK(no_id.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(bad_fields(no_id) == fields{"PackageID"});
}

TEST_CASE("the history database down: UNAVAILABLE without driver text, then recovery",
          "[history][fault]") {
  history_fixture f([](lpa::settings::history_api_t& api) { api.restart_backoff_max = 200ms; });
  f.add_lifecycle(7);
  hv1::ListPackageEventsV1Response rep;
  REQUIRE(f.list(7, 0, "", rep).ok());

  f.pg.stop();
  for (int i = 0; i < 3; ++i) { // the readers find their connections broken, then cannot connect
    rep.Clear();
    auto status = f.list(7, 0, "", rep);
    CHECK(status.error_code() == grpc::StatusCode::UNAVAILABLE);
    CHECK_THAT(status.error_message(),
               Catch::StartsWith("the history database is unavailable, retry later (request id "));
  }
  f.pg.start();
  grpc::Status status;
  auto give_up = std::chrono::steady_clock::now() + 30s;
  do { // a reader is restarted within restart_backoff_max once PostgreSQL accepts connections
    rep.Clear();
    status = f.list(7, 0, "", rep);
  } while (!status.ok() && std::chrono::steady_clock::now() < give_up);
  INFO(status.error_message());
  REQUIRE(status.ok());
  CHECK(seqs(rep) == std::vector<uint64_t>{1, 2, 3, 4});
}

TEST_CASE("lpa-cli history list and history at", "[history][cli]") {
  history_fixture f;
  f.add_lifecycle(7);
  const std::string cli = std::string{LPA_CLI_BIN} + " --history-addr 127.0.0.1:"
                          + std::to_string(f.server->port()) + " history ";

  auto page = run(cli + "list 7 --limit 3 2>&1");
  CHECK(page.exit_code == 0);
  CHECK_THAT(page.out, Catch::StartsWith("SEQ  EVENT  TYPE     TIME"));
  CHECK_THAT(page.out, Catch::Contains("2    12     Updated  2026-01-01T11:00:00Z"));
  CHECK_THAT(page.out, Catch::Contains(trace_of_update));
  CHECK_THAT(page.out, Catch::Contains("next cursor: "));
  CHECK_THAT(page.out, !Catch::Contains("Removed"));

  auto all = run(cli + "list 7 --limit 1 --all 2>&1");
  CHECK(all.exit_code == 0);
  for (const char* line :
       {"1    11     Created", "2    12     Updated", "3    13     Updated", "4    14     Removed"})
    CHECK_THAT(all.out, Catch::Contains(line));
  CHECK_THAT(all.out, !Catch::Contains("next cursor"));

  auto at = run(cli + "at 7 2026-01-01T11:30:00Z 2>&1");
  CHECK(at.exit_code == 0);
  CHECK_THAT(at.out, Catch::Contains("Title:               bin\n"));
  CHECK_THAT(at.out,
             Catch::Contains("As of event:         2 (Updated at 2026-01-01T11:00:00Z, id 12)\n"));

  auto removed = run(cli + "at 7 2026-02-01T00:00:00Z 2>&1");
  CHECK(removed.exit_code == 1);
  CHECK_THAT(removed.out, Catch::StartsWith("error: NOT_FOUND: package 7 was removed at "));

  auto bad_time = run(cli + "at 7 yesterday 2>&1");
  CHECK(bad_time.exit_code == 2);
  CHECK_THAT(bad_time.out, Catch::Contains("invalid TIME 'yesterday'"));

  auto bad_limit = run(cli + "list 7 --limit 1000 2>&1");
  CHECK(bad_limit.exit_code == 1);
  CHECK_THAT(bad_limit.out, Catch::Contains("error: INVALID_ARGUMENT"));
  CHECK_THAT(bad_limit.out, Catch::Contains("  Limit: must be 0 (the default page of 4) to 50"));
}
