// lpa-kafka-broker: an embedded Kafka-protocol broker for local development, built on librdkafka's
// mock cluster. It speaks enough of the protocol for producers, consumers (simple and group) and
// the idempotent producer; it keeps everything in memory and picks its own loopback ports.
//
// Prints exactly one line on stdout, "bootstrap: HOST:PORT[,HOST:PORT...]", once the cluster
// listens; everything else goes to stderr. Runs until SIGINT or SIGTERM, then exits with 0.
// Exit codes: 0 on a signal, 1 when the cluster cannot be started, 2 on a usage error.

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <pthread.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace {

constexpr const char* usage_text =
    R"(lpa-kafka-broker [--brokers N] [--topic NAME [--partitions P]]
  Runs an in-memory Kafka-protocol cluster (librdkafka mock cluster) on loopback ports
  until SIGINT or SIGTERM, and prints "bootstrap: HOST:PORT,..." on stdout.

  --brokers N      number of brokers (ids 1..N), default 1
  --topic NAME     create topic NAME up front (otherwise producers auto-create topics)
  --partitions P   partition count of --topic, default 1
  --help           print this text
)";

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct options {
  int brokers = 1;
  std::optional<std::string> topic;
  std::optional<int> partitions;
};

int parse_positive(std::string_view flag, const char* text) {
  char* end = nullptr;
  errno = 0;
  long value = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 1 || value > 10000)
    throw usage_error(std::string(flag) + " needs a positive number, got '" + text + "'");
  return static_cast<int>(value);
}

// Returns nullopt when --help was given.
std::optional<options> parse(int argc, char** argv) {
  options opts;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h")
      return std::nullopt;
    if (arg != "--brokers" && arg != "--topic" && arg != "--partitions")
      throw usage_error("unknown argument '" + std::string(arg) + "'");
    if (i + 1 >= argc)
      throw usage_error(std::string(arg) + " needs a value");
    const char* value = argv[++i];
    if (arg == "--brokers") {
      opts.brokers = parse_positive(arg, value);
    } else if (arg == "--topic") {
      if (*value == '\0')
        throw usage_error("--topic needs a non-empty name");
      opts.topic = value;
    } else {
      opts.partitions = parse_positive(arg, value);
    }
  }
  if (opts.partitions && !opts.topic)
    throw usage_error("--partitions needs --topic");
  return opts;
}

int run(const options& opts) {
  // Block the signals before librdkafka starts its threads, so they inherit the mask and the
  // signals are left to sigwait below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  if (int rc = pthread_sigmask(SIG_BLOCK, &signals, nullptr); rc != 0) {
    std::cerr << "lpa-kafka-broker: pthread_sigmask: " << std::strerror(rc) << "\n";
    return 1;
  }

  // The mock cluster needs a client handle for its bookkeeping; this one never connects.
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    std::cerr << "lpa-kafka-broker: " << errstr << "\n";
    rd_kafka_conf_destroy(conf);
    return 1;
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    std::cerr << "lpa-kafka-broker: rd_kafka_new: " << errstr << "\n";
    rd_kafka_conf_destroy(conf);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, opts.brokers);
  if (cluster == nullptr) {
    std::cerr << "lpa-kafka-broker: rd_kafka_mock_cluster_new failed\n";
    rd_kafka_destroy(rk);
    return 1;
  }

  if (opts.topic) {
    int partitions = opts.partitions.value_or(1);
    int replication = opts.brokers < 3 ? opts.brokers : 3;
    rd_kafka_resp_err_t err
        = rd_kafka_mock_topic_create(cluster, opts.topic->c_str(), partitions, replication);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::cerr << "lpa-kafka-broker: creating topic " << *opts.topic << ": "
                << rd_kafka_err2str(err) << "\n";
      rd_kafka_mock_cluster_destroy(cluster);
      rd_kafka_destroy(rk);
      return 1;
    }
    std::cerr << "lpa-kafka-broker: created topic " << *opts.topic << " with " << partitions
              << " partition(s), replication factor " << replication << "\n";
  }

  const char* bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
  std::cerr << "lpa-kafka-broker: " << opts.brokers << " broker(s) up; SIGINT or SIGTERM stops\n";
  std::printf("bootstrap: %s\n", bootstrap);
  std::fflush(stdout);

  int received = 0;
  for (;;) {
    int rc = sigwait(&signals, &received);
    if (rc == 0)
      break;
    if (rc != EINTR) {
      std::cerr << "lpa-kafka-broker: sigwait: " << std::strerror(rc) << "\n";
      break;
    }
  }
  std::cerr << "lpa-kafka-broker: " << (received == SIGINT ? "SIGINT" : "SIGTERM")
            << ", shutting down\n";

  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  try {
    std::optional<options> opts = parse(argc, argv);
    if (!opts) {
      std::cout << usage_text;
      return 0;
    }
    return run(*opts);
  } catch (const usage_error& e) {
    std::cerr << "lpa-kafka-broker: " << e.what() << "\n" << usage_text;
    return 2;
  }
}
