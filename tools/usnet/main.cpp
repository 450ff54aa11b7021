// The `usnet` command-line tool.
#include <CLI/CLI.hpp>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"usnet: the UNIX network system calls, rebuilt in user space"};
  app.require_subcommand(1);
  usnet::tool::register_demo(app);
  usnet::tool::register_ping(app);
  usnet::tool::register_udp_echo(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
