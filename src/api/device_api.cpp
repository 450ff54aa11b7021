// The C calls that attach devices to stacks: TAP devices and simulated wires.
#include <cerrno>
#include <string>

#include <fmt/format.h>

#include "api/errno_out.h"
#include "api/handles.h"
#include "base/errno_map.h"
#include "dev/memory_wire.h"
#include "dev/pcap_device.h"
#include "dev/pcap_writer.h"
#include "dev/tap.h"
#include "usnet/usnet.h"

using namespace usnet;       // NOLINT(google-build-using-namespace): the C edge
using namespace usnet::api;  // NOLINT(google-build-using-namespace)

namespace {

// A locally administered unicast MAC (IEEE 802 bit 1 of the first octet set, bit 0 clear)
// drawn from the stack's seeded generator.
MacAddress random_mac(Stack& s) {
  MacAddress m;
  const std::uint64_t r = s.rng().next();
  for (std::size_t i = 0; i < 6; ++i)
    m.octets[i] = static_cast<std::uint8_t>(r >> (8 * i));
  m.octets[0] = static_cast<std::uint8_t>((m.octets[0] & 0xfc) | 0x02);
  return m;
}

}  // namespace

extern "C" {

int usnet_stack_add_tap(usnet_stack* stack, const char* tap_name, const char* mac, int mtu) {
  return usnet_stack_add_tap_flags(stack, tap_name, mac, mtu, 0);
}

int usnet_stack_add_tap_flags(usnet_stack* stack, const char* tap_name, const char* mac, int mtu,
                              unsigned flags) {
  if (stack == nullptr || mtu < 68 || mtu > 65535 || (flags & ~USNET_TAP_GRO) != 0) {
    return fail(EINVAL);
  }
  std::lock_guard lock(stack->runtime->rt.mutex());
  MacAddress m;
  if (mac != nullptr) {
    auto parsed = MacAddress::parse(mac);
    if (!parsed) return fail(EINVAL);
    m = *parsed;
  } else {
    m = random_mac(*stack->stack);
  }
  const TapOffload offload =
      (flags & USNET_TAP_GRO) != 0 ? TapOffload::kReceiveCoalesced : TapOffload::kNone;
  auto tap =
      TapDevice::open(tap_name != nullptr ? tap_name : "", static_cast<std::size_t>(mtu), offload);
  if (!tap) return fail(tap.error());
  const std::string kernel_name = (*tap)->name();
  Device& dev = stack->runtime->rt.keep(std::move(tap.value()));
  auto idx = stack->stack->add_interface(kernel_name, dev, m, static_cast<std::size_t>(mtu));
  if (!idx) return fail(idx.error());
  stack->tap_names[static_cast<int>(*idx)] = kernel_name;
  stack->runtime->rt.devices_changed();
  return static_cast<int>(*idx);
}

const char* usnet_stack_tap_name(usnet_stack* stack, int ifindex) {
  if (stack == nullptr) return nullptr;
  std::lock_guard lock(stack->runtime->rt.mutex());
  auto it = stack->tap_names.find(ifindex);
  return it == stack->tap_names.end() ? nullptr : it->second.c_str();
}

int usnet_stack_capture(usnet_stack* stack, int ifindex, const char* pcap_path) {
  if (stack == nullptr || pcap_path == nullptr || ifindex <= 0) return fail(EINVAL);
  std::lock_guard lock(stack->runtime->rt.mutex());
  Interface* ifc = stack->stack->interface(static_cast<std::uint32_t>(ifindex));
  if (ifc == nullptr || ifc->dev == nullptr) return fail(ENODEV);
  auto writer = PcapWriter::open(pcap_path);
  if (!writer) return fail(writer.error());
  Runtime& rt = stack->runtime->rt;
  auto& w = rt.keep(std::move(writer.value()));
  auto& dev = rt.keep(std::make_unique<PcapDevice>(*ifc->dev, w));
  if (auto st = stack->stack->replace_device(static_cast<std::uint32_t>(ifindex), dev); !st) {
    return fail(st.error());
  }
  rt.devices_changed();
  return 0;
}

int usnet_wire_connect(usnet_stack* a, const char* a_cidr, usnet_stack* b, const char* b_cidr,
                       const usnet_impairments* imp, const char* pcap_path) {
  if (a == nullptr || b == nullptr || a == b || a->runtime != b->runtime || a_cidr == nullptr ||
      b_cidr == nullptr) {
    return fail(EINVAL);
  }
  auto ca = Ipv4Cidr::parse(a_cidr);
  auto cb = Ipv4Cidr::parse(b_cidr);
  if (!ca || !cb) return fail(EINVAL);
  Impairments im;
  if (imp != nullptr) {
    im.loss = imp->loss;
    im.duplicate = imp->duplicate;
    im.reorder = imp->reorder;
    im.corrupt = imp->corrupt;
    im.delay = std::chrono::microseconds(imp->delay_us);
    im.jitter = std::chrono::microseconds(imp->jitter_us);
    im.rate_bps = imp->rate_bps;
  }
  Runtime& rt = a->runtime->rt;
  std::lock_guard lock(rt.mutex());
  const std::uint64_t seed = a->stack->rng().next();
  auto& wire = rt.keep(std::make_unique<MemoryWire>(im, im, seed));
  Device* dev_a = &wire.end_a();
  if (pcap_path != nullptr) {
    auto writer = PcapWriter::open(pcap_path);
    if (!writer) return fail(writer.error());
    auto& w = rt.keep(std::move(writer.value()));
    dev_a = &rt.keep(std::make_unique<PcapDevice>(wire.end_a(), w));
  }
  const std::string name_a = fmt::format("wire{}", a->stack->interfaces().size());
  const std::string name_b = fmt::format("wire{}", b->stack->interfaces().size());
  auto ia = a->stack->add_interface(name_a, *dev_a, random_mac(*a->stack));
  if (!ia) return fail(ia.error());
  auto ib = b->stack->add_interface(name_b, wire.end_b(), random_mac(*b->stack));
  if (!ib) return fail(ib.error());
  if (auto st = a->stack->add_address(*ia, *ca); !st) return fail(st.error());
  if (auto st = b->stack->add_address(*ib, *cb); !st) return fail(st.error());
  rt.devices_changed();
  rt.after_call();
  return 0;
}

}  // extern "C"
