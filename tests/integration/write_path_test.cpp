// The write path under concurrency and faults, over real gRPC against a real PostgreSQL: group
// commit, idempotency keys, honest deadlines and load shedding.
#include "tests/support/api_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/otlp_receiver.hpp"

#include "google/rpc/error_details.pb.h"

#include <catch2/catch.hpp>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace lpa::test;
using Stub = v1::LogisticPackageApiService::Stub;

namespace {

v1::CreatePackageV1Request create_request(const std::string& title) {
  v1::CreatePackageV1Request req;
  req.set_title(title);
  req.set_material("m");
  req.set_maximumvolume(1);
  return req;
}

struct create_result {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  uint64_t id = 0;
  std::string retry_after; // trailing metadata
  std::string details;     // grpc-status-details-bin
};

create_result create_with_key(api_fixture& f, const std::string& title, const std::string& key,
                              std::chrono::milliseconds deadline = 5s) {
  v1::CreatePackageV1Response rep;
  auto status = f.call(&Stub::CreatePackageV1, create_request(title), &rep, deadline,
                       {{"idempotency-key", key}});
  return {status.error_code(), rep.id(), {}, status.error_details()};
}

// Creates sent at once over the callback API, each with its own key and deadline; `await`
// blocks until `n` of them have answered.
class create_burst {
public:
  create_burst(api_fixture& f, const std::vector<std::string>& titles,
               std::chrono::milliseconds deadline, bool with_keys = true)
      : calls_(titles.size()) {
    for (size_t i = 0; i < titles.size(); ++i) {
      auto& c = calls_[i];
      c.key = "burst-" + titles[i];
      c.req = create_request(titles[i]);
      c.ctx.set_deadline(std::chrono::system_clock::now() + deadline);
      if (with_keys)
        c.ctx.AddMetadata("idempotency-key", c.key);
      f.stub->async()->CreatePackageV1(&c.ctx, &c.req, &c.rep, [this, &c](grpc::Status status) {
        std::lock_guard<std::mutex> guard{mutex_};
        c.result.code = status.error_code();
        c.result.id = c.rep.id();
        c.result.details = status.error_details();
        const auto& trailers = c.ctx.GetServerTrailingMetadata();
        if (auto it = trailers.find("retry-after"); it != trailers.end())
          c.result.retry_after = std::string{it->second.data(), it->second.size()};
        ++answered_;
        changed_.notify_all();
      });
    }
  }

  ~create_burst() { await(calls_.size(), 60s); }

  bool await(size_t n, std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> guard{mutex_};
    return changed_.wait_for(guard, limit, [&] { return answered_ >= n; });
  }

  // key -> result, once every call has answered.
  std::map<std::string, create_result> results() {
    REQUIRE(await(calls_.size(), 60s));
    std::lock_guard<std::mutex> guard{mutex_};
    std::map<std::string, create_result> out;
    for (const auto& c : calls_)
      out[c.key] = c.result;
    return out;
  }

