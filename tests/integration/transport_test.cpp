// The gRPC transport: TLS and mTLS with certificates made here by openssl, the receive size
// limit, start-up errors for unusable TLS files, and lpa-cli / lpa-bench over mTLS.
#include "grpc_gateway/transport.hpp"
#include "tests/support/api_fixture.hpp"
#include "tests/support/child_process.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <regex>
#include <set>
#include <sstream>

using namespace lpa::test;
using Stub = v1::LogisticPackageApiService::Stub;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A test PKI made with the openssl command: a CA, a server certificate for localhost and
// 127.0.0.1, a client certificate from the same CA, and a client certificate from another CA.
struct test_pki {
  fs::path dir;

  test_pki() {
    std::string pattern = (fs::temp_directory_path() / "lpa-pki-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    make_ca("ca");
    make_ca("other-ca");
    make_cert("server", "ca", "localhost",
              "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
              "extendedKeyUsage=serverAuth\n");
    make_cert("client", "ca", "lpa client", "extendedKeyUsage=clientAuth\n");
    make_cert("stranger", "other-ca", "lpa stranger", "extendedKeyUsage=clientAuth\n");
  }
  ~test_pki() { fs::remove_all(dir); }

  std::string path(const std::string& file) const { return (dir / file).string(); }
  std::string pem(const std::string& file) const { return read_text(dir / file); }

private:
  void openssl(const std::string& args) const {
    INFO("openssl " << args << "\n" << read_text(dir / "openssl.log"));
    REQUIRE(
        std::system(("cd '" + dir.string() + "' && openssl " + args + " 2>>openssl.log").c_str())
        == 0);
  }
  void make_key(const std::string& name) const {
    openssl("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + name + ".key");
  }
  void make_ca(const std::string& name) const {
    make_key(name);
    openssl("req -x509 -new -key " + name + ".key -out " + name + ".pem -days 2 -subj '/CN=" + name
            + "' -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign");
  }
  void make_cert(const std::string& name, const std::string& ca, const std::string& cn,
                 const std::string& extensions) const {
    make_key(name);
    std::ofstream(dir / (name + ".ext")) << extensions;
    openssl("req -new -key " + name + ".key -out " + name + ".csr -subj '/CN=" + cn + "'");
    openssl("x509 -req -in " + name + ".csr -CA " + ca + ".pem -CAkey " + ca
            + ".key -CAcreateserial -days 2 -out " + name + ".pem -extfile " + name + ".ext");
  }
};

// An API server on the process's PostgreSQL with the test settings, changed by `adjust`.
struct server_under_test {
  test_postgres& pg = shared_postgres();
  lpa::settings cfg;
  std::unique_ptr<lpa::api_server> server;
  pqxx::connection db{pg.dsn()};

  explicit server_under_test(const std::function<void(lpa::settings&)>& adjust)
      : cfg(test_settings(pg.dsn())) {
    adjust(cfg);
    server = std::make_unique<lpa::api_server>(cfg, [] { return false; });
  }
  ~server_under_test() { server->shutdown(); }

  std::string addr() const { return "127.0.0.1:" + std::to_string(server->grpc_port()); }

  long long packages() {
    pqxx::read_transaction tx{db};
    return tx.exec1("SELECT count(*) FROM package")[0].as<long long>();
  }
};

void use_tls(lpa::settings& cfg, const test_pki& pki) {
  cfg.grpc.tls_cert_file = pki.path("server.pem");
  cfg.grpc.tls_key_file = pki.path("server.key");
}

std::shared_ptr<grpc::ChannelCredentials> tls_client(const test_pki& pki,
                                                     const std::string& client = "") {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = pki.pem("ca.pem");
  if (!client.empty()) {
    options.pem_cert_chain = pki.pem(client + ".pem");
    options.pem_private_key = pki.pem(client + ".key");
  }
  return grpc::SslCredentials(options);
}

grpc::Status create(const std::string& addr,
                    const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                    const std::string& title = "box") {
  auto stub = v1::LogisticPackageApiService::NewStub(grpc::CreateChannel(addr, credentials));
  v1::CreatePackageV1Request req;
  req.set_title(title);
  req.set_material("wood");
  req.set_maximumvolume(1);
  v1::CreatePackageV1Response rep;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  return stub->CreatePackageV1(&ctx, req, &rep);
}

// A plaintext channel, connected, that pings the server every second (as often as gRPC's client
// pings), also without calls.
std::shared_ptr<grpc::Channel> pinging_channel(const std::string& addr) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 1000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  auto channel = grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(), args);
  REQUIRE(channel->WaitForConnected(std::chrono::system_clock::now() + 5s));
  return channel;
}

