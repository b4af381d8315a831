// The API over real gRPC against a real PostgreSQL: each rpc, each error, the outbox rows.
#include "config/logging.hpp"
#include "tests/support/api_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/otlp_receiver.hpp"

#include "google/rpc/error_details.pb.h"

#include <catch2/catch.hpp>
#include <grpcpp/generic/generic_stub.h>
#include <spdlog/sinks/ostream_sink.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <future>
#include <set>
#include <sstream>
#include <thread>

using namespace lpa::test;
using Stub = v1::LogisticPackageApiService::Stub;

namespace {

v1::DescribePackageV1Response describe(api_fixture& f, uint64_t id) {
  v1::DescribePackageV1Request req;
  req.set_packageid(id);
  v1::DescribePackageV1Response rep;
  auto status = f.call(&Stub::DescribePackageV1, req, &rep);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return rep;
}

grpc::Status update(api_fixture& f, const v1::UpdatePackageV1Request& req) {
  v1::UpdatePackageV1Response rep;
  auto status = f.call(&Stub::UpdatePackageV1, req, &rep);
  if (status.ok())
    CHECK(rep.suc());
  return status;
}

v1::ListPackagesV1Response list(api_fixture& f, uint64_t limit, uint64_t cursor,
                                uint64_t offset = 0) {
  v1::ListPackagesV1Request req;
  req.set_limit(limit);
  req.set_cursor(cursor);
  req.set_offset(offset);
  v1::ListPackagesV1Response rep;
  auto status = f.call(&Stub::ListPackagesV1, req, &rep);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return rep;
}

// The google.rpc.BadRequest field violations a status carries, as "Field: description".
std::vector<std::string> field_violations(const grpc::Status& status) {
  google::rpc::Status details;
  REQUIRE(details.ParseFromString(status.error_details()));
  REQUIRE(details.details_size() == 1);
  google::rpc::BadRequest bad;
  REQUIRE(details.details(0).UnpackTo(&bad));
  std::vector<std::string> out;
  for (const auto& v : bad.field_violations())
    out.push_back(v.field() + ": " + v.description());
  return out;
}

std::string sql_text(api_fixture& f, const std::string& query) {
  pqxx::read_transaction tx{f.db};
  auto r = tx.exec1(query);
  return r[0].is_null() ? "NULL" : r[0].as<std::string>();
}

} // namespace

TEST_CASE("Create stores a package that Describe returns, never updated", "[api]") {
  api_fixture f;
  auto id = f.create("Коробка", "картон", 1500.5f, true);
  CHECK(id == 1);
  auto rep = describe(f, id);
  const auto& p = rep.value();
  CHECK(p.id() == id);
  CHECK(p.title() == "Коробка");
  CHECK(p.material() == "картон");
  CHECK(p.maximumvolume() == 1500.5f);
  CHECK(p.reusable());
  auto now = std::chrono::system_clock::now().time_since_epoch();
  CHECK(std::abs(p.created().seconds()
                 - std::chrono::duration_cast<std::chrono::seconds>(now).count())
        < 60);
  CHECK_FALSE(p.has_updated());
}

TEST_CASE("Update changes only the fields it carries and sets Updated", "[api]") {
  api_fixture f;
  auto id = f.create("box", "wood", 10, true);

  v1::UpdatePackageV1Request title_only;
  title_only.set_packageid(id);
  title_only.set_title("crate");
  REQUIRE(update(f, title_only).ok());
  auto p = describe(f, id).value();
  CHECK(p.title() == "crate");
  CHECK(p.material() == "wood");
  CHECK(p.maximumvolume() == 10);
  CHECK(p.reusable());
  REQUIRE(p.has_updated());
  CHECK(p.updated().time().seconds() >= p.created().seconds());

  v1::UpdatePackageV1Request reusable_false;
  reusable_false.set_packageid(id);
  reusable_false.mutable_reusable()->set_reusable(false);
  REQUIRE(update(f, reusable_false).ok());
  CHECK_FALSE(describe(f, id).value().reusable());

  v1::UpdatePackageV1Request rest;
  rest.set_packageid(id);
  rest.set_material("steel");
  rest.set_maximumvolume(42.25f);
  REQUIRE(update(f, rest).ok());
  p = describe(f, id).value();
  CHECK(p.title() == "crate");
  CHECK(p.material() == "steel");
  CHECK(p.maximumvolume() == 42.25f);
  CHECK_FALSE(p.reusable());
}

