"""Self-test of tests/tools/faultproxy: real sockets, Python stdlib only.

Builds nothing.  The binary comes from --bin PATH, else $FAULTPROXY, else
build/san/faultproxy; make it with

  gcc -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=address,undefined -Wall \
    -Wextra -Wno-unused-parameter -Wshadow tests/tools/faultproxy.c \
    -luv -lm -o build/san/faultproxy

Each test starts a server in a thread (echo, or a sink that records what
it gets), puts a proxy in front of it, and at the end stops the proxy with
SIGTERM, checking a clean exit (status 0, no sanitizer report) and its
counters.
"""
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

BIN = os.environ.get("FAULTPROXY", "build/san/faultproxy")
BUILD = ("gcc -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=address,undefined "
         "-Wall -Wextra -Wno-unused-parameter -Wshadow "
         "tests/tools/faultproxy.c -luv -lm -o build/san/faultproxy")


def take_bin_arg():
    """Takes --bin PATH / --bin=PATH out of sys.argv."""
    global BIN
    argv = [sys.argv[0]]
    args = sys.argv[1:]
    i = 0
    while i < len(args):
        if args[i] == "--bin" and i + 1 < len(args):
            BIN = args[i + 1]
            i += 2
            continue
        if args[i].startswith("--bin="):
            BIN = args[i][len("--bin="):]
            i += 1
            continue
        argv.append(args[i])
        i += 1
    sys.argv[:] = argv


def setUpModule():
    if not os.access(BIN, os.X_OK):
        raise unittest.SkipTest(
            "no faultproxy binary at %s; build it with:\n  %s"
            % (BIN, BUILD))


class Server:
    """A TCP server on 127.0.0.1 in threads: "echo" or "sink"."""

    def __init__(self, mode="echo"):
        self.mode = mode
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.received = []          # one bytearray per connection (sink)
        self.lock = threading.Lock()
        self.go = threading.Event()  # a sink reads only once set
        self.go.set()
        self.threads = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()

    def _accept(self):
        while True:
            try:
                s, _ = self.lsock.accept()
            except OSError:
                return
            buf = bytearray()
            t = threading.Thread(target=self._serve, args=(s, buf),
                                 daemon=True)
            with self.lock:
                self.received.append(buf)
                self.threads.append(t)
            t.start()

    def _serve(self, s, buf):
        try:
            while True:
                self.go.wait()
                d = s.recv(65536)
                if not d:
                    break
                with self.lock:
                    buf += d
                if self.mode == "echo":
                    s.sendall(d)
        except OSError:
            pass
        finally:
            s.close()

    def total(self, i=0):
        with self.lock:
            return len(self.received[i]) if i < len(self.received) else 0

    def data(self, i=0):
        with self.lock:
            return bytes(self.received[i])

    def wait_total(self, n, timeout, i=0):
        end = time.monotonic() + timeout
        while self.total(i) < n and time.monotonic() < end:
            time.sleep(0.005)
        return self.total(i)

    def close(self):
        self.go.set()
        self.lsock.close()


class Proxy:
    """A faultproxy process in front of a port."""

    def __init__(self, target, *flags):
        self.proc = subprocess.Popen(
            [BIN] + [str(f) for f in flags] + ["0", str(target)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"faultproxy listening on 127\.0\.0\.1:(\d+)$",
                     line.strip())
        if not m:
            self.proc.kill()
            raise AssertionError("bad first line %r: %s"
                                 % (line, self.proc.stderr.read()))
        self.port = int(m.group(1))
        self.out = []
        self.err = []
        self.readers = [
            threading.Thread(target=self._drain, args=(self.proc.stdout,
                                                       self.out),
                             daemon=True),
            threading.Thread(target=self._drain, args=(self.proc.stderr,
                                                       self.err),
                             daemon=True)]
        for t in self.readers:
            t.start()

    @staticmethod
    def _drain(f, lines):
        for line in f:
            lines.append(line.rstrip("\n"))

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def stats(self):
        """Asks for the counters with SIGUSR1; returns them as a dict."""
        n = len(self.out)
        self.proc.send_signal(signal.SIGUSR1)
        end = time.monotonic() + 5
        while len(self.out) == n and time.monotonic() < end:
            time.sleep(0.01)
        return parse_stats(self.out[-1])

    def stop(self):
        """SIGTERM; checks a clean exit; returns (stats, fault lines)."""
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=20)
        self._reap()
        err = "\n".join(self.err)
        if rc != 0 or "Sanitizer" in err or "runtime error" in err:
            raise AssertionError("faultproxy exited %d:\n%s" % (rc, err))
        return parse_stats(self.out[-1]), faults(self.err)

    def _reap(self):
        for t in self.readers:
            t.join(timeout=5)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            self._reap()