std::string credentials_error(const lpa::settings::grpc_t& cfg) {
  try {
    lpa::server_credentials(cfg);
  } catch (const lpa::config_error& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("TLS: a client trusting the CA creates, a plaintext client is refused", "[transport]") {
  test_pki pki;
  server_under_test s{[&](lpa::settings& cfg) { use_tls(cfg, pki); }};

  auto plaintext = create(s.addr(), grpc::InsecureChannelCredentials());
  INFO(plaintext.error_message());
  CHECK(plaintext.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(s.packages() == 0);

  auto tls = create(s.addr(), tls_client(pki));
  INFO(tls.error_message());
  CHECK(tls.ok());
  CHECK(s.packages() == 1);
}

TEST_CASE("mTLS: only a client certificate signed by the client CA gets in", "[transport]") {
  test_pki pki;
  server_under_test s{[&](lpa::settings& cfg) {
    use_tls(cfg, pki);
    cfg.grpc.tls_client_ca_file = pki.path("ca.pem");
  }};

  auto no_certificate = create(s.addr(), tls_client(pki));
  INFO(no_certificate.error_message());
  CHECK(no_certificate.error_code() == grpc::StatusCode::UNAVAILABLE);

  auto other_ca = create(s.addr(), tls_client(pki, "stranger"));
  INFO(other_ca.error_message());
  CHECK(other_ca.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(s.packages() == 0);

  auto signed_by_ca = create(s.addr(), tls_client(pki, "client"));
  INFO(signed_by_ca.error_message());
  CHECK(signed_by_ca.ok());
  CHECK(s.packages() == 1);
}

TEST_CASE("A request bigger than grpc.max_receive_message_size gets RESOURCE_EXHAUSTED and "
          "writes nothing",
          "[transport]") {
  server_under_test s{[](lpa::settings& cfg) { cfg.grpc.max_receive_message_size = 1024; }};
  auto too_big = create(s.addr(), grpc::InsecureChannelCredentials(), std::string(2000, 'x'));
  INFO(too_big.error_message());
  CHECK(too_big.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(s.packages() == 0);
  CHECK(create(s.addr(), grpc::InsecureChannelCredentials()).ok()); // small ones still pass
  CHECK(s.packages() == 1);
}

TEST_CASE("With grpc.max_concurrent_streams 1 a second call on the connection waits for the "
          "first",
          "[transport]") {
  server_under_test s{[](lpa::settings& cfg) { cfg.grpc.max_concurrent_streams = 1; }};
  auto busy = create(s.addr(), grpc::InsecureChannelCredentials());
  REQUIRE(busy.ok());
  auto one_connection = [&] {
    grpc::ChannelArguments args; // a connection of its own, not shared with other channels
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return v1::LogisticPackageApiService::NewStub(
        grpc::CreateCustomChannel(s.addr(), grpc::InsecureChannelCredentials(), args));
  };
  auto first = one_connection();
  auto other = one_connection();
  auto describe = [](Stub& stub, std::chrono::milliseconds deadline) {
    v1::DescribePackageV1Request req;
    req.set_packageid(1);
    v1::DescribePackageV1Response rep;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + deadline);
    return stub.DescribePackageV1(&ctx, req, &rep).error_code();
  };
  REQUIRE(describe(*first, 5s) == grpc::StatusCode::OK); // connected

  // The first stream: an Update waiting on a row lock.
  pqxx::connection blocker{s.pg.dsn()};
  pqxx::work lock{blocker};
  lock.exec1("SELECT 1 FROM package WHERE package_id = 1 FOR UPDATE");
  auto update = std::async(std::launch::async, [&] {
    v1::UpdatePackageV1Request req;
    req.set_packageid(1);
    req.set_title("crate");
    v1::UpdatePackageV1Response rep;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    return first->UpdatePackageV1(&ctx, req, &rep).error_code();
  });
  REQUIRE(await_sessions(s.pg.dsn(), "wait_event_type = 'Lock'"));

  CHECK(describe(*first, 500ms) == grpc::StatusCode::DEADLINE_EXCEEDED); // no stream for it
  CHECK(describe(*other, 5s) == grpc::StatusCode::OK);                   // another connection
  lock.abort();
  CHECK(update.get() == grpc::StatusCode::OK);
  CHECK(describe(*first, 5s) == grpc::StatusCode::OK);
}

TEST_CASE("An idle client pinging every second stays connected when "
          "grpc.keepalive_min_ping_interval allows it",
          "[transport]") {
  server_under_test s{[](lpa::settings& cfg) { cfg.grpc.keepalive_min_ping_interval = 500ms; }};
  auto channel = pinging_channel(s.addr());
  // Four pings or so on an idle connection, none a strike: still READY. With
  // keepalive_permit_without_calls false, or gRPC's own interval (5 min), they would be strikes.
  CHECK_FALSE(
      channel->WaitForStateChange(GRPC_CHANNEL_READY, std::chrono::system_clock::now() + 4500ms));
}

TEST_CASE("An idle client pinging more often than grpc.keepalive_min_ping_interval is sent away",
          "[transport]") {
  server_under_test s{[](lpa::settings&) {}}; // 10s by default
  auto channel = pinging_channel(s.addr());
  // The third ping too early is the third strike: GOAWAY (too_many_pings), and the channel
  // leaves READY.
  CHECK(channel->WaitForStateChange(GRPC_CHANNEL_READY, std::chrono::system_clock::now() + 10s));
}

TEST_CASE("Unusable TLS files are config errors naming the key", "[transport]") {
  test_pki pki;
  lpa::settings::grpc_t cfg;
  cfg.tls_cert_file = pki.path("server.pem");
  cfg.tls_key_file = pki.path("server.key");
  CHECK(credentials_error(cfg).empty());

  SECTION("a missing file") {
    cfg.tls_cert_file = pki.path("missing.pem");
    CHECK(credentials_error(cfg)
          == "config: grpc.tls_cert_file: '" + cfg.tls_cert_file
                 + "' cannot be read: No such file or directory");
  }
  SECTION("a file without a certificate") {
    cfg.tls_cert_file = pki.path("server.ext");
    CHECK(credentials_error(cfg)
          == "config: grpc.tls_cert_file: '" + cfg.tls_cert_file + "' holds no PEM certificate");
  }
  SECTION("a key that is not the certificate's") {
    cfg.tls_key_file = pki.path("client.key");
    CHECK(credentials_error(cfg)
          == "config: grpc.tls_key_file: '" + cfg.tls_key_file
                 + "' is not the key of the certificate in '" + cfg.tls_cert_file
                 + "' (grpc.tls_cert_file)");
  }
  SECTION("a certificate in place of the key") {
    cfg.tls_key_file = pki.path("server.pem");
    CHECK(credentials_error(cfg)
          == "config: grpc.tls_key_file: '" + cfg.tls_key_file
                 + "' holds no unencrypted PEM private key");
  }
  SECTION("a client CA file without a certificate") {
    cfg.tls_client_ca_file = pki.path("missing-ca.pem");
    CHECK_THAT(credentials_error(cfg), Contains("config: grpc.tls_client_ca_file: '"));
  }
}

TEST_CASE("The API binary exits 2 on a missing TLS file or a certificate without its key",
          "[transport]") {
  // It stops before it looks for PostgreSQL, so none is needed.
  std::vector<std::string> base{
      "LPA_CONFIG=" LPA_SOURCE_DIR "/config/config.yaml",
      "LPA_DB_DSN=host=127.0.0.1 port=1 dbname=none connect_timeout=1",
      "LPA_LOG_LEVEL=warn",
      "LPA_GRPC_HOST=127.0.0.1",
      "LPA_GRPC_PORT=0",
      "LPA_STATUS_PORT=0",
      "LPA_METRICS_PORT=0",
  };
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), base.begin(), base.end());
    return extra;
  };
  CHECK(
      wait_exit(spawn_with_settings(LPA_API_BIN, with({"LPA_GRPC_TLS_CERT_FILE=/nonexistent.pem",
                                                       "LPA_GRPC_TLS_KEY_FILE=/nonexistent.key"})))
      == 2);
  CHECK(wait_exit(spawn_with_settings(LPA_API_BIN, with({"LPA_GRPC_TLS_CERT_FILE=/some.pem"})))
        == 2);
}

TEST_CASE("lpa-cli and lpa-bench reach an mTLS server with --tls-ca, --tls-cert and --tls-key",
          "[transport]") {
  test_pki pki;
  server_under_test s{[&](lpa::settings& cfg) {
    use_tls(cfg, pki);
    cfg.grpc.tls_client_ca_file = pki.path("ca.pem");
  }};
  const std::string tls = " --tls-ca " + pki.path("ca.pem") + " --tls-cert "
                          + pki.path("client.pem") + " --tls-key " + pki.path("client.key");

  auto cli = run(LPA_CLI_BIN " --addr " + s.addr() + tls
                 + " create --title box --material wood --volume 1 2>&1");
  INFO(cli.out);
  CHECK(cli.exit_code == 0);
  CHECK(cli.out == "created package 1\n");
  CHECK(run(LPA_CLI_BIN " --addr " + s.addr() + " describe 1 2>&1").exit_code == 1);

  auto ids = pki.path("ids.txt");
  auto bench = run(LPA_BENCH_BIN " --addr " + s.addr() + tls
                   + " --rate 40 --seconds 1 --mix create=50,describe=30,list=10,update=10"
                     " --idempotency-keys --json --ids-out "
                   + ids + " 2>&1");
  INFO(bench.out);
  CHECK(bench.exit_code == 0);
  CHECK_THAT(bench.out, Contains("{\"mode\":\"open\",\"offered_rate\":40,"));
  CHECK_THAT(bench.out, Contains("\"total\":{\"counts\":{\"OK\":40},\"latency_ms\":{\"p50\":"));

  // Every create the bench was told about is committed with the id it was given.
  std::istringstream lines(read_text(ids));
  std::set<std::string> keys;
  size_t creates = 0;
  for (std::string key, code, id; lines >> key >> code >> id; ++creates) {
    CHECK(code == "OK");
    CHECK(key.rfind("lpa-bench-", 0) == 0);
    keys.insert(key);
    pqxx::read_transaction tx{s.db};
    CHECK(tx.exec1("SELECT count(*) FROM package WHERE package_id = " + tx.quote(id))[0].as<int>()
          == 1);
  }
  CHECK(creates >= 1);
  CHECK(keys.size() == creates);
  CHECK(s.packages() == static_cast<long long>(creates) + 1); // + lpa-cli's

  // The closed loop's line, read as tools/bench.sh reads it (sed 's/.*per_second=.../').
  auto closed = run(LPA_BENCH_BIN " --addr " + s.addr() + tls + " --clients 2 --seconds 1 2>&1");
  INFO(closed.out);
  CHECK(closed.exit_code == 0);
  CHECK_THAT(closed.out, StartsWith("ok=") && Contains(" errors=0 ") && Contains(" mode=closed ")
                             && Contains(" resource_exhausted=0 ") && Contains(" codes=OK:"));
  std::smatch rate;
  REQUIRE(std::regex_search(closed.out, rate, std::regex(".*per_second=([0-9.]*)")));
  CHECK(std::stod(rate[1]) > 0);
  // As tools/bench_api.sh reads a key: preceded by a space.
  std::smatch goodput;
  REQUIRE(std::regex_search(closed.out, goodput, std::regex(" ok_per_second=([0-9.]*)")));
  CHECK(goodput[1] == rate[1]);
}

TEST_CASE("lpa-bench --help prints its usage and sends nothing", "[transport]") {
  auto help = run(LPA_BENCH_BIN " --help --addr 127.0.0.1:1");
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Contains("usage: lpa-bench") && Contains("--rate R"));
  CHECK(run(LPA_BENCH_BIN " --rate 0 2>&1").exit_code == 2);
  CHECK(run(LPA_BENCH_BIN " --mix create=1,remove=1 2>&1").exit_code == 2);
}
