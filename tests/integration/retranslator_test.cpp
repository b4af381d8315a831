// The retranslator end to end: gRPC writes through the API server, events read back from the
// topic with a real Kafka consumer, decoded.
#include "tests/support/api_fixture.hpp"
#include "tests/support/otlp_receiver.hpp"
#include "tests/support/pipeline_fixture.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <thread>

using namespace lpa::test;
using Stub = v1::LogisticPackageApiService::Stub;

namespace {

std::vector<consumed_event> read_events(pipeline_fixture& p, size_t n,
                                        std::chrono::seconds limit = 30s) {
  return p.reader->read_until([n](const auto& all) { return all.size() >= n; }, limit);
}

} // namespace

TEST_CASE("Create, Update and Remove through gRPC reach the topic decoded, keyed and in order",
          "[retranslator][e2e]") {
  pipeline_fixture p;
  api_fixture api;
  auto relay = p.start_retranslator();

  auto box = api.create("box", "wood", 10, true);
  auto bag = api.create("bag", "cloth", 2);
  v1::UpdatePackageV1Request u;
  u.set_packageid(box);
  u.set_title("crate");
  v1::UpdatePackageV1Response urep;
  REQUIRE(api.call(&Stub::UpdatePackageV1, u, &urep).ok());
  v1::RemovePackageV1Request r;
  r.set_packageid(box);
  v1::RemovePackageV1Response rrep;
  REQUIRE(api.call(&Stub::RemovePackageV1, r, &rrep).ok());

  auto events = read_events(p, 4);
  REQUIRE(events.size() == 4);
  CHECK(p.reader->errors().empty());
  std::map<uint64_t, std::vector<consumed_event>> by_package;
  for (const auto& e : events)
    by_package[e.package_id].push_back(e);
  REQUIRE(by_package[box].size() == 3);
  const auto& b = by_package[box];
  CHECK(b[0].type == "Created");
  CHECK(b[1].type == "Updated");
  CHECK(b[2].type == "Removed");
  for (size_t i = 0; i < b.size(); ++i) {
    CHECK(b[i].package_seq == i + 1);
    CHECK(b[i].key == std::to_string(box));
  }
  CHECK(b[0].event_id < b[1].event_id);
  CHECK(b[1].event_id < b[2].event_id);
  CHECK_THAT(b[0].payload, Catch::Contains("\"Title\": \"box\""));
  CHECK_THAT(b[1].payload, Catch::Contains("\"Title\": \"crate\""));
  CHECK(b[2].payload.empty());
  REQUIRE(by_package[bag].size() == 1);
  CHECK(by_package[bag][0].type == "Created");
  CHECK(by_package[bag][0].created_unix_us > 0);
  // Delivered events leave the outbox.
  CHECK(p.await_empty_outbox(30s));
}

TEST_CASE("NOTIFY wakes the retranslator long before its poll interval", "[retranslator][e2e]") {
  pipeline_fixture p;
  p.cfg.retranslator.poll_interval = 60000ms; // the fallback would take a minute
  api_fixture api;
  auto relay = p.start_retranslator();
  // Wait until the listener's LISTEN is in place (its last statement, for a minute here): a
  // commit before it would only be found by the poll.
  REQUIRE(await_sessions(p.pg.dsn(), "query ILIKE 'LISTEN%' AND state = 'idle'"));
  auto started = std::chrono::steady_clock::now();
  auto first = api.create("first", "m", 1);
  REQUIRE(read_events(p, 1, 20s).size() == 1);
  auto second = api.create("second", "m", 1);
  auto events = read_events(p, 2, 20s);
  REQUIRE(events.size() == 2);
  CHECK(events[0].package_id == first);
  CHECK(events[1].package_id == second);
  CHECK(std::chrono::steady_clock::now() - started < 30s);
}

// librdkafka 2.0's mock cluster does not answer CreateTopics, so here the topic comes from the
// broker's auto-creation after the sender's CreateTopics timed out; the configured partition
// count can only be checked against a broker that implements CreateTopics.
TEST_CASE("Events reach a topic that did not exist when the retranslator started",
          "[retranslator][e2e]") {
  pipeline_fixture p;
  const std::string topic = "fresh-package-events";
  REQUIRE(p.kafka.partition_count(topic) == 0);
  p.cfg.kafka.topic = topic;
  auto committed = p.commit_rounds(20, 1);
  auto relay = p.start_retranslator();
  // The reader comes once the topic exists: its own metadata request could create it first.
  for (int i = 0; i < 400 && p.kafka.partition_count(topic) == 0; ++i)
    std::this_thread::sleep_for(50ms);
  REQUIRE(p.kafka.partition_count(topic) > 0);
  topic_reader fresh{p.kafka.bootstrap(), topic};
  auto events = fresh.read_until([](const auto& all) { return all.size() >= 20; }, 30s);
  CHECK(events.size() == 20);
}

