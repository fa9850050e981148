#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Runner of the malformed-input suite (tests/robustness/README.md).

Generates the cases (gen_cases.py), runs each babeltrace2 command line (two at a time by
default), classifies what happened, prints the table of classes per family (expected vs
actual) and exits non-zero when a case fails in a way that known-findings.txt does not list.

Classes that are fine: success, diagnostic (success with a new `diagnostic` row), clean-error
(non-zero exit, a cause from our plugin naming the input, parameter or field, no file left at
the output path), bt-error (babeltrace2's CTF source refuses the input and names the file;
our plugin is not involved yet), bt-crash (a crash or hang that the plain
`babeltrace2 TRACE... -o dummy` shows too: babeltrace2's, listed separately).
Failures: crash, hang, leftover, unnamed-error, silent-loss, loss (rows or the guest link lost
although a diagnostic says why: intervals must become unknown, never vanish), missing-diagnostic (expected a
diagnostic, got a plain success), accepted (expected a clean error, got a success),
unexpected-error (expected a success, got a clean error), slow (a success that took more than 10
times the CPU time of the unmutated input, and more than 2 s).

usage: run_suite.py PLUGIN_DIR SOURCE_DIR WORK_DIR [-j N] [--only REGEX] [--timeout S]
"""

import argparse
import concurrent.futures
import decimal
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FINE = {'success', 'diagnostic', 'clean-error', 'bt-error', 'bt-crash'}
RAW_TEXT = re.compile(r'\b(stoll|stold|stoul|stoi|stod|std::|vector|max_size|bad_alloc|basic_string|'
                      r'out_of_range|invalid_argument|what\(\)|constraint failed)')
SANITIZER = re.compile(r'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:')
OUR_ACTOR = re.compile(r"'(sink|filter|source)\.vm\.")
NAME_TOKENS = ['tl-host', 'tl-guest', 'host-container', 'guest-container', 'host-basic', 'OneQemuKvm',
               '`sync`', '`guest-vm`', 'cpu_id', 'vcpu_id', 'exit_reason', '`tid`', 'kvm_x86_']


def is_temporary(name):
    """The sink's temporary database (`.vm-XXXXXX` beside the output; `*.tmp-*` before)."""
    return name.startswith('.vm-') or '.tmp-' in name


def finished_database(path):
    """Whether `path` holds a database that a run completed (its `run` row is written last,
    before the rename into place)."""
    if not os.path.isfile(path):
        return False
    try:
        db = sqlite3.connect('file:%s?mode=ro' % path, uri=True)
        try:
            return db.execute('SELECT count(*) FROM run').fetchone()[0] == 1
        finally:
            db.close()
    except sqlite3.Error:
        return False


def load_known(path):
    known = {}
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if line and not line.startswith('#'):
                cid, _, why = line.partition(' ')
                known[cid] = why.strip()
    return known


class Runner:
    def __init__(self, a):
        self.plugin_dir = os.path.abspath(a.plugin_dir)
        self.src = os.path.abspath(a.source_dir)
        self.work = os.path.abspath(a.work_dir)
        self.timeout = a.timeout
        so = os.path.join(self.plugin_dir, 'babeltrace-plugin-vm.so')
        # A sanitizer-built plugin (CI's ASan build) runs inside the stock babeltrace2: its
        # runtimes are preloaded, as tests/scale/run-scale.sh does.
        ldd = subprocess.run(['ldd', so], capture_output=True, text=True).stdout
        pre = [l.split()[2] for l in ldd.splitlines() if re.search(r'lib(asan|ubsan)\.so', l) and '=>' in l]
        self.env = dict(os.environ)
        self.sanitized = bool(pre)
        if pre:
            self.env['LD_PRELOAD'] = ':'.join(pre)
            self.env['ASAN_OPTIONS'] = 'detect_leaks=0'
            self.env.setdefault('UBSAN_OPTIONS', 'print_stacktrace=1')
        self.bt = ['babeltrace2', '--omit-home-plugin-path', '--plugin-path=' + self.plugin_dir]
        self.base_dbs = {}
        self.base_cpu = {}

    # --- command lines ----------------------------------------------------------------------
    def resolve(self, value, case):
        if value == '@SYNCREAL@':
            with sqlite3.connect(self.base_dbs['base-cont']) as c:
                a, b = c.execute("SELECT alpha, beta FROM sync s JOIN trace t ON t.machine_id = s.machine "
                                 "WHERE t.hostname = 'tl-guest'").fetchone()
            return 'tl-guest=%r,%r' % (a, b)
        if '@SYNC' in value:
            alpha, beta = self.base_sync()
            if value == '@SYNC@':
                return 'tl-guest=%s,%s' % (alpha, beta)
            shift = decimal.Decimal(re.match(r'@SYNCSHIFT:(-?\d+)@', value).group(1))
            a, b = decimal.Decimal(alpha), decimal.Decimal(beta)
            return 'tl-guest=%s,%s' % (alpha, b - a * shift * 1000000000)
        if value.startswith('@DB:'):
            return self.base_dbs[value[4:-1]]
        if value == '@TAMPERED@':
            db = os.path.join(self.work, 'cases', case['id'], 'tampered.db')
            shutil.copy(self.base_dbs['base-cont'], db)
            with sqlite3.connect(db) as c:
                c.execute("UPDATE sync SET beta_text = 'x', alpha_text = 'x'")
            return db
        return value

    def base_sync(self):
        with sqlite3.connect(self.base_dbs['base-cont']) as c:
            return c.execute("SELECT alpha_text, beta_text FROM sync s JOIN trace t ON t.machine_id = s.machine "
                             "WHERE t.hostname = 'tl-guest'").fetchone()

    def command(self, case, out):
        extra = ''.join(',%s="%s"' % (k, v) for k, v in case.get('sink', {}).items())
        sink = ['-c', 'out:sink.vm.sqlite', '-p', 'path="%s"%s' % (out, extra)]
        if case['kind'] == 'host':
            return self.bt + [case['traces'][0]] + sink
        cmd = self.bt + ['run']
        for i, t in enumerate(case['traces']):
            cmd += ['-c', 's%d:source.ctf.fs' % i, '-p', 'inputs=["%s"]' % t, '--connect', 's%d:fuse' % i]
        params = ','.join('%s="%s"' % (k, self.resolve(v, case)) for k, v in case['params'].items())
        cmd += ['-c', 'fuse:filter.vm.fuse'] + (['-p', params] if params else [])
        return cmd + sink + ['--connect', 'fuse:out']

    def prepare(self, case, cdir):
        """fuse-to-ctf: the baseline traces through filter.vm.fuse into sink.ctf.fs; the case
        then reads what it wrote."""
        outdir = os.path.join(cdir, 'fused-ctf')
        cmd = self.bt + ['run']
        for i, t in enumerate(self.base_traces('cont')):
            cmd += ['-c', 's%d:source.ctf.fs' % i, '-p', 'inputs=["%s"]' % t, '--connect', 's%d:fuse' % i]
        cmd += ['-c', 'fuse:filter.vm.fuse', '-c', 'out:sink.ctf.fs', '-p', 'path="%s"' % outdir,
                '--connect', 'fuse:out']
        r = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=self.timeout)
        if r.returncode != 0:
            return False
        case['traces'] = sorted(root for root, _, files in os.walk(outdir) if 'metadata' in files)
        return bool(case['traces'])

    def base_traces(self, base):
        for c in self.cases:
            if c['id'] == 'base-' + base:
                return c['traces']

    # --- one case ----------------------------------------------------------------------------
    # Delays between the sink's temporary file appearing and an interrupt case's signal. A run
    # on the shipped slices lasts a few tenths of a second, and a faster build can end before
    # the first delay: the case is then run again with the next, shorter one, so that the signal
    # lands while the graph runs (the last, 0: as soon as the file exists).
    INTERRUPT_DELAYS = (0.2, 0.1, 0.05, 0.02, 0.0)

    def run(self, case):
        if not case.get('interrupt'):
            return self.run_once(case, None)
        for delay in self.INTERRUPT_DELAYS:
            res = self.run_once(case, delay)
            if res.get('detail') != 'the run ended before the signal':
                break
        res['signal_delay'] = delay
        return res

    def run_once(self, case, delay):
        cdir = os.path.join(self.work, 'cases', case['id'])
        outdir = os.path.join(cdir, 'out')
        shutil.rmtree(outdir, ignore_errors=True)
        os.makedirs(outdir)
        o = case.get('out')
        if o == 'folder':
            out = os.path.join(outdir, 'db-folder')
            os.makedirs(out)
        else:
            out = os.path.join(outdir, o or 'out.db')
        res = {'id': case['id'], 'db': out}
        if case.get('prepare') and not self.prepare(case, cdir):
            res.update(actual='crash', detail='prepare step (fuse -> sink.ctf.fs) failed', cmd='')
            return res
        cmd = self.command(case, out)
        res['cmd'] = ' '.join("'%s'" % c if re.search(r'[ "\[;]', c) else c for c in cmd)
        existing = None
        if case.get('existing'):
            existing = b'an existing database that an interrupted run must leave intact\n'
            with open(out, 'wb') as fh:
                fh.write(existing)
        t0 = time.time()
        p = subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             start_new_session=True)
        hung = threading.Event()

        def kill():
            hung.set()
            os.killpg(p.pid, signal.SIGKILL)
        timer = threading.Timer(self.timeout, kill)
        timer.start()
        if case.get('interrupt'):
            # Signalled once the sink's temporary file exists: the graph is running then.
            while time.time() - t0 < self.timeout and not any(is_temporary(f) for f in os.listdir(outdir)):
                time.sleep(0.02)
            time.sleep(delay)
            p.send_signal(getattr(signal, 'SIG' + case['interrupt']))  # harmless on an ended run
        err = p.stderr.read().decode(errors='replace')
        _, status, usage = os.wait4(p.pid, 0)   # this child's own CPU time, whatever the load
        timer.cancel()
        rc = p.returncode = os.waitstatus_to_exitcode(status)
        p.stderr.close()
        res['cpu'] = case['cpu'] = usage.ru_utime + usage.ru_stime
        if hung.is_set():
            res.update(actual='hang', detail='no end after %d s' % self.timeout, secs=time.time() - t0)
            plain = self.bt_alone(case)
            if plain:
                res.update(actual='bt-crash', bt_cmd=plain)
            return res
        res['secs'] = time.time() - t0
        with open(os.path.join(cdir, 'stderr.txt'), 'w') as fh:
            fh.write(err)
        res['rc'] = rc
        if case.get('interrupt'):
            res.update(self.interrupted(case, rc, out, outdir, existing))
        else:
            res.update(self.classify(case, rc, err, out, outdir))
        return res

    def interrupted(self, case, rc, out, outdir, existing):
        if rc == 0:
            return {'actual': 'success', 'detail': 'the run ended before the signal'}
        left = [f for f in os.listdir(outdir) if is_temporary(f)]
        if not left and finished_database(out):
            # The signal came after the complete database was renamed into place (the run's
            # last step), while the process exited: it ended before the signal too.
            return {'actual': 'success', 'detail': 'the run ended before the signal'}
        if existing is not None:
            intact = os.path.isfile(out) and open(out, 'rb').read() == existing
            if not intact:
                left.append('the existing database was changed or removed')
        elif os.path.exists(out):
            left.append(os.path.basename(out))
        if left:
            return {'actual': 'leftover', 'detail': 'after SIG%s (exit %d): %s' % (case['interrupt'], rc, ', '.join(left))}
        return {'actual': 'clean-error', 'detail': 'SIG%s: exit %d, nothing left' % (case['interrupt'], rc)}

    def leftovers(self, outdir, out, failed):
        left = []
        for root, dirs, files in os.walk(outdir):
            for f in files:
                path = os.path.join(root, f)
                if is_temporary(f) or failed:
                    left.append(os.path.relpath(path, outdir))
        return left

    def classify(self, case, rc, err, out, outdir):
        if rc < 0 or rc >= 128 or SANITIZER.search(err):
            m = SANITIZER.search(err)
            detail = 'signal %d' % -rc if rc < 0 else ('status %d' % rc)
            if m:
                line = next((l for l in err.splitlines() if SANITIZER.search(l)), '')
                detail += ': ' + line.strip()[:160]
            plain = self.bt_alone(case)
            if plain:
                return {'actual': 'bt-crash', 'detail': detail, 'bt_cmd': plain}
            return {'actual': 'crash', 'detail': detail}
        if rc != 0:
            left = self.leftovers(outdir, out, True)
            if left:
                return {'actual': 'leftover', 'detail': 'after exit %d: %s' % (rc, ', '.join(left))}
            return self.error_class(case, err)
        left = self.leftovers(outdir, out, False)
        if left:
            return {'actual': 'leftover', 'detail': 'after success: ' + ', '.join(left)}
        if not os.path.isfile(out):
            return {'actual': 'unnamed-error', 'detail': 'exit 0 but no database'}
        return self.success_class(case, out)

    def error_class(self, case, err):
        # babeltrace2 prints the chain from the outermost cause (ERROR:) to the root (last CAUSED BY).
        blocks, cur = [], None
        for line in err.splitlines():
            m = re.match(r'^(ERROR:|CAUSED BY)\s+\[([^\]]*)\]', line)
            if m:
                cur = [m.group(2), '']
                blocks.append(cur)
            elif cur is not None and line.startswith('  '):
                cur[1] += ' ' + line.strip()
        if not blocks:
            return {'actual': 'unnamed-error', 'detail': 'no error chain: ' + err.strip()[-160:]}
        ours = [b for b in blocks if OUR_ACTOR.search(b[0])]
        chain = ' '.join(b[1] for b in blocks)
        if ours:
            texts = [b[1].strip() for b in ours]
            for t in texts:
                raw = RAW_TEXT.search(t)
                if raw:
                    return {'actual': 'unnamed-error', 'detail': 'raw text %r: %s' % (raw.group(0), t[:200])}
            text = ' | '.join(texts)
            # The names that the message must mention: the case's own (a parameter), else a
            # trace's path, machine or a field.
            tokens = case.get('err_names') or (NAME_TOKENS + [os.path.dirname(t) for t in case['traces']])
            if not any(tok in text for tok in tokens):
                return {'actual': 'unnamed-error', 'detail': 'names none of %s: %s' % (
                    '/'.join(case['err_names']) if case.get('err_names') else 'the inputs', texts[-1][:200])}
            return {'actual': 'clean-error', 'detail': texts[-1][:200]}
        status = re.search(r'status=(MEMORY_ERROR)', chain)
        if 'babeltrace-plugin-vm.so' not in chain:
            # Refused by babeltrace2 (the CTF source or the CLI) before our plugin saw anything.
            named = [b[1] for b in blocks if any(os.path.dirname(t) in b[1] for t in case['traces'])]
            return {'actual': 'bt-error', 'detail': (named[0] if named else '(names no file) ' + blocks[-1][1]).strip()[:200]}
        return {'actual': 'unnamed-error',
                'detail': 'no cause from our plugin (%s): %s' % (status.group(1) if status else 'ERROR', blocks[-1][1].strip()[:160])}

    @staticmethod
    def metrics(db):
        with sqlite3.connect(db) as c:
            q = lambda s: c.execute(s).fetchone()[0]
            m = {'vcpu_state': q('SELECT count(*) FROM vcpu_state'),
                 'vcpu_time': q('SELECT COALESCE(SUM(dur), 0) FROM vcpu_state'),
                 'unknown_time': q("SELECT COALESCE(SUM(dur), 0) FROM vcpu_state WHERE state = 'unknown'"),
                 'guest_match': q('SELECT count(*) FROM guest_match WHERE qemu_pid IS NOT NULL'),
                 'diagnostic': q('SELECT count(*) FROM diagnostic')}
            m['diag_text'] = [r[0] for r in c.execute('SELECT message FROM diagnostic')]
            return m

    def success_class(self, case, out):
        try:
            m = self.metrics(out)
        except sqlite3.Error as e:
            return {'actual': 'unnamed-error', 'detail': 'exit 0, unreadable database: %s' % e}
        if case['family'] == 'base':
            return {'actual': 'success', 'metrics': m}
        b = self.base_metrics.get(case['base'] if case['kind'] == 'fused' else case['base'] + '-host')
        if b is None:
            b = self.base_metrics.get(case['base'], {'vcpu_state': 0, 'guest_match': 0, 'diagnostic': 0, 'diag_text': []})
        # A diagnostic: a row that the unmutated input does not give, naming what the case expects.
        new_diag = [d for d in m['diag_text'] if d not in b['diag_text']]
        # (a lost guest link must be named as such, not by a side effect such as "no KVM events")
        wanted = case['diag'] or (['linked'] if case['compare'] and case['expected'] == ['success'] else [])
        named = [d for d in new_diag if not wanted or any(n in d for n in wanted)]
        loss = []
        if case['compare']:
            # Rows vanish, or their time became `unknown` with a diagnostic that says why (missing
            # data: one unknown interval replaces the intervals the data would have told, no time
            # is lost; meta-no-tid: the states before each CPU's first sched_switch).
            unknown_instead = (named and m['vcpu_time'] >= 0.98 * b.get('vcpu_time', 0)
                               and m['unknown_time'] > b.get('unknown_time', 0))
            if m['vcpu_state'] < 0.98 * b['vcpu_state'] and not unknown_instead:
                loss.append('vcpu_state %d rows vs %d unmutated' % (m['vcpu_state'], b['vcpu_state']))
            if m['guest_match'] < b['guest_match']:
                loss.append('guest_match %d vs %d: guest no longer linked' % (m['guest_match'], b['guest_match']))
        if loss:
            return {'actual': 'loss' if named else 'silent-loss', 'detail': '; '.join(loss) + (
                ' (a diagnostic names it, but intervals must become unknown, not vanish)' if named else '')}
        base_cpu = self.base_cpu.get(case['base'] if case['kind'] == 'fused' else case['base'] + '-host') \
            or self.base_cpu.get(case['base'], 0)
        if case['cpu'] > max(2.0, 10 * base_cpu):
            return {'actual': 'slow', 'detail': 'CPU %.1f s, the unmutated input %.1f s' % (case['cpu'], base_cpu)}
        if named:
            return {'actual': 'diagnostic', 'detail': named[0][:160]}
        return {'actual': 'success', 'detail': ''}

    def bt_alone(self, case):
        """The plain `babeltrace2 TRACE... -o dummy`: returns it when it crashes too."""
        cmd = ['babeltrace2'] + case['traces'] + ['-o', 'dummy']
        try:
            r = subprocess.run(cmd, capture_output=True, timeout=20)
        except subprocess.TimeoutExpired:
            return ' '.join(cmd) + '   # hangs (no end after 20 s)'
        return ' '.join(cmd) if (r.returncode < 0 or r.returncode >= 128) else None


