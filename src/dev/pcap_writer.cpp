#include "dev/pcap_writer.h"

#include <cerrno>

namespace usnet {
namespace {

// pcap headers are in the writer's byte order; readers detect it from the magic.
template <typename T>
void put(std::FILE* f, T v) {
  std::fwrite(&v, sizeof(v), 1, f);
}

}  // namespace

Result<std::unique_ptr<PcapWriter>> PcapWriter::open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "wbe");
  if (f == nullptr) {
    return errno == EACCES || errno == EPERM ? Error::kPermissionDenied : Error::kNoDevice;
  }
  put<std::uint32_t>(f, kMagicNanos);
  put<std::uint16_t>(f, 2);  // version 2.4
  put<std::uint16_t>(f, 4);
  put<std::int32_t>(f, 0);   // thiszone
  put<std::uint32_t>(f, 0);  // sigfigs
  put<std::uint32_t>(f, kSnaplen);
  put<std::uint32_t>(f, kLinktypeEthernet);
  return std::unique_ptr<PcapWriter>(new PcapWriter(f));
}

PcapWriter::~PcapWriter() {
  std::fclose(f_);
}

void PcapWriter::write(Instant ts, ByteSpan frame) {
  const auto ns = ts.time_since_epoch().count();
  const auto caplen = static_cast<std::uint32_t>(std::min<std::size_t>(frame.size(), kSnaplen));
  put<std::uint32_t>(f_, static_cast<std::uint32_t>(ns / 1'000'000'000));
  put<std::uint32_t>(f_, static_cast<std::uint32_t>(ns % 1'000'000'000));
  put<std::uint32_t>(f_, caplen);
  put<std::uint32_t>(f_, static_cast<std::uint32_t>(frame.size()));
  std::fwrite(frame.data(), 1, caplen, f_);
  ++frames_;
}

void PcapWriter::flush() {
  std::fflush(f_);
}

}  // namespace usnet
