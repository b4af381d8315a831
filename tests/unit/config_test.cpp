#include "config/settings.hpp"

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

using env_map = std::map<std::string, std::string>;

lpa::env_lookup no_env() {
  return [](const char*) -> const char* { return nullptr; };
}

lpa::env_lookup env_of(env_map vars) {
  auto owned = std::make_shared<env_map>(std::move(vars));
  return [owned](const char* name) -> const char* {
    auto it = owned->find(name);
    return it == owned->end() ? nullptr : it->second.c_str();
  };
}

// The message of the config_error thrown by `f`, or "" when none is thrown.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const lpa::config_error& e) {
    return e.what();
  }
  return "";
}

std::string parse_error(const std::string& yaml, env_map env = {}) {
  return error_of([&] { lpa::parse_settings(yaml, env_of(std::move(env))); });
}

// (key, value) pairs of render_settings' output.
std::vector<std::pair<std::string, std::string>> rendered(const lpa::settings& s) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream lines(lpa::render_settings(s));
  for (std::string line; std::getline(lines, line);) {
    auto eq = line.find(" = ");
    REQUIRE(eq != std::string::npos);
    out.emplace_back(line.substr(0, eq), line.substr(eq + 3));
  }
  return out;
}

struct temp_file {
  std::filesystem::path path;
  explicit temp_file(const std::string& text) {
    static int counter = 0;
    path = std::filesystem::temp_directory_path()
           / ("lpa_config_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter)
              + ".yaml");
    std::ofstream(path) << text;
  }
  ~temp_file() { std::filesystem::remove(path); }
};

} // namespace

TEST_CASE("an empty file gives the defaults") {
  for (std::string text : {"", "# nothing here\n", "grpc:\n  # port: 1\n"}) {
    auto s = lpa::parse_settings(text, no_env());
    CHECK(lpa::render_settings(s) == lpa::render_settings(lpa::settings{}));
  }
  auto s = lpa::parse_settings("", no_env());
  CHECK(s.service.name == "logistic-package-api");
  CHECK(s.log.level == "info");
  CHECK(s.log.allow_debug_per_request);
  CHECK(s.grpc.port == 8082);
  CHECK(s.grpc.default_deadline == 5s);
  CHECK(s.db.dsn == "host=127.0.0.1 port=55432 dbname=logistic_package_api user=postgres");
  CHECK(s.repo.restart_backoff_min == 10ms);
  CHECK(s.kafka.partitions == 6);
  CHECK(s.retranslator.restart_window == 1min);
  CHECK(s.history.dsn == "host=127.0.0.1 port=55432 dbname=package_history user=postgres");
  CHECK(s.history.group == "package-history");
  CHECK(s.history.status_port == 8001);
  CHECK(s.history.metrics_port == 9102);
  CHECK(s.history.retention_days == 0);
  CHECK(s.history_api.port == 8083);
  CHECK(s.history_api.list_default_limit == 100);
  CHECK(s.history_api.list_max_limit == 1000);
}

TEST_CASE("the history section is read, overridden by the environment and validated") {
  auto s = lpa::parse_settings(
      "history:\n  writers: 4\n  gap_hold: 500ms\n  retention_days: 30\n",
      env_of({{"LPA_HISTORY_DSN", "host=h dbname=ph password=pw"}, {"LPA_HISTORY_WINDOW", "800"}}));
  CHECK(s.history.writers == 4);
  CHECK(s.history.gap_hold == 500ms);
  CHECK(s.history.retention_days == 30);
  CHECK(s.history.window == 800);
  CHECK(s.history.dsn == "host=h dbname=ph password=pw");
  CHECK_THAT(lpa::render_settings(s), Contains("history.dsn = host=h dbname=ph password=***\n"));
  CHECK(parse_error("history:\n  batch_max: 600\n  window: 500\n")
        == "config: history.batch_max: must not exceed history.window, got 600 (from <yaml text> "
           "line 2, column 14) > 500 (from <yaml text> line 3, column 11)");
  CHECK(parse_error("", {{"LPA_HISTORY_RETENTION_DAYS", "-1"}})
        == "config: history.retention_days: expected an integer from 0 to 36500, got '-1' (from "
           "env LPA_HISTORY_RETENTION_DAYS)");
  CHECK(parse_error("", {{"LPA_HISTORY_WRITERS", "0"}})
        == "config: history.writers: expected an integer >= 1, got '0' (from env "
           "LPA_HISTORY_WRITERS)");
  CHECK(parse_error("history:\n  retry_backoff_min: 10s\n")
        == "config: history.retry_backoff_min: must not exceed history.retry_backoff_max, got 10s "
           "(from <yaml text> line 2, column 22) > 5s (default)");
}

