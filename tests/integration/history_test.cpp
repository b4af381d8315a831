// package-history end to end: real PostgreSQL (the service and the history database), the mock
// Kafka cluster, and for the first test the API server and the retranslator in front.
#include "tests/support/api_fixture.hpp"
#include "tests/support/history_fixture.hpp"
#include "tests/support/otlp_receiver.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace lpa::test;
using Stub = v1::LogisticPackageApiService::Stub;

namespace {

double metric(lpa::history::history_service& h, const std::string& series) {
  int status = 0;
  return metric_value(http_get(h.metrics_port(), "/metrics", status), series);
}

const std::string m = "logistic_package_api_history_";

// The outbox's rows: what the API committed and the retranslator owes the topic.
std::vector<committed_event> outbox(history_fixture& f) {
  pqxx::connection conn{f.p.pg.dsn()};
  pqxx::read_transaction tx{conn};
  std::vector<committed_event> out;
  for (const auto& r :
       tx.exec("SELECT package_event_id, package_id, package_seq FROM package_event ORDER BY 1"))
    out.push_back({r[0].as<uint64_t>(), r[1].as<uint64_t>(), r[2].as<uint64_t>()});
  return out;
}

} // namespace

TEST_CASE("API -> outbox -> Kafka -> history: the history is what the API committed",
          "[history][e2e]") {
  history_fixture f;
  api_fixture api;
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  v1::CreatePackageV1Request create;
  create.set_title("box");
  create.set_material("wood");
  create.set_maximumvolume(10);
  v1::CreatePackageV1Response created;
  REQUIRE(api.call(&Stub::CreatePackageV1, create, &created, 5s,
                   {{"traceparent", "00-" + trace + "-00f067aa0ba902b7-01"}})
              .ok());
  auto box = created.id();
  v1::UpdatePackageV1Request update;
  update.set_packageid(box);
  update.set_title("crate");
  v1::UpdatePackageV1Response updated;
  REQUIRE(api.call(&Stub::UpdatePackageV1, update, &updated).ok());
  v1::RemovePackageV1Request remove;
  remove.set_packageid(box);
  v1::RemovePackageV1Response removed;
  REQUIRE(api.call(&Stub::RemovePackageV1, remove, &removed).ok());
  auto bag = api.create("bag", "cloth", 2);
  for (int i = 0; i < 200; ++i)
    api.create("parcel-" + std::to_string(i), "paper", 1);
  auto committed = outbox(f);
  REQUIRE(committed.size() == 204);

  auto history = f.start_history();
  auto relay = f.p.start_retranslator();
  f.expect_history_of(committed);

  auto rows = f.history();
  std::vector<recorded_event> of_box;
  for (const auto& [id, row] : rows)
    if (row.package_id == box)
      of_box.push_back(row);
  REQUIRE(of_box.size() == 3);
  CHECK(of_box[0].type == "Created");
  CHECK(of_box[1].type == "Updated");
  CHECK(of_box[2].type == "Removed");
  CHECK_THAT(of_box[0].traceparent, Catch::StartsWith("00-" + trace + "-"));
  CHECK_THAT(of_box[1].payload, Catch::Contains("\"Title\": \"crate\""));
  CHECK(of_box[2].payload.empty());
  pqxx::connection conn{f.dsn};
  pqxx::read_transaction tx{conn};
  auto state = tx.exec_params1("SELECT applied_seq, event_type FROM package_state"
                               " WHERE package_id = $1",
                               box);
  CHECK(state[0].as<int>() == 3);
  CHECK(state[1].as<std::string>() == "Removed");
  CHECK(tx.exec_params1("SELECT event_type FROM package_state WHERE package_id = $1", bag)[0]
            .as<std::string>()
        == "Created");
  CHECK(metric(*history, m + "events_recorded_total") == 204);
  CHECK(metric(*history, m + "events_applied_total") >= 202); // per package and transaction
}

