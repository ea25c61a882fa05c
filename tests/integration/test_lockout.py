"""Lockouts that hold (issue 16): an attacker with 200 addresses (loopback
127.0.x.y addresses stand in for phones on the board's Wi-Fi) guessing one
user's PIN, while flooding failures of made-up names to flush the lock,
gets the number of guesses docs/security.md gives, no more; the lock holds
through the flood and through a restart of fieldd; ODK's Digest login is
held the same way; so is collectord's coordinators' token lockout."""
import http.client
import json
import subprocess
import unittest

import fieldlib as fl
import synclib as sl

USER, PIN = "enumerator-2", "97531"
ADDRS = ["127.0.%d.%d" % (1 + i // 200, 1 + i % 200) for i in range(200)]
NAME_LIMIT = 5          # users.h USERS_LOCK_NAME, per 10-minute window


def login(dev, src, user, pin):
    c = http.client.HTTPConnection("127.0.0.1", dev.port, timeout=30,
                                   source_address=(src, 0))
    try:
        c.request("POST", "/api/login", body=json.dumps(
            {"user": user, "pin": pin}),
            headers={"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


def digest(dev, src, user, pin):
    """ODK Collect's login (Digest), with curl from src: the last status."""
    p = subprocess.run(
        ["curl", "-sS", "--max-time", "30", "--interface", src, "-o",
         "/dev/null", "-w", "%{http_code}", "-H", "X-OpenRosa-Version: 1.0",
         "--digest", "-u", "%s:%s" % (user, pin),
         "http://127.0.0.1:%d/formList" % dev.port],
        capture_output=True, text=True, timeout=60)
    return int(p.stdout)


class Lockout(unittest.TestCase):

    def test_two_hundred_addresses(self):
        dev = fl.Device()
        try:
            dev.ctl("user", "add", USER)
            dev.ctl("user", "pin", USER, input=PIN + "\n")
            dev.start()
            guesses, prev = 0, None
            for i, src in enumerate(ADDRS):
                # the flush: failures of made-up names, more of them than
                # the old table held (128), from every address
                for k in range(3):
                    st = login(dev, src, "made-up-%d-%d" % (i, k), "0000")
                    self.assertIn(st, (401, 429))
                # a guess at the user's PIN
                st = login(dev, src, USER, "%05d" % i)
                self.assertIn(st, (401, 429))
                # a guess is answered "wrong", or is the wrong one that
                # locks (answered 429 at once)
                guesses += st == 401 or (st == 429 and prev == 401)
                prev = st
            self.assertEqual(guesses, NAME_LIMIT)
            # the right PIN, from an address the attacker never used: the
            # name is locked
            self.assertEqual(login(dev, "127.0.9.1", USER, PIN), 429)
            # a restart does not reset it
            self.assertEqual(dev.stop(), 0)
            dev.start()
            self.assertEqual(login(dev, "127.0.9.2", USER, PIN), 429)
            # ODK's Digest login shares the count
            self.assertEqual(digest(dev, "127.0.9.4", USER, PIN), 429)
            # another user is not held back by it
            dev.ctl("user", "add", "enumerator-3")
            dev.ctl("user", "pin", "enumerator-3", input="24680\n")
            self.assertEqual(login(dev, "127.0.9.3", "enumerator-3",
                                   "24680"), 200)
            self.assertEqual(digest(dev, "127.0.9.5", "enumerator-3",
                                    "24680"), 200)
            self.assertEqual(dev.stop(), 0)
        finally:
            dev.cleanup()


def coord_get(port, src, token):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                   source_address=(src, 0))
    try:
        # a query without a form: 400 once the token is good
        c.request("GET", "/counts", headers={"Authorization":
                                             "Bearer " + token})
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


class CoordinatorLockout(unittest.TestCase):
    """Ten wrong tokens lock a client (chttp.h) through a flood from 200
    other addresses (more than the 64 the old table held) and through a
    restart of collectord."""

    def start(self, c):
        c.start("--http", "127.0.0.1:0")
        return int(sl.wait_for_line(
            c.log_path, r"http listening on 127\.0\.0\.1:(\d+)", c.proc,
            "collectord http"))

    def test_lock_holds(self):
        c = sl.Collector()
        try:
            token = c.ctl("coordinator", "add", "amina").stdout.strip()
            port = self.start(c)
            attacker = "127.0.3.1"
            codes = [coord_get(port, attacker, "fct_wrong")
                     for _ in range(11)]
            self.assertEqual(codes, [401] * 10 + [429])
            for src in ADDRS:
                self.assertIn(coord_get(port, src.replace("127.0.",
                                                          "127.1."),
                                        "fct_wrong"), (401, 429))
            self.assertEqual(coord_get(port, attacker, token), 429)
            self.assertEqual(c.stop(), 0, c.log()[-3000:])
            port = self.start(c)
            self.assertEqual(coord_get(port, attacker, token), 429)
            self.assertEqual(coord_get(port, "127.0.3.2", token), 400)
            self.assertEqual(c.stop(), 0, c.log()[-3000:])
        finally:
            c.cleanup()


if __name__ == "__main__":
    fl.main()