TEST_CASE("file values are applied, missing keys keep their defaults") {
  auto s = lpa::parse_settings(R"(
service:
  environment: staging
log:
  level: debug
  allow_debug_per_request: false
grpc:
  port: 0
  default_deadline: 1500ms
  shutdown_grace: 2m
db:
  dsn: "host=db port=6432 dbname=lpa user=svc password=secret"
  readers: 4
kafka:
  brokers: k1:9092,k2:9092
  partitions: 12
retranslator:
  batch_size: 50
  lease: 45s
)",
                               no_env());
  CHECK(s.service.environment == "staging");
  CHECK(s.service.name == "logistic-package-api"); // not in the file
  CHECK(s.log.level == "debug");
  CHECK_FALSE(s.log.allow_debug_per_request);
  CHECK(s.grpc.port == 0);
  CHECK(s.grpc.host == "0.0.0.0");
  CHECK(s.grpc.default_deadline == 1500ms);
  CHECK(s.grpc.shutdown_grace == 2min);
  CHECK(s.db.dsn == "host=db port=6432 dbname=lpa user=svc password=secret");
  CHECK(s.db.readers == 4);
  CHECK(s.kafka.brokers == "k1:9092,k2:9092");
  CHECK(s.kafka.partitions == 12);
  CHECK(s.retranslator.batch_size == 50);
  CHECK(s.retranslator.lease == 45s);
  CHECK(s.retranslator.window == 10000);
}

TEST_CASE("load_settings reads a file") {
  temp_file file("grpc:\n  port: 9999\n");
  auto s = lpa::load_settings(file.path.string(), no_env());
  CHECK(s.grpc.port == 9999);
}

TEST_CASE("the environment overrides the file") {
  const std::string yaml = "grpc:\n  port: 9000\ndb:\n  dsn: host=file\nlog:\n  level: warn\n";
  auto s = lpa::parse_settings(yaml, env_of({{"LPA_GRPC_PORT", "7000"},
                                             {"LPA_DB_DSN", "host=env"},
                                             {"LPA_RETRANSLATOR_POLL_INTERVAL", "250ms"},
                                             {"LPA_LOG_ALLOW_DEBUG_PER_REQUEST", "false"}}));
  CHECK(s.grpc.port == 7000);
  CHECK(s.db.dsn == "host=env");
  CHECK(s.retranslator.poll_interval == 250ms);
  CHECK_FALSE(s.log.allow_debug_per_request);
  CHECK(s.log.level == "warn"); // no env variable: the file's value

  temp_file file(yaml);
  CHECK(lpa::load_settings(file.path.string(), env_of({{"LPA_GRPC_PORT", "7001"}})).grpc.port
        == 7001);
}

