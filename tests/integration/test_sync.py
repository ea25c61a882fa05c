"""Sync end to end: real fieldd/fieldctl and collectord over loopback TLS,
with the fault proxy cutting, stalling and corrupting the link between
them.  Records must arrive exactly once, and the device's watermark must
equal the collector's."""
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import time
import unittest

import fieldlib as fl
import synclib as sl


def board_copy(d, suffix, sql):
    """Board d's folder copied beside it (d.dir + suffix), as the same
    device, with sql run on the copy's store."""
    c = sl.SyncDevice.__new__(sl.SyncDevice)
    c.collector, c.id, c.proc = d.collector, d.id, None
    c.dir = d.dir + suffix
    shutil.copytree(d.dir, c.dir)
    db = sqlite3.connect(os.path.join(c.dir, "device.db"))
    db.execute(sql)
    db.commit()
    db.close()
    return c


def forgotten_copy(test, d):
    """A copy of board d as a new process that forgot its link would find
    it: no learned batch size nor round trip, nor the TLS session kept for
    a new process to resume (which d must have)."""
    forgot = board_copy(d, "-forgot", "DELETE FROM meta WHERE key IN"
                        " ('sync_link_batch_bytes', 'sync_link_rtt_ms')")
    session = os.path.join(forgot.dir, "tls", "session")
    test.assertTrue(os.path.exists(session))
    os.unlink(session)
    return forgot


def check_exactly_once(test, c, devices_ids):
    """devices_ids: {device_id: [record ids in seq order]}"""
    sl.assert_stored_once(test, c, devices_ids)
    info = c.devices()
    for dev, ids in devices_ids.items():
        test.assertEqual(info[dev]["acked_seq"], len(ids))


