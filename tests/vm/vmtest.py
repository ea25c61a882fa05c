#!/usr/bin/env python3
"""make test-vm (and test-vm-arm64): the packages on a live Debian 12 with
systemd as PID 1, in a qemu VM, checked from the host.

  python3 tests/vm/vmtest.py [--arch amd64|arm64] [--cuts N] [--control N]
                             [--dropin FILE] [--keep]

The image (tests/vm/mkimage.sh) is made once and kept in build/vm/; each
run boots a copy of it, installs the .deb packages this tree builds (with
a throwaway release key), provisions a collector and a board the way
docs/board.md tells a user to, and runs the checks: one line each, then
"N passed, N failed".  Commands in the guest go over ssh (root, the
image's key) through a forwarded port; the phones' side (web app, ODK,
the load generator) goes through fieldd's forwarded port, as a phone's
would.  --dropin FILE adds a fieldd.service drop-in before it starts:
the way to see a sandbox or watchdog check fail.

The guest's power supplies are a folder this program writes on the host,
shared read-only over 9p onto /sys/class/power_supply: the packaged
board backend (board = linux) reads them as it reads a real battery.
The disk image is opened with cache=none, so what the guest had made
durable is in the host's file, and what it had not dies with qemu.
"""
import argparse
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VM_DIR = os.path.join(ROOT, "build", "vm")
with open(os.path.join(ROOT, "VERSION")) as _f:
    VERSION = _f.read().strip()

