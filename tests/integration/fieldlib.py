"""Shared helpers for the integration tests: real binaries, real sockets.

Each test makes its own temporary collector key pair and device, starts
fieldd on a free port (it reports the port it bound in its log), and talks
HTTP to it with the standard library only.
"""
import argparse
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BIN = os.environ.get("FIELD_BIN", "build/san")
HOST_CLOCK = "clock = host\n"


def parse_args():
    global BIN
    p = argparse.ArgumentParser()
    p.add_argument("--bin", default=BIN)
    args, rest = p.parse_known_args()
    BIN = args.bin
    os.environ["FIELD_BIN"] = BIN
    return [sys.argv[0]] + rest


def main():
    argv = parse_args()
    unittest.main(argv=argv, verbosity=2)


def today(days=0):
    return (datetime.date.today() + datetime.timedelta(days=days)).isoformat()



def npm_ready(folder, package):
    """The npm packages of tests/FOLDER installed (npm ci, once): PACKAGE
    is the one its tests need."""
    if os.path.isfile(os.path.join(folder, "node_modules", package,
                                   "package.json")):
        return
    p = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"],
                       cwd=folder, capture_output=True, text=True,
                       timeout=600)
    if p.returncode != 0:
        raise AssertionError("npm ci in %s failed:\n%s%s" %
                             (os.path.relpath(folder), p.stdout, p.stderr))


def run(*args, input=None, check=True, timeout=120):
    """Runs one of our binaries; returns CompletedProcess (text)."""
    cmd = [os.path.join(BIN, args[0])] + list(args[1:])
    p = subprocess.run(cmd, input=input, capture_output=True, text=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (
            " ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


class Device:
    """A collector key pair and an initialised device in a temp dir."""

    def __init__(self, device_id="dev-test", config=None):
        self.root = tempfile.mkdtemp(prefix="fieldtest.")
        self.cdir = os.path.join(self.root, "collector")
        self.dir = os.path.join(self.root, "device")
        self.log_path = os.path.join(self.root, "fieldd.log")
        run("collectctl", "keygen", self.cdir)
        run("fieldctl", "-d", self.dir, "init", "--collector-key",
            os.path.join(self.cdir, "seal.pub"), "--device-id", device_id)
        # This machine's clock is kept right by its host, though its kernel
        # shows no NTP state: say so, or every stamp would be untrusted
        # (test_board.py checks the board's own clock rules).
        with open(os.path.join(self.dir, "fieldd.conf"), "w") as f:
            f.write(HOST_CLOCK + (config or ""))
        self.token = run("fieldctl", "-d", self.dir, "user", "add",
                         "enumerator-1").stdout.strip()
        self.proc = None
        self.port = None

    def ctl(self, *args, **kw):
        return run("fieldctl", "-d", self.dir, *args, **kw)

    def status(self):
        return json.loads(self.ctl("status", "--json").stdout)

    def open_records(self):
        """Every record opened with the collector's private key."""
        p = run("collectctl", "open", "--key",
                os.path.join(self.cdir, "seal.key"),
                os.path.join(self.dir, "device.db"))
        return [json.loads(line) for line in p.stdout.splitlines() if line]

    def start(self, *extra, env=None):
        """Starts fieldd; env: variables added to its environment."""
        self.logf = open(self.log_path, "a")
        since = self.logf.tell()    # only this run's lines count
        full = None
        if env:
            full = dict(os.environ)
            full.update(env)
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "fieldd"), "-d", self.dir, "--listen",
             "127.0.0.1:0"] + list(extra),
            stdout=self.logf, stderr=self.logf, env=full)
        deadline = time.time() + 30
        while time.time() < deadline:
            with open(self.log_path) as f:
                f.seek(since)
                m = re.findall(r"listening on http://127\.0\.0\.1:(\d+)/",
                               f.read())
            if m:
                self.port = int(m[-1])
                return
            if self.proc.poll() is not None:
                raise AssertionError("fieldd exited: " + self.log())
            time.sleep(0.05)
        raise AssertionError("fieldd did not start: " + self.log())

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=30)
        self.proc = None
        self.logf.close()
        return rc

    def request(self, method, path, body=None, token="default",
                headers=None, timeout=30):
        """One HTTP request; returns (status, parsed JSON or text, headers)."""
        h = {}
        if token == "default":
            token = self.token
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        c = http.client.HTTPConnection("127.0.0.1", self.port,
                                       timeout=timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            try:
                parsed = json.loads(data)
            except ValueError:
                parsed = data.decode(errors="replace")
            return r.status, parsed, dict(r.getheaders())
        finally:
            c.close()

    def submit(self, form, rec, **kw):
        return self.request("POST", "/api/records/" + form, rec, **kw)

    def raw(self, data, timeout=10, read=True):
        """Sends raw bytes on a fresh connection; returns what came back."""
        s = socket.create_connection(("127.0.0.1", self.port),
                                     timeout=timeout)
        try:
            s.sendall(data)
            if not read:
                return b""
            out = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                out += chunk
            return out
        finally:
            s.close()

    def files(self):
        """Every file under the device directory."""
        for base, _, names in os.walk(self.dir):
            for n in names:
                yield os.path.join(base, n)

    def cleanup(self):
        if self.proc is not None:
            self.stop(signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


def slow_fsync(delay_us=0, gate=None, count=None):
    """fieldd's environment for an SD card's fsync (tests/tools/slowsync.c,
    preloaded): each fsync sleeps delay_us, waits while the file gate
    exists, and adds a byte to the file count."""
    env = {"LD_PRELOAD": os.path.abspath(os.path.join(BIN, "slowsync.so")),
           # the preloaded library comes before the sanitizer's runtime
           "ASAN_OPTIONS": ":".join(filter(None, [
               os.environ.get("ASAN_OPTIONS"),
               "verify_asan_link_order=0"]))}
    if delay_us:
        env["FIELD_FSYNC_DELAY_US"] = str(delay_us)
    if gate:
        env["FIELD_FSYNC_GATE"] = gate
    if count:
        env["FIELD_FSYNC_COUNT"] = count
    return env


# Valid records of each shipped form (the field names of docs/forms.md).
def household(name="Amina Test", phone="+211 912 345 678", members=3):
    rels = ["head", "spouse", "child", "child", "parent"]
    ms = []
    for i in range(members):
        m = {"sex": "female" if i % 2 == 0 else "male",
             "age_years": [34, 36, 7, 3, 66][i % 5],
             "relationship": rels[i] if i < len(rels) else "other_relative"}
        if name:
            m["member_name"] = "%s %d" % (name, i + 1)
        ms.append(m)
    r = {"site_id": "SITE-001", "admin1": "SS01", "admin2": "SS0101",
         "registration_date": today(-1), "consent": "yes" if name else "no",
         "shelter_type": "tent", "intention": "stay",
         "needs": ["food", "water"], "members": ms}
    if name:
        r["head_name"] = name
        r["phone"] = phone
    return r


def site_assessment(site="SITE-001"):
    return {"site_id": site, "site_name": "Riverside camp",
            "site_type": "camp", "admin1": "SS01", "admin2": "SS0101",
            "assessment_date": today(-2), "population_households": 120,
            "population_individuals": 540, "females_0_4": 40,
            "males_0_4": 38, "displacement_reason": "conflict",
            "priority_needs": ["food", "shelter"]}


def mrc_visit():
    return {"centre_id": "MRC-01", "visit_date": today(-1),
            "consent": "yes", "sex": "female", "age_years": 29,
            "nationality": "ETH", "migration_stage": "pre_departure",
            "destination_country": "SAU", "reasons": ["contract_review"],
            "services": ["information"]}