class SyncTest(unittest.TestCase):
    def setUp(self):
        self.c = sl.Collector()
        self.c.start()

    def tearDown(self):
        self.c.cleanup()

    def test_enrol_sync_once_and_resume(self):
        d = sl.SyncDevice(self.c, "board-1")
        ids = d.bulk(300, members=2)
        p = d.sync()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("acknowledged up to seq 300 of 300", p.stdout)
        check_exactly_once(self, self.c, {"board-1": ids})
        # a trusted stamp needs no correction; it is shown beside it
        r = self.c.open_records()[0]
        self.assertEqual(r["_clock"], "trusted")
        self.assertEqual(r["_corrected"], r["_created"])
        st = d.status()
        self.assertEqual(st["pending"], 0)
        self.assertEqual(st["acked_seq"], 300)
        self.assertIsNotNone(st["last_sync_ok"])
        self.assertIsNone(st["last_sync_error"])
        self.assertIsInstance(st["clock_offset_ms"], int)
        self.assertLess(abs(st["clock_offset_ms"]), 5000)
        # more records later: only those travel
        ids += d.bulk(20)
        self.assertEqual(d.sync().returncode, 0)
        check_exactly_once(self, self.c, {"board-1": ids})
        dev = self.c.devices()["board-1"]
        self.assertEqual(dev["pending"], 0)
        self.assertEqual(dev["last_error"], "")
        # the plaintext never reaches the collector's store or log
        self.assertFalse(b"SITE-001" in self.c.store_bytes(),
                         "plaintext in the store")
        self.assertNotIn("SITE-0", self.c.log())

    def test_enrolment_refusals(self):
        d = sl.SyncDevice(self.c, "board-2", enroll=False)
        addr = "127.0.0.1:%d" % self.c.port
        tok = self.c.token("board-2")
        # a token is for one device only
        p = d.ctl("enroll", "--collector", addr, "--token",
                  self.c.token("other-board"), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("token", p.stderr)
        # a token pinning another CA: the device will not talk to us
        bad = tok[:-64] + ("0" * 64)
        p = d.ctl("enroll", "--collector", addr, "--token", bad, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("pin", p.stderr.lower())
        p = d.ctl("enroll", "--collector", addr, "--token", "nonsense",
                  check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not an enrolment token", p.stderr)
        # the right one works once
        d.ctl("enroll", "--collector", addr, "--token", tok)
        e = sl.SyncDevice(self.c, "board-3", enroll=False)
        p = e.ctl("enroll", "--collector", addr, "--token", tok, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("already used", p.stderr)
        # unenrolled: sync says so
        p = e.sync()
        self.assertEqual(p.returncode, 1)
        self.assertIn("not enrolled", p.stderr)

    def test_offline_enrolment(self):
        d = sl.SyncDevice(self.c, "board-off", enroll=False)
        csr = os.path.join(self.c.root, "board-off.csr")
        crt = os.path.join(self.c.root, "board-off.crt")
        d.ctl("csr", csr)
        self.c.ctl("sign-csr", csr, crt)
        d.ctl("install-cert", crt, os.path.join(self.c.dir, "ca.crt"))
        d.point_at(self.c.port)
        ids = d.bulk(5)
        self.assertEqual(d.sync().returncode, 0)
        check_exactly_once(self, self.c, {"board-off": ids})

    def test_resumed_session_names_its_device(self):
        """A resumed session brings no certificate over the link, and its
        ticket, about 180 bytes, names the device's certificate instead of
        carrying it; the collector still knows the device by it, and
        still refuses it once revoked."""
        d = sl.SyncDevice(self.c, "resumer")
        ids = d.bulk(3)
        self.assertEqual(d.sync().returncode, 0)
        # Nothing waits: the attempt is the handshake, hello, welcome and
        # bye alone.  Resumed: no certificates down (a full handshake
        # brings over 1 KB), and up a ClientHello with a short ticket
        # (with the certificate in it, about 950 bytes up in all).
        px = sl.Proxy(self.c.port)
        d.point_at(px.port)
        self.assertEqual(d.sync().returncode, 0)
        st = px.stop()
        self.assertLess(st["bytes_down"], 400, st)
        self.assertLess(st["bytes_up"], 700, st)
        d.point_at(self.c.port)
        ids += d.bulk(2)
        self.assertEqual(d.sync().returncode, 0)
        check_exactly_once(self, self.c, {"resumer": ids})
        px = sl.Proxy(self.c.port)
        d.point_at(px.port)
        self.c.ctl("revoke", "resumer")
        d.bulk(1)
        p = d.sync()
        st = px.stop()
        self.assertEqual(p.returncode, 1)
        self.assertIn("revoked", p.stderr)
        self.assertLess(st["bytes_down"], 600, st)

    def test_bad_peers_refused_good_device_served(self):
        good = sl.SyncDevice(self.c, "good")
        ids = good.bulk(10)
        # revoked
        rev = sl.SyncDevice(self.c, "revoked")
        rev.bulk(3)
        self.c.ctl("revoke", "revoked")
        p = rev.sync()
        self.assertEqual(p.returncode, 1)
        self.assertIn("revoked", p.stderr)
        # a certificate from another collector's CA, the device trusting
        # ours: the handshake fails on our side
        other = sl.Collector()
        try:
            other.start()
            foreign = sl.SyncDevice(other, "foreign")
            foreign.bulk(3)
            with open(os.path.join(self.c.dir, "ca.crt")) as f:
                ca = f.read()
            with open(os.path.join(foreign.dir, "tls", "ca.crt"), "w") as f:
                f.write(ca)
            foreign.point_at(self.c.port)
            p = foreign.sync()
            self.assertEqual(p.returncode, 1)
        finally:
            other.cleanup()
        # an expired certificate, signed by our CA
        old = sl.SyncDevice(self.c, "expired", enroll=False)
        csr = os.path.join(self.c.root, "exp.csr")
        crt = os.path.join(self.c.root, "exp.crt")
        old.ctl("csr", csr)
        self.c.ctl("sign-csr", csr, crt, "--not-before", "2024-01-01",
                   "--days", "30")
        p = old.ctl("install-cert", crt, os.path.join(self.c.dir, "ca.crt"),
                    check=False)
        self.assertEqual(p.returncode, 1)   # the board sees it too
        os.replace(crt, os.path.join(old.dir, "tls", "device.crt"))
        with open(os.path.join(self.c.dir, "ca.crt")) as f:
            ca = f.read()
        with open(os.path.join(old.dir, "tls", "ca.crt"), "w") as f:
            f.write(ca)
        old.point_at(self.c.port)
        old.bulk(2)
        self.assertEqual(old.sync().returncode, 1)
        # plain TCP, no TLS
        s = socket.create_connection(("127.0.0.1", self.c.port), timeout=5)
        s.sendall(b"POST /records HTTP/1.1\r\nHost: x\r\n\r\n" * 10)
        try:
            got = s.recv(100)
        except ConnectionResetError:
            got = b""
        # closed, with at most a TLS alert, and nothing else said
        self.assertIn(got[:1], (b"", b"\x15"))
        s.close()
        # and through it all the collector serves the good device
        self.assertTrue(self.c.alive())
        self.assertEqual(good.sync().returncode, 0)
        check_exactly_once(self, self.c, {"good": ids, "revoked": []})
        self.assertNotIn("foreign", self.c.devices())


# --- A hostile peer speaking TLS: frames built by hand ------------------

def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(num, payload):
    """A length-delimited protobuf field."""
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def frame(env):
    return varint(len(env)) + env


def hello(device_id, version=1):
    h = field(1, device_id.encode()) + varint(2 << 3) + varint(version)
    return frame(field(1, h))


def read_error(s):
    """Reads frames until an Error (Envelope field 7); returns its text."""
    buf = b""
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            chunk = s.recv(4096)
        except (ssl.SSLError, OSError):
            break
        if not chunk:
            break
        buf += chunk
    return buf


class HostilePeerTest(unittest.TestCase):
    def setUp(self):
        self.c = sl.Collector()
        self.c.start("--max-conns", "40", "--idle-timeout", "3")
        self.good = sl.SyncDevice(self.c, "good")
        self.ids = self.good.bulk(20)

    def tearDown(self):
        self.c.cleanup()

    def tls(self, cert=True):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_verify_locations(os.path.join(self.c.dir, "ca.crt"))
        if cert:
            t = os.path.join(self.good.dir, "tls")
            ctx.load_cert_chain(os.path.join(t, "device.crt"),
                                os.path.join(t, "device.key"))
        raw = socket.create_connection(("127.0.0.1", self.c.port), timeout=5)
        return ctx.wrap_socket(raw)

    def test_frames_refused_with_clear_errors(self):
        cases = [
            # no certificate: hello is refused, only enrolment is open
            (False, hello("good"), b"enrol first"),
            # a stranger cannot make the collector hold a big frame
            (False, varint(100000), b"over the limit of 16384"),
            (True, b"\xff" * 20, b"varint"),
            (True, varint(1 << 40), b"over the"),
            (True, frame(b"\x08\x01\x02"), b"frame at byte 0"),
            # a batch before hello
            (True, frame(field(4, b"")), b"before hello"),
            (True, hello("good", version=99), b"protocol version 99"),
            (True, hello("someone-else"), b"not the device"),
            # an unknown kind (field 15)
            (True, frame(field(15, b"")), b"unknown kind"),
        ]
        for cert, data, want in cases:
            with self.subTest(want=want):
                s = self.tls(cert)
                s.sendall(data)
                got = read_error(s)
                s.close()
                self.assertIn(want, got)
        self.assertTrue(self.c.alive())
        self.assertEqual(self.good.sync().returncode, 0)
        check_exactly_once(self, self.c, {"good": self.ids})

    def test_idle_flood_bounded(self):
        pid = self.c.proc.pid

        def rss():
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        before = rss()
        socks = []
        for _ in range(300):
            try:
                socks.append(socket.create_connection(
                    ("127.0.0.1", self.c.port), timeout=5))
            except OSError:
                pass
        # half-open TLS too: a ClientHello's first bytes, then silence
        for s in socks[:20]:
            s.sendall(b"\x16\x03\x01\x00")
        time.sleep(1)
        grown = rss() - before
        self.assertTrue(self.c.alive())
        # 40 connections at most are kept; the rest are closed at once
        self.assertLess(grown, 40 * 1024, "RSS grew by %d KiB" % grown)
        for s in socks:
            s.close()
        time.sleep(0.5)
        self.assertEqual(self.good.sync().returncode, 0)
        check_exactly_once(self, self.c, {"good": self.ids})
        # silent connections are dropped by the collector
        s = socket.create_connection(("127.0.0.1", self.c.port), timeout=20)
        t0 = time.time()
        self.assertEqual(s.recv(10), b"")
        self.assertLess(time.time() - t0, 15)
        s.close()


class FaultyLinkTest(unittest.TestCase):
    def setUp(self):
        self.c = sl.Collector()
        self.c.start()

    def tearDown(self):
        self.c.cleanup()

    def test_link_remembered_across_restarts(self):
        """What sync learns about its link outlives the process: batches
        shrunk by cuts and the round trip are in status, and the next
        fieldctl process (a reboot, a script) starts from them.  On a
        link cut after 12.5 KB, a process that remembers gets records
        through at its first attempt and hears of it; one that forgot
        (the same folder, its keys and session file deleted) starts with
        a full TLS handshake and 8 KiB batches: its first batch may
        reach the collector (records go first), but the cut comes before
        any ack can come back.  (A link cut after 5 KB, where the one that
        forgot gets nothing stored: the next test.)"""
        d = sl.SyncDevice(self.c, "board-link")
        self.assertIsNone(d.status()["link_batch_bytes"])
        ids = d.bulk(600, members=2)
        # 80 ms each way: hello to welcome is at least 160 ms.  Cut after
        # 9 KB: the batches halve from their first 8 KiB until they fit.
        px = sl.Proxy(self.c.port, "--delay-ms", "80", "--cut-at", "9000")
        d.point_at(px.port)
        d.sync(attempts=12, timeout=120)
        px.stop()
        st = d.status()
        learned, rtt = st["link_batch_bytes"], st["link_rtt_ms"]
        self.assertIsNotNone(learned, st)
        self.assertLessEqual(learned, 2048, st)
        self.assertGreaterEqual(learned, 1024, st)
        self.assertGreaterEqual(rtt, 160, st)
        self.assertLess(rtt, 5000, st)
        self.assertIn("link          batches of %d bytes" % learned,
                      d.ctl("status").stdout)
        before = st["acked_seq"]
        self.assertLess(before, 560, "too few records left to compare")
        forgot = forgotten_copy(self, d)
        # One attempt each, by a new process, on a link cut after 12.5 KB.
        stored = {}
        for name, dev in (("forgot", forgot), ("remembered", d)):
            at = self.c.devices()["board-link"]["acked_seq"]
            px = sl.Proxy(self.c.port, "--delay-ms", "80", "--cut-at",
                          "12500")
            dev.point_at(px.port)
            dev.sync(attempts=1)
            px.stop()
            stored[name] = self.c.devices()["board-link"]["acked_seq"] - at
        self.assertGreater(stored["remembered"], 0, stored)
        self.assertEqual(forgot.status()["acked_seq"], before)
        self.assertGreater(d.status()["acked_seq"], before)
        d.point_at(self.c.port)
        p = d.sync(attempts=3)
        self.assertEqual(p.returncode, 0, p.stderr)
        check_exactly_once(self, self.c, {"board-link": ids})

    def test_first_attempt_after_restart_on_a_5kb_link(self):
        """A link cut after 5 KB, both directions counted: a rebooted board
        that remembers its link resumes its TLS session (no certificates
        come down) and sends a first batch of the size it learned before
        anything else but its hello, so its first attempt gets records
        through; one that forgot (a full handshake, 8 KiB batches) gets
        none.  The counts, a whole place per piece and here many times a
        batch, follow the records."""
        d = sl.SyncDevice(self.c, "board-5kb")
        # One place over many days: its counts piece is one piece of
        # several KB, far more than a batch this link carries.
        ids = d.bulk(200, members=3, one_site=True)
        # 64 kbit/s: the link carries what is sent at its own pace, so
        # acks come back before the cut, as on a real one.
        link = ("--delay-ms", "40", "--rate", "8000", "--cut-at", "5000")
        px = sl.Proxy(self.c.port, *link)
        d.point_at(px.port)
        d.sync(attempts=12, timeout=120)
        px.stop()
        st = d.status()
        learned = st["link_batch_bytes"]
        self.assertIsNotNone(learned, st)
        self.assertLessEqual(learned, 2048, st)
        before = st["acked_seq"]
        self.assertGreater(before, 0, "the learning attempts got nothing "
                           "through: " + d.ctl("status").stdout)
        self.assertLess(before, 180, "too few records left to compare")
        forgot = forgotten_copy(self, d)
        down, stored = {}, {}
        for name, dev in (("forgot", forgot), ("remembered", d)):
            at = self.c.devices()["board-5kb"]["acked_seq"]
            px = sl.Proxy(self.c.port, *link)
            dev.point_at(px.port)
            dev.sync(attempts=1)
            down[name] = px.stop()["bytes_down"]
            stored[name] = self.c.devices()["board-5kb"]["acked_seq"] - at
        # A full handshake brings the server's and the CA's certificates
        # (over 1 KB); a resumed one about 140 bytes, then a welcome and
        # acks of a few dozen bytes each.
        self.assertGreater(down["forgot"], 1000, down)
        self.assertLess(down["remembered"], 600, down)
        # What the collector committed in each attempt (its watermark may
        # already be above the board's: an ack the last cut lost), and
        # that the board heard of it.
        self.assertEqual(stored["forgot"], 0, stored)
        self.assertGreater(stored["remembered"], 0, stored)
        self.assertGreater(d.status()["acked_seq"], before)
        d.point_at(self.c.port)
        p = d.sync(attempts=3)
        self.assertEqual(p.returncode, 0, p.stderr)
        check_exactly_once(self, self.c, {"board-5kb": ids})

    def test_silent_link_noticed_in_seconds(self):
        """A link that goes silent without a reset (a radio out of range):
        the first connection forwards nothing more after 60 KB.  With
        batches waiting for acks on a link whose pace it knows, the board
        gives up on it within seconds (six times the longest wait for an
        ack of late, at least 8 s), not after the two minutes it allows a
        collector that is merely slow, and finishes on a new connection."""
        d = sl.SyncDevice(self.c, "silent")
        ids = d.bulk(1000)
        # After acks have come (the pace is known), before every record
        # and the counts are in the air.
        px = sl.Proxy(self.c.port, "--delay-ms", "20", "--silent-at",
                      "60000")
        d.point_at(px.port)
        t0 = time.time()
        p = d.sync(attempts=3, timeout=100)
        took = time.time() - t0
        px.stop()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("no reply from the collector for", p.stdout + p.stderr)
        self.assertLess(took, 40, p.stdout + p.stderr)
        check_exactly_once(self, self.c, {"silent": ids})

    def test_10k_records_through_200_cuts(self):
        d = sl.SyncDevice(self.c, "cut-board")
        ids = d.bulk(10000)
        d.ctl("config", "set", "sync_retry_max_s", "1")
        px = sl.Proxy(self.c.port, "--cut-mean", "18000", "--seed", "11",
                      "--stall-prob", "0.005", "--stall-ms", "300",
                      "--truncate-prob", "0.002")
        d.point_at(px.port)
        p = d.sync(attempts=2000, timeout=900)
        stats = px.stop()
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        self.assertGreaterEqual(stats["cuts"], 200, stats)
        check_exactly_once(self, self.c, {"cut-board": ids})
        self.assertEqual(d.status()["acked_seq"], 10000)

    def test_corrupted_bytes_never_stored(self):
        d = sl.SyncDevice(self.c, "noisy")
        ids = d.bulk(500)
        # a handshake hit by a flipped bit is a failure before the
        # welcome: keep the back-off short so the test waits on the link
        d.ctl("config", "set", "sync_retry_max_s", "1")
        px = sl.Proxy(self.c.port, "--corrupt-prob", "0.05", "--seed", "5")
        d.point_at(px.port)
        p = d.sync(attempts=2000, timeout=600)
        stats = px.stop()
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        self.assertGreater(stats["corruptions"], 0)
        check_exactly_once(self, self.c, {"noisy": ids})

    def test_kill9_both_ends_mid_sync(self):
        d = sl.SyncDevice(self.c, "k9")
        ids = d.bulk(3000)
        cport = self.c.port
        # slow enough that kills land mid-batch
        px = sl.Proxy(cport, "--rate", "60000", "--seed", "3")
        d.point_at(px.port)
        d.ctl("config", "set", "sync_interval_s", "1")
        d.ctl("config", "set", "sync_retry_max_s", "2")
        d.start()

        def acked():
            return self.c.devices()["k9"]["acked_seq"]
        deadline = time.time() + 60
        while acked() == 0 and time.time() < deadline:
            time.sleep(0.2)
        self.assertGreater(acked(), 0)
        self.c.stop(signal.SIGKILL)
        self.c.start(port=cport)
        time.sleep(1.5)
        d.stop(signal.SIGKILL)
        d.start()
        deadline = time.time() + 120
        while acked() < 3000 and time.time() < deadline:
            time.sleep(0.5)
        d.stop()
        px.stop()
        check_exactly_once(self, self.c, {"k9": ids})
        self.assertEqual(d.status()["acked_seq"], 3000)


class SyncFeaturesTest(unittest.TestCase):
    def setUp(self):
        self.c = sl.Collector()
        self.c.start()

    def tearDown(self):
        self.c.cleanup()

    def test_daily_budget_stops_and_resumes(self):
        d = sl.SyncDevice(self.c, "paid")
        ids = d.bulk(400)
        d.ctl("config", "set", "sync_budget_kb_day", "40")
        p = d.sync()
        self.assertEqual(p.returncode, 1)
        self.assertIn("budget", p.stdout)
        got = d.status()["acked_seq"]
        self.assertGreater(got, 0)
        self.assertLess(got, 400)
        # nothing more today
        self.assertEqual(d.sync().returncode, 1)
        self.assertEqual(d.status()["acked_seq"], got)
        d.ctl("config", "set", "sync_budget_kb_day", "0")
        self.assertEqual(d.sync().returncode, 0)
        check_exactly_once(self, self.c, {"paid": ids})

    def test_batch_carry_and_a_collector_without_it(self):
        """Small batches over one connection: once welcomed, a batch's
        first record leaves out the form, version and epoch the batch
        before it on that connection ended with (the batch carry), so
        each batch costs ~60 bytes less up.  A collector of the version
        before (--old-welcome) does not offer it: the board then sends
        every batch's first record in full, and both store every record
        exactly once."""
        n, per = 240, 2
        sent, stored = {}, {}
        for name, flags in (("carry", ()), ("nocarry", ("--old-welcome",))):
            if flags:
                self.c.stop()
                self.c.start(*flags)
            d = sl.SyncDevice(self.c, name)
            ids = d.bulk(n)
            d.ctl("config", "set", "sync_batch_max", str(per))
            px = sl.Proxy(self.c.port)
            d.point_at(px.port)
            p = d.sync()
            sent[name] = px.stop()["bytes_up"]
            self.assertEqual(p.returncode, 0, p.stderr)
            stored[name] = ids
            check_exactly_once(self, self.c, stored)
            self.assertNotIn("set record seq", p.stderr)
        # Records of the same sizes (bulk: fixed answers, random ids):
        # what differs is the first record of each batch after the
        # welcome (at most 4 go before it), 50 bytes or more each.
        saved = sent["nocarry"] - sent["carry"]
        sl.note("batch carry: %d bytes up against %d without" % (
            sent["carry"], sent["nocarry"]))
        self.assertGreater(saved, 50 * (n // per - 8), sent)

    def test_records_held_above_the_watermark_not_sent_again(self):
        """The collector holds seqs 101 to 150 of a board above a hole
        (1 to 100), as after a cut while the board filled that hole below
        the records it sent first: its welcome names them (held_above) and
        the board, which never heard their acks, sends only the other 150
        (but for at most the first 4 batches, which go before the
        welcome).  A collector of the version before (--old-welcome) names
        none: all 200 go, and it skips the 50 it holds."""
        stored = {}
        for old in (False, True):
            if old:
                self.c.stop()
                self.c.start("--old-welcome")
            name = "holed-old" if old else "holed"
            d = sl.SyncDevice(self.c, name)
            ids = d.bulk(200)
            d.ctl("config", "set", "sync_batch_max", "10")
            # A copy of the board that sent only 101 to 150: the same
            # keys and records, but none below 101 nor above 150.
            part = board_copy(d, "-part", "DELETE FROM records WHERE"
                              " seq <= 100 OR seq > 150")
            part.sync()
            self.assertEqual(self.c.devices()[name]["acked_seq"], 0)
            p = d.sync()
            self.assertEqual(p.returncode, 0, p.stderr)
            stored[name] = ids
            check_exactly_once(self, self.c, stored)
            # Records the board's own connection brought.
            got = [int(n) for n in re.findall(
                r"device %s: closed \(bye\), (\d+) records" % name,
                self.c.log())]
            self.assertEqual(len(got), 1, self.c.log()[-2000:])
            sl.note("%s: %d records sent" % (name, got[0]))
            if old:
                self.assertEqual(got[0], 200)
            else:
                self.assertLessEqual(got[0], 150 + 4 * 10, got)
                self.assertGreaterEqual(got[0], 150, got)

    def test_purge_after_ack_keeps_ids_and_counts(self):
        d = sl.SyncDevice(self.c, "purger")
        ids = d.bulk(50)
        counts = d.ctl("counts", "--json").stdout
        d.ctl("config", "set", "retention_days", "0")
        self.assertEqual(d.sync().returncode, 0)
        st = d.status()
        self.assertEqual(st["sealed_bytes"], 0)
        self.assertEqual(st["records"], 50)
        self.assertEqual(d.ctl("counts", "--json").stdout, counts)
        # an id already taken is still a duplicate
        rec = fl.household()
        rec["_id"] = ids[0]
        p = d.ctl("submit", "dtm_household", input=json.dumps(rec))
        self.assertEqual(d.status()["records"], 50)
        self.assertEqual(d.sync().returncode, 0)
        check_exactly_once(self, self.c, {"purger": ids})

    def test_new_form_version_handed_down(self):
        with open("proto/forms/mrc_visit.json") as f:
            form = json.load(f)
        form["version"] = "2026.12.1"
        os.makedirs(os.path.join(self.c.dir, "forms"))
        with open(os.path.join(self.c.dir, "forms", "mrc_visit.json"),
                  "w") as f:
            json.dump(form, f)
        # a changed definition under a version devices have: refused
        bad = dict(form, title="Changed")
        bad["version"] = "2026.11.1"
        with open(os.path.join(self.c.dir, "forms", "bad.json"), "w") as f:
            json.dump(bad, f)
        self.c.proc.send_signal(signal.SIGHUP)
        sl.wait_for_line(self.c.log_path, r"forms not reloaded: .*"
                         r"(already defined differently)", self.c.proc,
                         "collectord")
        os.remove(os.path.join(self.c.dir, "forms", "bad.json"))
        self.c.proc.send_signal(signal.SIGHUP)
        sl.wait_for_line(self.c.log_path, r"forms reloaded: catalogue "
                         r"(2026\.12\.1)", self.c.proc, "collectord")
        d = sl.SyncDevice(self.c, "forms")
        old = fl.mrc_visit()
        old["_version"] = "2026.11.1"
        d.ctl("submit", "mrc_visit", input=json.dumps(old))
        self.assertEqual(d.sync().returncode, 0)
        d.ctl("submit", "mrc_visit", input=json.dumps(fl.mrc_visit()))
        # the old version is still accepted for records that name it
        d.ctl("submit", "mrc_visit", input=json.dumps(old))
        self.assertEqual(d.sync().returncode, 0)
        versions = [r["_version"] for r in self.c.open_records()]
        self.assertEqual(versions[:2], ["2026.11.1", "2026.12.1"])
        self.assertEqual(versions[2], "2026.11.1")


if __name__ == "__main__":
    fl.main()
