#pragma once

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>

namespace lpa {

// The service's configuration, read by the gRPC API server, the retranslator and package-history
// from one YAML file (see config/config.yaml). Every member is a key "<section>.<member>" of the
// file, overridable by the environment variable env_name_for(key). The defaults work locally.
struct settings {
  struct service_t {
    std::string name = "logistic-package-api";
    std::string environment = "development";
  } service;
  struct log_t {
    std::string level = "info"; // trace|debug|info|warn|error
    bool allow_debug_per_request = true;
  } log;
  struct grpc_t {
    std::string host = "0.0.0.0";
    int port = 8082; // 0 picks a free port
    std::chrono::milliseconds default_deadline{5000};
    std::chrono::milliseconds shutdown_grace{10000};
    std::string tls_cert_file;      // PEM certificate chain; empty: plaintext
    std::string tls_key_file;       // PEM private key of tls_cert_file
    std::string tls_client_ca_file; // PEM CA certificates; set: clients need a certificate (mTLS)
    int max_receive_message_size = 4 * 1024 * 1024; // bytes
    int max_concurrent_streams = 1000;              // calls in flight per connection
    std::chrono::milliseconds keepalive_time{60000};
    std::chrono::milliseconds keepalive_timeout{20000};
    bool keepalive_permit_without_calls = true;
    std::chrono::milliseconds keepalive_min_ping_interval{10000};
  } grpc;
  struct status_t {
    std::string host = "0.0.0.0";
    int port = 8000;
  } status;
  struct rest_t {
    std::string host = "0.0.0.0";
    int port = 8080; // 0 picks a free port
  } rest;
  struct metrics_t {
    std::string host = "0.0.0.0";
    int port = 9100;
  } metrics;
  struct db_t {
    std::string dsn = "host=127.0.0.1 port=55432 dbname=logistic_package_api user=postgres";
    int writers = 2;
    int readers = 2;
    std::chrono::milliseconds statement_timeout{5000};
    std::chrono::milliseconds connect_timeout{2000};
  } db;
  struct repo_t {
    std::chrono::milliseconds restart_backoff_min{10};
    std::chrono::milliseconds restart_backoff_max{1000};
    int group_commit_max = 64; // writes a writer takes into one transaction
    int write_queue = 256;     // writes waiting for the writers at most; beyond: RESOURCE_EXHAUSTED
    int read_queue = 256;      // the same for reads
    std::chrono::milliseconds retry_after{1000}; // the hint sent with RESOURCE_EXHAUSTED
    std::chrono::milliseconds idempotency_retention{24 * 3600 * 1000};
    std::chrono::milliseconds idempotency_expiry_interval{60000};
  } repo;
  struct kafka_t {
    std::string brokers = "127.0.0.1:9092";
    std::string topic = "omp-package-events";
    int partitions = 6;
  } kafka;
  struct retranslator_t {
    std::string metrics_host = "0.0.0.0";
    int metrics_port = 9101;
    int slots = 256; // packages map to slots by id % slots; the database keeps the value in force
    int consumers = 2;
    int batch_size = 100;
    int producers = 2;
    int window = 10000;
    std::chrono::milliseconds lease{10000};
    std::chrono::milliseconds poll_interval{1000};
    std::chrono::milliseconds read_interval{5}; // a consumer reads at most once per interval
    std::chrono::milliseconds send_backoff_min{100};
    std::chrono::milliseconds send_backoff_max{10000};
    int cleaner_batch = 100;
    std::chrono::milliseconds cleaner_interval{10};
    std::chrono::milliseconds restart_backoff_min{10};
    std::chrono::milliseconds restart_backoff_max{1000};
    int restart_max = 10;
    std::chrono::milliseconds restart_window{60000};
    std::chrono::milliseconds shutdown_deadline{10000};
  } retranslator;
  struct history_t {
    // package-history's own database (tools/run.sh creates it in the local cluster).
    std::string dsn = "host=127.0.0.1 port=55432 dbname=package_history user=postgres";
    std::string group = "package-history"; // Kafka consumer group
    int writers = 2;                       // writer actors, each with its own connection
    int window = 5000;   // records consumed and not yet committed at most; then partitions pause
    int batch_max = 500; // records a writer commits in one transaction
    std::chrono::milliseconds gap_hold{2000};         // how long an event after a gap waits
    int retention_days = 0;                           // history_event rows kept; 0: forever
    std::chrono::milliseconds retry_backoff_min{100}; // history database failing: first delay
    std::chrono::milliseconds retry_backoff_max{5000};
    std::string status_host = "0.0.0.0";
    int status_port = 8001;
    std::string metrics_host = "0.0.0.0";
    int metrics_port = 9102;
    std::chrono::milliseconds restart_backoff_min{10};
    std::chrono::milliseconds restart_backoff_max{1000};
    int restart_max = 10;
    std::chrono::milliseconds restart_window{60000};
  } history;
  struct history_api_t { // package-history's gRPC history API (PackageHistoryService)
    std::string host = "0.0.0.0";
    int port = 8083;              // 0 picks a free port
    int readers = 2;              // connections to the history database serving the API
    int list_default_limit = 100; // events per ListPackageEventsV1 page when Limit is 0
    int list_max_limit = 1000;    // the largest Limit accepted
    std::chrono::milliseconds restart_backoff_min{10};
    std::chrono::milliseconds restart_backoff_max{1000};
  } history_api;
  struct tracing_t {
    std::string otlp_endpoint; // http(s)://host[:port]; empty: spans are not exported
    std::string service_name = "logistic-package-api"; // + "-retranslator", "-history"
    int queue_size = 2048;
    int batch_size = 512; // <= queue_size
    std::chrono::milliseconds flush_interval{1000};
    std::chrono::milliseconds timeout{5000};
  } tracing;
};

// Thrown for any bad configuration; what() names the key (dotted, e.g. "grpc.port"), why, and
// where the value came from, e.g.
// "config: grpc.port: expected an integer from 0 to 65535, got 'abc' (from env LPA_GRPC_PORT)".
struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Looks up an environment variable: its value, or nullptr when unset. A variable that is set
// but empty counts as set (and is then rejected as an empty value).
using env_lookup = std::function<const char*(const char*)>;

// std::getenv.
env_lookup default_env();

// Reads the YAML file at `yaml_path`, then applies environment overrides and validates.
// Keys missing in the file keep their defaults; unknown sections or keys are errors.
// Throws config_error (also when the file is missing or is not valid YAML).
settings load_settings(const std::string& yaml_path, const env_lookup& env = default_env());

// The same as load_settings, from YAML text (an empty text gives the defaults).
settings parse_settings(const std::string& yaml_text, const env_lookup& env = default_env());

// The environment variable overriding a key: "db.dsn" -> "LPA_DB_DSN",
// "retranslator.batch_size" -> "LPA_RETRANSLATOR_BATCH_SIZE".
std::string env_name_for(const std::string& dotted_key);

// One "key = value" line per key (joined by '\n', no trailing newline) for the start-up log,
// in the format the file and environment accept; the password in db.dsn is shown as
// password=*** (a postgresql:// URI's password as ***).
std::string render_settings(const settings& s);

} // namespace lpa
