"""Connections that cannot be hoarded (issue 16).  Loopback addresses other
than 127.0.0.1 stand in for phones on the board's Wi-Fi.

- Slowloris on fieldd: 80 connections from one address, one byte each,
  reconnecting as they are closed.  Meanwhile other clients' submits
  (from another address, and from the board itself) are answered, and
  the device's sync to its collector goes through.
- An idle flood on collectord's sync port: 300 TCP connections from one
  address, never a handshake.  Meanwhile an enrolled device syncs and a
  new one enrols.
"""
import errno
import http.client
import json
import re
import socket
import threading
import time
import unittest

import fieldlib as fl
import synclib as sl

ATTACKER = "127.0.0.5"


class Slowloris(threading.Thread):
    """n connections from src to port, one byte each, reopened when the
    server closes them, until stop()."""

    def __init__(self, port, n, src=ATTACKER, byte=b"G"):
        super().__init__(daemon=True)
        self.port, self.n, self.src, self.byte = port, n, src, byte
        self.halt = threading.Event()
        self.opened = 0

    def _open(self):
        s = socket.socket()
        s.bind((self.src, 0))
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", self.port))
        except BlockingIOError:
            pass
        self.opened += 1
        return [s, False]

    def run(self):
        conns = [self._open() for _ in range(self.n)]
        while not self.halt.is_set():
            for c in conns:
                s, sent = c
                try:
                    if not sent:
                        if self.byte:
                            s.send(self.byte)
                        c[1] = True
                    elif s.recv(4096) == b"":
                        raise ConnectionResetError
                except BlockingIOError:
                    pass
                except OSError as e:
                    if getattr(e, "errno", None) in (errno.EAGAIN,
                                                     errno.EINPROGRESS):
                        continue
                    s.close()
                    c[:] = self._open()
            time.sleep(0.05)
        for s, _ in conns:
            s.close()

    def stop(self):
        self.halt.set()
        self.join(timeout=10)


def request(port, method, path, body=None, token=None, src=None):
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                   source_address=(src, 0) if src else None)
    try:
        c.request(method, path, body=json.dumps(body) if body else None,
                  headers=h)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


class FieldSlowloris(unittest.TestCase):

    def test_others_served_under_slowloris(self):
        c = sl.Collector()
        try:
            c.start()
            d = sl.SyncDevice(c, "board-1")
            token = d.ctl("user", "add", "enumerator-1").stdout.strip()
            d.start()
            port = int(re.findall(r"listening on http://127\.0\.0\.1:(\d+)",
                                  d.log())[-1])
            flood = Slowloris(port, 80)
            flood.start()
            try:
                time.sleep(1)
                ids = []
                # over more than one header deadline (5 s): the flood
                # reconnects and still holds nothing others need
                for i in range(8):
                    for src in ("127.0.0.6", None):
                        st, body = request(port, "POST",
                                           "/api/records/dtm_site_assessment",
                                           fl.site_assessment(), token, src)
                        self.assertIn(st, (200, 201), body)
                        ids.append(json.loads(body)["_id"])
                    time.sleep(0.8)
                self.assertGreater(flood.opened, 80)   # it kept trying
                self.assertEqual(d.sync().returncode, 0)
            finally:
                flood.stop()
            got = json.dumps(c.open_records())
            for i in ids:
                self.assertIn(i, got)
            self.assertEqual(d.stop(), 0)
        finally:
            c.cleanup()


class SyncPortFlood(unittest.TestCase):

    def test_device_syncs_under_idle_flood(self):
        c = sl.Collector()
        try:
            c.start()
            d = sl.SyncDevice(c, "board-1")
            ids = d.bulk(5)
            socks = []
            for _ in range(300):
                s = socket.socket()
                s.bind((ATTACKER, 0))
                s.settimeout(5)
                try:
                    s.connect(("127.0.0.1", c.port))
                    socks.append(s)
                except OSError:
                    s.close()
            time.sleep(0.5)
            try:
                self.assertEqual(d.sync().returncode, 0)
                late = sl.SyncDevice(c, "board-2")   # enrols meanwhile
                self.assertEqual(late.sync().returncode, 0)
            finally:
                for s in socks:
                    s.close()
            got = [r for r in c.open_records()]
            self.assertEqual(len(got), len(ids))
            self.assertTrue(c.alive())
        finally:
            c.cleanup()


if __name__ == "__main__":
    fl.main()