def parse_stats(line):
    if not line.startswith("faultproxy stats: "):
        raise AssertionError("not a stats line: %r" % line)
    return {k: int(v) for k, v in
            (kv.split("=") for kv in line.split(": ", 1)[1].split())}


def faults(lines):
    """The --log lines as dicts."""
    out = []
    for line in lines:
        if "fault=" in line:
            out.append(dict(kv.split("=", 1) for kv in line.split()[1:]))
    return out


def recv_all(s, limit, timeout=10):
    """Reads until limit bytes, EOF or reset; returns (data, ended)."""
    data = bytearray()
    s.settimeout(timeout)
    while len(data) < limit:
        try:
            d = s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return bytes(data), True
        if not d:
            return bytes(data), True
        data += d
    return bytes(data), False


def send_bg(s, data):
    """sendall in a thread, ignoring a reset; returns the thread."""
    def run():
        try:
            s.sendall(data)
        except OSError:
            pass
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def shut_at_once(px):
    """True if the proxy closes a new connection before any data."""
    try:
        s = px.connect()
    except ConnectionResetError:
        return True     # the RST beat connect() back
    try:
        return recv_all(s, 1, timeout=5) == (b"", True)
    finally:
        s.close()


def payload(n, seed=1):
    return random.Random(seed).randbytes(n)


