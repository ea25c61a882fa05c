"""fieldd on the simulated board (board/board_sim.c): a directory stands in
for sysfs, /dev and the supervisor, and fieldd does not know it is not a
real board.  Checked: the LED pattern of each state, READY and the watchdog,
a long button press forcing a sync, the low-battery path (nothing
half-written, the refusal, the readiness signal, recovery), storage below
the floor, and which stamps are trusted and corrected."""
import json
import os
import signal
import socket
import subprocess
import threading
import time
import unittest
import uuid

import fieldlib as fl
import synclib as sl

PATTERNS = {"idle": None, "waiting": (200, 1800), "syncing": (100, 100),
            "error": (500, 500), "storage_low": (1500, 500),
            "low_battery": (50, 2950)}


class Sim:
    """The simulated board's tree."""

    def __init__(self, root):
        self.dir = os.path.join(root, "board")
        self.boot("11111111-2222-4333-8444-555555555555")
        self.put("sys/class/leds/status/max_brightness", "1\n")
        self.put("sys/class/power_supply/AC/type", "Mains\n")
        self.put("sys/class/power_supply/AC/online", "1\n")
        self.put("sys/class/power_supply/BAT0/type", "Battery\n")
        self.put("sys/class/power_supply/BAT0/capacity", "80\n")
        self.put("watchdog_ms", "400\n")
        os.makedirs(os.path.join(self.dir, "run", "fieldd"))

    def config(self, extra=""):
        return ("board = sim:%s\nstatus_led = status\nclock = board\n"
                "battery_low_percent = 10\n%s" % (self.dir, extra))

    def path(self, rel):
        return os.path.join(self.dir, rel)

    def put(self, rel, text):
        os.makedirs(os.path.dirname(self.path(rel)), exist_ok=True)
        with open(self.path(rel), "w") as f:
            f.write(text)

    def get(self, rel):
        try:
            with open(self.path(rel)) as f:
                return f.read().strip()
        except FileNotFoundError:
            return None

    def boot(self, boot_id):
        self.put("boot_id", boot_id + "\n")

    def led(self):
        """The pattern the LED files show."""
        base = "sys/class/leds/status/"
        trig = self.get(base + "trigger")
        if trig == "none" and self.get(base + "brightness") == "1":
            return "idle"
        if trig != "timer":
            return None
        t = (int(self.get(base + "delay_on")), int(self.get(base + "delay_off")))
        for name, p in PATTERNS.items():
            if p == t:
                return name
        return None

    def notes(self):
        return (self.get("notify") or "").splitlines()

    def wait(self, what, pred, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pred():
                return
            time.sleep(0.05)
        raise AssertionError("board: waited for " + what)

    def press(self, hold_s):
        with open(self.path("button"), "w") as f:
            f.write("down\n")
            f.flush()
            time.sleep(hold_s)
            f.write("up\n")


class BoardTest(unittest.TestCase):
    def setUp(self):
        self.dev = fl.Device()
        self.sim = Sim(self.dev.root)
        with open(os.path.join(self.dev.dir, "fieldd.conf"), "w") as f:
            f.write(self.sim.config())

    def tearDown(self):
        self.dev.cleanup()

    def look(self):
        """SIGUSR2: fieldd looks at the board now."""
        self.dev.proc.send_signal(signal.SIGUSR2)

    def status(self):
        st, body, _ = self.dev.request("GET", "/api/status")
        self.assertEqual(st, 200)
        return body["board"]

    def test_ready_watchdog_and_led(self):
        self.dev.start()
        s = self.sim
        s.wait("READY=1", lambda: "READY=1" in s.notes())
        # watchdog_ms 400: kicked every 200 ms from the loop
        s.wait("watchdog", lambda: s.notes().count("WATCHDOG=1") >= 4)
        self.assertEqual(s.led(), "idle")
        b = self.status()
        self.assertEqual((b["backend"], b["led"]), ("sim", "idle"))
        st, _, _ = self.dev.submit("dtm_household", fl.household())
        self.assertEqual(st, 201)
        # a record waits to be sent: shown at once, not at the next look
        self.assertEqual(s.led(), "waiting")
        self.assertEqual(self.status()["led"], "waiting")
        self.assertEqual(self.dev.stop(), 0)
        self.assertEqual(s.notes()[-1], "STOPPING=1")
        # a hung loop stops the kicks: the supervisor would restart it
        n = s.notes().count("WATCHDOG=1")
        time.sleep(0.5)
        self.assertEqual(s.notes().count("WATCHDOG=1"), n)

    def test_storage_low(self):
        with open(os.path.join(self.dev.dir, "fieldd.conf"), "a") as f:
            f.write("free_space_floor_mb = 1048576\n")   # 1 TiB
        self.dev.start()
        self.sim.wait("LED", lambda: self.sim.led() == "storage_low")
        b = self.status()
        self.assertTrue(b["storage_low"])
        self.assertEqual(b["led"], "storage_low")
        st, body, _ = self.dev.submit("dtm_household", fl.household())
        self.assertEqual(st, 507)
        self.assertIn("storage low", body["error"])
        self.assertEqual(self.dev.status()["records"], 0)
        self.assertIn("storage low", self.dev.log())

    def test_low_battery(self):
        self.dev.start()
        s = self.sim
        stored, refused, other = [], [], []
        stop = threading.Event()

        def submitter():
            while not stop.is_set():
                rec = fl.household(name=None)
                rec["_id"] = str(uuid.uuid4())
                st, body, h = self.dev.submit("dtm_household", rec)
                if st == 201:
                    stored.append(body["_id"])
                elif st == 503:
                    refused.append((body, h))
                else:
                    other.append((st, body))

        t = threading.Thread(target=submitter)
        t.start()
        try:
            s.wait("records flowing", lambda: len(stored) >= 5)
            s.put("sys/class/power_supply/AC/online", "0\n")
            s.put("sys/class/power_supply/BAT0/capacity", "7\n")
            self.look()
            s.wait("refusals", lambda: len(refused) >= 3)
        finally:
            stop.set()
            t.join()
        self.assertEqual(other, [])
        body, h = refused[-1]
        self.assertIn("battery low (7%)", body["error"])
        self.assertIn("takes no new records", body["error"])
        self.assertEqual(h.get("Retry-After"), "600")
        self.assertTrue(os.path.exists(s.path("run/fieldd/ready-for-shutdown")))
        self.assertTrue(any(n.startswith("STATUS=battery low (7%)")
                            for n in s.notes()), s.notes())
        self.assertEqual(s.led(), "low_battery")
        b = self.status()
        self.assertTrue(b["on_battery"] and b["battery_low"])
        self.assertEqual(b["battery_percent"], 7)
        # nothing half-written: exactly the records answered 201 are
        # there, each opens, and the store's seqs have no gap
        self.dev.stop()
        opened = self.dev.open_records()
        self.assertEqual(sorted(r["_id"] for r in opened), sorted(stored))
        self.assertEqual(sorted(r["_seq"] for r in opened),
                         list(range(1, len(stored) + 1)))
        # on a charge above the threshold and its margin: all undone
        self.dev.start()
        s.wait("low at start", lambda: s.led() == "low_battery")
        s.put("sys/class/power_supply/BAT0/capacity", "12\n")
        self.look()
        time.sleep(0.3)
        self.assertEqual(self.status()["battery_low"], True)   # 12 < 10+5
        s.put("sys/class/power_supply/AC/online", "1\n")
        self.look()
        s.wait("LED", lambda: s.led() == "waiting")
        self.assertFalse(os.path.exists(
            s.path("run/fieldd/ready-for-shutdown")))
        self.assertEqual(s.notes()[-1] if s.notes()[-1] != "WATCHDOG=1"
                         else [n for n in s.notes() if n != "WATCHDOG=1"][-1],
                         "STATUS=serving")
        st, _, _ = self.dev.submit("dtm_household", fl.household(name=None))
        self.assertEqual(st, 201)

    def test_clock_marking(self):
        s = self.sim
        self.dev.start()
        b = self.status()
        self.assertFalse(b["clock_trusted"])
        self.assertEqual(b["clock_why"], "no real-time clock or network time")
        r1 = fl.household(name=None)
        self.assertEqual(self.dev.submit("dtm_household", r1)[0], 201)
        s.put("dev/rtc0", "")
        self.look()
        time.sleep(0.3)
        self.assertTrue(self.status()["clock_trusted"])
        r2 = fl.household(name=None)
        self.assertEqual(self.dev.submit("dtm_household", r2)[0], 201)
        os.unlink(s.path("dev/rtc0"))
        s.put("clock_synced", "1\n")     # NTP vouches as well as an RTC
        self.look()
        time.sleep(0.3)
        self.assertTrue(self.status()["clock_trusted"])
        self.dev.stop()
        clocks = [r["_clock"] for r in self.dev.open_records()]
        self.assertEqual(clocks, ["untrusted", "trusted"])


class SupervisorTest(unittest.TestCase):
    """The real notification path (sd_notify to NOTIFY_SOCKET), as systemd
    runs fieldd (board = linux) and collectord with Type=notify and
    WatchdogSec."""

    def listen(self, root):
        path = os.path.join(root, "notify.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        s.settimeout(0.2)
        return s, path

    def messages(self, sock, want, timeout=20):
        got = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                got += sock.recv(4096).decode().split("\n")
            except socket.timeout:
                pass
            if all(got.count(w) >= n for w, n in want.items()):
                return got
        raise AssertionError("supervisor got %r, wanted %r" % (got, want))

    def test_fieldd_and_collectord_notify(self):
        env = dict(os.environ, WATCHDOG_USEC="400000")
        dev = fl.Device()
        c = sl.Collector()
        sock, path = self.listen(dev.root)
        env["NOTIFY_SOCKET"] = path
        try:
            dev.logf = open(dev.log_path, "a")
            dev.proc = subprocess.Popen(
                [os.path.join(fl.BIN, "fieldd"), "-d", dev.dir, "--listen",
                 "127.0.0.1:0"], stdout=dev.logf, stderr=dev.logf, env=env)
            self.messages(sock, {"READY=1": 1, "WATCHDOG=1": 3})
            self.assertEqual(dev.stop(), 0)
            self.assertIn("STOPPING=1", self.messages(sock, {"STOPPING=1": 1}))
            c.logf = open(c.log_path, "a")
            c.proc = subprocess.Popen(
                [os.path.join(fl.BIN, "collectord"), "-d", c.dir,
                 "--listen", "127.0.0.1:0"], stdout=c.logf, stderr=c.logf,
                env=env)
            self.messages(sock, {"READY=1": 1, "WATCHDOG=1": 3})
            self.assertEqual(c.stop(), 0)
            self.messages(sock, {"STOPPING=1": 1})
        finally:
            sock.close()
            dev.cleanup()
            c.cleanup()


class BoardSyncTest(unittest.TestCase):
    """With a real collector: the button, syncing and error patterns, and
    the collector's offset correcting stamps of this boot only."""

    def setUp(self):
        self.c = sl.Collector()
        self.c.start()
        self.d = sl.SyncDevice(self.c, "board-1")
        self.sim = Sim(self.c.root)
        with open(os.path.join(self.d.dir, "fieldd.conf"), "a") as f:
            f.write(self.sim.config("sync_interval_s = 3600\n"))

    def tearDown(self):
        if self.d.proc:
            self.d.stop(signal.SIGKILL)
        self.c.cleanup()

    def last_ok(self):
        return self.d.status().get("last_sync_ok")

    def test_button_forces_sync(self):
        s = self.sim
        os.mkfifo(s.path("button"))
        self.d.start()
        # the first attempt after start finds nothing to send: no sync
        time.sleep(1.5)
        self.assertIsNone(self.last_ok())
        self.assertEqual(s.led(), "idle")
        s.press(0.3)            # a short press does nothing
        time.sleep(1.0)
        self.assertIsNone(self.last_ok())
        s.press(3.3)            # held: a sync, though nothing waits
        s.wait("sync", lambda: self.last_ok() is not None)
        self.assertIn("button held: sync now", self.d.log())
        self.assertEqual(s.led(), "idle")

    def test_syncing_error_and_offline(self):
        s = self.sim
        os.mkfifo(s.path("button"))
        # a collector that takes the connection and never answers
        hole = socket.socket()
        hole.bind(("127.0.0.1", 0))
        hole.listen(4)
        self.d.point_at(hole.getsockname()[1])
        self.d.start()
        self.d.ctl("submit", "dtm_household", input=json.dumps(
            fl.household(name=None)))
        s.press(3.3)
        s.wait("syncing", lambda: s.led() == "syncing", timeout=10)
        hole.close()            # the link is gone: offline, not an error
        s.wait("waiting", lambda: s.led() == "waiting", timeout=60)
        # a collector that refuses the device: an error
        self.c.ctl("revoke", "board-1")
        self.d.point_at(self.c.port)
        self.d.stop()
        self.d.start()
        s.press(3.3)
        s.wait("error", lambda: s.led() == "error", timeout=30)

    def test_correction_of_this_boot_only(self):
        s = self.sim            # no RTC, no NTP: untrusted stamps
        early = fl.household(name=None)
        early["_id"] = str(uuid.uuid4())
        self.d.ctl("submit", "dtm_household", input=json.dumps(early))
        # a new boot: the first record's stamp can no longer be corrected
        s.boot("99999999-2222-4333-8444-555555555555")
        self.d.start()
        self.assertIn("1 records stamped before a trusted time in an "
                      "earlier boot", self.d.log())
        late = fl.household(name=None)
        late["_id"] = str(uuid.uuid4())
        self.d.ctl("submit", "dtm_household", input=json.dumps(late))
        self.d.proc.send_signal(signal.SIGUSR1)
        s.wait("both at the collector",
               lambda: len(self.c.open_records()) == 2, timeout=60)
        got = {r["_id"]: r for r in self.c.open_records()}
        self.assertEqual(got[early["_id"]]["_clock"], "untrusted")
        self.assertEqual(got[late["_id"]]["_clock"], "untrusted")
        self.assertNotIn("_corrected", got[early["_id"]])
        self.assertIn("_corrected", got[late["_id"]])
        # the collector's time agreed: fieldd's stamps are trusted now, and
        # so are those of a later process in the same boot (fieldctl) ...
        s.wait("trust", lambda: "board: clock trusted" in self.d.log())
        self.d.stop()
        after = fl.household(name=None)
        after["_id"] = str(uuid.uuid4())
        self.d.ctl("submit", "dtm_household", input=json.dumps(after))
        # ... but not in the next boot
        s.boot("aaaaaaaa-2222-4333-8444-555555555555")
        again = fl.household(name=None)
        again["_id"] = str(uuid.uuid4())
        self.d.ctl("submit", "dtm_household", input=json.dumps(again))
        got = {r["_id"]: r["_clock"] for r in map(json.loads, fl.run(
            "collectctl", "open", "--key",
            os.path.join(self.c.dir, "seal.key"),
            os.path.join(self.d.dir, "device.db")).stdout.splitlines())}
        self.assertEqual(got[after["_id"]], "trusted")
        self.assertEqual(got[again["_id"]], "untrusted")

if __name__ == "__main__":
    fl.main()
