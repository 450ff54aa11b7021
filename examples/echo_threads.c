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
  struct example_server* s = (struct example_server*)arg;
  usnet_stack_use(s->stack); /* this thread's sockets live on the server host */
  int l = s->listener;
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
  return example_run(serve, 0, 25);
}
