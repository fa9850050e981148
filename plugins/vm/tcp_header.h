// SPDX-License-Identifier: MIT
#pragma once
// The TCP header of a network event, as LTTng records it:
//   - lttng-modules (>= 2.9) net_dev_queue, net_if_receive_skb, net_if_rx
//     (include/instrumentation/events/net.h, net_dev_template): `network_header`, a variant
//     (unknown / ipv4 / ipv6) whose ipv4 and ipv6 structures end with `transport_header`, a variant
//     whose `tcp` option is a structure source_port, dest_port, seq, ack_seq, data_offset, reserved,
//     flags (9 bits), window_size, checksum, urg_ptr;
//   - the addon events inet_sock_local_in / inet_sock_local_out: seq, ack_seq and flags at the top
//     level, no addresses.
// Trace Compass matches a send with its reception on (seq, ack_seq, flags) alone (TcpEventKey, in
// TcpLttngEventMatching with Lttng29EventLayout's field paths network_header/<selected>/
// transport_header/tcp/{seq,ack_seq,flags}, and TcpEventMatching for the addon events); the key
// below also has the IPv4 addresses and the ports (filter.vm.fuse's sync uses them all).

#include <babeltrace2/babeltrace.h>

#include "sync/fuse_model.h"

namespace vm::bt {

// Reads the TCP key of `payload` (an event's payload structure) into `key`; false when the event
// carries no TCP header (another protocol, no network header) or a value is out of its field's
// range (seq and ack_seq 32 bits, ports and flags 16 bits): the event is then not matched. IPv6 and
// the addon events leave the addresses 0; the addon events leave the ports 0 too.
bool read_tcp_key(const bt_field* payload, TcpKey& key);

}  // namespace vm::bt