class FaultProxyTest(unittest.TestCase):

    def setUp(self):
        self.servers = []
        self.proxies = []

    def tearDown(self):
        for p in self.proxies:
            p.kill()
        for s in self.servers:
            s.close()

    def start(self, mode, *flags):
        srv = Server(mode)
        self.servers.append(srv)
        px = Proxy(srv.port, *flags)
        self.proxies.append(px)
        return srv, px

    def test_clean_roundtrip(self):
        srv, px = self.start("echo")
        data = payload(1 << 20)
        s = px.connect()
        t = send_bg(s, data)
        got, ended = recv_all(s, len(data))
        t.join()
        self.assertFalse(ended)
        self.assertEqual(got, data)
        # A half close goes through, and the echo server's close back.
        s.shutdown(socket.SHUT_WR)
        rest, ended = recv_all(s, 1, timeout=5)
        self.assertEqual((rest, ended), (b"", True))
        s.close()
        st = px.stats()
        self.assertEqual(st["bytes_up"], len(data))
        self.assertEqual(st["bytes_down"], len(data))
        st, _ = px.stop()
        self.assertEqual(st["connections"], 1)
        self.assertEqual(st["cuts"] + st["stalls"] + st["corruptions"]
                         + st["truncations"] + st["refused"], 0)

    def cut_run(self, seed, conns=4, size=300000):
        """Conns through --cut-mean 10000; returns the cut offsets."""
        srv, px = self.start("echo", "--cut-mean", 10000, "--seed", seed,
                             "--log")
        for i in range(conns):
            data = payload(size, seed=i)
            s = px.connect()
            t = send_bg(s, data)
            got, ended = recv_all(s, size)
            t.join(10)
            s.close()
            self.assertTrue(ended, "conn %d was not cut" % (i + 1))
            self.assertLess(len(got), size)
            self.assertEqual(got, data[:len(got)],
                             "echo is not a prefix of what was sent")
            # What reached the server, too.
            for _ in range(200):
                if len(srv.threads) > i and not srv.threads[i].is_alive():
                    break
                time.sleep(0.01)
            up = srv.data(i)
            self.assertEqual(up, data[:len(up)])
        st, fl = px.stop()
        self.assertEqual(st["cuts"], conns)
        cuts = [f for f in fl if f["fault"] == "cut"]
        self.assertEqual(len(cuts), conns)
        self.assertTrue(all(c["reason"] == "bytes" for c in cuts))
        # The proxy forwarded no more than the cut offset, both ways.
        self.assertEqual(st["bytes_up"] + st["bytes_down"],
                         sum(int(c["offset"]) for c in cuts))
        return [(int(c["conn"]), int(c["offset"])) for c in cuts]

    def test_cut_mean_and_seed(self):
        a = self.cut_run(7)
        b = self.cut_run(7)
        c = self.cut_run(8)
        self.assertEqual(a, b, "same seed, different cut offsets")
        self.assertNotEqual(a, c)
        offs = [o for _, o in a + c]
        # Exponential, mean 10000: some spread, none far out.
        self.assertGreater(max(offs) - min(offs), 1000)

    def test_cut_at(self):
        # Every connection is cut after exactly that many bytes.
        srv, px = self.start("echo", "--cut-at", 3000, "--log")
        for _ in range(2):
            s = px.connect()
            t = send_bg(s, payload(10000))
            got, ended = recv_all(s, 10000)
            t.join()
            s.close()
            self.assertTrue(ended)
            self.assertLessEqual(len(got), 1500)
        st, log = px.stop()
        cuts = [f for f in log if f["fault"] == "cut"]
        self.assertEqual([int(f["offset"]) for f in cuts], [3000, 3000])

    def test_cut_every_ms(self):
        srv, px = self.start("echo", "--cut-every-ms", 200, "--seed", 1)
        t0 = time.monotonic()
        try:
            s = px.connect()
        except ConnectionResetError:
            # The cut came before this (loaded) machine ran the client
            # again after its handshake: connect() itself sees the reset.
            s = None
        if s is not None:
            got, ended = recv_all(s, 1, timeout=8)
            self.assertTrue(ended)
            s.close()
        self.assertLess(time.monotonic() - t0, 8)
        st, _ = px.stop()
        self.assertEqual(st["cuts"], 1)

    def test_corrupt_one_bit_per_chunk(self):
        srv, px = self.start("sink", "--corrupt-prob", 1, "--log")
        msgs = [payload(1000, seed=i) for i in range(20)]
        s = px.connect()
        total = 0
        for m in msgs:
            s.sendall(m)
            total += len(m)
            self.assertEqual(srv.wait_total(total, 5), total)
        s.close()
        got = srv.data()
        sent = b"".join(msgs)
        st, fl = px.stop()
        flips = set()
        for i, (x, y) in enumerate(zip(sent, got)):
            d = x ^ y
            for b in range(8):
                if d >> b & 1:
                    flips.add((i, b))
        logged = {(int(f["offset"]), int(f["bit"])) for f in fl
                  if f["fault"] == "corrupt"}
        self.assertEqual(flips, logged)
        self.assertEqual(len(logged), st["corruptions"])
        # Every message is at least one chunk, and a chunk one bit.
        for k in range(len(msgs)):
            n = sum(1 for o, _ in flips if k * 1000 <= o < (k + 1) * 1000)
            self.assertGreaterEqual(n, 1, "message %d not corrupted" % k)
        self.assertGreaterEqual(st["corruptions"], len(msgs))

    def test_delay(self):
        srv, px = self.start("echo", "--delay-ms", 200)
        s = px.connect()
        s.sendall(b"ping")
        self.assertEqual(recv_all(s, 4)[0], b"ping")  # connected, warm
        t0 = time.monotonic()
        s.sendall(b"ping")
        self.assertEqual(recv_all(s, 4)[0], b"ping")
        rtt = time.monotonic() - t0
        self.assertGreaterEqual(rtt, 0.4 - 0.005)  # 200 ms each way
        self.assertLess(rtt, 2)
        # Chunks sent back to back stay in order.
        msgs = [("msg%02d;" % i).encode() for i in range(10)]
        for m in msgs:
            s.sendall(m)
            time.sleep(0.01)
        want = b"".join(msgs)
        self.assertEqual(recv_all(s, len(want))[0], want)
        s.close()
        px.stop()

    def test_connect_rtt(self):
        # A new connection pays its TCP handshake's round trip: the
        # first bytes up leave 2 x delay after accept, so the first echo
        # takes two round trips; with --no-connect-rtt only one.
        for flags, lo, hi in (((), 0.8, 1.6), (("--no-connect-rtt",),
                                                0.4, 0.75)):
            srv, px = self.start("echo", "--delay-ms", 200, *flags)
            t0 = time.monotonic()
            s = px.connect()
            s.sendall(b"ping")
            self.assertEqual(recv_all(s, 4)[0], b"ping")
            took = time.monotonic() - t0
            self.assertGreaterEqual(took, lo - 0.005, flags)
            self.assertLess(took, hi, flags)
            s.close()
            px.stop()

    def test_rate(self):
        srv, px = self.start("sink", "--rate", 20000)
        data = payload(100000)
        s = px.connect()
        t0 = time.monotonic()
        t = send_bg(s, data)
        self.assertEqual(srv.wait_total(len(data), 15), len(data))
        took = time.monotonic() - t0
        t.join()
        s.close()
        self.assertEqual(srv.data(), data)
        self.assertGreaterEqual(took, 4.0)
        self.assertLess(took, 8.0)
        px.stop()

    def test_stall(self):
        srv, px = self.start("echo", "--stall-prob", 1, "--stall-ms", 150,
                             "--log")
        s = px.connect()
        t0 = time.monotonic()
        s.sendall(b"hello")
        self.assertEqual(recv_all(s, 5)[0], b"hello")
        self.assertGreaterEqual(time.monotonic() - t0, 0.3 - 0.005)
        s.close()
        st, fl = px.stop()
        self.assertGreaterEqual(st["stalls"], 2)
        self.assertEqual(len([f for f in fl if f["fault"] == "stall"]),
                         st["stalls"])

    def test_truncate(self):
        srv, px = self.start("sink", "--truncate-prob", 1, "--seed", 3,
                             "--log")
        data = payload(5000)
        s = px.connect()
        s.sendall(data)
        got, ended = recv_all(s, 1, timeout=5)
        self.assertTrue(ended)
        s.close()
        st, fl = px.stop()
        self.assertEqual(st["truncations"], 1)
        tr = [f for f in fl if f["fault"] == "truncate"]
        self.assertEqual(len(tr), 1)
        keep = int(tr[0]["keep"])
        self.assertLess(keep, 5000)
        self.assertEqual(st["bytes_up"], keep)
        up = srv.data()
        self.assertLessEqual(len(up), keep)
        self.assertEqual(up, data[:len(up)])

    def test_refuse(self):
        srv, px = self.start("echo", "--refuse-prob", 1)
        self.assertTrue(shut_at_once(px))
        st, _ = px.stop()
        self.assertEqual((st["connections"], st["refused"]), (1, 1))
        self.assertEqual(len(srv.threads), 0)

    def test_max_conns(self):
        srv, px = self.start("echo", "--max-conns", 1)
        a = px.connect()
        a.sendall(b"a")
        self.assertEqual(recv_all(a, 1)[0], b"a")
        self.assertTrue(shut_at_once(px))
        a.sendall(b"b")
        self.assertEqual(recv_all(a, 1)[0], b"b")
        a.close()
        # Once a has gone, there is room again.
        for _ in range(100):
            c = None
            try:
                # Until the proxy has seen a's close, a new connection
                # may be reset even before connect returns.
                c = px.connect()
                c.sendall(b"c")
                if recv_all(c, 1, timeout=5)[0] == b"c":
                    break
            except OSError:
                pass
            finally:
                if c is not None:
                    c.close()
            time.sleep(0.02)
        else:
            self.fail("no room after the first connection closed")
        st, _ = px.stop()
        self.assertGreaterEqual(st["refused"], 1)

    def test_backpressure(self):
        # The sink does not read for a while: the proxy must stop reading
        # too, not buffer everything the client sends.
        srv, px = self.start("sink", "--queue-max", 262144)
        srv.go.clear()
        data = payload(8 << 20)
        s = px.connect()
        t = send_bg(s, data)
        time.sleep(1.0)
        st = px.stats()
        self.assertGreater(st["peak_queue"], 0)
        self.assertLessEqual(st["peak_queue"], 262144 + 65536)
        self.assertLess(st["bytes_up"], len(data))
        srv.go.set()
        self.assertEqual(srv.wait_total(len(data), 15), len(data))
        t.join()
        s.close()
        self.assertEqual(srv.data(), data)
        st, _ = px.stop()
        self.assertLessEqual(st["peak_queue"], 262144 + 65536)

    def test_bad_flags(self):
        for flags in (["--corrupt-prob", "2", "0", "1"],
                      ["--rate", "x", "0", "1"], ["0"], ["0", "0"]):
            p = subprocess.run([BIN] + flags, capture_output=True,
                               text=True, timeout=10)
            self.assertEqual(p.returncode, 2, flags)
            self.assertEqual(p.stdout, "")


if __name__ == "__main__":
    take_bin_arg()
    unittest.main()
