/* An echo server (RFC 862) on a completion ring, the io_uring way: one multishot accept
 * brings the connections in; each connection then alternates a recv and a send of what it
 * received. A liburing program has the same shape, with io_uring_ for usnet_ring_. */
#include <usnet/ring.h>

#include "example_net.h"

struct conn {
  int fd;
  int sending; /* the operation in flight: a send (1) or a recv (0) */
  char buf[16384];
};

/* An SQE, submitting what is queued first if the submission queue is full. */
static struct usnet_sqe* sqe_for(struct usnet_ring* ring) {
  struct usnet_sqe* sqe = usnet_ring_get_sqe(ring);
  if (sqe == NULL) {
    usnet_ring_submit(ring);
    sqe = usnet_ring_get_sqe(ring);
  }
  return sqe;
}

static void queue_accept(struct usnet_ring* ring, int listener) {
  struct usnet_sqe* sqe = sqe_for(ring);
  usnet_prep_multishot_accept(sqe, listener, NULL, NULL, 0);
  usnet_sqe_set_data(sqe, NULL); /* user_data NULL: the accept */
}

static void queue_recv(struct usnet_ring* ring, struct conn* c) {
  struct usnet_sqe* sqe = sqe_for(ring);
  c->sending = 0;
  usnet_prep_recv(sqe, c->fd, c->buf, sizeof c->buf, 0);
  usnet_sqe_set_data(sqe, c);
}

static void queue_send(struct usnet_ring* ring, struct conn* c, size_t len) {
  struct usnet_sqe* sqe = sqe_for(ring);
  c->sending = 1;
  /* MSG_WAITALL: complete only when all of it is queued, so no partial send to finish. */
  usnet_prep_send(sqe, c->fd, c->buf, len, MSG_WAITALL);
  usnet_sqe_set_data(sqe, c);
}

static void* serve(void* arg) {
  struct example_server* s = (struct example_server*)arg;
  usnet_stack_use(s->stack);
  struct usnet_ring ring;
  if (usnet_ring_queue_init(256, &ring, 0) != 0) {
    fprintf(stderr, "usnet_ring_queue_init failed\n");
    exit(1);
  }
  queue_accept(&ring, s->listener);
  for (;;) {
    usnet_ring_submit_and_wait(&ring, 1);
    struct usnet_cqe* cqe;
    unsigned head;
    unsigned seen = 0;
    usnet_ring_for_each_cqe(&ring, head, cqe) {
      struct conn* c = (struct conn*)usnet_cqe_get_data(cqe);
      seen++;
      if (c == NULL) { /* a new connection, or the accept ended */
        if (cqe->res >= 0) {
          c = calloc(1, sizeof *c);
          c->fd = cqe->res;
          queue_recv(&ring, c);
        }
        if (!(cqe->flags & USNET_CQE_F_MORE)) queue_accept(&ring, s->listener);
      } else if (cqe->res <= 0) { /* end of stream or an error */
        usnet_close(c->fd);
        free(c);
      } else if (c->sending) {
        queue_recv(&ring, c);
      } else {
        queue_send(&ring, c, (size_t)cqe->res);
      }
    }
    usnet_ring_cq_advance(&ring, seen);
  }
  return NULL;
}

int main(void) {
  return example_run(serve, 0, 25);
}