TEST_CASE("every key can be set from the environment, in the format render_settings shows") {
  // Non-default values for every key, then the same values via the environment alone.
  auto from_file = lpa::parse_settings(R"(
service: {name: svc, environment: prod}
log: {level: error, allow_debug_per_request: false}
grpc: {host: 127.0.0.2, port: 1, default_deadline: 1s, shutdown_grace: 2s,
       tls_cert_file: /c.pem, tls_key_file: /k.pem, tls_client_ca_file: /ca.pem,
       max_receive_message_size: 1024, max_concurrent_streams: 5, keepalive_time: 2m,
       keepalive_timeout: 3s, keepalive_permit_without_calls: false,
       keepalive_min_ping_interval: 4s}
status: {host: 127.0.0.3, port: 2}
rest: {host: 127.0.0.6, port: 5}
metrics: {host: 127.0.0.4, port: 3}
db: {dsn: host=x, writers: 3, readers: 3, statement_timeout: 3s, connect_timeout: 4s}
repo: {restart_backoff_min: 5ms, restart_backoff_max: 6ms, group_commit_max: 22, write_queue: 23,
       read_queue: 24, retry_after: 25ms, idempotency_retention: 2h, idempotency_expiry_interval: 26s}
kafka: {brokers: b:1, topic: t, partitions: 7}
retranslator: {metrics_host: 127.0.0.5, metrics_port: 4, slots: 18, consumers: 5, batch_size: 6,
               producers: 7, window: 8, lease: 9s, poll_interval: 10s, read_interval: 21ms,
               send_backoff_min: 11ms,
               send_backoff_max: 12ms, cleaner_batch: 13, cleaner_interval: 14ms,
               restart_backoff_min: 19ms, restart_backoff_max: 20ms,
               restart_max: 15, restart_window: 16m, shutdown_deadline: 17s}
history: {dsn: "host=h dbname=hist", group: g, writers: 3, window: 40, batch_max: 30,
          gap_hold: 31ms, retention_days: 32, retry_backoff_min: 33ms, retry_backoff_max: 34ms,
          status_host: 127.0.0.6, status_port: 35, metrics_host: 127.0.0.7, metrics_port: 36,
          restart_backoff_min: 37ms, restart_backoff_max: 38ms, restart_max: 39,
          restart_window: 41m}
history_api: {host: 127.0.0.7, port: 6, readers: 3, list_default_limit: 27, list_max_limit: 28,
              restart_backoff_min: 29ms, restart_backoff_max: 30ms}
tracing: {otlp_endpoint: "http://collector:4318", service_name: traced, queue_size: 23,
          batch_size: 22, flush_interval: 24ms, timeout: 25s}
)",
                                       no_env());
  const auto file_values = rendered(from_file);
  const auto default_values = rendered(lpa::settings{});
  REQUIRE(file_values.size() == default_values.size());
  env_map env;
  for (size_t i = 0; i < file_values.size(); ++i) {
    INFO(file_values[i].first);
    CHECK(file_values[i].second != default_values[i].second); // the test covers every key
    env[lpa::env_name_for(file_values[i].first)] = file_values[i].second;
  }
  auto from_env = lpa::parse_settings("", env_of(env));
  CHECK(lpa::render_settings(from_env) == lpa::render_settings(from_file));
}

