#include "tests/support/test_postgres.hpp"

#include <pqxx/pqxx>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <thread>

namespace lpa::test {

namespace {

const std::string pg_local = std::string{LPA_SOURCE_DIR} + "/tools/pg_local.sh";

void run(const std::string& command) {
  if (std::system(command.c_str()) != 0)
    throw std::runtime_error("test harness command failed: " + command);
}

} // namespace

bool await_sessions(const std::string& dsn, const std::string& where, bool present) {
  pqxx::connection observer{dsn};
  for (int i = 0; i < 200; ++i) {
    pqxx::nontransaction q{observer};
    auto n = q.exec1("SELECT count(*) FROM pg_stat_activity WHERE " + where)[0].as<int>();
    if ((n > 0) == present)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  return false;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("no free port");
  ::close(fd);
  return ntohs(addr.sin_port);
}

test_postgres::test_postgres() : port_(free_port()) {
  char tmpl[] = "/tmp/lpa-test-pg-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  // The server may run as the postgres user (when tests run as root): let it reach its data.
  std::filesystem::permissions(
      tmpl, std::filesystem::perms::others_exec | std::filesystem::perms::group_exec,
      std::filesystem::perm_options::add);
  dir_ = std::string{tmpl} + "/data";
  start();
}

test_postgres::~test_postgres() {
  stop();
  std::error_code ignored;
  std::filesystem::remove_all(std::filesystem::path{dir_}.parent_path(), ignored);
}

void test_postgres::start() {
  // fsync off: a test cluster need not survive a power cut, and it makes tests faster.
  run("LPA_PG_FSYNC=off " + pg_local + " start " + dir_ + " " + std::to_string(port_)
      + " >/dev/null");
}

void test_postgres::stop() {
  run(pg_local + " stop " + dir_);
}

std::string test_postgres::dsn() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=logistic_package_api"
         + " user=postgres";
}

std::string test_postgres::dsn_of_new_database(const std::string& name) const {
  pqxx::connection conn{dsn()};
  pqxx::nontransaction tx{conn};
  tx.exec("CREATE DATABASE " + tx.quote_name(name));
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + name + " user=postgres";
}

test_postgres& shared_postgres() {
  static test_postgres instance;
  return instance;
}

} // namespace lpa::test
