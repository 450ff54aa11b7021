// The `usnet` command-line tool. Subcommands are registered from their own files.
#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  CLI::App app{"usnet: the UNIX network system calls, rebuilt in user space"};
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