  size_t count(grpc::StatusCode code) {
    std::lock_guard<std::mutex> guard{mutex_};
    return std::count_if(calls_.begin(), calls_.end(),
                         [code](const call& c) { return c.result.code == code; });
  }

private:
  struct call {
    std::string key;
    v1::CreatePackageV1Request req;
    v1::CreatePackageV1Response rep;
    grpc::ClientContext ctx;
    create_result result;
  };
  std::vector<call> calls_;
  std::mutex mutex_;
  std::condition_variable changed_;
  size_t answered_ = 0;
};

std::vector<std::string> numbered(const std::string& prefix, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back(prefix + std::to_string(i));
  return out;
}

long long sql_count(api_fixture& f, const std::string& query) {
  pqxx::read_transaction tx{f.db};
  return tx.exec1(query)[0].as<long long>();
}

// Holds an exclusive lock on the package table, so every write waits, until released.
struct table_lock {
  explicit table_lock(api_fixture& f) : conn(f.pg.dsn()), tx(conn) {
    tx.exec0("LOCK TABLE package IN ACCESS EXCLUSIVE MODE");
  }
  void release() { tx.abort(); }
  pqxx::connection conn;
  pqxx::work tx;
};

// Polls until `holds()`; false when `limit` passed first.
template <class F>
bool await_true(F holds, std::chrono::milliseconds limit = 20s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!holds()) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// Requests the repository supervisor has handed to a RepoActor so far.
double routed(api_fixture& f) {
  int status = 0;
  auto body = http_get(f.server->metrics_port(), "/metrics", status);
  return std::max(0.0, metric_value(body, "logistic_package_api_actor_messages_processed_total{"
                                          "actor=\"repo-supervisor\"}"));
}

// Waits until `n` more requests than `before` were handed to a RepoActor.
bool await_routed(api_fixture& f, double before, int n) {
  return await_metric(
      f.server->metrics_port(),
      "logistic_package_api_actor_messages_processed_total{actor=\"repo-supervisor\"}",
      [&](double value) { return value >= before + n; });
}

// A client's retries with its key while the supervisor restarts the writer after its backoff.
create_result retry_until_ok(api_fixture& f, const std::string& title, const std::string& key) {
  create_result retry;
  REQUIRE(await_true([&] {
    retry = create_with_key(f, title, key);
    return retry.code == grpc::StatusCode::OK;
  }));
  return retry;
}

void one_writer(lpa::settings& cfg) {
  cfg.db.writers = 1;
}

// Every span of `trace` once those named `names` have arrived (fails the test otherwise).
std::vector<nlohmann::json> trace_spans(otlp_receiver& receiver, const std::string& trace,
                                        const std::vector<std::string>& names) {
  for (const auto& name : names) {
    INFO("span " << name << " of trace " << trace);
    REQUIRE(receiver.await_span([&](const nlohmann::json& s) {
      return s["traceId"] == trace && s["name"] == name;
    }) != nullptr);
  }
  std::vector<nlohmann::json> out;
  for (auto& s : receiver.spans())
    if (s["traceId"] == trace)
      out.push_back(s);
  return out;
}

// The one span named `name` among `spans`.
nlohmann::json named(const std::vector<nlohmann::json>& spans, const std::string& name) {
  INFO("span " << name);
  REQUIRE(std::count_if(spans.begin(), spans.end(),
                        [&](const nlohmann::json& s) { return s["name"] == name; })
          == 1);
  return *std::find_if(spans.begin(), spans.end(),
                       [&](const nlohmann::json& s) { return s["name"] == name; });
}

uint64_t unix_nanos(const nlohmann::json& span, const char* key) {
  return std::stoull(span[key].get<std::string>());
}

// `child` is a child of `parent` and lies within its time.
void check_child(const nlohmann::json& child, const nlohmann::json& parent) {
  INFO(child["name"] << " under " << parent["name"]);
  CHECK(child["traceId"] == parent["traceId"]);
  CHECK(child.value("parentSpanId", "") == parent["spanId"]);
  CHECK(unix_nanos(child, "startTimeUnixNano") >= unix_nanos(parent, "startTimeUnixNano"));
  CHECK(unix_nanos(child, "endTimeUnixNano") <= unix_nanos(parent, "endTimeUnixNano"));
}

// A statement's span names its statement and says nothing of its parameters.
void check_statement(const nlohmann::json& span, const std::string& statement) {
  INFO(span.dump());
  CHECK(span["kind"] == 3); // CLIENT
  CHECK(span_attribute(span, "db.system")["stringValue"] == "postgresql");
  CHECK(span_attribute(span, "db.operation.name")["stringValue"] == statement);
  CHECK(span["attributes"].size() == 2);
}

// A span's trace and id, as a link names them.
std::string link_key(const nlohmann::json& span) {
  return span["traceId"].get<std::string>() + "/" + span["spanId"].get<std::string>();
}

} // namespace

