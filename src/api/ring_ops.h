// The completion ring's socket operations (accept, connect, send, recv, sendmsg, recvmsg,
// shutdown, close, poll-add): the same sock_* calls, argument checks and result copies as
// the C socket calls, one non-blocking try at a time. They live in api/ because they turn
// descriptors, sockaddrs and msghdrs into the socket layer's types, as the C calls do.
#pragma once

#include <memory>

#include "runtime/ring_op.h"

namespace usnet::api {

// The operation for a socket SQE; null if the opcode is not one of these.
std::shared_ptr<RingOp> make_socket_op(const usnet_sqe& sqe);

}  // namespace usnet::api
