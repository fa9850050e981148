#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Convert a Trace Compass XML stub trace into a CTF trace shaped like an
LTTng kernel trace.

Trace Compass unit tests describe small kernel traces as XML
("TmfXmlTraceStub" files):

    <trace>
      <set_aspects><field name="cpu" value="1" type="int"/></set_aspects>
      <event timestamp="5" name="kvm_entry">
        <field name="cpu" value="0" type="int"/>
        <field name="vcpu_id" value="0" type="long"/>
      </event>
      ...
    </trace>

This script turns such a file into a CTF 1.8 trace that babeltrace2
(`source.ctf.fs`) reads like an LTTng kernel trace, so that the plugin can be
tested on the same inputs as the Trace Compass analyses:

* one data stream per CPU, with packets, and the CPU in the packet context
  field `cpu_id` (unsigned 32-bit), as lttng-modules records it; the XML
  `cpu` field is not copied into the event payload;
* every other XML field becomes a payload field, in file order:
  int -> signed 32-bit, long -> signed 64-bit, string -> string,
  double -> double, longArray / intArray -> dynamic array of signed 64 / 32-bit
  integers preceded by an unsigned 32-bit `_<name>_length` field (LTTng's
  layout for sequences, e.g. `_vtids_length` before `vtids`);
* one clock class `monotonic`: 1 GHz, offset 0, Unix-epoch origin, and a UUID
  derived from the stub's path so that it is stable and differs per file;
  clock value = XML timestamp (ns);
* a trace UUID derived from the stub's path and the options (sink.ctf.fs
  draws a random one; it is rewritten afterwards so that re-running the
  converter gives byte-identical files);
* environment: hostname = file stem, domain = kernel,
  tracer_name = lttng-modules, tracer_major = 2, tracer_minor = --tracer-minor,
  tracer_patchlevel = 0, tc_stub_source = the stub's path relative to the
  shared folder, tc_stub_kvm_names = the --kvm-names choice.

It runs a babeltrace2 graph: a Python source component defined below feeds
`sink.ctf.fs`.  Run it with Debian's /usr/bin/python3: python3-bt2 is only
installed for that interpreter.

Usage:
    /usr/bin/python3 scripts/xml2ctf.py INPUT.xml OUTPUT_DIR
        [--kvm-names=stub|lttng] [--tracer-minor N] [--source-label PATH]
        [--force]