TEST_CASE("Writes waiting for the writer share one transaction, and a failing write fails alone",
          "[api][group-commit]") {
  api_fixture f{one_writer};
  {
    pqxx::work tx{f.db}; // a write the database refuses, whatever the API checked
    tx.exec0("ALTER TABLE package ADD CONSTRAINT test_no_poison CHECK (title <> 'poison')");
    tx.commit();
  }
  table_lock lock{f};
  create_burst first{f, {"first"}, 20s};
  REQUIRE(await_sessions(f.pg.dsn(), "wait_event_type = 'Lock'"));
  auto titles = numbered("group-", 19);
  titles.insert(titles.begin() + 7, "poison");
  auto before = routed(f);
  create_burst group{f, titles, 20s};
  // All 20 wait in the writer's mailbox behind the blocked transaction.
  REQUIRE(await_routed(f, before, 20));
  lock.release();

  auto results = group.results();
  for (const auto& [key, r] : results) {
    INFO(key);
    CHECK(r.code == (key == "burst-poison" ? grpc::StatusCode::INTERNAL : grpc::StatusCode::OK));
  }
  CHECK(first.results().at("burst-first").code == grpc::StatusCode::OK);
  CHECK(f.count("package", "title LIKE 'group-%'") == 19);
  CHECK(f.count("package", "title = 'poison'") == 0);
  CHECK(f.count("package_event") == 20); // first + 19
  // The 19 good writes committed together: rows of one transaction share its xmin.
  CHECK(sql_count(f, "SELECT count(DISTINCT xmin::text) FROM package WHERE title LIKE 'group-%'")
        == 1);
}

TEST_CASE("A create retried with its idempotency key returns the first package and writes nothing "
          "more",
          "[api][idempotency]") {
  api_fixture f;
  auto first = create_with_key(f, "parcel", "order-17");
  REQUIRE(first.code == grpc::StatusCode::OK);
  auto again = create_with_key(f, "parcel", "order-17");
  CHECK(again.code == grpc::StatusCode::OK);
  CHECK(again.id == first.id);
  CHECK(f.count("package") == 1);
  CHECK(f.count("package_event") == 1);

  SECTION("the same key with other fields is refused") {
    auto other = create_with_key(f, "another parcel", "order-17");
    CHECK(other.code == grpc::StatusCode::FAILED_PRECONDITION);
  }
  SECTION("a malformed key is refused, naming the metadata key") {
    v1::CreatePackageV1Response rep;
    for (std::string bad : {std::string{"has space"}, std::string(129, 'k'), std::string{}}) {
      auto status = f.call(&Stub::CreatePackageV1, create_request("parcel"), &rep, 5s,
                           {{"idempotency-key", bad}});
      CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
      CHECK_THAT(status.error_message(), Catch::Contains("idempotency-key"));
    }
  }
  SECTION("another key creates another package") {
    auto other = create_with_key(f, "parcel", "order-18");
    CHECK(other.code == grpc::StatusCode::OK);
    CHECK(other.id != first.id);
    CHECK(f.count("package") == 2);
  }
  CHECK(f.count("package_event") == f.count("package"));
}

TEST_CASE("Idempotency keys expire after the retention, and the key may then be used again",
          "[api][idempotency]") {
  api_fixture f{[](lpa::settings& cfg) {
    cfg.repo.idempotency_retention = 1s;
    cfg.repo.idempotency_expiry_interval = 50ms;
  }};
  auto first = create_with_key(f, "parcel", "order-1");
  REQUIRE(first.code == grpc::StatusCode::OK);
  REQUIRE(f.count("idempotency_key") == 1);
  CHECK(await_true([&] { return f.count("idempotency_key") == 0; }));
  auto later = create_with_key(f, "parcel", "order-1");
  CHECK(later.code == grpc::StatusCode::OK);
  CHECK(later.id != first.id);
  CHECK(f.count("package") == 2);
}

TEST_CASE("After a burst with short deadlines, every committed create was answered OK or is "
          "returned by a retry with its key",
          "[api][deadlines][idempotency]") {
  api_fixture f;
  const size_t n = 1500;
  create_burst burst{f, numbered("burst-", n), 300ms};
  auto results = burst.results();
  size_t ok = 0;
  for (auto& [key, r] : results) {
    if (r.code == grpc::StatusCode::OK) {
      ++ok;
      continue;
    }
    INFO(key << " answered " << r.code);
    CHECK((r.code == grpc::StatusCode::DEADLINE_EXCEEDED
           || r.code == grpc::StatusCode::RESOURCE_EXHAUSTED));
  }
  INFO(ok << " of " << n << " answered OK in the burst");
  // The retries tell each client what happened to its create ...
  std::set<uint64_t> ids;
  for (auto& [key, r] : results) {
    // Writes whose callers gave up may still fill the queue: a retry may be shed and tried again.
    auto retry = retry_until_ok(f, key.substr(std::string{"burst-"}.size()), key);
    if (r.code == grpc::StatusCode::OK)
      CHECK(retry.id == r.id); // an OK was the truth
    ids.insert(retry.id);
  }
  // ... and no create happened twice or without its client being able to learn of it.
  CHECK(ids.size() == n);
  CHECK(f.count("package") == static_cast<long long>(n));
  CHECK(f.count("package_event") == static_cast<long long>(n));
}

