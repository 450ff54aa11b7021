/* A program that blocks in one usnet call on the default stack's loopback, for the Ctrl-C
 * tests of tests/runtime/signal_conformance_test.cpp:
 *   block_in_call accept|recv default|handler
 * It prints "ready" once set up, then blocks. With "handler" it installs a SIGINT handler
 * without SA_RESTART and exits 4 if the call failed with EINTR (5 otherwise); with
 * "default" SIGINT keeps its default action and ends it. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "usnet/usnet.h"

static void on_int(int sig) {
  (void)sig;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  if (strcmp(argv[2], "handler") == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_int;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
  }
  int l = usnet_socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (l < 0 || usnet_bind(l, (struct sockaddr*)&a, sizeof(a)) != 0 || usnet_listen(l, 4) != 0 ||
      usnet_getsockname(l, (struct sockaddr*)&a, &len) != 0) {
    return 3;
  }
  int fd = l;
  if (strcmp(argv[1], "recv") == 0) {
    int c = usnet_socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || usnet_connect(c, (struct sockaddr*)&a, sizeof(a)) != 0) return 3;
    fd = usnet_accept(l, NULL, NULL);
    if (fd < 0) return 3;
  }
  printf("ready\n");
  fflush(stdout);
  char buf[16];
  long r = strcmp(argv[1], "recv") == 0 ? (long)usnet_recv(fd, buf, sizeof(buf), 0)
                                        : (long)usnet_accept(fd, NULL, NULL);
  return r < 0 && errno == EINTR ? 4 : 5;
}
