// SPDX-License-Identifier: MIT
#include "tcp_header.h"

#include <cstdint>

#include "bt_util.h"

namespace vm::bt {

namespace {

// The unsigned value of an integer member of at most `max`, else false.
bool bounded(const bt_field* structure, const char* name, uint64_t max, uint64_t& out) {
  const bt_field* field = member_by_name(structure, name);
  if (!field) return false;
  const int64_t value = field_int(field);
  if (value < 0 || uint64_t(value) > max) return false;
  out = uint64_t(value);
  return true;
}

// seq, ack_seq and flags of a structure that has them.
bool read_sequence(const bt_field* structure, TcpKey& key) {
  uint64_t seq = 0, ack_seq = 0, flags = 0;
  if (!bounded(structure, "seq", UINT32_MAX, seq) || !bounded(structure, "ack_seq", UINT32_MAX, ack_seq) ||
      !bounded(structure, "flags", UINT16_MAX, flags))
    return false;
  key.seq = uint32_t(seq);
  key.ack_seq = uint32_t(ack_seq);
  key.flags = uint16_t(flags);
  return true;
}

}  // namespace

bool read_tcp_key(const bt_field* payload, TcpKey& key) {
  key = TcpKey{};
  const bt_field* network = member_by_name(payload, "network_header");
  if (!network) return member_by_name(payload, "seq") && read_sequence(payload, key);  // addon events
  const bt_field* ip = select_variant(network);
  if (!ip || !member_by_name(ip, "saddr")) return false;  // "unknown": no network header
  // The IPv4 protocol number (an IPv6 header has `nexthdr`; the transport variant tells anyway).
  const bt_field* protocol = member_by_name(ip, "protocol");
  if (protocol && field_int(protocol) != 6) return false;
  const bt_field* tcp = select_variant(member_by_name(ip, "transport_header"));
  if (!tcp || !member_by_name(tcp, "seq")) return false;  // UDP, ICMP, unknown
  uint64_t sport = 0, dport = 0;
  if (!read_sequence(tcp, key) || !bounded(tcp, "source_port", UINT16_MAX, sport) ||
      !bounded(tcp, "dest_port", UINT16_MAX, dport))
    return false;
  key.sport = uint16_t(sport);
  key.dport = uint16_t(dport);
  key.saddr = field_ipv4(member_by_name(ip, "saddr"));  // 0 unless 4 bytes (IPv4)
  key.daddr = field_ipv4(member_by_name(ip, "daddr"));
  return true;
}

}  // namespace vm::bt