TEST_CASE("A full write queue refuses at once with RESOURCE_EXHAUSTED and a retry hint, and "
          "writes nothing for the refused calls",
          "[api][shedding]") {
  api_fixture f{[](lpa::settings& cfg) {
    cfg.db.writers = 1;
    cfg.repo.write_queue = 4;
    cfg.repo.retry_after = 1500ms;
  }};
  table_lock lock{f};
  create_burst burst{f, numbered("queued-", 20), 20s, false};
  // 4 wait for the writer; the other 16 are refused without waiting for the lock.
  REQUIRE(burst.await(16, 10s));
  CHECK(burst.count(grpc::StatusCode::RESOURCE_EXHAUSTED) == 16);
  lock.release();
  auto results = burst.results();
  size_t ok = 0;
  for (const auto& [key, r] : results) {
    if (r.code == grpc::StatusCode::OK) {
      ++ok;
      continue;
    }
    CHECK(r.code == grpc::StatusCode::RESOURCE_EXHAUSTED);
    CHECK(r.retry_after == "2"); // whole seconds, rounded up
    google::rpc::Status status;
    REQUIRE(status.ParseFromString(r.details));
    google::rpc::RetryInfo info;
    REQUIRE(status.details(0).UnpackTo(&info));
    CHECK(info.retry_delay().seconds() == 1);
    CHECK(info.retry_delay().nanos() == 500000000);
  }
  CHECK(ok == 4);
  CHECK(f.count("package") == 4);
  // Once the queue drained, writes are accepted again.
  f.create("after", "m", 1);
}

TEST_CASE("A create whose connection is killed mid-transaction answers UNAVAILABLE, and its retry "
          "with the same key creates it once",
          "[api][idempotency][faults]") {
  api_fixture f{one_writer};
  table_lock lock{f};
  create_burst lost{f, {"lost"}, 20s};
  REQUIRE(await_sessions(f.pg.dsn(), "wait_event_type = 'Lock'"));
  lock.tx.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
               " WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()");
  CHECK(lost.results().at("burst-lost").code == grpc::StatusCode::UNAVAILABLE);
  lock.release();
  auto retry = retry_until_ok(f, "lost", "burst-lost");
  CHECK(create_with_key(f, "lost", "burst-lost").id == retry.id);
  CHECK(f.count("package") == 1);
  CHECK(f.count("package_event") == 1);
}

TEST_CASE("A create whose RepoActor is killed while it waits answers UNAVAILABLE at once, and its "
          "retry with the same key creates it once",
          "[api][idempotency][faults]") {
  api_fixture f{one_writer};
  table_lock lock{f};
  create_burst blocked{f, {"blocked"}, 20s};
  REQUIRE(await_sessions(f.pg.dsn(), "wait_event_type = 'Lock'"));
  // A second write waits in the writer's mailbox, behind the blocked transaction.
  auto before = routed(f);
  create_burst waiting{f, {"waiting"}, 20s};
  REQUIRE(await_routed(f, before, 1));
  {
    caf::scoped_actor self{f.server->system()};
    std::vector<caf::actor> running;
    self->request(f.server->repo(), 5s, caf::get_atom_v)
        .receive([&](std::vector<caf::actor>& actors) { running = actors; },
                 [](caf::error&) { FAIL("no answer from the repository supervisor"); });
    for (auto& a : running)
      self->send_exit(a, caf::exit_reason::kill);
  }
  lock.release();
  // The blocked transaction ends however it ends, the waiting write never runs.
  auto waited = waiting.results().at("burst-waiting");
  CHECK(waited.code == grpc::StatusCode::UNAVAILABLE);
  auto first = blocked.results().at("burst-blocked");
  for (const auto& title : {"blocked", "waiting"}) {
    auto retry = retry_until_ok(f, title, std::string{"burst-"} + title);
    if (title == std::string{"blocked"} && first.code == grpc::StatusCode::OK)
      CHECK(retry.id == first.id);
  }
  CHECK(f.count("package") == 2);
  CHECK(f.count("package_event") == 2);
}