TEST_CASE("Duplicates within a batch and across two instances are recorded once",
          "[history][dedup]") {
  history_fixture f;
  std::vector<committed_event> committed;
  std::vector<lpa::db::outbox_event> batch;
  for (uint64_t package = 1; package <= 50; ++package) {
    auto e = package_event(package, package, 1);
    batch.push_back(e);
    batch.push_back(e); // the same event again, right behind: in the same batch
    committed.push_back({package, package, 1});
  }
  f.produce(batch);
  auto a = f.start_history();
  f.expect_history_of(committed);
  CHECK(metric(*a, m + "duplicates_in_batch_total") == 50);
  CHECK(metric(*a, m + "events_recorded_total") == 50);

  // A second instance joins the group; once it holds partitions, the same event goes to every
  // partition, so both instances get it.
  auto b = f.start_history();
  REQUIRE(
      await_metric(b->metrics_port(), m + "partitions_assigned", [](double v) { return v >= 1; }));
  REQUIRE(
      await_metric(a->metrics_port(), m + "partitions_assigned", [](double v) { return v <= 2; }));
  auto twice = package_event(100, 100, 1);
  for (int32_t partition = 0; partition < 3; ++partition)
    f.produce({twice}, partition);
  committed.push_back({100, 100, 1});
  f.expect_history_of(committed);
  auto total = [&](const std::string& name) { return metric(*a, m + name) + metric(*b, m + name); };
  // The second instance reads its copy too (the first may have recorded the event already).
  REQUIRE(await_metric(b->metrics_port(), m + "records_consumed_total",
                       [](double v) { return v >= 1; }));
  REQUIRE(await_metric(a->metrics_port(), m + "records_consumed_total", [&](double v) {
    return v + metric(*b, m + "records_consumed_total") >= 103;
  }));
  REQUIRE(
      await_metric(a->metrics_port(), m + "records_in_flight", [](double v) { return v == 0; }));
  REQUIRE(
      await_metric(b->metrics_port(), m + "records_in_flight", [](double v) { return v == 0; }));
  CHECK(total("events_recorded_total") == 51);
  // Every record after the first of its event counts as a duplicate once.
  CHECK(total("duplicates_in_batch_total") + total("duplicates_stored_total")
        == total("records_consumed_total") - 51);
}

TEST_CASE("A reordered event is recorded without moving the state, a gap waits gap_hold",
          "[history][seq]") {
  history_fixture f;
  f.p.cfg.history.gap_hold = 1000ms;
  auto h = f.start_history();
  // Package 1: seq 2 is missing; seq 3 waits gap_hold, then applies; seq 2 comes late.
  f.produce({package_event(1, 1, 1), package_event(3, 1, 3)});
  REQUIRE(await_metric(h->metrics_port(), m + "gaps_total", [](double v) { return v == 1; }));
  CHECK(f.states() == std::map<uint64_t, uint64_t>{{1, 3}});
  f.produce({package_event(2, 1, 2)});
  REQUIRE(await_metric(h->metrics_port(), m + "reorders_total", [](double v) { return v == 1; }));
  CHECK(f.states() == std::map<uint64_t, uint64_t>{{1, 3}});
  // Package 2: seq 2 arrives after seq 3 but within gap_hold: applied in order, no gap.
  f.produce({package_event(11, 2, 1), package_event(13, 2, 3), package_event(12, 2, 2)});
  f.expect_history_of({{1, 1, 1}, {2, 1, 2}, {3, 1, 3}, {11, 2, 1}, {12, 2, 2}, {13, 2, 3}});
  CHECK(metric(*h, m + "gaps_total") == 1);
  CHECK(metric(*h, m + "reorders_total") == 1);
  CHECK(metric(*h, m + "events_held") == 0);
}

TEST_CASE("A record that does not decode is kept in history_rejected and the partition goes on",
          "[history][rejected]") {
  history_fixture f;
  auto h = f.start_history();
  f.produce({package_event(1, 1, 1)}, 0);
  f.produce_raw("1", "\xff\xff\xff", {{"event-id", "2"}, {"package-seq", "2"}}, 0);
  f.produce({package_event(3, 1, 2)}, 0);
  f.expect_history_of({{1, 1, 1}, {3, 1, 2}});
  REQUIRE(f.await_rows("history_rejected", 1));
  pqxx::connection conn{f.dsn};
  pqxx::read_transaction tx{conn};
  auto row = tx.exec1("SELECT kafka_partition, kafka_offset, error, headers::text,"
                      " length(record_value), convert_from(record_key, 'UTF8')"
                      " FROM history_rejected");
  CHECK(row[0].as<int>() == 0);
  CHECK(row[1].as<int>() == 1);
  CHECK(row[2].as<std::string>() == "value: not a hablof.proto.v1.PackageEvent");
  CHECK(row[3].as<std::string>() == R"([["event-id", "2"], ["package-seq", "2"]])");
  CHECK(row[4].as<int>() == 3);
  CHECK(row[5].as<std::string>() == "1");
  CHECK(metric(*h, m + "records_rejected_total") == 1);
}

