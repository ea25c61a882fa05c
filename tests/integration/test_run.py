"""make run's script, tools/run.sh, as a real process on a temporary
FIELD_VAR and free ports: it comes up on the ports it is given and takes
the README's example record; a second run on the same folder and a run
on a busy port refuse and start nothing; Ctrl-C (SIGINT to the process
group, as a terminal sends it, or to run.sh alone), SIGTERM and fieldd
ending on its own leave no process of it behind (collectord, fieldd,
the analyse loop and its sleep)."""
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import fieldlib as fl

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
RUN_SH = os.path.join(ROOT, "tools", "run.sh")
EXAMPLE = os.path.join(ROOT, "examples", "mrc_visit.json")
# Key generation, enrolment and a sanitizer build on a busy machine.
START_S = 120 * float(os.environ.get("TEST_TIME_SCALE", "1"))


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def procs():
    """{pid: (ppid, starttime, cmdline)} of every process there is."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                st = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if st[0] == "Z":
            continue
        out[int(name)] = (int(st[1]), st[19], cmd)
    return out


def descendants(pid):
    """(pid, starttime) of pid and everything under it."""
    ps = procs()
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        if p in ps:
            found.add((p, ps[p][1]))
            todo.extend(c for c, v in ps.items() if v[0] == p)
    return found


def default_sigint():
    # run.sh traps SIGINT; a shell cannot trap a signal ignored when it
    # started, as it would be if this test runs in the background.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Run(unittest.TestCase):

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="fieldrun.")
        self.var = os.path.join(self.root, "var")
        self.bin = os.path.abspath(fl.BIN)
        self.ports = dict(zip(("FIELD_PORT", "COLLECTOR_PORT", "COORD_PORT"),
                              free_ports(3)))
        self.runs = []

    def tearDown(self):
        try:
            for p, _ in self.runs:
                if p.poll() is None:
                    try:
                        os.killpg(p.pid, signal.SIGTERM)
                        p.wait(timeout=30)
                    except (OSError, subprocess.TimeoutExpired):
                        pass
            # Whatever is left of ours, however it got there.
            for pid, (_, _, cmd) in procs().items():
                if self.root in cmd:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
        finally:
            for _, log in self.runs:
                log.close()
            shutil.rmtree(self.root, ignore_errors=True)

    def env(self, var=None, **ports):
        e = dict(os.environ)
        e["FIELD_VAR"] = var or self.var
        e.update({k: str(v) for k, v in self.ports.items()})
        e.update({k: str(v) for k, v in ports.items()})
        return e

    def start(self):
        """run.sh in the background, in a session of its own."""
        log = open(os.path.join(self.root, "run%d.log" % len(self.runs)),
                   "w+")
        p = subprocess.Popen(["sh", RUN_SH, self.bin], env=self.env(),
                             stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, cwd=self.root,
                             start_new_session=True,
                             preexec_fn=default_sigint)
        self.runs.append((p, log))
        return p, log

    def output(self, log):
        log.flush()
        with open(log.name, errors="replace") as f:
            return f.read()

    def http(self, method, path, body=None, token=None, port=None):
        h = {"Content-Type": "application/json"} if body else {}
        if token:
            h["Authorization"] = "Bearer " + token
        c = http.client.HTTPConnection(
            "127.0.0.1", port or self.ports["FIELD_PORT"], timeout=10)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def wait_up(self, p, log):
        """Until fieldd answers on FIELD_PORT and run.sh says it is up."""
        deadline = time.time() + START_S
        while time.time() < deadline:
            if p.poll() is not None:
                self.fail("run.sh exited (%d):\n%s" % (p.returncode,
                                                       self.output(log)))
            try:
                status, _ = self.http("GET", "/api/health")
            except OSError:
                status = None
            if status and "Ctrl-C stops" in self.output(log):
                return self.output(log)
            time.sleep(0.2)
        self.fail("fieldd did not answer on port %d:\n%s" % (
            self.ports["FIELD_PORT"], self.output(log)))

    def others(self, var=None):
        """Processes whose command line names the temporary folder."""
        return {pid: cmd for pid, (_, _, cmd) in procs().items()
                if (var or self.root) in cmd}

    def stop_and_check(self, p, log, send):
        """send() stops the run; then nothing it started may be left."""
        with open(os.path.join(self.var, "run.pid")) as f:
            pids = dict(line.split() for line in f if line.strip())
        # The loop sleeps between its analyses, or analyses: either way
        # it has a child to leave behind.
        loop = int(pids["analyse"])
        deadline = time.time() + 30
        while not [c for c, v in procs().items() if v[0] == loop]:
            self.assertLess(time.time(), deadline, "no child of the loop")
            time.sleep(0.1)
        tree = descendants(p.pid)
        ps = procs()
        self.assertTrue([pid for pid, _ in tree
                         if pid in ps and ps[pid][0] == loop], ps.get(loop))
        names = {ps[pid][2].split(" ")[0] for pid, _ in tree if pid in ps}
        for want in ("collectord", "fieldd"):
            self.assertTrue(any(n.endswith(want) for n in names), names)
        send()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("run.sh still running 30 s later:\n" +
                      self.output(log))
        deadline = time.time() + 10
        while True:
            left = [(pid, procs()[pid][2]) for pid, start in tree
                    if pid in procs() and procs()[pid][1] == start]
            if not left and not self.others():
                break
            if time.time() > deadline:
                self.fail("left behind: %s %s\n%s" % (
                    left, self.others(), self.output(log)))
            time.sleep(0.1)
        self.assertFalse(os.path.exists(os.path.join(self.var, "run.pid")))
        return p.returncode

    def test_run(self):
        p, log = self.start()
        out = self.wait_up(p, log)
        fport, cport, hport = (self.ports[k] for k in
                               ("FIELD_PORT", "COLLECTOR_PORT", "COORD_PORT"))
        # Every URL it prints is on the ports it was given.
        for url in re.findall(r"http://[0-9.]+:(\d+)", out):
            self.assertIn(int(url), (fport, hport), out)
        self.assertIn("collectord on 127.0.0.1:%d" % cport, out)
        self.assertIn("http://127.0.0.1:%d/ (their token)" % hport, out)
        m = re.search(r"first enumerator.*\n\n    (\S+)\n", out)
        self.assertTrue(m, out)
        with open(EXAMPLE, "rb") as f:
            status, body = self.http("POST", "/api/records/mrc_visit",
                                     f.read(), token=m.group(1))
        self.assertEqual(status, 201, body)
        status, _ = self.http("GET", "/", port=hport)
        self.assertEqual(status, 200)

        # A second run on the same folder: says so, touches nothing.
        # (collectctl analyse comes and goes meanwhile.)
        daemons = lambda: {pid: cmd for pid, cmd in self.others().items()
                           if " analyse " not in cmd}
        before = daemons()
        q = subprocess.run(["sh", RUN_SH, self.bin], env=self.env(),
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, cwd=self.root, timeout=60)
        self.assertNotEqual(q.returncode, 0)
        self.assertIn("already running in %s" % self.var, q.stderr)
        self.assertIn("kill %d" % p.pid, q.stderr)
        self.assertEqual(daemons(), before)
        self.assertEqual(self.http("GET", "/api/health")[0], 200)

        # Ctrl-C in a terminal: SIGINT to the whole process group.
        self.assertEqual(self.stop_and_check(
            p, log, lambda: os.killpg(p.pid, signal.SIGINT)), 130)

        # A pid file left by a run that was killed does not count.
        with open(os.path.join(self.var, "run.pid"), "w") as f:
            f.write("run 1\ncollectord 1\nanalyse 1\nfieldd 1\n")
        # SIGINT to run.sh alone.
        p, log = self.start()
        self.wait_up(p, log)
        self.assertEqual(self.stop_and_check(
            p, log, lambda: os.kill(p.pid, signal.SIGINT)), 130)

        # SIGTERM to run.sh.
        p, log = self.start()
        self.wait_up(p, log)
        self.assertEqual(self.stop_and_check(
            p, log, lambda: os.kill(p.pid, signal.SIGTERM)), 143)

        # fieldd ending on its own ends the run.
        p, log = self.start()
        self.wait_up(p, log)
        with open(os.path.join(self.var, "run.pid")) as f:
            fieldd = int(dict(line.split() for line in f)["fieldd"])
        self.stop_and_check(p, log, lambda: os.kill(fieldd, signal.SIGTERM))
        self.assertIn("fieldd ended", self.output(log))

    def test_busy_port(self):
        for var in ("FIELD_PORT", "COLLECTOR_PORT", "COORD_PORT"):
            held = socket.socket()
            try:
                held.bind(("127.0.0.1", 0))
                held.listen(1)
                port = held.getsockname()[1]
                v = os.path.join(self.root, "var-" + var)
                q = subprocess.run(
                    ["sh", RUN_SH, self.bin], env=self.env(v, **{var: port}),
                    stdin=subprocess.DEVNULL, capture_output=True,
                    text=True, cwd=self.root, timeout=60)
            finally:
                held.close()
            self.assertNotEqual(q.returncode, 0)
            self.assertRegex(q.stderr, r"port %d is in use .*set %s=" % (
                port, var))
            # Nothing started, nothing made.
            self.assertEqual(self.others(v), {})
            self.assertFalse(os.path.exists(v))


if __name__ == "__main__":
    fl.main()