TEST_CASE("a bad value names the key, the value and where it came from") {
  SECTION("the documented example") {
    CHECK(parse_error("", {{"LPA_GRPC_PORT", "abc"}})
          == "config: grpc.port: expected an integer from 0 to 65535, got 'abc' (from env "
             "LPA_GRPC_PORT)");
  }
  SECTION("file values are located by line and column") {
    CHECK(parse_error("grpc:\n  port: abc\n")
          == "config: grpc.port: expected an integer from 0 to 65535, got 'abc' (from <yaml "
             "text> line 2, column 9)");
    temp_file file("metrics:\n  port: 70000\n");
    auto message = error_of([&] { lpa::load_settings(file.path.string(), no_env()); });
    CHECK(message
          == "config: metrics.port: expected an integer from 0 to 65535, got '70000' (from "
                 + file.path.string() + " line 2, column 9)");
  }
  SECTION("string") {
    CHECK(parse_error("kafka:\n  topic: \"\"\n")
          == "config: kafka.topic: expected a non-empty string, got an empty value (from <yaml "
             "text> line 2, column 10)");
    CHECK(parse_error("kafka:\n  brokers:\n")
          == "config: kafka.brokers: expected a non-empty string, got an empty value (from <yaml "
             "text> line 2, column 3)");
    CHECK(parse_error("", {{"LPA_SERVICE_NAME", ""}})
          == "config: service.name: expected a non-empty string, got an empty value (from env "
             "LPA_SERVICE_NAME)");
  }
  SECTION("integer") {
    CHECK(parse_error("", {{"LPA_DB_READERS", "0"}})
          == "config: db.readers: expected an integer >= 1, got '0' (from env LPA_DB_READERS)");
    CHECK(parse_error("", {{"LPA_RETRANSLATOR_CONSUMERS", "2.5"}})
          == "config: retranslator.consumers: expected an integer >= 1, got '2.5' (from env "
             "LPA_RETRANSLATOR_CONSUMERS)");
    CHECK(parse_error("", {{"LPA_RETRANSLATOR_WINDOW", "99999999999999999999"}})
          == "config: retranslator.window: expected an integer from 1 to 10000000, got "
             "'99999999999999999999' (from env LPA_RETRANSLATOR_WINDOW)");
    CHECK(parse_error("", {{"LPA_RETRANSLATOR_SLOTS", "0"}})
          == "config: retranslator.slots: expected an integer from 1 to 65536, got '0' (from "
             "env LPA_RETRANSLATOR_SLOTS)");
    CHECK(parse_error("", {{"LPA_KAFKA_PARTITIONS", "10001"}})
          == "config: kafka.partitions: expected an integer from 1 to 10000, got '10001' (from "
             "env LPA_KAFKA_PARTITIONS)");
    CHECK(parse_error("", {{"LPA_STATUS_PORT", "-1"}})
          == "config: status.port: expected an integer from 0 to 65535, got '-1' (from env "
             "LPA_STATUS_PORT)");
    CHECK_THAT(parse_error("grpc:\n  port: [1, 2]\n"),
               StartsWith("config: grpc.port: expected a single value, got a list"));
  }
  SECTION("boolean") {
    CHECK(parse_error("log:\n  allow_debug_per_request: yes\n")
          == "config: log.allow_debug_per_request: expected true or false, got 'yes' (from "
             "<yaml text> line 2, column 28)");
  }
  SECTION("duration") {
    CHECK(parse_error("", {{"LPA_GRPC_DEFAULT_DEADLINE", "5000"}})
          == "config: grpc.default_deadline: expected a duration with a unit (ms, s, m or h), got "
             "'5000'; add a unit, e.g. '5000ms' or '5000s' (from env LPA_GRPC_DEFAULT_DEADLINE)");
    CHECK(
        parse_error("", {{"LPA_DB_CONNECT_TIMEOUT", "2d"}})
        == "config: db.connect_timeout: expected a duration like '500ms', '5s', '1m' or '24h', got "
           "'2d' (from env LPA_DB_CONNECT_TIMEOUT)");
    CHECK(
        parse_error("", {{"LPA_DB_CONNECT_TIMEOUT", "1.5s"}})
        == "config: db.connect_timeout: expected a duration like '500ms', '5s', '1m' or '24h', got "
           "'1.5s' (from env LPA_DB_CONNECT_TIMEOUT)");
    CHECK(parse_error("", {{"LPA_RETRANSLATOR_LEASE", "0s"}})
          == "config: retranslator.lease: expected a duration > 0 and at most 24h, got '0s' "
             "(from env LPA_RETRANSLATOR_LEASE)");
    CHECK(parse_error("", {{"LPA_RETRANSLATOR_LEASE", "1441m"}})
          == "config: retranslator.lease: expected a duration > 0 and at most 24h, got "
             "'1441m' (from env LPA_RETRANSLATOR_LEASE)");
  }
  SECTION("optional URL") {
    CHECK(parse_error("", {{"LPA_TRACING_OTLP_ENDPOINT", "localhost:4318"}})
          == "config: tracing.otlp_endpoint: expected an http:// or https:// URL, or nothing, got "
             "'localhost:4318' (from env LPA_TRACING_OTLP_ENDPOINT)");
    CHECK(lpa::parse_settings("", env_of({{"LPA_TRACING_OTLP_ENDPOINT", ""}}))
              .tracing.otlp_endpoint.empty());
    CHECK(lpa::parse_settings("tracing:\n  otlp_endpoint:\n", no_env())
              .tracing.otlp_endpoint.empty());
  }
  SECTION("log level") {
    CHECK(parse_error("log:\n  level: verbose\n")
          == "config: log.level: expected one of trace, debug, info, warn, error, got 'verbose' "
             "(from <yaml text> line 2, column 10)");
  }
}

