// The OTLP exporter against a real HTTP receiver on a loopback port.
#include "actors/tracing/otlp_exporter.hpp"
#include "tests/support/otlp_receiver.hpp"

#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include <chrono>
#include <memory>
#include <string>

using namespace std::chrono_literals;
using namespace lpa::tracing;
using lpa::test::otlp_receiver;

namespace {

// The value of the unlabelled counter `name` in `registry`; -1 when absent.
double counter_value(prometheus::Registry& registry, const std::string& name) {
  for (const auto& family : registry.Collect())
    if (family.name == name && !family.metric.empty())
      return family.metric.front().counter.value;
  return -1;
}

struct exporter_fixture {
  explicit exporter_fixture(std::vector<int> scripted = {}) : receiver(std::move(scripted)) {
    settings.endpoint = receiver.endpoint();
    settings.service_name = "exporter-test";
    settings.batch_size = 1;
    settings.flush_interval = 1min; // batches leave when full, or at shutdown
    settings.retry_backoff_min = 10ms;
    settings.retry_backoff_max = 40ms;
  }

  void start() {
    exporter = make_exporter(settings, *registry);
    spans = std::make_unique<tracer>(exporter);
  }

  // Ends the exporter: what is queued is sent, the counters are final.
  void stop() {
    spans.reset();
    exporter.reset();
  }

  double exported() { return counter_value(*registry, prefix + "exported_total"); }
  double dropped() { return counter_value(*registry, prefix + "dropped_total"); }
  double failed() { return counter_value(*registry, prefix + "failed_total"); }

  const std::string prefix = "logistic_package_api_tracing_spans_";
  otlp_receiver receiver;
  exporter_settings settings;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::shared_ptr<otlp_exporter> exporter;
  std::unique_ptr<tracer> spans;
};

} // namespace

TEST_CASE("spans arrive at /v1/traces as OTLP JSON", "[tracing]") {
  exporter_fixture f;
  f.settings.batch_size = 2;
  f.start();
  auto parent = f.spans->start_span("parent", span_kind::server);
  auto child = f.spans->start_span("child", span_kind::internal, parent.context());
  child.set_attribute("package.id", int64_t{42});
  child.end();
  parent.end();
  REQUIRE(f.receiver.await_requests(1));

  auto request = f.receiver.requests().at(0);
  CHECK(request.path == "/v1/traces");
  CHECK(request.content_type == "application/json");
  auto spans = f.receiver.spans();
  REQUIRE(spans.size() == 2);
  CHECK(spans[0]["name"] == "child");
  CHECK(spans[0]["service"] == "exporter-test");
  CHECK(spans[0]["traceId"] == parent.trace_id_hex());
  CHECK(spans[0]["parentSpanId"] == to_hex(parent.context().span));
  CHECK(spans[0]["kind"] == 1);
  CHECK(spans[0]["attributes"][0]["value"]["intValue"] == "42");
  CHECK(spans[1]["name"] == "parent");
  CHECK(spans[1]["kind"] == 2);
  CHECK(spans[1]["startTimeUnixNano"].is_string());
  f.stop();
  CHECK(f.exported() == 2);
  CHECK(f.dropped() == 0);
  CHECK(f.failed() == 0);
}

TEST_CASE("a 503 answer is retried and the batch then delivered", "[tracing]") {
  exporter_fixture f{{503, 503}};
  f.start();
  f.spans->start_span("retried", span_kind::server).end();
  REQUIRE(f.receiver.await_requests(3));
  f.stop();
  auto requests = f.receiver.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].body == requests[2].body);
  CHECK(f.receiver.spans().at(0)["name"] == "retried");
  CHECK(f.exported() == 1);
  CHECK(f.failed() == 0);
}

TEST_CASE("429, 502 and 504 are retried as well", "[tracing]") {
  exporter_fixture f{{429, 502, 504}};
  f.start();
  f.spans->start_span("retried", span_kind::server).end();
  REQUIRE(f.receiver.await_requests(4));
  f.stop();
  CHECK(f.exported() == 1);
}

TEST_CASE("400 and 500 answers are not retried, the spans count as failed", "[tracing]") {
  for (int status : {400, 500}) {
    INFO(status);
    exporter_fixture f{{status}};
    f.start();
    f.spans->start_span("refused", span_kind::server).end();
    REQUIRE(f.receiver.await_requests(1));
    f.stop(); // joins the exporter's thread: a retry would have been sent by now
    CHECK(f.receiver.requests().size() == 1);
    CHECK(f.failed() == 1);
    CHECK(f.exported() == 0);
  }
}

TEST_CASE("retries stop after max_attempts", "[tracing]") {
  exporter_fixture f{{503, 503, 503, 503}};
  f.settings.max_attempts = 3;
  f.start();
  f.spans->start_span("given up", span_kind::server).end();
  REQUIRE(f.receiver.await_requests(3));
  f.stop();
  CHECK(f.receiver.requests().size() == 3);
  CHECK(f.failed() == 1);
}

TEST_CASE("a full queue drops and counts spans without blocking the caller", "[tracing]") {
  exporter_fixture f;
  f.settings.queue_size = 2;
  f.settings.batch_size = 2;
  f.receiver.hold(); // the first request hangs: the exporter's thread is busy
  f.start();
  f.spans->start_span("first", span_kind::server).end();
  f.spans->start_span("second", span_kind::server).end();
  REQUIRE(f.receiver.await_arrivals(1));
  // The exporter's thread took the first batch and waits for the receiver; the queue is empty.
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i)
    f.spans->start_span("queued or dropped", span_kind::server).end();
  auto took = std::chrono::steady_clock::now() - started;
  CHECK(took < 1s); // far below the exporter's 5 s request timeout
  f.receiver.release();
  f.stop();
  CHECK(f.dropped() == 3);
  CHECK(f.exported() == 4);
  CHECK(f.receiver.spans().size() == 4);
}

TEST_CASE("no endpoint means no exporter, and unsampled spans are not sent", "[tracing]") {
  exporter_fixture f;
  f.settings.endpoint.clear();
  CHECK(make_exporter(f.settings, *f.registry) == nullptr);

  f.settings.endpoint = f.receiver.endpoint();
  f.start();
  auto unsampled = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  f.spans->start_span("unsampled", span_kind::server, unsampled).end();
  f.stop(); // drains the queue: a queued span would have been sent
  CHECK(f.receiver.requests().empty());
  CHECK(f.exported() == 0);
}