TEST_CASE("lpa-cli create sends an idempotency key: its own by default, or the one it is given",
          "[api][idempotency]") {
  api_fixture f;
  const std::string cli = std::string{LPA_CLI_BIN}
                          + " --addr 127.0.0.1:" + std::to_string(f.server->grpc_port())
                          + " create --material wood" + " --volume 2";
  CHECK(run(cli + " --title first 2>&1").out == "created package 1\n");
  CHECK(f.count("idempotency_key") == 1); // a key of its own
  auto keyed = cli + " --title box --idempotency-key order-42 2>&1";
  CHECK(run(keyed).out == "created package 2\n");
  CHECK(run(keyed).out == "created package 2\n"); // the retry finds the first
  auto other = run(cli + " --title crate --idempotency-key order-42 2>&1");
  CHECK(other.exit_code == 1);
  CHECK_THAT(other.out, Catch::Contains("FAILED_PRECONDITION"));
  CHECK(f.count("package") == 2);
  CHECK(f.count("package_event") == 2);
}

TEST_CASE(
    "A traced Create, Describe and Update are span trees: rpc, RepoActor call, SQL statements",
    "[api][tracing]") {
  otlp_receiver receiver;
  api_fixture f{[&](lpa::settings& cfg) { export_spans_to(cfg, receiver.endpoint()); }};
  auto traced = [](const std::string& trace) {
    return std::map<std::string, std::string>{
        {"traceparent", "00-" + trace + "-00f067aa0ba902b7-01"}};
  };
  const std::string create_trace(32, '1'), describe_trace(32, '2'), update_trace(32, '3');
  auto req = create_request("secret-title");
  req.set_material("secret-material");
  v1::CreatePackageV1Response created;
  REQUIRE(f.call(&Stub::CreatePackageV1, req, &created, 5s, traced(create_trace)).ok());
  v1::DescribePackageV1Request d;
  d.set_packageid(created.id());
  v1::DescribePackageV1Response described;
  REQUIRE(f.call(&Stub::DescribePackageV1, d, &described, 5s, traced(describe_trace)).ok());
  v1::UpdatePackageV1Request u;
  u.set_packageid(created.id());
  u.set_title("secret-update");
  v1::UpdatePackageV1Response updated;
  REQUIRE(f.call(&Stub::UpdatePackageV1, u, &updated, 5s, traced(update_trace)).ok());

  const std::string rpc = "hablof.logistic_package_api.v1.LogisticPackageApiService/";
  // A write: its call at the writer, its statement under it; the transaction (alone in its
  // group) with BEGIN (which sets the statement timeout) and COMMIT.
  for (const auto& [trace, method, statement] :
       {std::tuple{create_trace, "CreatePackageV1", "create"},
        std::tuple{update_trace, "UpdatePackageV1", "update"}}) {
    INFO(method);
    auto spans = trace_spans(receiver, trace,
                             {rpc + method, "repo.write", "repo.transaction", "SQL BEGIN",
                              std::string{"SQL "} + statement, "SQL COMMIT"});
    CHECK(spans.size() == 6);
    auto call = named(spans, "repo.write");
    auto tx = named(spans, "repo.transaction");
    check_child(call, named(spans, rpc + method));
    CHECK(call["kind"] == 1);
    CHECK_THAT(span_attribute(call, "repo.actor")["stringValue"].get<std::string>(),
               Catch::StartsWith("repo-writer-"));
    check_child(named(spans, std::string{"SQL "} + statement), call);
    check_statement(named(spans, std::string{"SQL "} + statement), statement);
    check_child(tx, call);
    CHECK(span_attribute(tx, "repo.group_size")["intValue"] == "1");
    CHECK_FALSE(tx.contains("links"));
    for (const char* own : {"BEGIN", "COMMIT"}) {
      check_child(named(spans, std::string{"SQL "} + own), tx);
      check_statement(named(spans, std::string{"SQL "} + own), own);
    }
  }
  // A read: its call at a reader, BEGIN and its statement under it.
  auto spans
      = trace_spans(receiver, describe_trace,
                    {rpc + "DescribePackageV1", "repo.describe", "SQL BEGIN", "SQL describe"});
  CHECK(spans.size() == 4);
  auto call = named(spans, "repo.describe");
  check_child(call, named(spans, rpc + "DescribePackageV1"));
  CHECK_THAT(span_attribute(call, "repo.actor")["stringValue"].get<std::string>(),
             Catch::StartsWith("repo-reader-"));
  for (const char* statement : {"BEGIN", "describe"}) {
    check_child(named(spans, std::string{"SQL "} + statement), call);
    check_statement(named(spans, std::string{"SQL "} + statement), statement);
  }
  // No parameter value anywhere in what was exported.
  for (const auto& s : receiver.spans())
    CHECK(s.dump().find("secret-") == std::string::npos);
}

