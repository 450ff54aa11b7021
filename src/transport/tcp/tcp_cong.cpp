// Congestion control: NewReno (RFC 5681 slow start and congestion avoidance; recovery per
// RFC 6582 is in tcp_input.cpp) and CUBIC (RFC 9438). Windows are bytes; CUBIC computes in
// segments as the RFC does.
#include <cmath>

#include "transport/tcp/tcp_internal.h"

namespace usnet {
namespace {

// RFC 5681 3.1: slow start grows cwnd by the bytes acknowledged (RFC 3465 byte counting,
// limited to ssthresh); returns what is left for congestion avoidance.
std::uint32_t slow_start(TcpSock& sk, std::uint32_t acked) {
  if (sk.cwnd >= sk.ssthresh) return acked;
  const std::uint32_t room = sk.ssthresh - sk.cwnd;
  const std::uint32_t inc = std::min(acked, room);
  sk.cwnd += inc;
  return acked - inc;
}

std::uint32_t half_flight(const TcpSock& sk) {
  // RFC 5681 (4): ssthresh = max(FlightSize / 2, 2 * SMSS).
  return std::max<std::uint32_t>(sk.flight() / 2, 2U * sk.mss);
}

class NewReno final : public CongestionControl {
 public:
  std::string_view name() const noexcept override { return "reno"; }
  void on_ack(TcpSock& sk, std::uint32_t acked, Instant /*now*/) override {
    acked = slow_start(sk, acked);
    if (acked == 0) return;
    // Congestion avoidance: one SMSS per cwnd of acknowledged bytes (RFC 5681 3.1, (3)).
    bytes_acc_ += acked;
    if (bytes_acc_ >= sk.cwnd) {
      bytes_acc_ -= sk.cwnd;
      sk.cwnd += sk.mss;
    }
  }
  std::uint32_t ssthresh(TcpSock& sk, Instant /*now*/) override {
    bytes_acc_ = 0;
    return half_flight(sk);
  }

 private:
  std::uint32_t bytes_acc_ = 0;
};

class Cubic final : public CongestionControl {
 public:
  std::string_view name() const noexcept override { return "cubic"; }

  void on_ack(TcpSock& sk, std::uint32_t acked, Instant now) override {
    acked = slow_start(sk, acked);
    if (acked == 0) return;
    const double mss = sk.mss;
    const double cwnd = sk.cwnd / mss;
    if (epoch_start_ == kEpoch) {
      // RFC 9438 4.2: a new congestion-avoidance epoch.
      epoch_start_ = now;
      if (cwnd < w_max_) {
        k_ = std::cbrt((w_max_ - cwnd) / kC);
        origin_ = w_max_;
      } else {
        k_ = 0;
        origin_ = cwnd;
      }
      w_est_ = cwnd;
    }
    const double rtt =
        std::chrono::duration<double>(sk.srtt.count() > 0 ? sk.srtt : sk.rto).count();
    const double t = std::chrono::duration<double>(now - epoch_start_).count() + rtt;
    // RFC 9438 4.2 (1): W_cubic(t) = C (t - K)^3 + W_max, the target one RTT ahead, bounded
    // to [cwnd, 1.5 cwnd] (4.4).
    double target = kC * std::pow(t - k_, 3.0) + origin_;
    target = std::clamp(target, cwnd, 1.5 * cwnd);
    // RFC 9438 4.3: the Reno-friendly estimate.
    const double segs = acked / mss;
    w_est_ += kAlphaCubic * segs / cwnd;
    // One ACK may cover many segments (a stretch ACK, or the cumulative ACK that follows a
    // retransmission timeout over data the peer had SACKed): neither estimate may carry
    // cwnd past 1.5 cwnd on it, the bound of 4.4 (Linux: cnt >= 2 in bictcp_update).
    // Unbounded, W_est grew by alpha x segments / cwnd and the increment by
    // (next - cwnd) / cwnd x segments: from a one-segment loss window to tens of thousands.
    w_est_ = std::min(w_est_, 1.5 * cwnd);
    double next = target;
    if (w_est_ > target) next = w_est_;
    // Grow by (next - cwnd) / cwnd per acknowledged segment, and at most to `next`.
    acc_ += std::min((next - cwnd) / cwnd * segs, next - cwnd) * mss;
    if (acc_ >= 1.0) {
      const auto inc = static_cast<std::uint32_t>(acc_);
      sk.cwnd += inc;
      acc_ -= inc;
    }
  }

  std::uint32_t ssthresh(TcpSock& sk, Instant /*now*/) override {
    const double mss = sk.mss;
    const double cwnd = sk.cwnd / mss;
    // RFC 9438 4.7 (fast convergence) and 4.6 (multiplicative decrease by beta = 0.7).
    w_max_ = cwnd < w_max_ ? cwnd * (1.0 + kBeta) / 2.0 : cwnd;
    epoch_start_ = kEpoch;
    acc_ = 0;
    return std::max<std::uint32_t>(static_cast<std::uint32_t>(cwnd * kBeta * mss), 2U * sk.mss);
  }

  void on_rto(TcpSock& /*sk*/) override {
    epoch_start_ = kEpoch;
    acc_ = 0;
  }

 private:
  static constexpr double kC = 0.4;
  static constexpr double kBeta = 0.7;
  static constexpr double kAlphaCubic = 3.0 * (1.0 - kBeta) / (1.0 + kBeta);
  Instant epoch_start_ = kEpoch;
  double w_max_ = 0;
  double k_ = 0;
  double origin_ = 0;
  double w_est_ = 0;
  double acc_ = 0;
};

}  // namespace

std::unique_ptr<CongestionControl> make_congestion_control(std::string_view name) {
  if (name == "reno" || name == "newreno") return std::make_unique<NewReno>();
  if (name == "cubic") return std::make_unique<Cubic>();
  return nullptr;
}

}  // namespace usnet
