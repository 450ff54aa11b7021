/* What the echo examples share: two usnet hosts in one process joined by a simulated wire
 * (the server at 198.18.0.1, a client host at 198.18.0.2), and a self-check that opens
 * connections from the client host, sends random messages and checks every echoed byte.
 * The interesting part of each example is its server; this file only gives it a network. */
#ifndef USNET_EXAMPLE_NET_H
#define USNET_EXAMPLE_NET_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <usnet/usnet.h>

#define EXAMPLE_PORT 7
#define EXAMPLE_CLIENT_THREADS 4

struct example_net {
  usnet_runtime* rt;
  usnet_stack* server;
  usnet_stack* client;
};

static inline int example_net_up(struct example_net* n) {
  n->rt = usnet_runtime_new();
  if (n->rt == NULL) return -1;
  n->server = usnet_stack_new(n->rt, "server", 1);
  n->client = usnet_stack_new(n->rt, "client", 2);
  if (n->server == NULL || n->client == NULL) return -1;
  return usnet_wire_connect(n->server, "198.18.0.1/24", n->client, "198.18.0.2/24", NULL, NULL);
}

struct example_check {
  usnet_stack* client;
  int connections; /* per thread */
  unsigned seed;
  long bytes;
  int failed;
};

static inline int example_send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t k = usnet_send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0) return -1;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

static inline void* example_check_thread(void* arg) {
  struct example_check* c = (struct example_check*)arg;
  usnet_stack_use(c->client); /* sockets of this thread live on the client host */
  struct sockaddr_in to;
  memset(&to, 0, sizeof to);
  to.sin_family = AF_INET;
  to.sin_port = htons(EXAMPLE_PORT);
  inet_pton(AF_INET, "198.18.0.1", &to.sin_addr);
  char* sendbuf = malloc(16384);
  char* recvbuf = malloc(16384);
  for (int i = 0; i < c->connections && !c->failed; i++) {
    int fd = usnet_socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || usnet_connect(fd, (struct sockaddr*)&to, sizeof to) != 0) {
      fprintf(stderr, "connect: %s\n", strerror(errno));
      c->failed = 1;
      break;
    }
    for (int m = 0; m < 8 && !c->failed; m++) {
      size_t len = 1 + (size_t)(rand_r(&c->seed) % 16384);
      for (size_t k = 0; k < len; k++)
        sendbuf[k] = (char)rand_r(&c->seed);
      if (example_send_all(fd, sendbuf, len) != 0) c->failed = 1;
      size_t got = 0;
      while (!c->failed && got < len) {
        ssize_t k = usnet_recv(fd, recvbuf + got, len - got, 0);
        if (k <= 0)
          c->failed = 1;
        else
          got += (size_t)k;
      }
      if (!c->failed && memcmp(sendbuf, recvbuf, len) != 0) c->failed = 1;
      c->bytes += (long)len;
    }
    usnet_close(fd);
  }
  free(sendbuf);
  free(recvbuf);
  return NULL;
}

/* Runs EXAMPLE_CLIENT_THREADS clients of `connections` connections each against the server;
 * prints what came back and returns 0 if every byte did. */
static inline int example_check_echo(struct example_net* n, int connections) {
  pthread_t t[EXAMPLE_CLIENT_THREADS];
  struct example_check c[EXAMPLE_CLIENT_THREADS];
  for (int i = 0; i < EXAMPLE_CLIENT_THREADS; i++) {
    c[i] = (struct example_check){n->client, connections, (unsigned)i + 1, 0, 0};
    pthread_create(&t[i], NULL, example_check_thread, &c[i]);
  }
  long bytes = 0;
  int failed = 0;
  for (int i = 0; i < EXAMPLE_CLIENT_THREADS; i++) {
    pthread_join(t[i], NULL);
    bytes += c[i].bytes;
    failed |= c[i].failed;
  }
  printf("%d connections, %ld bytes echoed: %s\n", EXAMPLE_CLIENT_THREADS * connections, bytes,
         failed ? "MISMATCH" : "all bytes checked");
  return failed ? 1 : 0;
}

/* What a server thread gets: its host, and a socket already listening there on the
 * example port (made before the clients start, so none of them is refused). */
struct example_server {
  usnet_stack* stack;
  int listener;
};

/* Brings the two hosts up, listens on the server host (listen_flags: SOCK_NONBLOCK or 0),
 * starts `serve` on a thread, and returns the self-check's verdict: what each example's
 * main() does. */
static inline int example_run(void* (*serve)(void*), int listen_flags, int connections_per_client) {
  static struct example_net net;
  static struct example_server server;
  if (example_net_up(&net) != 0) {
    perror("network");
    return 1;
  }
  usnet_stack_use(net.server);
  server.stack = net.server;
  server.listener = usnet_socket(AF_INET, SOCK_STREAM | listen_flags, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(EXAMPLE_PORT)};
  if (server.listener < 0 || usnet_bind(server.listener, (struct sockaddr*)&a, sizeof a) != 0 ||
      usnet_listen(server.listener, 128) != 0) {
    perror("listen");
    return 1;
  }
  pthread_t t;
  pthread_create(&t, NULL, serve, &server);
  return example_check_echo(&net, connections_per_client);
}

#endif
