#include "tests/support/child_process.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

namespace lpa::test {

pid_t spawn_with_settings(const std::string& bin, const std::vector<std::string>& settings) {
  std::vector<std::string> env = settings;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::string{*e}.rfind("LPA_", 0) != 0)
      env.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string path = bin;
  char* argv[] = {path.data(), nullptr};
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, path.c_str(), nullptr, nullptr, argv, envp.data()) == 0);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

command_result run(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;)
    out.append(buf, n);
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

} // namespace lpa::test