TEST_CASE("cross-field checks") {
  CHECK(parse_error("repo:\n  restart_backoff_min: 2s\n")
        == "config: repo.restart_backoff_min: must not exceed repo.restart_backoff_max, got 2s "
           "(from <yaml text> line 2, column 24) > 1s (default)");
  CHECK(parse_error("", {{"LPA_RETRANSLATOR_SEND_BACKOFF_MIN", "1m"},
                         {"LPA_RETRANSLATOR_SEND_BACKOFF_MAX", "30s"}})
        == "config: retranslator.send_backoff_min: must not exceed retranslator.send_backoff_max, "
           "got 1m (from env LPA_RETRANSLATOR_SEND_BACKOFF_MIN) > 30s (from env "
           "LPA_RETRANSLATOR_SEND_BACKOFF_MAX)");
  CHECK(parse_error("retranslator:\n  batch_size: 20000\n")
        == "config: retranslator.batch_size: must not exceed retranslator.window, got 20000 (from "
           "<yaml text> line 2, column 15) > 10000 (default)");
  // Every consumer needs at least one event of credit.
  CHECK(parse_error("retranslator:\n  consumers: 8\n  window: 4\n  batch_size: 4\n")
        == "config: retranslator.consumers: must not exceed retranslator.window, got 8 (from "
           "<yaml text> line 2, column 14) > 4 (from <yaml text> line 3, column 11)");
  CHECK(parse_error("", {{"LPA_TRACING_BATCH_SIZE", "4096"}})
        == "config: tracing.batch_size: must not exceed tracing.queue_size, got 4096 (from env "
           "LPA_TRACING_BATCH_SIZE) > 2048 (default)");
  CHECK(parse_error("history_api:\n  list_default_limit: 2000\n")
        == "config: history_api.list_default_limit: must not exceed history_api.list_max_limit, "
           "got 2000 (from <yaml text> line 2, column 23) > 1000 (default)");
  CHECK(parse_error("", {{"LPA_HISTORY_API_LIST_MAX_LIMIT", "0"}})
        == "config: history_api.list_max_limit: expected an integer from 1 to 100000, got '0' "
           "(from env LPA_HISTORY_API_LIST_MAX_LIMIT)");
  // Shorter leases would be renewed more often than a round trip takes.
  CHECK(parse_error("", {{"LPA_RETRANSLATOR_LEASE", "3ms"}})
        == "config: retranslator.lease: must be at least 1s, got 3ms (from env "
           "LPA_RETRANSLATOR_LEASE)");
  // Equal bounds are fine.
  auto s = lpa::parse_settings("retranslator:\n  batch_size: 10000\n  send_backoff_min: 10s\n",
                               no_env());
  CHECK(s.retranslator.batch_size == s.retranslator.window);
  CHECK(s.retranslator.send_backoff_min == s.retranslator.send_backoff_max);
}

