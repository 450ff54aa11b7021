/* A C program on the installed library: a UDP datagram over the default stack's loopback,
 * sent with usnet_sendto and received through a completion ring (ring.h's inline helpers
 * compiled as C). Exits non-zero, saying why, if anything differs. */
#include <usnet/ring.h>
#include <usnet/usnet.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static int fail(const char* what) {
  fprintf(stderr, "c consumer: %s failed: %s\n", what, strerror(errno));
  return 1;
}

int main(void) {
  const int rx = usnet_socket(AF_INET, SOCK_DGRAM, 0);
  const int tx = usnet_socket(AF_INET, SOCK_DGRAM, 0);
  if (rx < 0 || tx < 0) return fail("usnet_socket");
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (usnet_bind(rx, (struct sockaddr*)&addr, sizeof addr) != 0) return fail("usnet_bind");
  socklen_t len = sizeof addr;
  if (usnet_getsockname(rx, (struct sockaddr*)&addr, &len) != 0 || addr.sin_port == 0) {
    return fail("usnet_getsockname");
  }

  struct usnet_ring ring;
  if (usnet_ring_queue_init(8, &ring, 0) != 0) return fail("usnet_ring_queue_init");
  char buf[64] = {0};
  struct usnet_sqe* sqe = usnet_ring_get_sqe(&ring);
  if (sqe == NULL) return fail("usnet_ring_get_sqe");
  usnet_prep_recv(sqe, rx, buf, sizeof buf, 0);
  usnet_sqe_set_data64(sqe, 42);
  if (usnet_ring_submit(&ring) != 1) return fail("usnet_ring_submit");

  const char msg[] = "installed usnet works from C";
  if (usnet_sendto(tx, msg, sizeof msg, 0, (struct sockaddr*)&addr, sizeof addr) !=
      (ssize_t)sizeof msg) {
    return fail("usnet_sendto");
  }
  struct usnet_cqe* cqe = NULL;
  const int w = usnet_ring_wait_cqe(&ring, &cqe);
  if (w != 0) {
    errno = -w;
    return fail("usnet_ring_wait_cqe");
  }
  if (cqe->user_data != 42 || cqe->res != (int)sizeof msg || memcmp(buf, msg, sizeof msg) != 0) {
    fprintf(stderr, "c consumer: got user_data %llu, res %d, \"%.*s\"\n",
            (unsigned long long)cqe->user_data, cqe->res, (int)sizeof buf, buf);
    return 1;
  }
  usnet_ring_cqe_seen(&ring, cqe);
  usnet_ring_queue_exit(&ring);
  if (usnet_close(tx) != 0 || usnet_close(rx) != 0) return fail("usnet_close");
  printf("%s\n", buf);
  return 0;
}
