"""fieldctl update on a fake board: a ROOT in a temp dir laid out as the
Debian package lays out a board (usr/lib/fieldd/releases/0.6.0 with the
real fieldd and fieldctl, current -> releases/0.6.0, etc/fieldd/release.pub),
a fieldd started from current on a free loopback port, and a restart
command (a small script) that stops the fieldd it started last and starts
ROOT/usr/lib/fieldd/current/fieldd again.

The newer release is honest: BIN/update-test/fieldd is fieldd compiled as
the next patch version (firmware/update.mk), so its /api/health reports
that version and the health check sees the new daemon, not the old one.

A good bundle is installed and answers; a tampered, wrongly signed,
downgrading or foreign-architecture bundle is refused, and one whose
fieldd fails (or reports another version) is rolled back -- each time
current names the release it named before and the running daemon still
answers its version."""
import fcntl
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import fieldlib as fl

RESTART = r'''#!/usr/bin/env python3
# Stops the fieldd this script started last, starts ROOT's current one.
import os, signal, subprocess, sys, time
root, data, port, state = sys.argv[1:5]
pidf = os.path.join(state, "fieldd.pid")
if os.path.exists(pidf):
    pid = int(open(pidf).read())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            st = open("/proc/%d/stat" % pid).read()
        except OSError:
            break
        if st.rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
    os.unlink(pidf)
with open(os.path.join(state, "restarts"), "a") as f:
    f.write(os.readlink(os.path.join(root, "usr/lib/fieldd/current")) + "\n")
log = open(os.path.join(state, "fieldd.log"), "a")
p = subprocess.Popen(
    [os.path.join(root, "usr/lib/fieldd/current/fieldd"), "-d", data,
     "--listen", "127.0.0.1:" + port],
    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
    start_new_session=True)
open(pidf, "w").write(str(p.pid))
'''


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Update(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.keys = tempfile.mkdtemp(prefix="fieldupd-keys.")
        cls.newer = os.path.join(fl.BIN, "update-test", "fieldd")
        if not os.access(cls.newer, os.X_OK):
            raise AssertionError(cls.newer + " is missing: `make units` "
                                 "builds it (firmware/update.mk)")
        cls.new_version = fl.run(os.path.join("update-test", "fieldd"),
                                 "--version").stdout.split()[1]
        cls.old_version = fl.run("fieldd", "--version").stdout.split()[1]
        for name in ("release", "other"):
            fl.run("fieldrelease", "keygen",
                   os.path.join(cls.keys, name + ".key"),
                   os.path.join(cls.keys, name + ".pub"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.keys, ignore_errors=True)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="fieldupd.")
        self.root = os.path.join(self.tmp, "root")
        self.base = os.path.join(self.root, "usr/lib/fieldd")
        rel = os.path.join(self.base, "releases", self.old_version)
        os.makedirs(rel)
        for prog in ("fieldd", "fieldctl"):
            shutil.copy2(os.path.join(fl.BIN, prog), rel)
        with open(os.path.join(rel, "VERSION"), "w") as f:
            f.write(self.old_version + "\n")
        os.symlink("releases/" + self.old_version,
                   os.path.join(self.base, "current"))
        os.makedirs(os.path.join(self.root, "etc/fieldd"))
        shutil.copy(os.path.join(self.keys, "release.pub"),
                    os.path.join(self.root, "etc/fieldd/release.pub"))
        # A device for fieldd to serve.
        self.data = os.path.join(self.tmp, "data")
        cdir = os.path.join(self.tmp, "collector")
        fl.run("collectctl", "keygen", cdir)
        fl.run("fieldctl", "-d", self.data, "init", "--collector-key",
               os.path.join(cdir, "seal.pub"), "--device-id", "dev-upd")
        self.state = os.path.join(self.tmp, "state")
        os.makedirs(self.state)
        self.port = free_port()
        script = os.path.join(self.tmp, "restart.py")
        with open(script, "w") as f:
            f.write(RESTART)
        self.restart = "%s %s %s %s %d %s" % (
            sys.executable, script, self.root, self.data, self.port,
            self.state)
        subprocess.run(self.restart, shell=True, check=True)
        self.wait_health(self.old_version)

    def tearDown(self):
        pidf = os.path.join(self.state, "fieldd.pid")
        if os.path.exists(pidf):
            with open(pidf) as f:
                pid = int(f.read())
            try:
                os.kill(pid, 15)
                for _ in range(300):
                    os.kill(pid, 0)
                    with open("/proc/%d/stat" % pid) as f:
                        if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                            break
                    time.sleep(0.05)
            except (ProcessLookupError, OSError):
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- helpers ------------------------------------------------------

    def health(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            c.request("GET", "/api/health")
            r = c.getresponse()
            return r.status, json.loads(r.read())
        finally:
            c.close()

    def wait_health(self, version, seconds=30):
        deadline = time.time() + seconds
        last = None
        while time.time() < deadline:
            try:
                last = self.health()
                if last == (200, {"status": "ok", "version": version}):
                    return
            except (OSError, ValueError) as e:
                last = e
            time.sleep(0.1)
        raise AssertionError("no health %s: %r\n%s" % (
            version, last, self.daemon_log()))

    def daemon_log(self):
        try:
            with open(os.path.join(self.state, "fieldd.log"),
                      errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def current(self):
        return os.readlink(os.path.join(self.base, "current"))

    def releases(self):
        return sorted(os.listdir(os.path.join(self.base, "releases")))

    def bundle(self, version, fieldd=None, key="release", arch=None,
               any_file=False):
        out = os.path.join(self.tmp, "b-%s-%s.fup" % (version, key))
        args = ["bundle", "--key", os.path.join(self.keys, key + ".key"),
                "--version", version, "--arch",
                arch or self.arch(), "--out", out]
        if any_file:
            args.append("--any-file")
        fl.run("fieldrelease", *(args + [fieldd or self.newer,
                                        os.path.join(fl.BIN, "fieldctl")]))
        return out

    def arch(self):
        m = os.uname().machine
        return {"x86_64": "amd64", "aarch64": "arm64"}.get(m, "armhf")

    def ctl(self, *args):
        return fl.run("fieldctl", "update", *args, check=False,
                      timeout=300)

    def apply(self, bundle, timeout=20):
        return self.ctl("apply", bundle, "--root", self.root, "--restart",
                        self.restart, "--health",
                        "http://127.0.0.1:%d/api/health" % self.port,
                        "--timeout", str(timeout))

    def assert_unchanged(self, p, message):
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(message, p.stderr)
        self.assertEqual(self.current(), "releases/" + self.old_version)
        self.assertEqual(self.releases(), [self.old_version])
        self.assertFalse(os.path.lexists(
            os.path.join(self.base, "current.new")))
        self.assertEqual(self.health(),
                         (200, {"status": "ok",
                                "version": self.old_version}))

    def restarts(self):
        with open(os.path.join(self.state, "restarts")) as f:
            return f.read().split()

    # -- cases --------------------------------------------------------

    def test_good_bundle_installs_and_answers(self):
        b = self.bundle(self.new_version)
        # Left by an older release and by an apply cut short: removed.
        rels = os.path.join(self.base, "releases")
        for d in ("0.5.0", self.new_version + ".tmp-abcdef"):
            os.makedirs(os.path.join(rels, d))
            with open(os.path.join(rels, d, "fieldd"), "w") as f:
                f.write("old")
        os.symlink("releases/0.5.0", os.path.join(self.base, "current.new"))
        p = self.ctl("verify", b, "--root", self.root)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("release %s for %s" % (self.new_version, self.arch()),
                      p.stdout)
        p = self.apply(b)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr +
                         self.daemon_log())
        self.assertIn("updated %s -> %s" % (self.old_version,
                                             self.new_version), p.stdout)
        self.assertEqual(self.current(), "releases/" + self.new_version)
        self.assertEqual(self.health(), (200, {"status": "ok",
                                               "version": self.new_version}))
        # The previous release stays for a rollback; nothing else is left.
        self.assertEqual(self.releases(),
                         sorted([self.old_version, self.new_version]))
        rel = os.path.join(self.base, "releases", self.new_version)
        self.assertEqual(sorted(os.listdir(rel)),
                         ["VERSION", "fieldctl", "fieldd"])
        self.assertEqual(os.stat(os.path.join(rel, "fieldd")).st_mode
                         & 0o7777, 0o755)
        self.assertEqual(os.stat(os.path.join(rel, "VERSION")).st_mode
                         & 0o7777, 0o644)
        with open(os.path.join(rel, "VERSION")) as f:
            self.assertEqual(f.read(), self.new_version + "\n")
        with open(os.path.join(rel, "fieldd"), "rb") as f, \
                open(self.newer, "rb") as g:
            self.assertEqual(f.read(), g.read())
        # The same bundle again is not newer than what runs now.
        p = self.ctl("verify", b, "--root", self.root)
        self.assertEqual(p.returncode, 1)
        self.assertIn("downgrade refused: bundle %s is the same version as "
                      "running %s" % (self.new_version, self.new_version),
                      p.stderr)

    def test_inconsistent_layout_refused(self):
        # current's folder and its VERSION disagree: an apply could
        # otherwise replace the running folder itself.
        with open(os.path.join(self.base, "releases", self.old_version,
                               "VERSION"), "w") as f:
            f.write("0.0.1\n")
        p = self.apply(self.bundle(self.old_version,
                                   fieldd=os.path.join(fl.BIN, "fieldd")))
        self.assertEqual(p.returncode, 1)
        self.assertIn("fix the layout first", p.stderr)
        self.assertEqual(self.current(), "releases/" + self.old_version)
        self.assertEqual(self.health()[1]["version"], self.old_version)

    def test_tampered_bundle_refused(self):
        b = self.bundle(self.new_version)
        with open(b, "rb") as f:
            data = bytearray(f.read())
        cases = {
            "payload": (len(data) - 1000, "SHA-256 is not the header's"),
            "version": (10 + 4, "not signed by the release key"),
            "arch": (42, "not signed by the release key"),
            "payload length": (57, "not signed by the release key"),
            "payload hash": (70, "not signed by the release key"),
            "signature": (100, "not signed by the release key"),
        }
        for what, (off, message) in cases.items():
            with self.subTest(what):
                bad = bytearray(data)
                bad[off] ^= 0x01
                path = os.path.join(self.tmp, "tampered.fup")
                with open(path, "wb") as f:
                    f.write(bad)
                p = self.ctl("verify", path, "--root", self.root)
                self.assertEqual(p.returncode, 1)
                self.assertIn(message, p.stderr)
        p = self.apply(path)
        self.assert_unchanged(p, "not signed by the release key")
        bad = bytearray(data)
        bad[len(data) - 1000] ^= 0x80
        with open(path, "wb") as f:
            f.write(bad)
        self.assert_unchanged(self.apply(path), "tampered or damaged")
        with open(path, "wb") as f:
            f.write(data[:-1])
        self.assert_unchanged(self.apply(path), "payload length")

    def test_wrongly_signed_bundle_refused(self):
        b = self.bundle(self.new_version, key="other")
        p = self.ctl("verify", b, "--root", self.root)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not signed by the release key", p.stderr)
        self.assert_unchanged(self.apply(b), "not signed by the release key")
        # --key names another trusted key: then it verifies.
        p = self.ctl("verify", b, "--root", self.root, "--key",
                     os.path.join(self.keys, "other.pub"))
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_downgrade_refused(self):
        b = self.bundle("0.5.9", fieldd=os.path.join(fl.BIN, "fieldd"))
        self.assert_unchanged(
            self.apply(b), "downgrade refused: bundle 0.5.9 is older than "
            "running " + self.old_version)
        b = self.bundle(self.old_version,
                        fieldd=os.path.join(fl.BIN, "fieldd"))
        self.assert_unchanged(
            self.apply(b), "downgrade refused: bundle %s is the same "
            "version as running %s" % (self.old_version, self.old_version))

    def test_foreign_architecture_refused(self):
        other = "arm64" if self.arch() != "arm64" else "amd64"
        b = self.bundle(self.new_version, arch=other, any_file=True)
        self.assert_unchanged(self.apply(b),
                              "the bundle is for %s, this board is %s" %
                              (other, self.arch()))

    def test_failing_daemon_rolled_back(self):
        fake = os.path.join(self.tmp, "fieldd")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\necho 'fieldd: broken on purpose' >&2\n"
                    "exit 1\n")
        os.chmod(fake, 0o755)
        b = self.bundle(self.new_version, fieldd=fake, any_file=True)
        p = self.apply(b, timeout=4)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("failed its health check", p.stderr)
        self.assertIn("rolled back to %s, which answers" % self.old_version,
                      p.stderr)
        self.assertEqual(self.current(), "releases/" + self.old_version)
        self.assertEqual(self.releases(), [self.old_version])
        self.assertEqual(self.health(), (200, {"status": "ok",
                                               "version": self.old_version}))
        self.assertEqual(self.restarts(), [
            "releases/" + self.old_version, "releases/" + self.new_version,
            "releases/" + self.old_version])
        self.assertIn("broken on purpose", self.daemon_log())
        # A fixed bundle of the same version installs afterwards.
        p = self.apply(self.bundle(self.new_version))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.current(), "releases/" + self.new_version)

    def test_daemon_of_another_version_rolled_back(self):
        # Signed as the release after next but the daemon in it reports
        # the next: the health check wants the version it installed.
        v = self.new_version.split(".")
        claimed = "%s.%s.%d" % (v[0], v[1], int(v[2]) + 1)
        p = self.apply(self.bundle(claimed), timeout=4)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("it answers version " + self.new_version, p.stderr)
        self.assertIn("rolled back to " + self.old_version, p.stderr)
        self.assertEqual(self.current(), "releases/" + self.old_version)
        self.assertEqual(self.health()[1]["version"], self.old_version)

    def test_concurrent_apply_refused(self):
        b = self.bundle(self.new_version)
        lock = os.path.join(self.base, ".update.lock")
        with open(lock, "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            self.assert_unchanged(self.apply(b), "another update is running")

    def test_health_url_must_stay_on_this_host(self):
        b = self.bundle(self.new_version)
        p = self.ctl("apply", b, "--root", self.root, "--restart",
                     self.restart, "--health", "http://192.0.2.1/api/health")
        self.assert_unchanged(p, "not a loopback address")
        self.assertEqual(self.restarts(), ["releases/" + self.old_version])


if __name__ == "__main__":
    fl.main()