TEST_CASE("TLS is off by default and its files come together: certificate with key, client CA "
          "with both") {
  auto plain = lpa::parse_settings("", no_env());
  CHECK(plain.grpc.tls_cert_file.empty());
  CHECK(plain.grpc.tls_client_ca_file.empty());
  CHECK(plain.grpc.max_receive_message_size == 4 * 1024 * 1024);
  // An empty value leaves TLS off, from the file or the environment.
  CHECK(
      lpa::parse_settings("grpc:\n  tls_cert_file: \"\"\n", env_of({{"LPA_GRPC_TLS_KEY_FILE", ""}}))
          .grpc.tls_key_file.empty());

  auto mtls = lpa::parse_settings("", env_of({{"LPA_GRPC_TLS_CERT_FILE", "/c.pem"},
                                              {"LPA_GRPC_TLS_KEY_FILE", "/k.pem"},
                                              {"LPA_GRPC_TLS_CLIENT_CA_FILE", "/ca.pem"}}));
  CHECK(mtls.grpc.tls_cert_file == "/c.pem");
  CHECK(mtls.grpc.tls_key_file == "/k.pem");
  CHECK(mtls.grpc.tls_client_ca_file == "/ca.pem");

  CHECK(parse_error("grpc:\n  tls_cert_file: /c.pem\n")
        == "config: grpc.tls_key_file: required when grpc.tls_cert_file is set (from <yaml text> "
           "line 2, column 18)");
  CHECK(parse_error("", {{"LPA_GRPC_TLS_KEY_FILE", "/k.pem"}})
        == "config: grpc.tls_cert_file: required when grpc.tls_key_file is set (from env "
           "LPA_GRPC_TLS_KEY_FILE)");
  CHECK(parse_error("", {{"LPA_GRPC_TLS_CLIENT_CA_FILE", "/ca.pem"}})
        == "config: grpc.tls_cert_file: required when grpc.tls_client_ca_file is set (from env "
           "LPA_GRPC_TLS_CLIENT_CA_FILE)");
  CHECK(parse_error("", {{"LPA_GRPC_MAX_RECEIVE_MESSAGE_SIZE", "0"}})
        == "config: grpc.max_receive_message_size: expected an integer >= 1, got '0' (from env "
           "LPA_GRPC_MAX_RECEIVE_MESSAGE_SIZE)");
}

TEST_CASE("unknown sections and keys are rejected by name") {
  CHECK(parse_error("grpc:\n  prot: 1\n")
        == "config: grpc.prot: unknown key (at <yaml text> line 2, column 3); known keys in grpc: "
           "host, port, default_deadline, shutdown_grace, tls_cert_file, tls_key_file, "
           "tls_client_ca_file, max_receive_message_size, max_concurrent_streams, keepalive_time, "
           "keepalive_timeout, keepalive_permit_without_calls, keepalive_min_ping_interval");
  CHECK(parse_error("grcp:\n  port: 1\n")
        == "config: grcp: unknown section (at <yaml text> line 1, column 1); known sections: "
           "service, log, grpc, status, rest, metrics, db, repo, kafka, retranslator, history, "
           "history_api, "
           "tracing");
  CHECK_THAT(parse_error("grpc:\n  port: 1\n  port: 2\n"),
             StartsWith("config: grpc.port: duplicate key (at <yaml text> line 3"));
  CHECK_THAT(parse_error("grpc: 8082\n"), StartsWith("config: grpc: expected a mapping of keys"));
  CHECK_THAT(parse_error("- grpc\n"), StartsWith("config: <yaml text>: expected a mapping of "
                                                 "sections"));
}