"""

import argparse
import os
import re
import shutil
import sys
import tempfile
import uuid
import xml.etree.ElementTree as ET

try:
    import bt2
except ImportError:  # pragma: no cover - depends on the interpreter used
    sys.stderr.write(
        'xml2ctf: cannot import the babeltrace2 Python bindings (bt2).\n'
        'Run this script with /usr/bin/python3 (Debian package python3-bt2).\n'
    )
    sys.exit(1)


PROG = 'xml2ctf'

# Namespace of the clock and trace UUIDs.  Any fixed value works: it only has
# to stay the same so that re-running the converter gives byte-identical
# traces (sink.ctf.fs would otherwise invent a random trace UUID each run).
UUID_NAMESPACE = uuid.UUID('5c1b2a4e-4d0f-4f6e-9a57-2f6d3c8e7a10')

# Events of lttng-modules' include/instrumentation/events/arch/x86/kvm/trace.h
# (TRACE_SYSTEM kvm_x86).  lttng-modules >= 2.7.2 / 2.8 records them with a
# "kvm_x86_" prefix; the stubs (and older tracers) use the kernel's names.
# Generic KVM events (kvm_userspace_exit, kvm_set_irq, ...) and the MMU ones
# (kvm_mmu_*, TRACE_SYSTEM kvm_mmu) keep their names, so they are absent here.
LTTNG_KVM_X86_NAMES = {
    'kvm_entry': 'kvm_x86_entry',
    'kvm_exit': 'kvm_x86_exit',
    'kvm_hypercall': 'kvm_x86_hypercall',
    'kvm_hv_hypercall': 'kvm_x86_hv_hypercall',
    'kvm_pio': 'kvm_x86_pio',
    'kvm_cpuid': 'kvm_x86_cpuid',
    'kvm_apic': 'kvm_x86_apic',
    'kvm_inj_virq': 'kvm_x86_inj_virq',
    'kvm_inj_exception': 'kvm_x86_inj_exception',
    'kvm_page_fault': 'kvm_x86_page_fault',
    'kvm_msr': 'kvm_x86_msr',
    'kvm_cr': 'kvm_x86_cr',
    'kvm_pic_set_irq': 'kvm_x86_pic_set_irq',
    'kvm_apic_ipi': 'kvm_x86_apic_ipi',
    'kvm_apic_accept_irq': 'kvm_x86_apic_accept_irq',
    'kvm_eoi': 'kvm_x86_eoi',
    'kvm_pv_eoi': 'kvm_x86_pv_eoi',
    'kvm_nested_vmrun': 'kvm_x86_nested_vmrun',
    'kvm_nested_intercepts': 'kvm_x86_nested_intercepts',
    'kvm_nested_vmexit': 'kvm_x86_nested_vmexit',
    'kvm_nested_vmexit_inject': 'kvm_x86_nested_vmexit_inject',
    'kvm_nested_intr_vmexit': 'kvm_x86_nested_intr_vmexit',
    'kvm_invlpga': 'kvm_x86_invlpga',
    'kvm_skinit': 'kvm_x86_skinit',
    'kvm_emulate_insn': 'kvm_x86_emulate_insn',
    'vcpu_match_mmio': 'kvm_x86_vcpu_match_mmio',
    'kvm_write_tsc_offset': 'kvm_x86_write_tsc_offset',
    'kvm_update_master_clock': 'kvm_x86_update_master_clock',
    'kvm_track_tsc': 'kvm_x86_track_tsc',
}

# The XML field that carries the CPU (the stubs' CPU aspect).
CPU_FIELD = 'cpu'

# LTTng names its per-CPU stream files channel0_<cpu>; sink.ctf.fs names the
# data files after the stream names, so the output gets the same file names.
STREAM_NAME_FMT = 'channel0_{}'

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
UINT32_MAX = (1 << 32) - 1
UINT64_MAX = (1 << 64) - 1

# Java's Integer/Long.parseLong accept an optional sign and decimal digits
# only; Python's int() is more lenient (spaces, underscores), so check first.
_DECIMAL_RE = re.compile(r'^[+-]?[0-9]+$')


class ConversionError(Exception):
    """An input problem, reported to the user without a traceback."""


# ---------------------------------------------------------------------------
# Field kinds: how an XML `type` is parsed, merged and written.
# ---------------------------------------------------------------------------

# XML type -> kind.  Kinds name the CTF representation.
XML_TYPES = {
    'int': 'sint32',
    'long': 'sint64',
    'string': 'string',
    'double': 'double',
    'intArray': 'sint32[]',
    'longArray': 'sint64[]',
}

_KIND_TO_XML = {kind: xml_type for xml_type, kind in XML_TYPES.items()}

# When one event name carries a field with two different XML types, the
# narrower integer kind widens to the wider one (values still fit).  Any other
# mix (e.g. string vs long) is refused: no choice would keep both meanings.
_WIDENING = {
    frozenset(('sint32', 'sint64')): 'sint64',
    frozenset(('sint32[]', 'sint64[]')): 'sint64[]',
}

# Value given to a field that an event lacks when its class is the union of
# several field sets.
_DEFAULTS = {
    'sint32': 0,
    'sint64': 0,
    'string': '',
    'double': 0.0,
    'sint32[]': [],
    'sint64[]': [],
}


def _parse_int(text, lo, hi, where):
    text = text.strip()
    if not _DECIMAL_RE.match(text):
        raise ConversionError('{}: "{}" is not a decimal integer'.format(where, text))
    value = int(text)
    if not lo <= value <= hi:
        raise ConversionError(
            '{}: {} does not fit the range [{}, {}]'.format(where, value, lo, hi)
        )
    return value


def _parse_array(text, lo, hi, where):
    # The stubs write arrays as "43,4,2"; also accept "[43, 4, 2]" and an
    # empty value (empty array), which hand-written stubs might use.
    text = text.strip()
    if text.startswith('[') and text.endswith(']'):
        text = text[1:-1].strip()
    if text == '':
        return []
    return [
        _parse_int(item, lo, hi, '{}[{}]'.format(where, i))
        for i, item in enumerate(text.split(','))
    ]


def parse_value(kind, text, where):
    if kind == 'sint32':
        return _parse_int(text, INT32_MIN, INT32_MAX, where)
    if kind == 'sint64':
        return _parse_int(text, INT64_MIN, INT64_MAX, where)
    if kind == 'string':
        return text
    if kind == 'double':
        try:
            return float(text)
        except ValueError:
            raise ConversionError('{}: "{}" is not a number'.format(where, text))
    if kind == 'sint32[]':
        return _parse_array(text, INT32_MIN, INT32_MAX, where)
    if kind == 'sint64[]':
        return _parse_array(text, INT64_MIN, INT64_MAX, where)
    raise AssertionError(kind)


def merge_kinds(old, new, where):
    if old == new:
        return old
    wider = _WIDENING.get(frozenset((old, new)))
    if wider is None:
        raise ConversionError(
            '{}: the field has type "{}" in one event and "{}" in another; cannot '
            'merge them into one event class'.format(where, _KIND_TO_XML[old], _KIND_TO_XML[new])
        )
    return wider


# ---------------------------------------------------------------------------
# Reading the XML stub.
# ---------------------------------------------------------------------------


class StubEvent:
    __slots__ = ('timestamp', 'name', 'cpu', 'fields')

    def __init__(self, timestamp, name, cpu, fields):
        self.timestamp = timestamp  # ns
        self.name = name  # already renamed according to --kvm-names
        self.cpu = cpu
        self.fields = fields  # list of (name, kind, value), cpu excluded


class EventSchema:
    """Union of the field lists seen for one event name, in file order."""

    def __init__(self, name):
        self.name = name
        self.fields = []  # list of [field name, kind]
        self.count = 0
        self.partial = False  # some event lacks some field

    def add(self, event):
        self.count += 1
        known = {f[0]: f for f in self.fields}
        before = len(self.fields)
        insert_at = 0
        seen = set()
        for name, kind, _ in event.fields:
            seen.add(name)
            where = 'event "{}" field "{}"'.format(self.name, name)
            if name in known:
                known[name][1] = merge_kinds(known[name][1], kind, where)
                insert_at = self.fields.index(known[name]) + 1
            else:
                # A new field goes right after the previous field of this
                # event, so every event's own order is kept when possible.
                entry = [name, kind]
                self.fields.insert(insert_at, entry)
                known[name] = entry
                insert_at += 1
        if self.count > 1 and (len(self.fields) != before or len(seen) != len(self.fields)):
            self.partial = True


def _event_where(index, elem):
    return 'event #{} (timestamp="{}", name="{}")'.format(
        index + 1, elem.get('timestamp'), elem.get('name')
    )


# lttng-modules 2.12 moved the PID-namespace fields of lttng_statedump_process_state into a
# separate event, lttng_statedump_process_pid_ns, emitted once per level, deepest first, after
# the thread's process_state event (lttng-modules' src/lttng-statedump-impl.c).
NS_FIELDS = ('vtid', 'vpid', 'vppid', 'ns_level', 'ns_inum')


def to_lm212_statedump(events):
    """Rewrite 2.7-2.11 statedump events (one process_state per namespace
    level, with the ns fields) into the >= 2.12 layout: one process_state per
    thread without them, then one process_pid_ns per level."""
    out = []
    previous_tid = None
    for event in events:
        if event.name != 'lttng_statedump_process_state':
            out.append(event)
            previous_tid = None
            continue
        fields = dict((name, (kind, value)) for name, kind, value in event.fields)
        tid = fields['tid'][1]
        if tid != previous_tid:
            out.append(StubEvent(event.timestamp, event.name, event.cpu,
                                 [f for f in event.fields if f[0] not in NS_FIELDS]))
        previous_tid = tid
        ns = [('tid',) + fields['tid']] + [(name,) + fields[name] for name in NS_FIELDS if name in fields]
        out.append(StubEvent(event.timestamp, 'lttng_statedump_process_pid_ns', event.cpu, ns))
    return out


def read_stub(path, rename, statedump='lm211'):
    """Parse the stub; return (events in time order, {name: EventSchema})."""
    if not os.path.exists(path):
        raise ConversionError('input file not found: {}'.format(path))
    if not os.path.isfile(path):
        raise ConversionError('input is not a regular file: {}'.format(path))
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ConversionError('{}: not well-formed XML: {}'.format(path, exc))
    except OSError as exc:
        raise ConversionError('cannot read {}: {}'.format(path, exc))

    if root.tag != 'trace':
        raise ConversionError(
            '{}: root element is <{}>, expected <trace> (Trace Compass XML stub)'.format(
                path, root.tag
            )
        )

    # set_aspects declares which field is the CPU; the stubs always say "cpu".
    aspects = root.find('set_aspects')
    if aspects is not None:
        names = [f.get('name') for f in aspects.findall('field')]
        if CPU_FIELD not in names:
            sys.stderr.write(
                '{}: warning: <set_aspects> does not declare "{}"; using the '
                '"{}" field as the CPU anyway\n'.format(PROG, CPU_FIELD, CPU_FIELD)
            )

    events = []
    for index, elem in enumerate(root.findall('event')):
        where = _event_where(index, elem)
        ts_text = elem.get('timestamp')
        name = elem.get('name')
        if ts_text is None:
            raise ConversionError('{}: {} has no timestamp'.format(path, where))
        if not name:
            raise ConversionError('{}: {} has no name'.format(path, where))
        try:
            # The clock value is an unsigned 64-bit cycle count (1 cycle = 1 ns).
            timestamp = _parse_int(ts_text, 0, UINT64_MAX, 'timestamp')
        except ConversionError as exc:
            raise ConversionError('{}: {}: {}'.format(path, where, exc))

        cpu = None
        fields = []
        names_seen = set()
        for felem in elem.findall('field'):
            fname = felem.get('name')
            ftype = felem.get('type')
            ftext = felem.get('value')
            fwhere = '{}: {} field "{}"'.format(path, where, fname)
            if not fname:
                raise ConversionError('{}: {} has a field without a name'.format(path, where))
            if fname in names_seen:
                raise ConversionError('{}: duplicate field'.format(fwhere))
            names_seen.add(fname)
            if ftext is None:
                raise ConversionError('{}: no value attribute'.format(fwhere))
            kind = XML_TYPES.get(ftype)
            if kind is None:
                raise ConversionError(
                    '{}: unknown type "{}" (known: {})'.format(
                        fwhere, ftype, ', '.join(sorted(XML_TYPES))
                    )
                )
            if fname == CPU_FIELD:
                if kind not in ('sint32', 'sint64'):
                    raise ConversionError('{}: the CPU must be an int or long'.format(fwhere))
                cpu = _parse_int(ftext, 0, UINT32_MAX, fwhere)
                continue
            fields.append((fname, kind, parse_value(kind, ftext, fwhere)))

        if cpu is None:
            raise ConversionError(
                '{}: {} has no "{}" field: cannot choose its per-CPU stream'.format(
                    path, where, CPU_FIELD
                )
            )
        events.append(StubEvent(timestamp, rename(name), cpu, fields))

    if not events:
        raise ConversionError('{}: the trace has no <event> element'.format(path))

    # A CTF stream must not go back in time.  The stubs are already in time
    # order; a stable sort keeps the file order of equal timestamps, which is
    # the order Trace Compass reads them in.
    ordered = sorted(events, key=lambda e: e.timestamp)
    if any(a is not b for a, b in zip(ordered, events)):
        sys.stderr.write(
            '{}: warning: {}: events are not in time order; sorted them by '
            'timestamp (ties keep file order)\n'.format(PROG, path)
        )

    if statedump == 'lm212':
        ordered = to_lm212_statedump(ordered)
    schemas = {}
    for event in ordered:
        try:
            schemas.setdefault(event.name, EventSchema(event.name)).add(event)
        except ConversionError as exc:
            raise ConversionError('{}: {}'.format(path, exc))
    for schema in schemas.values():
        # Arrays get an extra `_<name>_length` member (see payload_member).
        names = {f[0] for f in schema.fields}
        for fname, kind in schema.fields:
            if kind.endswith('[]') and '_{}_length'.format(fname) in names:
                raise ConversionError(
                    '{}: event "{}": field "_{}_length" clashes with the length '
                    'field generated for array "{}"'.format(path, schema.name, fname, fname)
                )
        if schema.partial:
            sys.stderr.write(
                '{}: warning: event "{}" appears with different field sets; its '
                'event class has the union ({}); missing fields are written as '
                '0 / "" / []\n'.format(
                    PROG, schema.name, ', '.join(f[0] for f in schema.fields)
                )
            )
    return ordered, schemas


# ---------------------------------------------------------------------------
# The babeltrace2 source component.
# ---------------------------------------------------------------------------


class TraceDescription:
    """Everything the source component needs, passed through `obj`."""

    def __init__(self, events, schemas, trace_name, environment, clock_uuid, trace_uuid):
        self.events = events
        self.schemas = schemas
        self.trace_name = trace_name
        self.environment = environment
        self.clock_uuid = clock_uuid
        self.trace_uuid = trace_uuid


class _Plan:
    """Trace IR classes built by the component, handed to its iterator."""

    def __init__(self, desc, trace_class, stream_class, event_classes):
        self.desc = desc
        self.trace_class = trace_class
        self.stream_class = stream_class
        self.event_classes = event_classes  # name -> (event class, schema)


class _StubIterator(bt2._UserMessageIterator):
    def __init__(self, config, self_output_port):
        plan = self_output_port.user_data
        desc = plan.desc
        self._plan = plan
        trace = plan.trace_class(
            name=desc.trace_name, uuid=desc.trace_uuid, environment=desc.environment
        )
        # One stream per CPU, created in CPU order so the automatic stream
        # ids follow the CPU numbers' order.
        self._streams = {}
        for cpu in sorted({e.cpu for e in desc.events}):
            self._streams[cpu] = trace.create_stream(
                plan.stream_class, name=STREAM_NAME_FMT.format(cpu)
            )
        self._messages = self._generate()

    def __next__(self):
        return next(self._messages)

    def _generate(self):
        """Yield all messages in non-decreasing time order.

        Each per-CPU stream holds one packet that begins at the stream's first
        event and ends at its last event, so the packet's clock snapshots
        bracket exactly its events.
        """
        desc = self._plan.desc
        first = {}
        last = {}
        for event in desc.events:
            first.setdefault(event.cpu, event.timestamp)
            last[event.cpu] = event.timestamp
        remaining = {}
        for event in desc.events:
            remaining[event.cpu] = remaining.get(event.cpu, 0) + 1

        # Stream beginnings carry no clock snapshot: they come first, before
        # any timed message, which keeps the sequence trivially ordered.
        for stream in self._streams.values():
            yield self._create_stream_beginning_message(stream)

        packets = {}
        for event in desc.events:
            cpu = event.cpu
            stream = self._streams[cpu]
            if cpu not in packets:
                packet = stream.create_packet()
                packet.context_field['cpu_id'] = cpu
                packets[cpu] = packet
                yield self._create_packet_beginning_message(packet, first[cpu])

            event_class, schema = self._plan.event_classes[event.name]
            msg = self._create_event_message(event_class, packets[cpu], event.timestamp)
            payload = msg.event.payload_field
            values = {name: value for name, _, value in event.fields}
            for fname, kind in schema.fields:
                value = values.get(fname, _DEFAULTS[kind])
                if kind.endswith('[]'):
                    payload['_{}_length'.format(fname)] = len(value)
                payload[fname] = value
            yield msg

            remaining[cpu] -= 1
            if remaining[cpu] == 0:
                yield self._create_packet_end_message(packets[cpu], last[cpu])
                yield self._create_stream_end_message(stream)


class StubSource(bt2._UserSourceComponent, message_iterator_class=_StubIterator):
    """Source emitting the events of one parsed XML stub as LTTng-like CTF."""

    def __init__(self, config, params, obj):
        desc = obj
        tc = self._create_trace_class(assigns_automatic_stream_class_id=True)

        # LTTng's kernel clock: `monotonic`, 1 GHz.  Offset 0 makes the clock
        # value equal to the XML timestamp in ns; the Unix-epoch origin makes
        # host and guest traces correlatable by babeltrace2's muxer (clocks
        # without that origin are only comparable when their UUIDs match).
        clock = self._create_clock_class(
            frequency=1000000000,
            name='monotonic',
            description='Monotonic Clock',
            offset=bt2.ClockClassOffset(0, 0),
            origin_is_unix_epoch=True,
            uuid=desc.clock_uuid,
        )

        # LTTng kernel traces carry the CPU number in the packet context.
        packet_context = tc.create_structure_field_class()
        packet_context.append_member('cpu_id', tc.create_unsigned_integer_field_class(32))

        # Discarded-event / discarded-packet support makes sink.ctf.fs write
        # the `events_discarded` and `packet_seq_num` packet-context fields of
        # real LTTng traces (always 0 / consecutive here).
        sc = tc.create_stream_class(
            name='channel0',
            packet_context_field_class=packet_context,
            default_clock_class=clock,
            supports_packets=True,
            packets_have_beginning_default_clock_snapshot=True,
            packets_have_end_default_clock_snapshot=True,
            supports_discarded_events=True,
            discarded_events_have_default_clock_snapshots=True,
            supports_discarded_packets=True,
            discarded_packets_have_default_clock_snapshots=True,
        )

        event_classes = {}
        # Event classes in first-appearance order: ids are then stable.
        for name, schema in desc.schemas.items():
            payload = tc.create_structure_field_class()
            for fname, kind in schema.fields:
                payload_member(tc, payload, fname, kind)
            ec = sc.create_event_class(name=name, payload_field_class=payload)
            event_classes[name] = (ec, schema)

        self._add_output_port('out', _Plan(desc, tc, sc, event_classes))


def payload_member(tc, payload, fname, kind):
    if kind == 'sint32':
        payload.append_member(fname, tc.create_signed_integer_field_class(32))
    elif kind == 'sint64':
        payload.append_member(fname, tc.create_signed_integer_field_class(64))
    elif kind == 'string':
        payload.append_member(fname, tc.create_string_field_class())
    elif kind == 'double':
        payload.append_member(fname, tc.create_double_precision_real_field_class())
    elif kind in ('sint32[]', 'sint64[]'):
        # LTTng writes a sequence as an explicit unsigned length field
        # `_<name>_length` followed by the elements; giving the dynamic array
        # a length field class reproduces that layout.
        length_fc = tc.create_unsigned_integer_field_class(32)
        payload.append_member('_{}_length'.format(fname), length_fc)
        elem = tc.create_signed_integer_field_class(32 if kind == 'sint32[]' else 64)
        payload.append_member(fname, tc.create_dynamic_array_field_class(elem, length_fc))
    else:
        raise AssertionError(kind)


# ---------------------------------------------------------------------------
# Driver.
# ---------------------------------------------------------------------------


def default_source_label(path):
    """Path of the stub relative to the shared folder, e.g.
    traces/tc-stubs/vm/OneQemuKvm/host.xml.

    The shared folder is recognised as the parent of the last `traces`
    directory that contains `tc-stubs`; elsewhere the bare file name is used.
    """
    parts = os.path.abspath(path).split(os.sep)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == 'traces' and parts[i + 1] == 'tc-stubs':
            return '/'.join(parts[i:])
    sys.stderr.write(
        '{}: warning: {} is not under a traces/tc-stubs/ folder; using "{}" as '
        'tc_stub_source and UUID seed (see --source-label)\n'.format(
            PROG, path, parts[-1]
        )
    )
    return parts[-1]


def prepare_output(out_dir, force):
    """Check OUTPUT_DIR; return True if an existing trace must be replaced."""
    if os.path.lexists(out_dir) and not os.path.isdir(out_dir):
        raise ConversionError('output path exists and is not a directory: {}'.format(out_dir))
    if not os.path.isdir(out_dir) or not os.listdir(out_dir):
        return False
    if not force:
        raise ConversionError(
            'output directory is not empty: {} (use --force to replace it)'.format(out_dir)
        )
    # --force deletes a whole tree: only do it for what looks like a previous
    # output of this tool, never for an arbitrary folder given by mistake.
    if not os.path.isfile(os.path.join(out_dir, 'metadata')):
        raise ConversionError(
            'refusing to delete {}: it is not empty and holds no CTF metadata '
            'file, so it is not a previous output; remove it yourself'.format(out_dir)
        )
    return True


# What sink.ctf.fs (babeltrace2 2.0) writes at the start of every packet:
# magic (u32), trace UUID (16 bytes), stream_id (u64), stream_instance_id
# (u64), then the packet context, which begins with packet_size (u64, bits).
_PACKET_HEADER_DECL = re.compile(
    r'packet\.header := struct \{\s*'
    r'integer \{ size = 32; align = 8; base = x; \} magic;\s*'
    r'integer \{ size = 8; align = 8; \} uuid\[16\];\s*'
    r'integer \{ size = 64; align = 8; \} stream_id;\s*'
    r'integer \{ size = 64; align = 8; \} stream_instance_id;\s*'
    r'\} align\(8\);'
)
_PACKET_CONTEXT_DECL = re.compile(
    r'packet\.context := struct \{\s*integer \{ size = 64; align = 8; \} packet_size;'
)
_TRACE_UUID_DECL = re.compile(r'(trace \{[^}]*?\buuid = ")([0-9a-f-]{36})(";)')
_CTF_MAGIC = (0xC1FC1FC1).to_bytes(4, 'little')


def pin_trace_uuid(trace_dir, trace_uuid):
    """Give the written trace the UUID chosen by this script.

    sink.ctf.fs 2.0 ignores the trace's UUID and draws a random one, so each
    run would produce different files (a needless diff for committed traces).
    The UUID is in the metadata and in every packet header; rewrite both, and
    only when the layout is exactly the one expected, otherwise keep the
    random UUID and say so.
    """
    meta_path = os.path.join(trace_dir, 'metadata')
    with open(meta_path, encoding='utf-8') as f:
        meta = f.read()
    match = _TRACE_UUID_DECL.search(meta)
    if (
        match is None
        or 'byte_order = le;' not in meta
        or not _PACKET_HEADER_DECL.search(meta)
        or not _PACKET_CONTEXT_DECL.search(meta)
    ):
        sys.stderr.write(
            '{}: warning: unexpected sink.ctf.fs metadata layout; the trace UUID '
            'stays random\n'.format(PROG)
        )
        return
    old = uuid.UUID(match.group(2))
    if old == trace_uuid:
        return

    # Check every data file first, rewrite afterwards: never half-patch.
    patches = []
    for name in sorted(os.listdir(trace_dir)):
        path = os.path.join(trace_dir, name)
        if name == 'metadata' or not os.path.isfile(path):
            continue
        with open(path, 'rb') as f:
            data = bytearray(f.read())
        offset = 0
        while offset < len(data):
            size_bits = int.from_bytes(data[offset + 36:offset + 44], 'little')
            if (
                data[offset:offset + 4] != _CTF_MAGIC
                or data[offset + 4:offset + 20] != old.bytes
                or size_bits == 0
                or size_bits % 8
            ):
                raise ConversionError(
                    '{}: unexpected packet header at offset {}; cannot set the '
                    'trace UUID'.format(path, offset)
                )
            data[offset + 4:offset + 20] = trace_uuid.bytes
            offset += size_bits // 8
        patches.append((path, data))

    for path, data in patches:
        with open(path, 'wb') as f:
            f.write(data)
    meta = meta[:match.start(2)] + str(trace_uuid) + meta[match.end(2):]
    with open(meta_path, 'w', encoding='utf-8') as f:
        f.write(meta)


def run_graph(desc, out_dir):
    ctf = bt2.find_plugin('ctf', find_in_std_env_var=False, find_in_user_dir=False)
    if ctf is None:
        raise ConversionError('babeltrace2 plugin "ctf" not found (is babeltrace2 installed?)')
    graph = bt2.Graph()
    src = graph.add_component(StubSource, 'xml-stub', obj=desc)
    sink = graph.add_component(
        ctf.sink_component_classes['fs'],
        'ctf-writer',
        params={'path': out_dir, 'assume-single-trace': True, 'quiet': True},
    )
    graph.connect_ports(src.output_ports['out'], sink.input_ports['in'])
    graph.run()


def convert(args):
    # Check the output first: no point parsing (and warning) if it fails.
    out_dir = os.path.normpath(args.output)
    replace = prepare_output(out_dir, args.force)

    rename = (lambda n: LTTNG_KVM_X86_NAMES.get(n, n)) if args.kvm_names == 'lttng' else (lambda n: n)
    events, schemas = read_stub(args.input, rename, args.statedump)

    label = args.source_label or default_source_label(args.input)
    stem = os.path.splitext(os.path.basename(args.input))[0]
    environment = {
        'hostname': stem,
        'domain': 'kernel',
        'tracer_name': 'lttng-modules',
        'tracer_major': 2,
        'tracer_minor': args.tracer_minor,
        'tracer_patchlevel': 0,
        'tc_stub_source': label,
        'tc_stub_kvm_names': args.kvm_names,
    }
    if args.statedump == 'lm212':
        environment['tc_stub_statedump'] = 'lttng_statedump_process_pid_ns (lttng-modules >= 2.12)'
    # The clock UUID identifies the machine (Trace Compass uses it as host
    # id), so it depends only on the stub, not on the naming variant; the
    # trace UUID identifies the produced trace, so it includes the variant.
    # Its first bytes are the stub's file name, so that clock UUIDs sort like
    # the file names Trace Compass uses as host ids for XML stubs: the convex
    # hull keeps the smaller host id as its reference (SyncAlgorithmFullyIncremental.java), and
    # the same order reproduces Trace Compass's sync results on the CTF copies.
    file_name = os.path.basename(args.input).encode()[:12]
    clock_uuid = uuid.UUID(bytes=file_name.ljust(12, b'\0') + uuid.uuid5(UUID_NAMESPACE, 'clock:' + label).bytes[:4])
    trace_uuid = uuid.uuid5(
        UUID_NAMESPACE, 'trace:{}:{}:2.{}'.format(label, args.kvm_names, args.tracer_minor)
    )
    desc = TraceDescription(events, schemas, stem, environment, clock_uuid, trace_uuid)

    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)

    # Write into a temporary sibling and move it in place at the end, so that
    # a failed conversion never leaves a half-written trace or destroys the
    # previous one.
    # (sink.ctf.fs in single-trace mode refuses an existing path, hence the
    # not-yet-existing `trace` folder inside the temporary one.)
    tmp = tempfile.mkdtemp(prefix='.xml2ctf-', dir=parent)
    try:
        trace_dir = os.path.join(tmp, 'trace')
        run_graph(desc, trace_dir)
        pin_trace_uuid(trace_dir, desc.trace_uuid)
        if replace:
            shutil.rmtree(out_dir)
        elif os.path.isdir(out_dir):
            os.rmdir(out_dir)  # empty: rename() cannot replace it portably
        os.rename(trace_dir, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    counts = {}
    for event in events:
        counts[event.cpu] = counts.get(event.cpu, 0) + 1
    print(
        '{}: {} -> {}: {} events, {} event classes, CPUs {}'.format(
            PROG,
            args.input,
            out_dir,
            len(events),
            len(schemas),
            ', '.join('{} ({} events)'.format(c, n) for c, n in sorted(counts.items())),
        )
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='xml2ctf.py',
        description='Convert a Trace Compass XML stub trace into an LTTng-like CTF '
        'kernel trace (one stream per CPU, cpu_id in the packet context).',
    )
    parser.add_argument('input', metavar='INPUT.xml', help='Trace Compass XML stub trace')
    parser.add_argument(
        'output',
        metavar='OUTPUT_DIR',
        help='directory that will directly hold the CTF `metadata` file',
    )
    parser.add_argument(
        '--kvm-names',
        choices=('stub', 'lttng'),
        default='stub',
        help='stub: keep the names of the XML (kvm_entry, kvm_exit, ...); lttng: '
        'rename the x86 KVM events as lttng-modules >= 2.8 records them '
        '(kvm_x86_entry, kvm_x86_exit, ...). Default: stub',
    )
    parser.add_argument(
        '--statedump',
        choices=('lm211', 'lm212'),
        default='lm211',
        help='lm211: keep the statedump as written (namespace fields in '
        'lttng_statedump_process_state, lttng-modules 2.7-2.11); lm212: move them into '
        'lttng_statedump_process_pid_ns events, as lttng-modules >= 2.12 records them. '
        'Default: lm211',
    )
    parser.add_argument(
        '--tracer-minor',
        type=int,
        default=13,
        metavar='N',
        help='value of the tracer_minor environment field (tracer_major is 2). Default: 13',
    )
    parser.add_argument(
        '--source-label',
        metavar='PATH',
        help='value of the tc_stub_source environment field, also the seed of the '
        'clock UUID. Default: the input path from its traces/tc-stubs/ folder on',
    )
    parser.add_argument(
        '--force',
        action='store_true',
        help='replace OUTPUT_DIR if it is a non-empty previous output (a folder with a metadata file)',
    )
    args = parser.parse_args(argv)
    if args.tracer_minor < 0:
        parser.error('--tracer-minor must be >= 0')

    try:
        convert(args)
    except ConversionError as exc:
        sys.stderr.write('{}: error: {}\n'.format(PROG, exc))
        return 1
    except bt2._Error as exc:
        sys.stderr.write('{}: error: babeltrace2 graph failed:\n{}\n'.format(PROG, exc))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