TEST_CASE("A traced request continues through Kafka: the header carries the rpc span (whose trace "
          "holds the SQL that wrote the event), the batch span links to it",
          "[retranslator][e2e][tracing]") {
  otlp_receiver receiver;
  pipeline_fixture p;
  export_spans_to(p.cfg, receiver.endpoint());
  api_fixture api{[&](lpa::settings& cfg) { export_spans_to(cfg, receiver.endpoint()); }};
  auto relay = p.start_retranslator();
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  v1::CreatePackageV1Request req;
  req.set_title("traced");
  req.set_material("m");
  req.set_maximumvolume(1);
  v1::CreatePackageV1Response rep;
  REQUIRE(api.call(&Stub::CreatePackageV1, req, &rep, 5s,
                   {{"traceparent", "00-" + trace + "-00f067aa0ba902b7-01"}})
              .ok());
  auto events = read_events(p, 1);
  REQUIRE(events.size() == 1);

  auto rpc = receiver.await_span([](const auto& s) { return s["kind"] == 2; });
  REQUIRE(rpc != nullptr);
  CHECK(rpc["traceId"] == trace);
  CHECK(events[0].traceparent == "00-" + trace + "-" + rpc["spanId"].get<std::string>() + "-01");
  // The statement that wrote the event is in the same trace, under the rpc's RepoActor call.
  auto call = receiver.await_span([&](const nlohmann::json& s) {
    return s["name"] == "repo.write" && s.value("parentSpanId", "") == rpc["spanId"];
  });
  REQUIRE(call != nullptr);
  CHECK(receiver.await_span([&](const nlohmann::json& s) {
    return s["name"] == "SQL create" && s.value("parentSpanId", "") == call["spanId"];
  }) != nullptr);

  auto batch
      = receiver.await_span([](const auto& s) { return s["name"] == "send package events"; });
  REQUIRE(batch != nullptr);
  CHECK(batch["service"] == p.cfg.tracing.service_name + "-retranslator");
  CHECK(batch["kind"] == 4);
  CHECK(batch["traceId"] != trace);
  REQUIRE(batch["links"].size() == 1);
  CHECK(batch["links"][0]["traceId"] == trace);
  CHECK(batch["links"][0]["spanId"] == rpc["spanId"]);
}

TEST_CASE("A drain delivers what is in flight before it stops, then releases every slot",
          "[retranslator]") {
  pipeline_fixture p;
  auto committed = p.commit_rounds(500, 4);
  p.kafka.set_down(true);
  auto relay = p.start_retranslator();
  // Everything is read and waits in librdkafka for Kafka (the window holds all 2000).
  REQUIRE(await_metric(relay->metrics_port(), "logistic_package_api_retranslator_events_processing",
                       [](double v) { return v >= 2000; }));
  std::thread stopping{[&] { relay->drain(); }};
  // Kafka stays away for a while after the drain began: the drain must wait for the events in
  // flight, not stop without them.
  std::this_thread::sleep_for(500ms);
  p.kafka.set_down(false);
  stopping.join();
  CHECK(relay->wait()); // ended normally
  CHECK(p.outbox_rows() == 0);
  auto report = p.check(committed);
  INFO(report.summary());
  CHECK(report.ok());
  CHECK(report.consumed == 2000); // in flight once, delivered once
  CHECK(p.slots_held() == 0);     // nothing left leased to a stopped process
}

TEST_CASE("Metrics expose the pipeline and every actor by name", "[retranslator][ops]") {
  pipeline_fixture p;
  auto committed = p.commit_rounds(100, 2);
  auto relay = p.start_retranslator();
  REQUIRE(p.check(committed).ok());
  REQUIRE(p.await_empty_outbox(30s));
  int status = 0;
  auto metrics = http_get(relay->metrics_port(), "/metrics", status);
  CHECK(status == 200);
  CHECK_THAT(metrics,
             Catch::Contains("logistic_package_api_retranslator_events_processing")
                 && Catch::Contains("logistic_package_api_retranslator_events_sent_total")
                 && Catch::Contains("logistic_package_api_retranslator_batch_size_bucket")
                 && Catch::Contains("commit_to_ack_seconds_bucket")
                 && Catch::Contains("oldest_event_age_seconds")
                 && Catch::Contains("logistic_package_api_retranslator_events_failed_total")
                 && Catch::Contains("logistic_package_api_retranslator_events_retried_total")
                 && Catch::Contains("logistic_package_api_retranslator_events_released_total")
                 && Catch::Contains("send_latency_seconds_bucket")
                 && Catch::Contains("logistic_package_api_retranslator_slots_owned 256")
                 && Catch::Contains("logistic_package_api_retranslator_relays_live 1")
                 && Catch::Contains("logistic_package_api_retranslator_slot_takeovers_total")
                 && Catch::Contains("logistic_package_api_retranslator_producer_resets_total")
                 && Catch::Contains("logistic_package_api_retranslator_kafka_errors_total")
                 && Catch::Contains("logistic_package_api_retranslator_db_errors_total"));
  for (auto actor :
       {"consumer-1", "consumer-2", "producer-1", "sender", "cleaner", "listener", "slot-keeper"}) {
    INFO(actor);
    CHECK_THAT(
        metrics,
        Catch::Contains(std::string{"logistic_package_api_actor_messages_processed_total{actor=\""}
                        + actor));
  }
  CHECK_THAT(metrics, Catch::Contains("logistic_package_api_actor_mailbox_depth")
                          && Catch::Contains("logistic_package_api_actor_processing_seconds_total")
                          && Catch::Contains("logistic_package_api_actor_restarts_total"));
}

TEST_CASE("More restarts than restart_max within restart_window end the pipeline abnormally",
          "[retranslator][supervision]") {
  pipeline_fixture p;
  p.cfg.retranslator.restart_max = 3;
  p.cfg.retranslator.restart_window = 60000ms;
  auto relay = p.start_retranslator();
  caf::scoped_actor self{relay->system()};
  // Kill every stage at once: more failures than restart_max in one go.
  std::vector<caf::actor> stages;
  self->request(relay->supervisor(), caf::duration{std::chrono::seconds{5}}, caf::get_atom_v)
      .receive(
          [&](std::vector<std::string>&, std::vector<caf::actor>& handles) { stages = handles; },
          [&](caf::error&) {});
  REQUIRE(stages.size() > 3);
  for (auto& stage : stages)
    caf::anon_send_exit(stage, caf::exit_reason::kill);
  CHECK_FALSE(relay->wait()); // main() turns this into exit code 1
}