# Stated and held: systemd-analyze security on the live system (the
# offline limits of tests/integration/test_package.py).
EXPOSURE_MAX = {"fieldd.service": 2.5, "collectord.service": 2.0}
# The watchdog: systemd kills a stopped fieldd WatchdogSec after its last
# ping and starts it RestartSec later; it must answer again within these
# seconds on top of WatchdogSec (RestartSec=10 s, its start, the check).
WATCHDOG_MARGIN_S = 20
# Where the test puts the board's identity and users.
DEVICE_ID = "vm-board-01"
COLLECTOR_HOST = "collector.vmtest"
USER, PIN = "amina", "2468"
TOOLS = {
    "mmdebstrap": "mmdebstrap", "mkfs.ext4": "e2fsprogs",
    "dumpe2fs": "e2fsprogs", "ssh": "openssh-client",
    "ssh-keygen": "openssh-client", "curl": "curl",
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(*cmd, check=True, timeout=600, **kw):
    p = subprocess.run(list(cmd), capture_output=True, text=True,
                       timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s%s" % (
            " ".join(cmd), p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    return p


def make_env():
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES", "MODE",
              "ARCH", "B"):
        env.pop(k, None)
    return env


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


TCG_SLOW = 6
# The checks each architecture runs unless --only says otherwise.  arm64
# is emulated everywhere (no KVM on an amd64 host), and a boot there
# costs a minute or more: the 20 power cuts and their control stay
# amd64's (same code, same units), and run on arm64 when asked.
ONLY = {"amd64": "ready,web,odk,sync,sandbox,security,watchdog,update,"
        "poweroff,cuts,control",
        "arm64": "ready,web,odk,sync,sandbox,security,watchdog,update,"
        "poweroff"}
KVM_WHY = ["not probed"]


def kvm_runs():
    """Whether KVM really runs a guest: /dev/kvm may open on a host
    whose CPU gives no virtualisation to this machine, and then the guest
    never executes an instruction.  The image's kernel alone, booted with
    an early console, prints within a second when it does."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        KVM_WHY[0] = "no usable /dev/kvm"
        return False
    p = subprocess.Popen(
        ["qemu-system-x86_64", "-machine", "pc,accel=kvm", "-cpu", "host",
         "-m", "256", "-nodefaults", "-display", "none", "-no-reboot",
         "-serial", "stdio", "-kernel", os.path.join(VM_DIR, "amd64.vmlinuz"),
         "-append", "console=ttyS0 earlyprintk=ttyS0 panic=-1"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    out = b""
    deadline = time.time() + 15
    os.set_blocking(p.stdout.fileno(), False)
    while time.time() < deadline and b"Linux version" not in out:
        time.sleep(0.2)
        out += p.stdout.read() or b""
    p.kill()
    p.wait()
    if b"Linux version" in out:
        return True
    KVM_WHY[0] = "/dev/kvm opens, but a guest kernel printed nothing " \
        "in 15 s"
    return False


class CheckFailed(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise CheckFailed(msg)


# ---- the VM -----------------------------------------------------------

class VM:
    """One guest: a copy of the cached image, booted again and again."""

    def __init__(self, arch, run_dir, slow, kvm):
        self.arch = arch
        self.run = run_dir
        self.slow = slow            # deadline multiplier (no KVM, or arm64)
        self.kvm = kvm
        self.disk = os.path.join(run_dir, "disk.img")
        self.power = os.path.join(run_dir, "power")
        self.key = os.path.join(VM_DIR, "id_ed25519")
        self.proc = None
        self.boots = 0
        self.ssh_port = free_port()
        self.http_port = free_port()
        shutil.copyfile(os.path.join(VM_DIR, arch + ".img"), self.disk)
        self.set_power(capacity=90, online=1)

    def set_power(self, capacity, online):
        """The board's battery and mains, as sysfs shows them."""
        for name, files in (("BAT0", {"type": "Battery",
                                      "capacity": str(capacity),
                                      "status": "Charging" if online
                                      else "Discharging"}),
                            ("AC", {"type": "Mains",
                                    "online": str(online)})):
            d = os.path.join(self.power, name)
            os.makedirs(d, exist_ok=True)
            for k, v in files.items():
                with open(os.path.join(d, k), "w") as f:
                    f.write(v + "\n")

    def qemu_cmd(self):
        fwd = "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22," \
              "hostfwd=tcp:127.0.0.1:%d-:8080" % (self.ssh_port,
                                                   self.http_port)
        k = os.path.join(VM_DIR, self.arch)
        if self.arch == "amd64":
            cmd = ["qemu-system-x86_64", "-machine",
                   "q35,accel=" + ("kvm" if self.kvm else "tcg"),
                   "-cpu", "host" if self.kvm else "qemu64",
                   "-smp", "1" if self.kvm else "2", "-m", "1024"]
            console = "ttyS0"
        else:
            cmd = ["qemu-system-aarch64", "-machine", "virt",
                   "-cpu", "cortex-a72", "-smp", "2", "-m", "1024"]
            console = "ttyAMA0"
        return cmd + [
            "-nodefaults", "-display", "none", "-no-reboot",
            "-chardev", "file,id=con,append=on,path=" +
            os.path.join(self.run, "console.log"), "-serial", "chardev:con",
            "-kernel", k + ".vmlinuz", "-initrd", k + ".initrd",
            "-append", "root=/dev/vda ro console=%s quiet mitigations=off" % console,
            # cache=none: the guest's writes go to the host's file with
            # O_DIRECT; a flush the guest asks for is a flush of it.
            "-drive", "file=%s,format=raw,if=none,id=d0,cache=none,"
            "aio=threads" % self.disk,
            "-device", "virtio-blk-pci,drive=d0",
            "-netdev", fwd, "-device", "virtio-net-pci,netdev=n0",
            "-device", "virtio-rng-pci",
            "-virtfs", "local,path=%s,mount_tag=vmpower,security_model="
            "none,readonly=on" % self.power,
        ]

    def boot(self, wait=True):
        assert self.proc is None
        self.boots += 1
        with open(os.path.join(self.run, "console.log"), "a") as f:
            f.write("\n==== boot %d\n" % self.boots)
        self.qlog = open(os.path.join(self.run, "qemu.log"), "a")
        self.proc = subprocess.Popen(self.qemu_cmd(), stdin=subprocess.DEVNULL,
                                     stdout=self.qlog, stderr=self.qlog)
        self.t_boot = time.time()
        if wait:
            self.wait_ssh()

    def wait_ssh(self):
        deadline = time.time() + 120 * self.slow
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("qemu exited (%d) while booting: %s" % (
                    self.proc.returncode, self.tail()))
            p = self.ssh("true", check=False, timeout=15)
            if p.returncode == 0:
                return time.time() - self.t_boot
            time.sleep(0.5)
        raise RuntimeError("no ssh after %d s: %s" % (
            120 * self.slow, self.tail()))

    def tail(self, n=25):
        with open(os.path.join(self.run, "console.log"), errors="replace") as f:
            return "\n  console: " + "\n  console: ".join(
                f.read().splitlines()[-n:])

    def ssh(self, cmd, input=None, check=True, timeout=120):
        p = subprocess.run(
            ["ssh", "-q", "-i", self.key, "-p", str(self.ssh_port),
             "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
             "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
             "-o", "ConnectTimeout=5", "root@127.0.0.1", cmd],
            input=input, capture_output=True, text=True,
            timeout=timeout * self.slow)
        if check and p.returncode != 0:
            raise CheckFailed("guest: %s: exit %d: %s%s" % (
                cmd[:200], p.returncode, p.stdout[-1500:], p.stderr[-1500:]))
        return p

    def put(self, local, remote, mode="0644"):
        with open(local, "rb") as f:
            data = f.read()
        p = subprocess.run(
            ["ssh", "-q", "-i", self.key, "-p", str(self.ssh_port),
             "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
             "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
             "root@127.0.0.1", "cat >%s && chmod %s %s" % (remote, mode,
                                                            remote)],
            input=data, capture_output=True, timeout=120 * self.slow)
        if p.returncode != 0:
            raise CheckFailed("copy to %s: %s" % (remote, p.stderr))

    def cut(self):
        """The power cut: qemu killed outright, nothing flushed."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        self.qlog.close()

    def wait_off(self, seconds):
        try:
            rc = self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None
        self.proc = None
        self.qlog.close()
        return rc

    def shutdown(self):
        if self.proc is None:
            return
        self.ssh("systemctl --no-block poweroff", check=False)
        if self.wait_off(60 * self.slow) is None:
            self.cut()

    # -- the phones' side, through the forwarded port --

    def http(self, method, path, body=None, token=None, timeout=10,
             headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if body is not None:
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        c = http.client.HTTPConnection("127.0.0.1", self.http_port,
                                       timeout=timeout * self.slow)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            try:
                data = json.loads(data)
            except ValueError:
                data = data.decode(errors="replace")
            return r.status, data, dict(r.getheaders())
        finally:
            c.close()

    def health(self):
        try:
            st, data, _ = self.http("GET", "/api/health", timeout=3)
        except (OSError, http.client.HTTPException):
            return None
        return data if st == 200 else None

    def wait_health(self, seconds, version=None):
        deadline = time.time() + seconds * self.slow
        while time.time() < deadline:
            h = self.health()
            if h and (version is None or h.get("version") == version):
                return h
            time.sleep(0.3)
        return None


# ---- the records ------------------------------------------------------

def today(days=0):
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() + days * 86400))


def household(n):
    return {"site_id": "SITE-001", "admin1": "SS01", "admin2": "SS0101",
            "registration_date": today(-1), "consent": "no",
            "shelter_type": "tent", "intention": "stay",
            "needs": ["food", "water"],
            "members": [{"sex": "female", "age_years": 20 + n % 50,
                         "relationship": "head"}]}


class Load:
    """Phones: threads submitting through the forwarded port, keeping
    every record answered 201 (its id and seq)."""

    def __init__(self, vm, token, threads=3):
        self.vm, self.token = vm, token
        self.acked, self.stop_ev = [], threading.Event()
        self.other = {}
        self.threads = [threading.Thread(target=self.phone, daemon=True)
                        for _ in range(threads)]

    def phone(self):
        n = 0
        while not self.stop_ev.is_set():
            n += 1
            try:
                st, data, _ = self.vm.http(
                    "POST", "/api/records/dtm_household", household(n),
                    token=self.token, timeout=5)
            except (OSError, http.client.HTTPException):
                time.sleep(0.05)
                continue
            if st == 201:
                self.acked.append((data["_id"], data["seq"]))
            else:
                self.other[st] = self.other.get(st, 0) + 1

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(30)
        return self.acked


# ---- the run ----------------------------------------------------------

class Run:
    def __init__(self, args):
        self.args = args
        self.arch = args.arch
        self.results = []
        self.slow = TCG_SLOW
        self.kvm = False
        self.acked = []         # every record answered 201, over all boots
        self.token = None
        self.run = os.path.join(VM_DIR, "run-" + self.arch + (
            "-" + args.name if args.name else ""))

    # -- reporting --

    def check(self, name, fn, *a):
        t0 = time.time()
        try:
            detail = fn(*a) or ""
            ok = True
        except CheckFailed as e:
            ok, detail = False, str(e)
        except Exception as e:     # a broken step fails its check, loudly
            ok, detail = False, "%s: %s" % (type(e).__name__, e)
        line = "%s %s (%.0f s)%s" % ("PASS" if ok else "FAIL", name,
                                     time.time() - t0,
                                     ": " + detail if detail else "")
        print(line, flush=True)
        self.results.append(ok)
        return ok

    # -- preparation --

    def preflight(self):
        tools = dict(TOOLS)
        tools["qemu-system-x86_64" if self.arch == "amd64"
              else "qemu-system-aarch64"] = (
            "qemu-system-x86" if self.arch == "amd64" else "qemu-system-arm")
        if self.arch == "arm64":
            # The image is unpacked on the host and installed by the guest
            # itself (mkimage.sh): no arm64 program runs here, so no
            # binfmt handler; but these take the kernel's modules and
            # the guest's initramfs apart.
            tools.update({"depmod": "kmod", "modprobe": "kmod",
                          "cpio": "cpio", "debugfs": "e2fsprogs",
                          "e2fsck": "e2fsprogs", "dpkg-deb": "dpkg"})
        missing = sorted({pkg for t, pkg in tools.items()
                          if shutil.which(t) is None})
        if missing:
            log("vmtest: missing tools; install them with\n"
                "  apt-get install --no-install-recommends " +
                " ".join(missing))
            sys.exit(2)
        if os.geteuid() != 0:
            log("vmtest: mmdebstrap's image build wants root here "
                "(run as root, or build build/vm/ once as root)")

    def image(self):
        """The cached image, made again when its recipe changed."""
        h = hashlib.sha256()
        recipe = ["mkimage.sh", "guest-setup.sh"]
        if self.arch != "amd64":
            recipe += ["stage2.sh", "firstboot-init.sh"]
        for f in recipe:
            with open(os.path.join(ROOT, "tests", "vm", f), "rb") as fh:
                h.update(fh.read())
        stamp = os.path.join(VM_DIR, self.arch + ".recipe")
        ready = os.path.join(VM_DIR, self.arch + ".ready")
        if os.path.exists(ready) and os.path.exists(stamp):
            with open(stamp) as fh:
                if fh.read().strip() == h.hexdigest():
                    return "cached"
        t0 = time.time()
        log("vmtest: building the %s image (mmdebstrap%s; once)" % (
            self.arch, "" if self.arch == "amd64" else
            ", then its installation in the emulated guest"))
        sh("sh", os.path.join(ROOT, "tests", "vm", "mkimage.sh"), self.arch,
           VM_DIR, cwd=ROOT, timeout=7200)
        with open(stamp, "w") as fh:
            fh.write(h.hexdigest() + "\n")
        return "built in %.0f s" % (time.time() - t0)

    def packages(self):
        """The .debs, with a throwaway release key; the update bundles
        signed with it."""
        shutil.rmtree(self.run, ignore_errors=True)
        os.makedirs(self.run)
        keys = os.path.join(self.run, "keys")
        os.makedirs(keys)
        rel = os.path.join(ROOT, "build", "fieldrelease")
        self.release_key = os.path.join(keys, "release.key")
        sh(rel, "keygen", self.release_key, os.path.join(keys, "release.pub"))
        out = os.path.join(self.run, "deb")
        t0 = time.time()
        sh("make", "--no-print-directory", "deb", "ARCH=" + self.arch,
           "RELEASE_PUB=" + os.path.join(keys, "release.pub"),
           "DEB_DIR=" + out, cwd=ROOT, env=make_env(), timeout=3600)
        self.debs = [os.path.join(out, "%s_%s_%s.deb" % (n, VERSION,
                                                          self.arch))
                     for n in ("fieldd", "collectord")]
        return "make deb: %.0f s" % (time.time() - t0)

    def bin_dir(self):
        """The release build of the guest's architecture (make deb's)."""
        return os.path.join(ROOT, "build", *(
            [] if self.arch == "amd64" else [self.arch]))

    def bundle(self, version, fieldd, any_file=False):
        out = os.path.join(self.run, "fieldd_%s.fup" % version)
        cmd = [os.path.join(ROOT, "build", "fieldrelease"), "bundle",
               "--key", self.release_key, "--version", version,
               "--arch", self.arch, "--out", out]
        if any_file:
            cmd.append("--any-file")
        sh(*(cmd + [fieldd, os.path.join(self.bin_dir(), "fieldctl")]))
        return out

    # -- the checks --

    def install_and_provision(self):
        vm = self.vm
        t = vm.wait_ssh()
        for d in self.debs:
            vm.put(d, "/root/" + os.path.basename(d))
        # As docs/board.md says: apt installs the local packages (the
        # libraries they need are in the image; the guest has no mirror).
        vm.ssh("DEBIAN_FRONTEND=noninteractive apt-get install -y -q %s" %
               " ".join("/root/" + os.path.basename(d) for d in self.debs),
               timeout=300)
        for u in ("fieldd", "collectord"):
            vm.ssh("test -d /var/lib/%s && id %s" % (u, u))
        # The collector, and the board enrolled over the link.
        vm.ssh("echo '127.0.0.1 %s' >>/etc/hosts" % COLLECTOR_HOST)
        vm.ssh("runuser -u collectord -- collectctl -d /var/lib/collectord "
               "init --host " + COLLECTOR_HOST)
        vm.ssh("systemctl start collectord")
        vm.ssh("cp /var/lib/collectord/seal.pub /tmp/seal.pub")
        ctl = "runuser -u fieldd -- fieldctl -d /var/lib/fieldd "
        vm.ssh(ctl + "init --collector-key /tmp/seal.pub --device-id " +
               DEVICE_ID)
        self.token = vm.ssh(ctl + "user add " + USER).stdout.strip()
        vm.ssh(ctl + "user pin " + USER, input=PIN + "\n")
        tok = vm.ssh("runuser -u collectord -- collectctl -d "
                     "/var/lib/collectord enroll-token --device-id %s "
                     "--hours 2" % DEVICE_ID).stdout.strip().splitlines()[-1]
        vm.ssh(ctl + "enroll --collector %s:7443 --token '%s'" % (
            COLLECTOR_HOST, tok))
        # The phones reach it on every address (the board's would be its
        # access point's); a VM's clock is its host's (fieldd.conf says so).
        vm.ssh("printf 'listen = 0.0.0.0:8080\\nclock = host\\n' "
               ">>/etc/fieldd/fieldd.conf")
        if self.args.dropin:
            vm.ssh("mkdir -p /etc/systemd/system/fieldd.service.d")
            vm.put(self.args.dropin,
                   "/etc/systemd/system/fieldd.service.d/vmtest.conf")
            vm.ssh("systemctl daemon-reload")
        vm.ssh("systemctl start fieldd", timeout=120)
        return "ssh after %.0f s of boot; installed, provisioned, enrolled" % t

    def units_ready(self):
        vm = self.vm
        # The machine is the one asked for (an emulated arm64 runs the
        # arm64 packages, not the host's), with systemd as PID 1.
        p = vm.ssh("uname -m; cat /proc/1/comm; dpkg-query -W -f "
                   "'${Architecture}\\n' fieldd collectord")
        got = p.stdout.split()
        want = [{"amd64": "x86_64", "arm64": "aarch64"}[self.arch],
                "systemd", self.arch, self.arch]
        need(got == want, "machine, PID 1, packages' architecture: %s, "
             "not %s" % (got, want))
        out = ["%s, PID 1 systemd, packages %s" % (want[0], self.arch)]
        for u in ("fieldd", "collectord"):
            p = vm.ssh("systemctl show -p Type,ActiveState,SubState,"
                       "UnitFileState,NRestarts %s.service" % u)
            props = dict(l.split("=", 1) for l in p.stdout.splitlines())
            need(props["Type"] == "notify", "%s: Type=%s" % (u, props["Type"]))
            # A Type=notify unit is "active" only after its READY=1.
            need(props["ActiveState"] == "active" and
                 props["SubState"] == "running",
                 "%s: %s/%s" % (u, props["ActiveState"], props["SubState"]))
            need(props["UnitFileState"] == "enabled",
                 "%s is %s, not enabled" % (u, props["UnitFileState"]))
            out.append("%s active (READY=1), enabled" % u)
        h = vm.wait_health(30)
        need(h and h.get("version") == VERSION,
             "GET /api/health through the forwarded port: %r" % (h,))
        return "; ".join(out) + "; health %s" % VERSION

    def web_app(self):
        vm = self.vm
        st, page, hdr = vm.http("GET", "/")
        need(st == 200 and "text/html" in hdr.get("Content-Type", ""),
             "GET /: %d %s" % (st, hdr.get("Content-Type")))
        st, data, _ = vm.http("POST", "/api/login",
                              {"user": USER, "pin": PIN})
        need(st == 200 and isinstance(data, dict) and data.get("token"),
             "POST /api/login with the PIN: %d %r" % (st, data))
        st, data, _ = vm.http("POST", "/api/records/dtm_household",
                              household(1), token=data["token"])
        need(st == 201, "a record from the web app's session: %d %r" %
             (st, data))
        self.acked.append((data["_id"], data["seq"]))
        self.synced_id = data["_id"]
        return "page, login with the PIN, record seq %d stored" % data["seq"]

    def odk_formlist(self):
        p = sh("curl", "-sS", "--max-time", str(30 * self.slow),
               "--digest", "-u", "%s:%s" % (USER, PIN),
               "-H", "X-OpenRosa-Version: 1.0", "-w", "\n%{http_code}",
               "http://127.0.0.1:%d/formList" % self.vm.http_port,
               check=False)
        body, _, code = p.stdout.rpartition("\n")
        need(code == "200", "formList: %s %s" % (code, p.stderr))
        forms = re.findall(r"<formID>([^<]+)</formID>", body)
        need("dtm_household" in forms, "formList lists %r" % forms)
        return "Digest with the PIN, %d forms: %s" % (len(forms),
                                                   ", ".join(forms))

    def sync(self):
        vm = self.vm
        # The documented "sync now" (the button's long press does the same).
        vm.ssh("systemctl kill --kill-whom=main -s USR1 fieldd")
        deadline = time.time() + 60 * self.slow
        while time.time() < deadline:
            p = vm.ssh("collectctl -d /var/lib/collectord open --key "
                       "/var/lib/collectord/seal.key", check=False,
                       timeout=60)
            if p.returncode == 0 and self.synced_id in p.stdout:
                st = json.loads(vm.ssh(
                    "runuser -u fieldd -- fieldctl -d /var/lib/fieldd "
                    "status --json").stdout)
                return "the record is in the collector's store (%d " \
                    "record(s) there); board: %s" % (
                        len(p.stdout.splitlines()),
                        {k: v for k, v in st.items()
                         if "sync" in k or "ack" in k or "pending" in k})
            time.sleep(1)
        raise CheckFailed("record %s not at the collector after 60 s: %s" % (
            self.synced_id, vm.ssh("journalctl -u fieldd -n 15 --no-pager",
                                   check=False).stdout))

    def sandbox(self):
        """Everything fieldd may write, found rather than sampled: every
        path its user can write in its own mount namespace."""
        vm = self.vm
        pid = vm.ssh("systemctl show -p MainPID --value fieldd").stdout.strip()
        need(pid not in ("", "0"), "fieldd has no main process")
        st = vm.ssh("cat /proc/%s/status" % pid).stdout
        f = dict(re.findall(r"^(\w+):\s*(.*)$", st, re.M))
        need(f.get("NoNewPrivs") == "1", "NoNewPrivs: %s" % f.get("NoNewPrivs"))
        need(f.get("Seccomp") == "2" and int(f.get("Seccomp_filters", 0)) > 0,
             "no syscall filter: Seccomp %s, filters %s" % (
                 f.get("Seccomp"), f.get("Seccomp_filters")))
        need(int(f.get("CapEff", "1"), 16) == 0 and
             int(f.get("CapBnd", "1"), 16) == 0,
             "capabilities: CapEff %s CapBnd %s" % (f.get("CapEff"),
                                                   f.get("CapBnd")))
        uid = f["Uid"].split()[0]
        gid = f["Gid"].split()[0]
        # find -writable asks access(2), which says EROFS for read-only
        # mounts; /proc is left out (its per-process files).
        p = vm.ssh("nsenter -t %s -m -S %s -G %s -- find / -path /proc "
                   "-prune -o -writable ! -type c ! -type l ! -type s "
                   "-print 2>/dev/null" % (pid, uid, gid), check=False,
                   timeout=120)
        w = sorted(set(p.stdout.split()))
        allowed = ("/var/lib/fieldd", "/run/fieldd", "/tmp", "/var/tmp")
        bad = [x for x in w if not any(x == a or x.startswith(a + "/")
                                       for a in allowed)]
        need(w, "the probe found nothing writable at all: %s" % p.stderr)
        need("/var/lib/fieldd" in w, "its state folder is not writable")
        need(not bad, "fieldd can write outside its folders: %s" %
             ", ".join(bad[:20]))
        # PrivateTmp: its /tmp is not the system's.
        mine = vm.ssh("stat -c %i /tmp").stdout.strip()
        theirs = vm.ssh("nsenter -t %s -m stat -c %%i /tmp" % pid).stdout.strip()
        need(mine != theirs, "fieldd's /tmp is the system's /tmp")
        mem = vm.ssh("cat /sys/fs/cgroup/system.slice/fieldd.service/"
                     "memory.max").stdout.strip()
        need(mem == str(64 << 20), "cgroup memory.max %s" % mem)
        return ("writable: %s (private /tmp, /var/tmp); NoNewPrivs 1, "
                "seccomp filters %s, no capabilities, memory.max 64 MiB" % (
                    ", ".join(a for a in allowed[:2]), f["Seccomp_filters"]))

    def security(self):
        out = []
        for unit, most in EXPOSURE_MAX.items():
            p = self.vm.ssh("systemd-analyze security --no-pager " + unit,
                            check=False)
            m = re.search(r"Overall exposure level for \S+: ([\d.]+)",
                          p.stdout)
            need(m, "%s: no score: %s" % (unit, p.stdout[-300:]))
            need(float(m.group(1)) <= most, "%s scores %s, over %s" % (
                unit, m.group(1), most))
            out.append("%s %s (at most %s)" % (unit, m.group(1), most))
        return "; ".join(out)

    def watchdog(self):
        vm = self.vm
        p = vm.ssh("systemctl show -p MainPID,WatchdogUSec,NRestarts fieldd")
        props = dict(l.split("=", 1) for l in p.stdout.splitlines())
        wd = props["WatchdogUSec"]
        m = re.fullmatch(r"(\d+)s", wd)
        need(m, "WatchdogUSec=%s" % wd)
        wd_s = int(m.group(1))
        old = props["MainPID"]
        t0 = time.time()
        vm.ssh("kill -STOP " + old)
        # The watchdog's period is the guest's clock; only fieldd's start
        # is slower on an emulated CPU, so only the margin stretches.
        limit = wd_s + WATCHDOG_MARGIN_S * self.slow
        deadline = t0 + limit
        new = None
        while time.time() < deadline:
            pid = vm.ssh("systemctl show -p MainPID --value fieldd"
                         ).stdout.strip()
            if pid not in (old, "0", ""):
                new = pid
                break
            time.sleep(1)
        need(new, "fieldd (pid %s) stopped with SIGSTOP was not restarted "
             "within %d s (WatchdogSec %d s + margin)" % (old, limit, wd_s))
        killed = time.time() - t0
        need(vm.wait_health(max(1, deadline - time.time()) / self.slow),
             "restarted but not answering within %d s" % limit)
        back = time.time() - t0
        j = vm.ssh("journalctl -u fieldd -b --no-pager | grep -i watchdog",
                   check=False).stdout
        need("Watchdog timeout" in j, "the journal names no watchdog "
             "timeout: %r" % j[-300:])
        # fieldd pings every WatchdogSec/2: stopped just after a ping,
        # it is killed WatchdogSec later; just before one, half that.
        need(killed >= wd_s / 2, "restarted after %.0f s: before "
             "WatchdogSec/2, so not by the watchdog" % killed)
        return "WatchdogSec %d s: new pid after %.0f s, serving after " \
            "%.0f s (limit %d s)" % (wd_s, killed, back, limit)

    def updates(self):
        vm = self.vm
        maj, mi, pa = (int(x) for x in VERSION.split("."))
        v1 = "%d.%d.%d" % (maj, mi, pa + 1)
        v2 = "%d.%d.%d" % (maj, mi, pa + 2)
        newer = os.path.join(self.bin_dir(), "update-test", "fieldd")
        good = self.bundle(v1, newer)
        bad_fieldd = os.path.join(self.run, "broken-fieldd")
        with open(bad_fieldd, "w") as f:
            f.write("#!/bin/sh\necho 'fieldd: broken on purpose' >&2\n"
                    "exit 1\n")
        os.chmod(bad_fieldd, 0o755)
        bad = self.bundle(v2, bad_fieldd, any_file=True)
        vm.put(good, "/root/good.fup")
        vm.put(bad, "/root/bad.fup")

        def pid():
            return vm.ssh("systemctl show -p MainPID --value fieldd"
                          ).stdout.strip()

        def current():
            return vm.ssh("readlink /usr/lib/fieldd/current").stdout.strip()

        pid0 = pid()
        p = vm.ssh("fieldctl update apply /root/good.fup", check=False,
                   timeout=180)
        need(p.returncode == 0 and "updated %s -> %s" % (VERSION, v1)
             in p.stdout, "good bundle: %d %s%s" % (p.returncode, p.stdout,
                                                   p.stderr))
        need(current() == "releases/" + v1, "current is %s" % current())
        pid1 = pid()
        need(pid1 not in (pid0, "0", ""), "fieldd was not restarted "
             "through systemd (MainPID %s, was %s)" % (pid1, pid0))
        h = vm.health()
        need(h and h.get("version") == v1, "health after the update: %r" % h)
        p = vm.ssh("fieldctl update apply /root/bad.fup --timeout 15",
                   check=False, timeout=300)
        need(p.returncode == 1 and "rolled back to %s" % v1 in p.stderr,
             "failing bundle: %d %s%s" % (p.returncode, p.stdout, p.stderr))
        need(current() == "releases/" + v1, "current is %s after the "
             "rollback" % current())
        pid2 = pid()
        need(pid2 not in (pid1, "0", ""), "no restart after the rollback")
        h = vm.wait_health(30, v1)
        need(h, "the rolled-back fieldd does not answer %s" % v1)
        act = vm.ssh("systemctl is-active fieldd", check=False).stdout.strip()
        need(act == "active", "fieldd is %s after the rollback" % act)
        self.version = v1
        return "%s -> %s through systemctl restart (pid %s -> %s); %s's " \
            "failing fieldd rolled back to %s (pid %s)" % (
                VERSION, v1, pid0, pid1, v2, v1, pid2)

    def verify_store(self, acked, what):
        """After a boot: fieldd started by itself, the store is whole,
        every record answered 201 is there with its seq, seqs without a
        gap.  Returns the number of records."""
        vm = self.vm
        # One ssh call (each costs seconds on an emulated CPU): fieldd
        # started by itself, the store's own check, fieldctl opens it, a
        # consistent copy (as fieldd: no file of root's in its folder),
        # opened with the collector's key.  Markers split the answers.
        script = r"""