def final_class(case, res):
    """Maps the observed class against the expectation."""
    a, exp = res['actual'], case['expected']
    if a not in FINE:
        return a
    if a in ('bt-error', 'bt-crash'):
        return a
    if a in exp:
        return a
    if 'clean-error' in exp and len(exp) == 1 and a in ('success', 'diagnostic'):
        return 'accepted'
    if exp == ['diagnostic'] and a == 'success':
        return 'missing-diagnostic'
    if a == 'clean-error' and 'clean-error' not in exp:
        return 'unexpected-error'
    return a


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('plugin_dir')
    ap.add_argument('source_dir')
    ap.add_argument('work_dir')
    ap.add_argument('-j', type=int, default=2)
    ap.add_argument('--only', default='')
    ap.add_argument('--timeout', type=int, default=int(os.environ.get('VM_ROBUST_TIMEOUT', '20')))
    ap.add_argument('--seed', type=int, default=10)
    ap.add_argument('--known', default=os.path.join(HERE, 'known-findings.txt'))
    a = ap.parse_args()
    t0 = time.time()
    subprocess.run(['/usr/bin/python3', os.path.join(HERE, 'gen_cases.py'), a.source_dir, a.work_dir,
                    '--seed', str(a.seed)], check=True)
    r = Runner(a)
    if r.sanitized:
        r.timeout *= 4
    r.cases = json.load(open(os.path.join(r.work, 'cases.json')))['cases']
    cases = [c for c in r.cases if c['family'] == 'base' or re.search(a.only, c['id'])]
    known = load_known(a.known)
    results = {}
    with concurrent.futures.ThreadPoolExecutor(a.j) as pool:
        bases = [c for c in cases if c['family'] == 'base']
        for c, res in zip(bases, pool.map(r.run, bases)):
            results[c['id']] = res
            r.base_dbs[c['id']] = res['db']
        r.base_metrics = {c['id'][5:]: results[c['id']].get('metrics') for c in bases}
        r.base_cpu = {c['id'][5:]: results[c['id']].get('cpu', 0) for c in bases}
        rest = [c for c in cases if c['family'] != 'base']
        for c, res in zip(rest, pool.map(r.run, rest)):
            results[c['id']] = res

    # Report: on stdout and in WORK_DIR/report.txt.
    report = []

    def say(text):
        print(text)
        report.append(text)
    families, new_failures, fixed, lines = {}, [], [], []
    for c in cases:
        res = results[c['id']]
        cls = final_class(c, res)
        res['class'] = cls
        fam = families.setdefault(c['family'], {})
        key = (c['expected'][0] if len(c['expected']) == 1 else 'any-ok', cls)
        fam[key] = fam.get(key, 0) + 1
        failed = cls not in FINE
        mark = 'ok'
        if failed and c['id'] in known:
            mark = 'known'
        elif failed:
            mark = 'FAIL'
            new_failures.append(c['id'])
        elif c['id'] in known:
            mark = 'FIXED'
            fixed.append(c['id'])
        lines.append('%-5s %-30s %-12s %-18s %5.1fs %5.1fs  %s' % (
            mark, c['id'], '|'.join(c['expected']), cls, res.get('secs', 0), res.get('cpu', 0), res.get('detail', '')))
    say('\n== cases (expected classes, actual class, wall time, CPU time, detail); stderr in %s/cases/ID/stderr.txt'
          % r.work)
    say('\n'.join(lines))
    say('\n== classes per family (expected -> actual: cases)')
    for fam, counts in families.items():
        say('%-14s %s' % (fam, ', '.join('%s -> %s: %d' % (e, act, n) for (e, act), n in sorted(counts.items()))))
    bt = [(cid, res) for cid, res in results.items() if res.get('class') == 'bt-crash']
    if bt:
        say('\n== crashes inside babeltrace2 (the plain command crashes too)')
        for cid, res in bt:
            say('%s: %s\n    %s' % (cid, res.get('detail', ''), res['bt_cmd']))
    for cid, res in results.items():
        if res.get('class') not in FINE:
            say('\n-- %s [%s] %s\n   %s' % (cid, res['class'], res.get('detail', ''), res.get('cmd', '')))
    stale = [cid for cid in known if cid not in results and not a.only]
    if fixed and r.sanitized:
        # Sanitizers slow every run: a finding of CPU time may not show here.
        say('\n== pass in this sanitizer build; if they pass in release too, remove from known-findings.txt: '
            + ' '.join(fixed))
    elif fixed:
        say('\n== fixed, remove from known-findings.txt: ' + ' '.join(fixed))
    if stale:
        say('\n== known-findings.txt names unknown cases: ' + ' '.join(stale))
    say('\n%d cases, %d failures (%d known), %d fixed, %.0f s%s' % (
        len(cases), sum(1 for x in results.values() if x['class'] not in FINE),
        sum(1 for x in results if results[x]['class'] not in FINE and x in known), len(fixed),
        time.time() - t0, ' (sanitizer build)' if r.sanitized else ''))
    if new_failures:
        say('NEW FAILURES (not in known-findings.txt): ' + ' '.join(new_failures))
    with open(os.path.join(r.work, 'report.txt'), 'w') as fh:
        fh.write('\n'.join(report) + '\n')
    return 1 if new_failures else 0


if __name__ == '__main__':
    sys.exit(main())
