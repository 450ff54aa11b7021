// Writes frames to a classic pcap file (the libpcap format Wireshark and tshark read):
// nanosecond-resolution magic 0xa1b23c4d, LINKTYPE_ETHERNET (1). Timestamps are the
// `now` given, so a simulation in virtual time writes the same file for the same seed.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "base/time.h"

namespace usnet {

class PcapWriter {
 public:
  static constexpr std::uint32_t kMagicNanos = 0xa1b23c4d;
  static constexpr std::uint32_t kLinktypeEthernet = 1;
  static constexpr std::uint32_t kSnaplen = 262144;

  static Result<std::unique_ptr<PcapWriter>> open(const std::string& path);
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  void write(Instant ts, ByteSpan frame);
  void flush();
  std::uint64_t frames() const noexcept { return frames_; }

 private:
  explicit PcapWriter(std::FILE* f) : f_(f) {}
  std::FILE* f_;
  std::uint64_t frames_ = 0;
};

}  // namespace usnet
