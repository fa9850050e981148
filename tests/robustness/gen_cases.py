#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Generator of the malformed-input suite (tests/robustness/README.md).

Makes seeded mutations of the shipped traces (traces/lab/*.tar.xz, traces/tc-stubs/) in
WORK/cases/<id>/ and writes WORK/cases.json: one entry per case with its family, its expected
classes, the traces it reads and the parameters of filter.vm.fuse. The runner
(run_suite.py) builds the babeltrace2 command lines from it.

Every mutation is a byte-level edit of a CTF 1.8 trace as babeltrace2's sink.ctf.fs writes it
(the lab slices and the stubs both are): the TSDL `metadata` is plain text, and each data
stream is a sequence of packets whose header is magic (32 bits), trace UUID (16 bytes),
stream id and stream instance id (64 bits each), followed by the packet context
packet_size, content_size, timestamp_begin, timestamp_end, events_discarded, packet_seq_num
(64 bits each, sizes in bits) and cpu_id (32 bits): cpu_id is at byte 84 of every packet.
Unchanged files are symbolic links to the pristine copy.

usage: gen_cases.py SOURCE_DIR WORK_DIR [--seed N]
"""

import argparse
import json
import os
import random
import re
import shutil
import struct
import sys
import tarfile

PKT_SIZE_OFF = 36     # packet_size (bits), after magic + uuid + stream_id + stream_instance_id
CPU_ID_OFF = 84       # _cpu_id (32 bits) of the packet context
HOUR = 3600
DAY = 86400
YEAR = 31557600       # Julian year, s


def packets(data):
    """(offset, size in bytes) of each packet of a data stream file."""
    out, off = [], 0
    while off + 88 <= len(data):
        size = struct.unpack_from('<Q', data, off + PKT_SIZE_OFF)[0] // 8
        if size <= 0:
            break
        out.append((off, size))
        off += size
    return out


def stream_files(trace):
    return sorted(f for f in os.listdir(trace) if f != 'metadata' and not f.startswith('.')
                  and os.path.isfile(os.path.join(trace, f)))


def event_block(meta, name):
    """Span of the `event { name = "NAME"; ... };` block of a TSDL text."""
    m = re.search(r'event \{\n\tname = "%s";.*?\n\};\n' % re.escape(name), meta, re.S)
    if not m:
        raise KeyError(name)
    return m.start(), m.end()


def edit_event(meta, name, old, new, count=1):
    b, e = event_block(meta, name)
    block = meta[b:e]
    if old not in block:
        raise KeyError('%s: %s' % (name, old))
    return meta[:b] + block.replace(old, new, count) + meta[e:]


def sub1(meta, pattern, repl):
    out, n = re.subn(pattern, repl, meta, count=1)
    if n != 1:
        raise KeyError(pattern)
    return out


def clock_shift(meta, seconds):
    off = int(re.search(r'\toffset_s = (-?\d+);', meta).group(1))
    return sub1(meta, r'\toffset_s = -?\d+;', '\toffset_s = %d;' % (off + seconds))


def clock_set(meta, key, value):
    return sub1(meta, r'\t%s = -?\d+;' % key, '\t%s = %d;' % (key, value))


class StubDecoder:
    """Walks the events of a tc-stubs data stream (no event context; payload fields are
    integers, strings, static arrays and sequences of integers, all byte-aligned), to find the
    byte offset of a payload field."""

    def __init__(self, meta):
        self.events = {}
        for m in re.finditer(r'event \{\n\tname = "([^"]+)";\n\tstream_id = \d+;\n\tid = (\d+);\n'
                             r'\tfields := struct \{\n(.*?)\n\t\} align\(8\);', meta, re.S):
            fields = []
            for line in m.group(3).split('\n'):
                line = line.strip()
                if line.startswith('string'):
                    fields.append((line.split()[-1].rstrip(';'), 'string', 0, None))
                    continue
                im = re.match(r'integer \{ size = (\d+);.*\} (\w+)(?:\[(\w+)\])?;', line)
                if not im:
                    raise ValueError('stub field: ' + line)
                fields.append((im.group(2), 'int', int(im.group(1)) // 8, im.group(3)))
            self.events[int(m.group(2))] = (m.group(1), fields)

    def fields(self, data, pkt_off, pkt_size, content_bits):
        """Yields (event name, field name, byte offset, byte size) of each field."""
        off, end = pkt_off + 88, pkt_off + content_bits // 8  # header 36 + context 52
        off = (off + 7) // 8 * 8
        while off + 16 <= end:
            eid = struct.unpack_from('<Q', data, off)[0]
            off += 16
            name, fields = self.events[eid]
            values = {}
            for fname, kind, size, length in fields:
                if kind == 'string':
                    nul = data.index(b'\0', off)
                    yield name, fname, off, nul + 1 - off
                    off = nul + 1
                    continue
                n = 1 if length is None else (int(length) if length.isdigit() else values[length])
                if n == 1:
                    values[fname] = int.from_bytes(data[off:off + size], 'little')
                yield name, fname, off, size * n
                off += size * n


class Gen:
    def __init__(self, src, work, seed):
        self.src, self.work, self.seed = src, work, seed
        self.pristine = os.path.join(work, 'pristine')
        self.cases = []

    # --- inputs ---------------------------------------------------------------------------
    def unpack(self):
        if os.path.isdir(self.pristine):
            shutil.rmtree(self.pristine)
        os.makedirs(self.pristine)
        for name in ('basic-host-4s.tar.xz', 'container-2s.tar.xz'):
            with tarfile.open(os.path.join(self.src, 'traces', 'lab', name)) as tar:
                tar.extractall(self.pristine)
        shutil.copytree(os.path.join(self.src, 'traces', 'tc-stubs'), os.path.join(self.pristine, 'tc-stubs'))

        def find(top):
            for root, _, files in os.walk(os.path.join(self.pristine, top)):
                if 'metadata' in files:
                    return root
            raise FileNotFoundError(top)
        self.base = {
            'basic': [find('slice')],
            'cont': [find('slice-c/host'), find('slice-c/guest')],
            'stub': [os.path.join(self.pristine, 'tc-stubs', 'OneQemuKvm-lttng', m) for m in ('host', 'guest')],
            'stubc': [os.path.join(self.pristine, 'tc-stubs', 'Containers', 'withContainers')],
        }

    def copy_trace(self, trace, dest):
        """A copy of TRACE in DEST whose files are symbolic links (replaced when mutated)."""
        os.makedirs(dest)
        for f in os.listdir(trace):
            os.symlink(os.path.join(trace, f), os.path.join(dest, f))
        return dest

    @staticmethod
    def read(trace, f):
        with open(os.path.join(trace, f), 'rb') as fh:
            return fh.read()

    @staticmethod
    def write(trace, f, data):
        path = os.path.join(trace, f)
        if os.path.islink(path):
            os.unlink(path)
        with open(path, 'wb') as fh:
            fh.write(data)

    def meta(self, trace, fn):
        text = self.read(trace, 'metadata').decode()
        self.write(trace, 'metadata', fn(text).encode())

    # --- cases ----------------------------------------------------------------------------
    def case(self, cid, family, expected, base, kind='fused', mutate=None, traces=None,
             params=None, compare=False, diag=(), note='', prepare=None, out=None, err_names=(),
             interrupt=None, existing=False, sink=None):
        """A case: copies of the base's traces (mutate(traces) edits them), expected classes
        (a list: the first is the one shown), kind 'host' (one trace -> sink.vm.sqlite) or
        'fused' (every trace -> filter.vm.fuse -> sink.vm.sqlite)."""
        cdir = os.path.join(self.work, 'cases', cid)
        os.makedirs(cdir)
        if traces is None:
            srcs = self.base[base] if kind == 'fused' else self.base[base][:1]
            traces = [self.copy_trace(t, os.path.join(cdir, 't%d' % i, os.path.basename(t)))
                      for i, t in enumerate(srcs)]
        if mutate:
            mutate(traces)
        self.cases.append({
            'id': cid, 'family': family, 'expected': expected, 'base': base, 'kind': kind,
            'traces': traces, 'params': params or {}, 'compare': compare, 'diag': list(diag),
            'note': note, 'prepare': prepare, 'out': out, 'err_names': list(err_names),
            'interrupt': interrupt, 'existing': existing, 'sink': sink or {},
        })

    def rng(self, cid):
        return random.Random('%d:%s' % (self.seed, cid))

    def generate(self):
        self.unpack()
        B, C, S = 'basic', 'cont', 'stub'
        ANY = ['clean-error', 'success', 'diagnostic']
        OK = ['success', 'diagnostic']
        ERR = ['clean-error']

        # The unmutated inputs: the references of the silent-loss checks.
        self.case('base-basic', 'base', ['success'], B, kind='host')
        self.case('base-cont', 'base', ['success'], C)
        self.case('base-stub', 'base', ['success'], S)
        self.case('base-stub-host', 'base', ['success'], S, kind='host')
        self.case('base-stubc', 'base', ['success'], 'stubc', kind='host')

        # --- truncate -------------------------------------------------------------------
        def trunc(which, where, stream=0):
            def fn(traces):
                t = traces[which]
                f = stream_files(t)[stream]
                data = self.read(t, f)
                pk = packets(data)
                if where == 'packet':
                    cut = pk[0][1]
                elif where == 'header':
                    cut = 50
                elif where == 'empty':
                    cut = 0
                else:  # a fraction of the first packet
                    cut = pk[0][0] + int(pk[0][1] * where)
                self.write(t, f, data[:cut])
            return fn
        self.case('trunc-basic-packet', 'truncate', OK, B, 'host', trunc(0, 'packet'),
                  note='ch0_0 ends after its first packet')
        for i, frac in enumerate((0.003, 0.5, 0.97)):
            self.case('trunc-basic-mid%d' % i, 'truncate', ERR, B, 'host', trunc(0, frac, i % 2),
                      note='a data stream cut inside a packet')
        self.case('trunc-basic-header', 'truncate', ERR, B, 'host', trunc(0, 'header', 1))
        self.case('trunc-basic-empty', 'truncate', ANY, B, 'host', trunc(0, 'empty', 1))
        self.case('trunc-cont-guest-packet', 'truncate', OK, C, mutate=trunc(1, 'packet'))
        self.case('trunc-cont-guest-mid', 'truncate', ERR, C, mutate=trunc(1, 0.4, 1))
        self.case('trunc-cont-host-mid', 'truncate', ERR, C, mutate=trunc(0, 0.6))
        self.case('trunc-stub-mid', 'truncate', ERR, S, mutate=trunc(0, 0.5))

        def trunc_meta(traces):
            t = traces[0]
            data = self.read(t, 'metadata')
            self.write(t, 'metadata', data[:len(data) // 2])
        self.case('trunc-basic-metadata', 'truncate', ERR, B, 'host', trunc_meta)

        # --- bit flips --------------------------------------------------------------------
        def flips(cid, which, count):
            def fn(traces):
                r = self.rng(cid)
                t = traces[which]
                for f in stream_files(t):
                    data = bytearray(self.read(t, f))
                    for _ in range(count):
                        pos = r.randrange(len(data))
                        data[pos] ^= 1 << r.randrange(8)
                    self.write(t, f, bytes(data))
            return fn
        for i in range(6):
            cid = 'flip-basic-%d' % i
            self.case(cid, 'bitflip', ANY, B, 'host', flips(cid, 0, (1, 1, 4, 16, 64, 256)[i]))
        for i in range(3):
            cid = 'flip-cont-guest-%d' % i
            self.case(cid, 'bitflip', ANY, C, mutate=flips(cid, 1, (1, 8, 64)[i]))
        for i in range(2):
            cid = 'flip-cont-host-%d' % i
            self.case(cid, 'bitflip', ANY, C, mutate=flips(cid, 0, (2, 32)[i]))
        for i in range(3):
            cid = 'flip-stub-%d' % i
            self.case(cid, 'bitflip', ANY, S, mutate=flips(cid, 0, (1, 2, 4)[i]))

        def flip_magic(traces):
            t = traces[0]
            f = stream_files(t)[1]
            data = bytearray(self.read(t, f))
            data[packets(bytes(data))[1][0]] ^= 0x10
            self.write(t, f, bytes(data))
        self.case('flip-basic-magic', 'bitflip', ERR, B, 'host', flip_magic,
                  note='the magic number of the second packet')

        # --- zeroed regions ----------------------------------------------------------------
        def zero(cid, which, size):
            def fn(traces):
                r = self.rng(cid)
                t = traces[which]
                f = r.choice(stream_files(t))
                data = bytearray(self.read(t, f))
                pos = r.randrange(max(1, len(data) - size))
                data[pos:pos + size] = bytes(min(size, len(data) - pos))
                self.write(t, f, bytes(data))
            return fn
        for i, size in enumerate((8, 64, 4096, 65536)):
            cid = 'zero-basic-%d' % i
            self.case(cid, 'zero', ANY, B, 'host', zero(cid, 0, size))
        for i, size in enumerate((512, 16384)):
            cid = 'zero-cont-guest-%d' % i
            self.case(cid, 'zero', ANY, C, mutate=zero(cid, 1, size))
        self.case('zero-cont-host-0', 'zero', ANY, C, mutate=zero('zero-cont-host-0', 0, 4096))

        def zero_ctx(traces):
            t = traces[0]
            f = stream_files(t)[0]
            data = bytearray(self.read(t, f))
            off = packets(bytes(data))[1][0]
            data[off + 36:off + 88] = bytes(52)
            self.write(t, f, bytes(data))
        self.case('zero-basic-packet-context', 'zero', ERR, B, 'host', zero_ctx,
                  note='packet_size, content_size and timestamps of the second packet zeroed')

        # --- metadata edits ---------------------------------------------------------------
        def meta(fn, which=0):
            return lambda traces: self.meta(traces[which], fn)
        x32 = 'integer { size = 32; align = 8; } _exit_reason;'
        self.case('meta-no-exit-reason', 'metadata', ['diagnostic'], B, 'host',
                  meta(lambda m: edit_event(m, 'kvm_x86_exit', '_exit_reason;', '_exit_cause;')),
                  compare=True, diag=['exit_reason'], note='kvm_x86_exit without exit_reason')
        self.case('meta-exit-reason-float', 'metadata', ['diagnostic'], B, 'host',
                  meta(lambda m: edit_event(m, 'kvm_x86_exit', x32,
                                            'floating_point { exp_dig = 8; mant_dig = 24; align = 8; } _exit_reason;')),
                  compare=True, diag=['exit_reason'], note='exit_reason typed as a 32-bit float')
        self.case('meta-exit-reason-string', 'metadata', ANY, B, 'host',
                  meta(lambda m: edit_event(m, 'kvm_x86_exit', x32, 'string { encoding = UTF8; } _exit_reason;')),
                  note='exit_reason typed as a string (the stream layout no longer matches)')
        self.case('meta-exit-reason-signed', 'metadata', ['success'], B, 'host',
                  meta(lambda m: edit_event(m, 'kvm_x86_exit', x32,
                                            'integer { size = 32; align = 8; signed = true; } _exit_reason;')),
                  compare=True)
        self.case('meta-no-kvm-exit', 'metadata', ['diagnostic'], B, 'host',
                  meta(lambda m: edit_event(m, 'kvm_x86_exit', 'name = "kvm_x86_exit"', 'name = "kvm_x86_exit_renamed"')),
                  diag=['kvm_x86_exit', 'kvm_exit'], note='the event kvm_x86_exit renamed away')
        self.case('meta-no-kvm-entry', 'metadata', ['diagnostic'], B, 'host',
                  meta(lambda m: edit_event(m, 'kvm_x86_entry', 'name = "kvm_x86_entry"', 'name = "kvm_x86_entry_renamed"')),
                  diag=['kvm_x86_entry', 'kvm_entry'])
        self.case('meta-no-vcpu-id', 'metadata', OK, B, 'host',
                  meta(lambda m: edit_event(edit_event(m, 'kvm_x86_exit', '_vcpu_id;', '_vcpu_nr;'),
                                            'kvm_x86_entry', '_vcpu_id;', '_vcpu_nr;')),
                  compare=True, note='no vcpu_id in kvm_x86_entry/exit (vCPU ids from thread names)')
        self.case('meta-no-tid', 'metadata', ['diagnostic'], B, 'host',
                  meta(lambda m: sub1(m, r'signed = true; \} _tid;', 'signed = true; } _thread;')),
                  compare=True, diag=['tid'], note='no tid context (lttng add-context -k -t tid)')
        self.case('meta-no-sched-switch', 'metadata', ['diagnostic'], B, 'host',
                  meta(lambda m: edit_event(m, 'sched_switch', 'name = "sched_switch"', 'name = "sched_switch_renamed"')),
                  diag=['sched_switch'])
        self.case('meta-no-hostname', 'metadata', ['success'], B, 'host',
                  meta(lambda m: sub1(sub1(m, r'\thostname = "[^"]*";\n', ''), r'\ttrace_name = "[^"]*";\n', '')),
                  compare=True, note='no hostname and no trace_name in the environment')
        self.case('meta-cont-no-exit-reason', 'metadata', ['diagnostic'], C,
                  mutate=meta(lambda m: edit_event(m, 'kvm_x86_exit', '_exit_reason;', '_exit_cause;')),
                  compare=True, diag=['exit_reason'])
        self.case('meta-cont-guest-no-tid', 'metadata', ['diagnostic'], C,
                  mutate=meta(lambda m: sub1(m, r'signed = true; \} _tid;', 'signed = true; } _thread;'), 1),
                  compare=True, diag=['tid'])
        self.case('meta-stub-no-exit-reason', 'metadata', ['diagnostic'], S,
                  mutate=meta(lambda m: edit_event(m, 'kvm_x86_exit', '_exit_reason;', '_exit_cause;')),
                  compare=True, diag=['exit_reason'])

        # --- huge and negative values ------------------------------------------------------
        def set_cpu(value, which=0, stream=1, signed=False):
            def fn(traces):
                t = traces[which]
                f = stream_files(t)[min(stream, len(stream_files(t)) - 1)]
                data = bytearray(self.read(t, f))
                for off, _ in packets(bytes(data)):
                    struct.pack_into('<I', data, off + CPU_ID_OFF, value)
                self.write(t, f, bytes(data))
                if signed:
                    self.meta(t, lambda m: sub1(m, r'integer \{ size = 32; align = 8; \} _cpu_id;',
                                                'integer { size = 32; align = 8; signed = true; } _cpu_id;'))
            return fn
        self.case('val-basic-cpu-ffffffff', 'values', OK, B, 'host', set_cpu(0xFFFFFFFF),
                  note='packet cpu_id 0xFFFFFFFF on one stream')
        self.case('val-basic-cpu-100000', 'values', OK, B, 'host', set_cpu(100000))
        self.case('val-basic-cpu-negative', 'values', ANY, B, 'host', set_cpu(0x80000000, signed=True),
                  note='cpu_id declared signed, value -2^31')
        self.case('val-cont-host-cpu-ffffffff', 'values', OK, C, mutate=set_cpu(0xFFFFFFFF, 0))
        self.case('val-cont-guest-cpu-ffffffff', 'values', OK, C, mutate=set_cpu(0xFFFFFFFF, 1))
        # A 64-bit vcpu_id over the same bytes: vcpu_id and the low half of the next field.
        ent32 = ('integer { size = 32; align = 8; } _vcpu_id;\n\t\tinteger { size = 64; align = 8; } _rip;')
        self.case('val-basic-vcpu64-entry', 'values', ANY, B, 'host',
                  meta(lambda m: edit_event(m, 'kvm_x86_entry', ent32,
                                            'integer { size = 64; align = 8; } _vcpu_id;\n\t\tinteger { size = 32; align = 8; } _rip;')),
                  note='kvm_x86_entry.vcpu_id 64-bit: vcpu | rip << 32')
        self.case('val-basic-vcpu64-negative', 'values', ANY, B, 'host',
                  meta(lambda m: edit_event(m, 'kvm_x86_entry', ent32,
                                            'integer { size = 64; align = 8; signed = true; } _vcpu_id;\n'
                                            '\t\tinteger { size = 32; align = 8; } _rip;')),
                  note='kvm_x86_entry.vcpu_id signed 64-bit (negative when rip bit 31 is set)')
        self.case('val-basic-vcpu64-exit', 'values', ANY, B, 'host',
                  meta(lambda m: edit_event(m, 'kvm_x86_exit',
                                            'integer { size = 32; align = 8; } _error_code;\n'
                                            '\t\tinteger { size = 32; align = 8; } _vcpu_id;',
                                            'integer { size = 64; align = 8; } _vcpu_id;')),
                  note='kvm_x86_exit.vcpu_id 64-bit: error_code | vcpu << 32')
        self.case('val-basic-tid64', 'values', ANY, B, 'host',
                  meta(lambda m: sub1(m, r'integer \{ size = 32; align = 8; signed = true; \} _pid;\n'
                                         r'\t\tinteger \{ size = 32; align = 8; signed = true; \} _tid;',
                                      'integer { size = 64; align = 8; signed = true; } _tid;')),
                  note='tid context 64-bit: pid | tid << 32, no pid context')

        def stub_vcpu(value):
            def fn(traces):
                t = traces[0]
                f = stream_files(t)[0]
                data = bytearray(self.read(t, f))
                dec = StubDecoder(self.read(t, 'metadata').decode())
                for off, size in packets(bytes(data)):
                    content = struct.unpack_from('<Q', data, off + PKT_SIZE_OFF + 8)[0]
                    for ev, field, foff, fsize in list(dec.fields(bytes(data), off, size, content)):
                        if field == '_vcpu_id' and fsize == 8:
                            struct.pack_into('<q', data, foff, value)
                self.write(t, f, bytes(data))
            return fn
        self.case('val-stub-vcpu-2e40', 'values', ANY, S, mutate=stub_vcpu(1 << 40))
        self.case('val-stub-vcpu-max', 'values', ANY, S, mutate=stub_vcpu((1 << 63) - 1))
        self.case('val-stub-vcpu-negative', 'values', ANY, S, mutate=stub_vcpu(-5))
        self.case('val-stub-host-vcpu-2e40', 'values', ANY, S, 'host', stub_vcpu(1 << 40))

        # --- clocks -----------------------------------------------------------------------
        for name, secs in (('m3h', -3 * HOUR), ('p3h', 3 * HOUR), ('p30d', 30 * DAY), ('p100y', 100 * YEAR)):
            self.case('clock-guest-%s' % name, 'clock', ['success'], C,
                      mutate=meta(lambda m, s=secs: clock_shift(m, s), 1), compare=True,
                      note='guest clock offset shifted by %d s' % secs)
        self.case('clock-guest-p30d-guest-vm', 'clock', ['success'], C,
                  mutate=meta(lambda m: clock_shift(m, 30 * DAY), 1), compare=True,
                  params={'guest-vm': 'tl-guest=205'})
        self.case('clock-guest-m3h-sync', 'clock', ['success'], C,
                  mutate=meta(lambda m: clock_shift(m, -3 * HOUR), 1), compare=True,
                  params={'sync': '@SYNCSHIFT:-10800@'},
                  note='the baseline transform shifted by exactly 3 h, given in sync')
        self.case('clock-host-p5h', 'clock', ['success'], C,
                  mutate=meta(lambda m: clock_shift(m, 5 * HOUR), 0), compare=True)
        self.case('clock-host-m3h', 'clock', ['success'], C,
                  mutate=meta(lambda m: clock_shift(m, -3 * HOUR), 0), compare=True)
        self.case('clock-guest-2ghz', 'clock', OK, C,
                  mutate=meta(lambda m: clock_set(m, 'freq', 2000000000), 1),
                  note='guest clock declared at 2 GHz')
        self.case('clock-basic-2ghz', 'clock', ['success'], B, 'host',
                  meta(lambda m: clock_set(m, 'freq', 2000000000)), compare=True)
        self.case('clock-guest-pre1970', 'clock', OK, C,
                  mutate=meta(lambda m: clock_set(clock_set(m, 'offset_s', -86400), 'offset', 0), 1),
                  note='guest clock starts one day before 1970')
        self.case('clock-basic-pre1970', 'clock', ['success'], B, 'host',
                  meta(lambda m: clock_set(m, 'offset_s', -2 * YEAR)), compare=True)
        self.case('clock-stub-guest-pre1970', 'clock', OK, S,
                  mutate=meta(lambda m: clock_set(m, 'offset_s', -10), 1))
        self.case('clock-basic-freq-1', 'clock', OK, B, 'host',
                  meta(lambda m: clock_set(m, 'freq', 1)), note='a 1 Hz clock: timestamps overflow in ns')

        # --- contradictions ---------------------------------------------------------------
        host, guest = self.base[C]
        self.case('contra-same-trace-twice', 'contradiction', ERR, C, traces=[host, host, guest],
                  note='the host trace given twice, by the same path')
        def with_copy(traces):
            shutil.copytree(host, traces[0] + '-copy')
            traces.insert(1, traces[0] + '-copy')
        self.case('contra-byte-identical-copy', 'contradiction', ERR, C, mutate=with_copy)
        for cid, sync in (('zero', 'tl-guest=0,0'), ('negative', 'tl-guest=-1,0'),
                          ('two', 'tl-guest=1,0;tl-guest=1,5'), ('nan', 'tl-guest=nan,0'),
                          ('inf', 'tl-guest=inf,0'), ('beta-inf', 'tl-guest=1,inf'),
                          ('1e300', 'tl-guest=1e300,0'), ('unknown-machine', 'nosuch=1,0'),
                          ('garbage', 'tl-guest=1,x')):
            self.case('contra-sync-' + cid, 'contradiction', ERR, C, params={'sync': sync}, err_names=['`sync`'])
        self.case('contra-sync-tampered-db', 'contradiction', ERR, C, params={'sync': '@TAMPERED@'}, err_names=['`sync`'],
                  note='sync=FILE of a database whose sync.beta_text is "x"')
        for cid, gv in (('no-pid', 'tl-guest=99999'), ('no-machine', 'nosuch=205'),
                        ('host', 'tl-host=205')):
            self.case('contra-guest-vm-' + cid, 'contradiction', ERR, C, params={'guest-vm': gv},
                      err_names=['`guest-vm`'])
        self.case('contra-guest-vm-right', 'contradiction', ['success'], C, compare=True,
                  params={'guest-vm': 'tl-guest=205'})
        self.case('contra-sync-identity', 'contradiction', ['success'], C, compare=True,
                  params={'sync': 'identity'}, note='identity keeps clocks; the guest must stay linked')
        self.case('contra-sync-roundtrip', 'contradiction', ['success'], C, compare=True,
                  params={'sync': '@SYNC@'}, note='the transform as the sync table writes it (alpha_text, beta_text)')
        self.case('contra-sync-roundtrip-real', 'contradiction', ['success'], C, compare=True,
                  params={'sync': '@SYNCREAL@'}, note='the transform as sqlite3 prints the alpha and beta columns')
        self.case('contra-sync-file', 'contradiction', ['success'], C, compare=True,
                  params={'sync': '@DB:base-cont@'}, note='sync=FILE: the baseline database')
        self.case('contra-fuse-own-output', 'contradiction', ERR, C, traces=[],
                  prepare='fuse-to-ctf', note='filter.vm.fuse fed its own output (sink.ctf.fs)')
        self.case('contra-two-hosts', 'contradiction', OK, C, traces=[self.base[B][0], host, guest],
                  note='two KVM hosts (basic and container) and one guest')
        self.case('contra-stub-twice', 'contradiction', ERR, S,
                  traces=[self.base[S][0], self.base[S][1], self.base[S][1]])

        # --- output path ------------------------------------------------------------------
        self.case('out-is-folder', 'output', ERR, B, 'host', out='folder', err_names=['/out/'])
        self.case('out-missing-folder', 'output', ERR, B, 'host', out='missing/sub/out.db', err_names=['/out/'])
        self.case('out-255-chars', 'output', ['success'], B, 'host', out='n' * 252 + '.db')
        # Interrupted runs: nothing may be left, and a database already at the path stays intact.
        for sig in ('TERM', 'INT'):
            self.case('out-sig%s' % sig.lower(), 'output', ERR, C, interrupt=sig,
                      note='SIG%s during a fused run' % sig)
            self.case('out-sig%s-existing' % sig.lower(), 'output', ERR, C, interrupt=sig, existing=True,
                      note='SIG%s during a fused run over an existing database' % sig)
        # With critical paths: the execution graph's temporary files (beside the output) are
        # unnamed, so neither a finished nor a killed run leaves them.
        self.case('out-critical-path', 'output', ['success'], C, sink={'critical-path': '1'},
                  note='a fused run with critical-path: nothing beside the database')
        self.case('out-sigterm-critical-path', 'output', ERR, C, interrupt='TERM', sink={'critical-path': '1'},
                  note='SIGTERM during a fused run with critical-path')

        with open(os.path.join(self.work, 'cases.json'), 'w') as fh:
            json.dump({'seed': self.seed, 'cases': self.cases}, fh, indent=1)
        return self.cases


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('source_dir')
    ap.add_argument('work_dir')
    ap.add_argument('--seed', type=int, default=10)
    a = ap.parse_args()
    cases_dir = os.path.join(a.work_dir, 'cases')
    if os.path.isdir(cases_dir):
        shutil.rmtree(cases_dir)
    os.makedirs(cases_dir)
    cases = Gen(os.path.abspath(a.source_dir), os.path.abspath(a.work_dir), a.seed).generate()
    print('%d cases in %s' % (len(cases), os.path.join(a.work_dir, 'cases.json')))


if __name__ == '__main__':
    sys.exit(main())