TEST_CASE("Remove deletes the package and a second Remove answers NOT_FOUND", "[api]") {
  api_fixture f;
  auto id = f.create("box", "wood", 10);
  v1::RemovePackageV1Request req;
  req.set_packageid(id);
  v1::RemovePackageV1Response rep;
  REQUIRE(f.call(&Stub::RemovePackageV1, req, &rep).ok());
  CHECK(rep.suc());
  CHECK(f.count("package") == 0);
  v1::DescribePackageV1Request describe_req;
  describe_req.set_packageid(id);
  v1::DescribePackageV1Response describe_rep;
  CHECK(f.call(&Stub::DescribePackageV1, describe_req, &describe_rep).error_code()
        == grpc::StatusCode::NOT_FOUND);
  CHECK(f.call(&Stub::RemovePackageV1, req, &rep).error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("List returns pages in ID order with a default of 100 and a cursor to the next page",
          "[api]") {
  api_fixture f;
  {
    pqxx::work tx{f.db};
    tx.exec0("INSERT INTO package (title, material, max_volume)"
             " SELECT 'p' || g, 'm', g FROM generate_series(1, 250) g");
    tx.commit();
  }
  auto first = list(f, 0, 0);
  REQUIRE(first.packages_size() == 100);
  CHECK(first.packages(0).id() == 1);
  CHECK(first.packages(99).id() == 100);
  CHECK(first.nextcursor() == 100);
  CHECK(first.packagetitle_size() == 0);
  auto last = list(f, 1000, 200);
  REQUIRE(last.packages_size() == 50);
  CHECK(last.packages(0).id() == 201);
  CHECK(last.nextcursor() == 0);
  SECTION("legacy Offset paging returns the same rows") {
    auto by_offset = list(f, 10, 0, 200);
    REQUIRE(by_offset.packages_size() == 10);
    CHECK(by_offset.packages(0).id() == 201);
  }
}

TEST_CASE("Cursor pages cover every row exactly once while rows are inserted concurrently",
          "[api]") {
  api_fixture f;
  {
    pqxx::work tx{f.db};
    tx.exec0("INSERT INTO package (title, material, max_volume)"
             " SELECT 'p' || g, 'm', g FROM generate_series(1, 400) g");
    tx.commit();
  }
  // No Catch2 assertions off the main thread: the writer counts its failures instead.
  auto writer = std::async(std::launch::async, [&] {
    int failed = 0;
    for (int i = 0; i < 150; ++i) {
      v1::CreatePackageV1Request req;
      req.set_title("late" + std::to_string(i));
      req.set_material("m");
      req.set_maximumvolume(1);
      v1::CreatePackageV1Response rep;
      failed += f.call(&Stub::CreatePackageV1, req, &rep).ok() ? 0 : 1;
    }
    return failed;
  });
  std::vector<uint64_t> seen;
  uint64_t cursor = 0;
  do {
    auto page = list(f, 37, cursor);
    for (const auto& p : page.packages())
      seen.push_back(p.id());
    cursor = page.nextcursor();
  } while (cursor != 0);
  CHECK(writer.get() == 0);
  for (size_t i = 1; i < seen.size(); ++i)
    REQUIRE(seen[i - 1] < seen[i]); // ordered, so no row twice
  std::set<uint64_t> ids{seen.begin(), seen.end()};
  for (uint64_t id = 1; id <= 400; ++id)
    REQUIRE(ids.count(id) == 1); // every row that existed before paging started
}

TEST_CASE("Missing packages answer NOT_FOUND for Describe, Update and Remove and write nothing",
          "[api][errors]") {
  api_fixture f;
  const uint64_t missing[] = {12345, std::numeric_limits<uint64_t>::max()};
  for (auto id : missing) {
    v1::DescribePackageV1Request d;
    d.set_packageid(id);
    v1::DescribePackageV1Response drep;
    auto status = f.call(&Stub::DescribePackageV1, d, &drep);
    CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK(status.error_message() == "package " + std::to_string(id) + " not found");
    v1::UpdatePackageV1Request u;
    u.set_packageid(id);
    u.set_title("x");
    CHECK(update(f, u).error_code() == grpc::StatusCode::NOT_FOUND);
    v1::RemovePackageV1Request r;
    r.set_packageid(id);
    v1::RemovePackageV1Response rrep;
    CHECK(f.call(&Stub::RemovePackageV1, r, &rrep).error_code() == grpc::StatusCode::NOT_FOUND);
  }
  CHECK(f.count("package_event") == 0);
  int status = 0;
  auto metrics = http_get(f.server->metrics_port(), "/metrics", status);
  CHECK(metric_value(metrics, "logistic_package_api_not_found_total") == 6);
}

TEST_CASE("Invalid requests answer INVALID_ARGUMENT naming every field and write nothing",
          "[api][errors]") {
  api_fixture f;
  v1::CreatePackageV1Request create;
  create.set_title(std::string(33, 'x'));
  create.set_material(""); // (invalid UTF-8 never gets here: protobuf rejects it on parse)
  create.set_maximumvolume(std::nanf(""));
  v1::CreatePackageV1Response crep;
  auto status = f.call(&Stub::CreatePackageV1, create, &crep);
  REQUIRE(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(), Catch::Contains("Title") && Catch::Contains("Material")
                                         && Catch::Contains("MaximumVolume"));
  auto violations = field_violations(status);
  CHECK(violations.size() == 3);

  v1::UpdatePackageV1Request nothing;
  nothing.set_packageid(1);
  CHECK(update(f, nothing).error_code() == grpc::StatusCode::INVALID_ARGUMENT);

  v1::ListPackagesV1Request too_many;
  too_many.set_limit(1001);
  v1::ListPackagesV1Response lrep;
  status = f.call(&Stub::ListPackagesV1, too_many, &lrep);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(), Catch::Contains("Limit"));

  v1::DescribePackageV1Request zero;
  v1::DescribePackageV1Response drep;
  CHECK(f.call(&Stub::DescribePackageV1, zero, &drep).error_code()
        == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(f.count("package") == 0);
  CHECK(f.count("package_event") == 0);
}

TEST_CASE("Every successful change writes exactly one outbox event with its type and payload",
          "[api][outbox]") {
  api_fixture f;
  auto id = f.create("box", "wood", 10, true);
  v1::UpdatePackageV1Request u;
  u.set_packageid(id);
  u.set_title("crate");
  REQUIRE(update(f, u).ok());
  v1::RemovePackageV1Request r;
  r.set_packageid(id);
  v1::RemovePackageV1Response rrep;
  REQUIRE(f.call(&Stub::RemovePackageV1, r, &rrep).ok());
  // Failed requests add nothing.
  REQUIRE(f.call(&Stub::RemovePackageV1, r, &rrep).error_code() == grpc::StatusCode::NOT_FOUND);
  REQUIRE(update(f, u).error_code() == grpc::StatusCode::NOT_FOUND);

  REQUIRE(f.count("package_event") == 3);
  auto events = "SELECT string_agg(event_type || ':' || package_seq || ':' || package_id, ','"
                " ORDER BY package_event_id) FROM package_event";
  CHECK(sql_text(f, events) == "Created:1:1,Updated:2:1,Removed:3:1");
  auto created = "FROM package_event WHERE event_type = 'Created'";
  CHECK(sql_text(f, std::string{"SELECT payload->>'Title' "} + created) == "box");
  CHECK(sql_text(f, std::string{"SELECT payload->>'Material' "} + created) == "wood");
  CHECK(sql_text(f, std::string{"SELECT payload->>'ID' "} + created) == "1");
  CHECK(sql_text(f, std::string{"SELECT payload->>'MaximumVolume' "} + created) == "10");
  CHECK(sql_text(f, std::string{"SELECT payload->>'Reusable' "} + created) == "true");
  CHECK(sql_text(f, std::string{"SELECT payload->>'Created' IS NOT NULL "} + created) == "t");
  CHECK(sql_text(f, std::string{"SELECT jsonb_typeof(payload->'Updated') "} + created) == "null");
  auto updated = "FROM package_event WHERE event_type = 'Updated'";
  CHECK(sql_text(f, std::string{"SELECT payload->>'Title' "} + updated) == "crate");
  CHECK(sql_text(f, std::string{"SELECT jsonb_typeof(payload->'Updated') "} + updated) == "string");
  CHECK(sql_text(f, "SELECT payload FROM package_event WHERE event_type = 'Removed'") == "NULL");

  int status = 0;
  auto metrics = http_get(f.server->metrics_port(), "/metrics", status);
  CHECK(metric_value(metrics, "logistic_package_api_cud_event_total") == 3);
}

TEST_CASE("A write blocked past the client's deadline answers DEADLINE_EXCEEDED and commits "
          "nothing",
          "[api][errors]") {
  api_fixture f;
  pqxx::connection blocker{f.pg.dsn()};
  pqxx::work lock{blocker};
  lock.exec0("LOCK TABLE package IN ACCESS EXCLUSIVE MODE");
  v1::CreatePackageV1Request req;
  req.set_title("late");
  req.set_material("m");
  req.set_maximumvolume(1);
  v1::CreatePackageV1Response rep;
  auto started = std::chrono::steady_clock::now();
  auto status = f.call(&Stub::CreatePackageV1, req, &rep, 400ms);
  auto took = std::chrono::steady_clock::now() - started;
  CHECK(status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  CHECK(took < 2s);
  // The server's statement timeout fires a little after the client gave up: wait until
  // PostgreSQL cancelled the blocked INSERT before releasing the lock.
  CHECK(await_sessions(f.pg.dsn(), "wait_event_type = 'Lock'", false));
  lock.abort();
  // The server cancelled the statement at the deadline: once the lock is gone, a new write
  // succeeds and the late one never appears.
  auto id = f.create("next", "m", 1);
  CHECK(f.count("package", "title = 'late'") == 0);
  CHECK(f.count("package_event") == 1);
  CHECK(id >= 1);
}

TEST_CASE("A write waiting on a locked package does not hold up writes to other packages",
          "[api]") {
  api_fixture f; // db.writers = 2
  auto busy = f.create("busy", "m", 1);
  pqxx::connection blocker{f.pg.dsn()};
  pqxx::work lock{blocker};
  lock.exec_params1("SELECT 1 FROM package WHERE package_id = $1 FOR UPDATE", busy);
  v1::UpdatePackageV1Request u;
  u.set_packageid(busy);
  u.set_title("changed");
  auto waiting = std::async(std::launch::async, [&] {
    v1::UpdatePackageV1Response urep;
    return f.call(&Stub::UpdatePackageV1, u, &urep, 10s).error_code();
  });
  // The update is queued on one writer, blocked by the row lock ...
  REQUIRE(await_sessions(f.pg.dsn(), "wait_event_type = 'Lock'"));
  // ... while the other writer serves new packages.
  f.create("free-1", "m", 1);
  f.create("free-2", "m", 1);
  CHECK(waiting.wait_for(0s) == std::future_status::timeout);
  lock.abort();
  CHECK(waiting.get() == grpc::StatusCode::OK);
  CHECK(f.count("package", "title = 'changed'") == 1);
}

TEST_CASE("Status, metrics, health and request ids answer as documented", "[api][ops]") {
  api_fixture f;
  int status = 0;
  CHECK(http_get(f.server->status_port(), "/live", status) == "live\n");
  CHECK(status == 200);
  // Ready once the repository's first health check reached PostgreSQL.
  for (int i = 0; i < 100 && http_get(f.server->status_port(), "/ready", status) != "ready\n"; ++i)
    std::this_thread::sleep_for(50ms);
  CHECK(status == 200);
  auto version = http_get(f.server->status_port(), "/version", status);
  CHECK(status == 200);
  CHECK_THAT(version, Catch::Contains("\"name\":\"logistic-package-api\"")
                          && Catch::Contains("\"version\":"));

  f.create("box", "wood", 1);
  auto metrics = http_get(f.server->metrics_port(), "/metrics", status);
  CHECK(status == 200);
  CHECK_THAT(
      metrics,
      Catch::Contains(
          "logistic_package_api_grpc_requests_total{code=\"OK\",method=\"CreatePackageV1\"} 1")
          && Catch::Contains("logistic_package_api_grpc_request_duration_seconds_bucket"));
  // Actor inspection, as on the retranslator's endpoint: the create went through the
  // supervisor to a writer.
  CHECK_THAT(
      metrics,
      Catch::Contains(
          "logistic_package_api_actor_messages_processed_total{actor=\"repo-supervisor\"}")
          && Catch::Contains("logistic_package_api_actor_mailbox_depth{actor=\"repo-writer-1\"}")
          && Catch::Contains(
              "logistic_package_api_actor_processing_seconds_total{actor=\"repo-reader-2\"}")
          && Catch::Contains(
              "logistic_package_api_actor_restarts_total{actor=\"repo-writer-2\"} 0"));
  // The writers' own measures: one transaction of one write, and its wait for the writer.
  CHECK_THAT(metrics,
             Catch::Contains("logistic_package_api_repo_group_size_count 1")
                 && Catch::Contains(
                     "logistic_package_api_repo_queue_wait_seconds_count{kind=\"write\"} 1"));

  // grpc.health.v1.Health/Check with an empty request: status SERVING (field 1 = 1).
  grpc::GenericStub generic{f.channel};
  grpc::ClientContext ctx;
  grpc::ByteBuffer request, response;
  std::promise<grpc::Status> done;
  grpc::Slice empty{""};
  request = grpc::ByteBuffer(&empty, 1);
  generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions{}, &request, &response,
                    [&](grpc::Status s) { done.set_value(s); });
  REQUIRE(done.get_future().get().ok());
  std::vector<grpc::Slice> slices;
  REQUIRE(response.Dump(&slices).ok());
  std::string bytes;
  for (auto& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  CHECK(bytes == std::string{"\x08\x01", 2});

  // A caller's x-request-id comes back in the initial metadata.
  grpc::ClientContext with_id;
  with_id.AddMetadata("x-request-id", "trace-me-42");
  v1::DescribePackageV1Request d;
  d.set_packageid(1);
  v1::DescribePackageV1Response drep;
  REQUIRE(f.stub->DescribePackageV1(&with_id, d, &drep).ok());
  auto echoed = with_id.GetServerInitialMetadata().find("x-request-id");
  REQUIRE(echoed != with_id.GetServerInitialMetadata().end());
  CHECK(std::string(echoed->second.data(), echoed->second.size()) == "trace-me-42");
}

TEST_CASE("Only a request that asks for log_level: debug is logged at debug level", "[api][ops]") {
  std::ostringstream captured; // outlives the server, which may log while it stops
  api_fixture f;
  lpa::log::setup("lpa-test", "info", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  v1::CreatePackageV1Request req;
  req.set_title("box");
  req.set_material("wood");
  req.set_maximumvolume(1);
  v1::CreatePackageV1Response rep;
  REQUIRE(f.call(&Stub::CreatePackageV1, req, &rep, 5s,
                 {{"x-request-id", "asks-for-debug"}, {"log_level", "debug"}})
              .ok());
  REQUIRE(f.call(&Stub::CreatePackageV1, req, &rep, 5s, {{"x-request-id", "plain-request"}}).ok());
  auto text = captured.str();
  lpa::log::setup("lpa-test", f.cfg.log.level);
  CHECK_THAT(text, Catch::Contains("CreatePackageV1 started (request asks-for-debug")
                       && Catch::Contains("CreatePackageV1 OK")
                       && !Catch::Contains("plain-request"));
}

namespace {

const std::string client_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string client_span = "00f067aa0ba902b7";
const std::string client_traceparent = "00-" + client_trace + "-" + client_span + "-01";
const std::string create_method
    = "hablof.logistic_package_api.v1.LogisticPackageApiService/CreatePackageV1";

uint64_t create_traced(api_fixture& f, const std::map<std::string, std::string>& metadata) {
  v1::CreatePackageV1Request req;
  req.set_title("traced");
  req.set_material("wood");
  req.set_maximumvolume(1);
  v1::CreatePackageV1Response rep;
  auto status = f.call(&Stub::CreatePackageV1, req, &rep, 5s, metadata);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return rep.id();
}

} // namespace

TEST_CASE("A create with a traceparent is an rpc span of that trace whose traceparent the outbox "
          "row stores",
          "[api][tracing]") {
  otlp_receiver receiver;
  api_fixture f{[&](lpa::settings& cfg) { export_spans_to(cfg, receiver.endpoint()); }};
  auto id = create_traced(f, {{"traceparent", client_traceparent}, {"x-request-id", "traced-1"}});

  auto span = receiver.await_span([](const auto& s) { return s["name"] == create_method; });
  REQUIRE(span != nullptr);
  CHECK(span["service"] == f.cfg.tracing.service_name);
  CHECK(span["kind"] == 2);
  CHECK(span["traceId"] == client_trace);
  CHECK(span["parentSpanId"] == client_span);
  CHECK(span["spanId"] != client_span);
  CHECK(span_attribute(span, "rpc.method")["stringValue"] == "CreatePackageV1");
  CHECK(span_attribute(span, "rpc.grpc.status_code")["intValue"] == "0");
  CHECK(span_attribute(span, "package.id")["intValue"] == std::to_string(id));
  CHECK(span_attribute(span, "request.id")["stringValue"] == "traced-1");
  CHECK(span["status"]["code"] == 0);

  CHECK(
      sql_text(f, "SELECT traceparent FROM package_event WHERE package_id = " + std::to_string(id))
      == "00-" + client_trace + "-" + span["spanId"].get<std::string>() + "-01");
}

TEST_CASE("A call without a traceparent starts a trace, and a NOT_FOUND names the package",
          "[api][tracing]") {
  otlp_receiver receiver;
  api_fixture f{[&](lpa::settings& cfg) { export_spans_to(cfg, receiver.endpoint()); }};
  auto id = create_traced(f, {});
  auto created = receiver.await_span([](const auto& s) { return s["name"] == create_method; });
  REQUIRE(created != nullptr);
  CHECK_FALSE(created.contains("parentSpanId"));
  CHECK(
      sql_text(f, "SELECT traceparent FROM package_event WHERE package_id = " + std::to_string(id))
      == "00-" + created["traceId"].get<std::string>() + "-" + created["spanId"].get<std::string>()
             + "-01");

  v1::RemovePackageV1Request req;
  req.set_packageid(id + 1000);
  v1::RemovePackageV1Response rep;
  REQUIRE(f.call(&Stub::RemovePackageV1, req, &rep).error_code() == grpc::StatusCode::NOT_FOUND);
  auto removed = receiver.await_span([](const auto& s) {
    return s["name"].template get<std::string>().find("Remove") != std::string::npos;
  });
  REQUIRE(removed != nullptr);
  CHECK(span_attribute(removed, "rpc.grpc.status_code")["intValue"] == "5");
  CHECK(span_attribute(removed, "package.id")["intValue"] == std::to_string(id + 1000));
  CHECK(removed["status"]["code"] == 0); // NOT_FOUND is the client's error, not the server's
}

TEST_CASE("Every log line of a traced request carries its trace id", "[api][ops][tracing]") {
  std::ostringstream captured; // outlives the server, which may log while it stops
  api_fixture f;
  lpa::log::setup("lpa-test", "info", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  create_traced(f, {{"traceparent", client_traceparent},
                    {"x-request-id", "traced-log"},
                    {"log_level", "debug"}});
  auto text = captured.str();
  lpa::log::setup("lpa-test", f.cfg.log.level);
  std::istringstream lines{text};
  int traced_lines = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("traced-log") == std::string::npos)
      continue;
    INFO(line);
    CHECK(line.find("trace " + client_trace) != std::string::npos);
    ++traced_lines;
  }
  CHECK(traced_lines >= 3); // started, the RepoActor's lines, finished
}

TEST_CASE("The API binary serves, then drains and exits 0 on SIGTERM", "[api][ops]") {
  auto& pg = shared_postgres();
  auto grpc_port = std::to_string(free_port());
  auto status_port = free_port();
  auto pid
      = spawn_with_settings(LPA_API_BIN, {
                                             "LPA_CONFIG=" LPA_SOURCE_DIR "/config/config.yaml",
                                             "LPA_DB_DSN=" + pg.dsn(),
                                             "LPA_LOG_LEVEL=warn",
                                             "LPA_GRPC_HOST=127.0.0.1",
                                             "LPA_GRPC_PORT=" + grpc_port,
                                             "LPA_STATUS_HOST=127.0.0.1",
                                             "LPA_STATUS_PORT=" + std::to_string(status_port),
                                             "LPA_METRICS_HOST=127.0.0.1",
                                             "LPA_METRICS_PORT=0",
                                             "LPA_REST_PORT=0",
                                         });
  int status = 0;
  for (int i = 0; i < 300 && status != 200; ++i) {
    try {
      http_get(status_port, "/ready", status);
    } catch (const std::exception&) {
      // not listening yet
    }
    if (status != 200)
      std::this_thread::sleep_for(100ms);
  }
  REQUIRE(status == 200);
  auto stub = v1::LogisticPackageApiService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + grpc_port, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  v1::CreatePackageV1Request req;
  req.set_title("box");
  req.set_material("wood");
  req.set_maximumvolume(1);
  v1::CreatePackageV1Response rep;
  CHECK(stub->CreatePackageV1(&ctx, req, &rep).ok());
  ::kill(pid, SIGTERM);
  CHECK(wait_exit(pid) == 0);
}

TEST_CASE("The API binary exits 1 when its gRPC port is taken", "[api][ops]") {
  auto& pg = shared_postgres();
  // A plain listening socket (no SO_REUSEPORT, so gRPC cannot share the port).
  int occupant = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(occupant, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(occupant, 1) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(occupant, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  auto pid = spawn_with_settings(LPA_API_BIN,
                                 {
                                     "LPA_CONFIG=" LPA_SOURCE_DIR "/config/config.yaml",
                                     "LPA_DB_DSN=" + pg.dsn(),
                                     "LPA_LOG_LEVEL=warn",
                                     "LPA_GRPC_HOST=127.0.0.1",
                                     "LPA_GRPC_PORT=" + std::to_string(ntohs(addr.sin_port)),
                                     "LPA_STATUS_PORT=0",
                                     "LPA_METRICS_PORT=0",
                                     "LPA_REST_PORT=0",
                                 });
  CHECK(wait_exit(pid) == 1); // it used to hang here: CAF waited for the RepoActors
  ::close(occupant);
}
