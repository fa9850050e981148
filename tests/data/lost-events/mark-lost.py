#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Make a copy of an LTTng kernel trace report lost events.

usage: mark-lost.py TRACE_DIR STREAM_FILE PACKET_INDEX COUNT

Adds COUNT to the `events_discarded` packet-context counter of packet
PACKET_INDEX (0-based) of STREAM_FILE and of every later packet of that
stream, in place, and removes the trace's `index/` folder (it holds copies of
the counters). source.ctf.fs then emits one discarded-events message between
packets PACKET_INDEX-1 and PACKET_INDEX, exactly as for a trace whose ring
buffer overflowed there: the counter is cumulative, and babeltrace2 reports
the difference between consecutive packets. No event is removed; the tests
check how the analyses treat the report.

Layout: lttng-modules 2.13's (shown by `babeltrace2 -o ctf-metadata`):
packet header uint32 magic, uint8 uuid[16], uint32 stream_id,
uint64 stream_instance_id; packet context uint64 timestamp_begin,
timestamp_end, content_size, packet_size, packet_seq_num, unsigned long
events_discarded, uint32 cpu_id; little-endian, 64-bit longs.
"""
import os
import shutil
import struct
import sys

CONTEXT = 32  # header: 4 + 16 + 4 bytes, then the 8-aligned stream_instance_id
CONTENT_SIZE, PACKET_SIZE, EVENTS_DISCARDED = CONTEXT + 16, CONTEXT + 24, CONTEXT + 40


def main():
    trace, stream, index, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    path = os.path.join(trace, stream)
    data = bytearray(open(path, 'rb').read())
    offset, packet = 0, 0
    while offset < len(data):
        magic, = struct.unpack_from('<I', data, offset)
        content_bits, packet_bits = struct.unpack_from('<QQ', data, offset + CONTENT_SIZE)
        if magic != 0xC1FC1FC1 or packet_bits < content_bits or packet_bits % 8 or packet_bits == 0:
            sys.exit('mark-lost.py: {}: not the lttng-modules packet layout at byte {}'.format(path, offset))
        if packet >= index:
            discarded, = struct.unpack_from('<Q', data, offset + EVENTS_DISCARDED)
            struct.pack_into('<Q', data, offset + EVENTS_DISCARDED, discarded + count)
        offset += packet_bits // 8
        packet += 1
    if packet <= index:
        sys.exit('mark-lost.py: {} has only {} packets'.format(path, packet))
    open(path, 'wb').write(data)
    shutil.rmtree(os.path.join(trace, 'index'), ignore_errors=True)
    print('mark-lost.py: {}: {} lost events before packet {} of {}'.format(path, count, index, packet))


if __name__ == '__main__':
    main()
