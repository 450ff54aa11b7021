/* An echo server (RFC 862) on one thread with epoll: non-blocking sockets, level-triggered
 * readiness, and a per-connection backlog for what the peer was not ready to take. */
#include <fcntl.h>

#include "example_net.h"

#define MAX_CONNS 1024

struct conn {
  char pending[16384]; /* echoed bytes the socket had no room for yet */
  size_t len;
};

static struct conn* conns[MAX_CONNS * 4]; /* by descriptor number, for brevity */

static void watch(int ep, int fd, uint32_t events, int op) {
  struct epoll_event ev = {.events = events, .data.fd = fd};
  usnet_epoll_ctl(ep, op, fd, &ev);
}

static void drop(int fd) {
  usnet_close(fd); /* also leaves the epoll set */
  free(conns[fd]);
  conns[fd] = NULL;
}

/* Sends what is pending; reads more only when nothing is. */
static void on_ready(int ep, int fd, uint32_t events) {
  struct conn* c = conns[fd];
  if (c->len > 0 && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    ssize_t n = usnet_send(fd, c->pending, c->len, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) {
      drop(fd);
      return;
    }
    if (n > 0) {
      memmove(c->pending, c->pending + n, c->len - (size_t)n);
      c->len -= (size_t)n;
    }
    if (c->len == 0) watch(ep, fd, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
    return;
  }
  if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))) return;
  ssize_t n = usnet_recv(fd, c->pending, sizeof c->pending, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN)) {
    drop(fd);
    return;
  }
  if (n < 0) return;
  ssize_t sent = usnet_send(fd, c->pending, (size_t)n, MSG_NOSIGNAL);
  if (sent < 0 && errno != EAGAIN) {
    drop(fd);
    return;
  }
  if (sent < 0) sent = 0;
  c->len = (size_t)(n - sent);
  memmove(c->pending, c->pending + sent, c->len);
  if (c->len > 0) watch(ep, fd, EPOLLOUT, EPOLL_CTL_MOD); /* until the backlog is gone */
}

static void* serve(void* arg) {
  struct example_server* s = (struct example_server*)arg;
  usnet_stack_use(s->stack); /* this thread's sockets live on the server host */
  int l = s->listener;
  int ep = usnet_epoll_create1(EPOLL_CLOEXEC);
  watch(ep, l, EPOLLIN, EPOLL_CTL_ADD);
  struct epoll_event events[64];
  for (;;) {
    int n = usnet_epoll_wait(ep, events, 64, -1);
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd != l) {
        on_ready(ep, fd, events[i].events);
        continue;
      }
      int c;
      while ((c = usnet_accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
        if (c >= (int)(sizeof conns / sizeof conns[0])) {
          usnet_close(c);
          continue;
        }
        conns[c] = calloc(1, sizeof(struct conn));
        watch(ep, c, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD);
      }
    }
  }
  return NULL;
}

int main(void) {
  return example_run(serve, SOCK_NONBLOCK, 25);
}