i=0; while [ "$(systemctl is-active fieldd)" != active ] && [ $i -lt %d ]; do
  sleep 1; i=$((i+1)); done
echo "@active $(systemctl is-active fieldd)"
echo "@ic $(runuser -u fieldd -- sqlite3 /var/lib/fieldd/device.db \
  'PRAGMA integrity_check' 2>&1 | tr '\n' ' ')"
runuser -u fieldd -- fieldctl -d /var/lib/fieldd status --json \
  >/dev/null 2>/tmp/st.err; echo "@status $? $(cat /tmp/st.err)"
rm -f /tmp/check.db
runuser -u fieldd -- sqlite3 /var/lib/fieldd/device.db '.backup /tmp/check.db'
echo "@records"
collectctl open --key /var/lib/collectord/seal.key /tmp/check.db ||
  echo "@open failed $?"
""" % (60 * self.slow)
        p = vm.ssh(script, check=False, timeout=300)
        out = p.stdout
        m = re.search(r"^@active (\S+)", out, re.M)
        act = m.group(1) if m else "?"
        need(act == "active", "%s: fieldd did not start by itself (%s): %s" % (
            what, act, vm.ssh("journalctl -u fieldd -b --no-pager -n 20",
                              check=False).stdout))
        m = re.search(r"^@ic (.*)$", out, re.M)
        need(m and m.group(1).strip() == "ok", "%s: integrity_check: %s" % (
            what, m.group(1) if m else out[-300:]))
        m = re.search(r"^@status (\d+)(.*)$", out, re.M)
        need(m and m.group(1) == "0", "%s: fieldctl status: %s" % (
            what, m.group(0) if m else out[-300:]))
        need("@open failed" not in out and "@records" in out,
             "%s: records do not open: %s" % (what, p.stderr[-500:]))
        p.stdout = out.split("@records\n", 1)[1]
        by_id = {}
        for line in p.stdout.splitlines():
            r = json.loads(line)
            by_id[r["_id"]] = r["_seq"]
        lost = [(i, s) for i, s in acked if by_id.get(i) != s]
        need(not lost, "%s: %d of %d acknowledged records lost or "
             "changed (e.g. seq %s)" % (what, len(lost), len(acked),
                                        sorted(s for _, s in lost)[:5]))
        seqs = sorted(by_id.values())
        need(seqs == list(range(1, len(seqs) + 1)),
             "%s: seqs have gaps" % what)
        return len(seqs)

    def poweroff(self):
        vm = self.vm
        before = Load(vm, self.token, threads=2).start()
        time.sleep(2)
        vm.set_power(capacity=5, online=0)
        # fieldd looks at the power supplies once a minute; SIGUSR2 is
        # its "look again now", so the run does not wait that minute.
        t0 = time.time()
        vm.ssh("systemctl kill --kill-whom=main -s USR2 fieldd", check=False)
        rc = vm.wait_off(90 * vm.slow)
        acked = before.stop()
        need(rc is not None, "the VM did not power off within 90 s of "
             "the low battery")
        off = time.time() - t0
        self.acked += acked
        need(acked, "no record was acknowledged before the low battery")
        refused = before.other.get(503, 0)
        need(rc == 0, "qemu exited with %d" % rc)
        # A clean power-off unmounted the file system: its state is clean
        # (a power cut leaves it "not clean" until the journal replays).
        d = sh("dumpe2fs", "-h", vm.disk, check=False).stdout
        need(re.search(r"Filesystem state:\s+clean", d),
             "the file system was not unmounted cleanly: %s" %
             re.findall(r"Filesystem state:.*", d))
        vm.set_power(capacity=90, online=1)
        vm.boot()
        n = self.verify_store(self.acked, "after the power-off")
        return "powered off %.0f s after the low battery (%d 503s to the " \
            "phones meanwhile); file system clean; after the next boot " \
            "all %d acknowledged records there (%d in the store)" % (
                off, refused, len(self.acked), n)

    def power_cuts(self, rounds, control=False):
        """Phones submit while qemu is killed at a random moment; after
        each boot the store is checked.  control: fsync is a no-op in
        fieldd (an LD_PRELOAD shim), which must be caught."""
        vm = self.vm
        rng = random.Random(self.args.seed)
        times, counts = [], []
        for i in range(rounds):
            load = Load(vm, self.token).start()
            # At a random moment: anything from 0.2 s to 4 s of load.
            time.sleep(rng.uniform(0.2, 4.0))
            vm.cut()
            acked = load.stop()
            counts.append(len(acked))
            self.acked += acked
            t0 = time.time()
            vm.boot()
            try:
                n = self.verify_store(self.acked, "cut %d" % (i + 1))
            except CheckFailed as e:
                if control:
                    return "caught at cut %d: %s" % (i + 1, e)
                raise
            times.append(time.time() - t0)
        need(not control, "%d power cuts with fsync a no-op and no loss "
             "found: the check cannot see a lost write" % rounds)
        return "%d cuts, %d records acknowledged under load (%d-%d a " \
            "round), none lost, %d in the store, seqs 1..%d; boot+check " \
            "%.0f s on average" % (rounds, sum(counts), min(counts),
                                   max(counts), n, n,
                                   sum(times) / len(times))

    def control(self):
        vm = self.vm
        shim = os.path.join(self.run, "nofsync.so")
        sh("cc" if self.arch == "amd64" else "aarch64-linux-gnu-gcc",
           "-shared", "-fPIC", "-O2", "-o", shim,
           os.path.join(ROOT, "tests", "vm", "nofsync.c"))
        vm.put(shim, "/usr/local/lib/vmtest-nofsync.so")
        vm.ssh("mkdir -p /etc/systemd/system/fieldd.service.d && printf "
               "'[Service]\\nEnvironment=LD_PRELOAD=/usr/local/lib/"
               "vmtest-nofsync.so\\n' >/etc/systemd/system/fieldd.service.d/"
               "vmtest-nofsync.conf && systemctl daemon-reload && "
               "systemctl restart fieldd")
        need(vm.wait_health(60), "fieldd with the shim does not answer")
        pid = vm.ssh("systemctl show -p MainPID --value fieldd").stdout.strip()
        maps = vm.ssh("cat /proc/%s/maps" % pid).stdout
        need("vmtest-nofsync.so" in maps, "the shim is not loaded in fieldd")
        return self.power_cuts(self.args.control, control=True)

    def main(self):
        self.preflight()
        t_all = time.time()
        self.check("image (Debian 12, systemd, %s)" % self.arch, self.image_ok)
        if not self.results[-1]:
            return self.summary(t_all)
        if self.arch == "amd64":
            self.kvm = kvm_runs()
            if self.kvm:
                self.slow = 1
            else:
                log("vmtest: KVM does not run guests here (%s): emulating "
                    "(TCG), every deadline x%d" % (KVM_WHY[0], TCG_SLOW))
        self.check("packages built (make deb ARCH=%s)" % self.arch,
                   self.packages)
        os.makedirs(self.run, exist_ok=True)
        self.vm = VM(self.arch, self.run, self.slow, self.kvm)
        try:
            self.vm.boot(wait=False)
            if not self.check("installed and provisioned as docs/board.md "
                              "says", self.install_and_provision):
                return self.summary(t_all)
            for key, name, fn in self.checks():
                if key in self.args.only:
                    self.check(name, fn)
        finally:
            if self.vm.proc is not None:
                if self.args.keep:
                    log("vmtest: --keep: the VM runs on; ssh -i %s -p %d "
                        "root@127.0.0.1 (qemu pid %d)" % (
                            self.vm.key, self.vm.ssh_port, self.vm.proc.pid))
                else:
                    self.vm.cut()
        return self.summary(t_all)

    def checks(self):
        c = [("ready", "both units start and report ready",
              self.units_ready),
             ("web", "web app: page, login, a record", self.web_app),
             ("odk", "ODK formList", self.odk_formlist),
             ("sync", "sync to the collector", self.sync)]
        return c + [
            ("sandbox", "sandbox: writes, NoNewPrivileges, syscall filter",
             self.sandbox),
            ("security", "systemd-analyze security", self.security),
            ("watchdog", "watchdog restarts a stopped fieldd", self.watchdog),
            ("update", "updates: a good bundle switches, a failing one "
             "rolls back", self.updates),
            ("poweroff", "power-off on a low battery, records intact",
             self.poweroff),
            ("cuts", "%d power cuts under load" % self.args.cuts,
             lambda: self.power_cuts(self.args.cuts)),
            ("control", "control: fsync a no-op is caught", self.control)]

    def image_ok(self):
        return self.image()

    def summary(self, t0):
        ok = sum(self.results)
        bad = len(self.results) - ok
        print("%d passed, %d failed (%.0f s, %s)" % (
            ok, bad, time.time() - t0,
            "KVM" if self.arch == "amd64" and self.kvm else
            "emulated (TCG)"), flush=True)
        if bad and os.path.exists(os.path.join(self.run, "console.log")):
            log("vmtest: the guest's console is %s" % os.path.join(
                self.run, "console.log"))
        return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="amd64", choices=("amd64", "arm64"))
    ap.add_argument("--cuts", type=int, default=20)
    ap.add_argument("--control", type=int, default=6,
                    help="power cuts at most in the control run")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--dropin", help="a fieldd.service drop-in to add")
    ap.add_argument("--name", help="build/vm/run-ARCH-NAME for this run's "
                    "files (two runs at once)")
    ap.add_argument("--only", default=None,
                    help="the checks to run, by key, comma-separated "
                    "(amd64: " + ONLY["amd64"] + "; arm64: " +
                    ONLY["arm64"] + ", and cuts,control when asked)")
    ap.add_argument("--keep", action="store_true",
                    help="leave the VM running at the end")
    args = ap.parse_args()
    args.only = (args.only or ONLY[args.arch]).split(",")
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    print("vmtest: %s, seed %d" % (args.arch, args.seed), flush=True)
    sys.exit(Run(args).main())


if __name__ == "__main__":
    main()