TEST_CASE("invalid YAML is reported with the file name, line and column") {
  CHECK_THAT(parse_error("grpc:\n  port: [1, 2\n"),
             StartsWith("config: <yaml text>: invalid YAML at line "));
  temp_file file("grpc:\n  port: 1\n   host: x\n");
  auto message = error_of([&] { lpa::load_settings(file.path.string(), no_env()); });
  CHECK_THAT(message, StartsWith("config: " + file.path.string()
                                 + ": invalid YAML at line 3, "
                                   "column "));
}

TEST_CASE("a missing config file is reported with its path") {
  CHECK(error_of([] { lpa::load_settings("/nonexistent/lpa.yaml", no_env()); })
        == "config: cannot open config file '/nonexistent/lpa.yaml': No such file or directory");
  CHECK(error_of([] { lpa::load_settings(std::filesystem::temp_directory_path(), no_env()); })
        == "config: cannot read config file '" + std::filesystem::temp_directory_path().string()
               + "': it is a directory");
}

TEST_CASE("env_name_for") {
  CHECK(lpa::env_name_for("db.dsn") == "LPA_DB_DSN");
  CHECK(lpa::env_name_for("retranslator.batch_size") == "LPA_RETRANSLATOR_BATCH_SIZE");
  CHECK(lpa::env_name_for("grpc.port") == "LPA_GRPC_PORT");
}

TEST_CASE("render_settings lists every key and masks the database passwords") {
  lpa::settings s;
  s.db.dsn = "host=db user=svc password=s3cret dbname=lpa";
  s.grpc.default_deadline = 1500ms;
  s.grpc.shutdown_grace = 2min;
  const std::string text = lpa::render_settings(s);
  CHECK_THAT(text, Contains("db.dsn = host=db user=svc password=*** dbname=lpa\n"));
  CHECK_THAT(text, !Contains("s3cret"));
  CHECK_THAT(text, StartsWith("service.name = logistic-package-api\n"));
  CHECK_THAT(text, Contains("grpc.port = 8082\n"));
  CHECK_THAT(text, Contains("grpc.default_deadline = 1500ms\n"));
  CHECK_THAT(text, Contains("grpc.shutdown_grace = 2m\n"));
  CHECK_THAT(text, Contains("db.statement_timeout = 5s\n"));
  CHECK_THAT(text, Contains("log.allow_debug_per_request = true\n"));
  CHECK(rendered(s).size() == 88);

  const std::vector<std::pair<std::string, std::string>> dsns = {
      {"password=s3cret", "password=***"},
      {"host=db password = 's3 \\' cret' user=svc", "host=db password=*** user=svc"},
      {"host=db user=svc", "host=db user=svc"},
      {"postgresql://svc:s3cret@db:5432/lpa", "postgresql://svc:***@db:5432/lpa"},
      {"postgres://svc@db/lpa?password=s3cret&sslmode=off",
       "postgres://svc@db/lpa?password=***&sslmode=off"},
      {"host=db sslkey=/k.pem sslpassword=k3y password=s3cret",
       "host=db sslkey=/k.pem sslpassword=*** password=***"},
      {"postgresql://svc@db/lpa?sslpassword=k3y&sslmode=verify-full",
       "postgresql://svc@db/lpa?sslpassword=***&sslmode=verify-full"},
  };
  for (const auto& [dsn, shown] : dsns) {
    s.db.dsn = dsn;
    CHECK_THAT(lpa::render_settings(s), Contains("db.dsn = " + shown + "\n"));
  }
}

TEST_CASE("the shipped config/config.yaml parses, has every key, and holds the defaults") {
  const std::string path = std::string(LPA_SOURCE_DIR) + "/config/config.yaml";
  auto s = lpa::load_settings(path, no_env());
  CHECK(lpa::render_settings(s) == lpa::render_settings(lpa::settings{}));

  const YAML::Node file = YAML::LoadFile(path);
  for (const auto& [key, value] : rendered(s)) {
    INFO(key);
    const auto dot = key.find('.');
    CHECK(file[key.substr(0, dot)][key.substr(dot + 1)].IsDefined());
  }
}