TEST_CASE("Out of credit the consumer pauses its partitions, and resumes without losing what "
          "the pause dropped",
          "[history][backpressure]") {
  history_fixture f;
  f.p.cfg.history.window = 40;
  f.p.cfg.history.batch_max = 20;
  auto committed = f.produce_rounds(100, 1, 10); // 1000 records
  auto h = f.start_history();
  f.expect_history_of(committed);
  CHECK(metric(*h, m + "pauses_total") >= 1);
  CHECK(metric(*h, m + "records_consumed_total") == 1000); // nothing read twice either
  CHECK(metric(*h, m + "records_in_flight") <= 40);
}

TEST_CASE("The history database down and back: nothing lost, nothing applied twice, /ready "
          "says so meanwhile",
          "[history][db]") {
  history_fixture f;
  auto h = f.start_history();
  auto first = f.produce_rounds(100, 1, 5);
  REQUIRE(f.await_rows("history_event", 500));
  int status = 0;
  http_get(h->status_port(), "/ready", status);
  CHECK(status == 200);
  f.p.pg.stop();
  auto second = f.produce_rounds(100, 6, 10); // waits in the writers, then in Kafka
  REQUIRE(await_metric(h->metrics_port(), m + "db_errors_total", [](double v) { return v >= 2; }));
  auto body = http_get(h->status_port(), "/ready", status);
  CHECK(status == 503);
  CHECK_THAT(body, Catch::Contains("history database"));
  f.p.pg.start();
  first.insert(first.end(), second.begin(), second.end());
  f.expect_history_of(first);
  CHECK(metric(*h, m + "events_recorded_total") == 1000);
  http_get(h->status_port(), "/ready", status);
  CHECK(status == 200);
}

TEST_CASE("Each history transaction is a span linked to the traces of its events",
          "[history][tracing]") {
  otlp_receiver receiver;
  history_fixture f;
  f.p.cfg.tracing.otlp_endpoint = receiver.endpoint();
  f.p.cfg.tracing.batch_size = 1;
  auto h = f.start_history();
  const std::string trace = "0af7651916cd43dd8448eb211c80319c";
  auto e = package_event(1, 1, 1);
  e.traceparent = "00-" + trace + "-b7ad6b7169203331-01";
  f.produce({e});
  auto span
      = receiver.await_span([](const auto& s) { return s["name"] == "record package events"; });
  REQUIRE(span != nullptr);
  CHECK(span["service"] == f.p.cfg.tracing.service_name + "-history");
  CHECK(span["kind"] == 5);
  REQUIRE(span["links"].size() == 1);
  CHECK(span["links"][0]["traceId"] == trace);
  CHECK(span["links"][0]["spanId"] == "b7ad6b7169203331");
  CHECK(f.history().at(1).traceparent == e.traceparent);
}

TEST_CASE("Status and metrics endpoints expose package-history and every actor by name",
          "[history][ops]") {
  history_fixture f;
  auto h = f.start_history();
  f.expect_history_of(f.produce_rounds(10, 1, 2));
  int status = 0;
  CHECK(http_get(h->status_port(), "/live", status) == "live\n");
  CHECK(status == 200);
  http_get(h->status_port(), "/ready", status);
  CHECK(status == 200);
  CHECK_THAT(http_get(h->status_port(), "/version", status),
             Catch::Contains("\"name\":\"logistic-package-api-history\""));
  auto metrics = http_get(h->metrics_port(), "/metrics", status);
  CHECK(status == 200);
  for (auto name :
       {"records_consumed_total", "records_in_flight", "partitions_paused", "pauses_total",
        "consumer_lag_records", "rebalances_total", "partitions_assigned", "events_recorded_total",
        "events_applied_total", "duplicates_in_batch_total", "duplicates_stored_total",
        "reorders_total", "gaps_total", "events_held", "records_rejected_total", "db_errors_total",
        "kafka_errors_total", "batch_size_bucket", "commit_seconds_bucket"}) {
    INFO(name);
    CHECK_THAT(metrics, Catch::Contains(m + name));
  }
  for (auto actor : {"kafka-consumer", "writer-1", "writer-2"}) {
    INFO(actor);
    CHECK_THAT(
        metrics,
        Catch::Contains(std::string{"logistic_package_api_actor_messages_processed_total{actor=\""}
                        + actor));
  }
}
