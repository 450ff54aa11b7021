/* An echo server (RFC 862) written the classic way: blocking calls, one thread per
 * connection. The usnet calls are the BSD calls with a prefix; nothing else changes. */
#include "example_net.h"

static void* serve_connection(void* arg) {
  int fd = (int)(intptr_t)arg;
  char buf[16384];
  ssize_t n;
  while ((n = usnet_recv(fd, buf, sizeof buf, 0)) > 0) {
    if (example_send_all(fd, buf, (size_t)n) != 0) break;
  }
  usnet_close(fd);
  return NULL;
}

static void* serve(void* arg) {
  usnet_stack_use((usnet_stack*)arg); /* this thread's sockets live on the server host */
  int l = usnet_socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(EXAMPLE_PORT)};
  if (l < 0 || usnet_bind(l, (struct sockaddr*)&a, sizeof a) != 0 || usnet_listen(l, 128) != 0) {
    perror("listen");
    exit(1);
  }
  for (;;) {
    int c = usnet_accept(l, NULL, NULL);
    if (c < 0) continue;
    pthread_t t;
    pthread_create(&t, NULL, serve_connection, (void*)(intptr_t)c);
    pthread_detach(t);
  }
  return NULL;
}

int main(void) {
  struct example_net net;
  if (example_net_up(&net) != 0) {
    perror("network");
    return 1;
  }
  pthread_t server;
  pthread_create(&server, NULL, serve, net.server);
  return example_check_echo(&net, 25);
}
