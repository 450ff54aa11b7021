// The `usnet` command-line tool.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "commands.h"

int main(int argc, char** argv) {
  try {
    CLI::App app{"usnet: the UNIX network system calls, rebuilt in user space"};
    app.require_subcommand(1);
    usnet::tool::register_demo(app);
    usnet::tool::register_ping(app);
    usnet::tool::register_udp_echo(app);
    usnet::tool::register_tcp_echo(app);
    usnet::tool::register_httpd(app);
    usnet::tool::register_get(app);
    usnet::tool::register_tcp_send(app);
    usnet::tool::register_sysctl(app);
    usnet::tool::register_run(app);
    try {
      app.parse(argc, argv);
    } catch (const CLI::RuntimeError& e) {
      return e.get_exit_code();
    } catch (const CLI::ParseError& e) {
      return app.exit(e);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "usnet: %s\n", e.what());
    return 2;
  }
  return 0;
}