TEST_CASE("A group's transaction is a span of its first write's trace, linked both ways with the "
          "other writes' calls",
          "[api][tracing][group-commit]") {
  otlp_receiver receiver;
  api_fixture f{[&](lpa::settings& cfg) {
    one_writer(cfg);
    export_spans_to(cfg, receiver.endpoint());
  }};
  table_lock lock{f};
  create_burst first{f, {"first"}, 20s};
  REQUIRE(await_sessions(f.pg.dsn(), "wait_event_type = 'Lock'"));
  auto before = routed(f);
  create_burst group{f, numbered("linked-", 3), 20s};
  // The three wait in the writer's mailbox behind the blocked transaction: one group.
  REQUIRE(await_routed(f, before, 3));
  lock.release();

  // Each write's call span (found through its rpc span, which names the package created), with
  // its own statement in its own trace.
  std::vector<nlohmann::json> calls;
  for (const auto& [key, r] : group.results()) {
    INFO(key);
    REQUIRE(r.code == grpc::StatusCode::OK);
    auto rpc = receiver.await_span([&](const nlohmann::json& s) {
      return s["kind"] == 2 && span_attribute(s, "package.id")["intValue"] == std::to_string(r.id);
    });
    REQUIRE(rpc != nullptr);
    auto call = receiver.await_span([&](const nlohmann::json& s) {
      return s["name"] == "repo.write" && s.value("parentSpanId", "") == rpc["spanId"];
    });
    REQUIRE(call != nullptr);
    auto statement = receiver.await_span([&](const nlohmann::json& s) {
      return s["name"] == "SQL create_keyed" && s.value("parentSpanId", "") == call["spanId"];
    });
    REQUIRE(statement != nullptr);
    CHECK(statement["traceId"] == rpc["traceId"]);
    calls.push_back(call);
  }
  auto tx = receiver.await_span([](const nlohmann::json& s) {
    return s["name"] == "repo.transaction"
           && span_attribute(s, "repo.group_size")["intValue"] == "3";
  });
  REQUIRE(tx != nullptr);
  std::set<std::string> linked;
  for (const auto& link : tx["links"])
    linked.insert(link_key(link));
  CHECK(linked.size() == 2);
  int parents = 0;
  for (const auto& call : calls) {
    INFO(call.dump());
    if (call["spanId"] == tx["parentSpanId"]) { // the group's first write
      ++parents;
      CHECK(call["traceId"] == tx["traceId"]);
      CHECK_FALSE(call.contains("links"));
    } else {
      CHECK(linked.count(link_key(call)) == 1);
      REQUIRE(call["links"].size() == 1);
      CHECK(link_key(call["links"][0]) == link_key(tx));
    }
  }
  CHECK(parents == 1);
  for (const char* own : {"SQL BEGIN", "SQL COMMIT"})
    CHECK(receiver.await_span([&](const nlohmann::json& s) {
      return s["name"] == own && s.value("parentSpanId", "") == tx["spanId"];
    }) != nullptr);

  // The metrics saw the same: the blocked write alone, then the three together.
  int status = 0;
  auto body = http_get(f.server->metrics_port(), "/metrics", status);
  CHECK(metric_value(body, "logistic_package_api_repo_group_size_count") == 2);
  CHECK(metric_value(body, "logistic_package_api_repo_group_size_sum") == 4);
  CHECK(metric_value(body, "logistic_package_api_repo_queue_wait_seconds_count{kind=\"write\"}")
        == 4);
}
