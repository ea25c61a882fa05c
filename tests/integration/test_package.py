"""The Debian packages (make deb, firmware/deb.mk, tools/mkdeb.sh): their
layout, modes, conffiles, Depends, maintainer scripts, units (systemd-
analyze verify and security), the default configuration files (parsed by
the real daemons, every key documented), lintian (no errors).

The packages are built from the release build of this machine's
architecture (make deb builds it when missing; make test builds it
beforehand), with a throwaway release key and into a temporary folder, so
the test never touches build/deb or build/release.

With --install (make test-package-install; root, debootstrap and the
Debian mirror), also a real install into a minimal bookworm chroot, cached
in build/chroot-cache: users, folders, the current link and its flip,
enabled units, the packaged programs running there, remove and purge.
"""
import atexit
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest

import fieldlib as fl

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
with open(os.path.join(ROOT, "VERSION")) as _f:
    VERSION = _f.read().strip()
ARCH = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                      text=True, check=True).stdout.strip()
INSTALL = "--install" in sys.argv
if INSTALL:
    sys.argv.remove("--install")

# Filled once by build_packages().
PKG = {}


def sh(*cmd, check=True, timeout=600, **kw):
    p = subprocess.run(list(cmd), capture_output=True, text=True,
                       timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (
            " ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


def make_env():
    """The environment for a make of our own, without the jobserver and
    variables of a make this test may run under."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES", "MODE",
              "ARCH", "B"):
        env.pop(k, None)
    return env


def build_packages():
    if PKG:
        return PKG
    tmp = tempfile.mkdtemp(prefix="pkgtest.")
    atexit.register(shutil.rmtree, tmp, True)
    pub = os.path.join(tmp, "release.pub")
    key = sh("openssl", "ecparam", "-name", "prime256v1", "-genkey").stdout
    pem = sh("openssl", "ec", "-pubout", input=key).stdout
    with open(pub, "w") as f:
        f.write(pem)
    out = os.path.join(tmp, "deb")
    t0 = time.time()
    sh("make", "--no-print-directory", "deb", "ARCH=" + ARCH,
       "RELEASE_PUB=" + pub, "DEB_DIR=" + out, cwd=ROOT, env=make_env(),
       timeout=3600)
    print("make deb: %.1f s" % (time.time() - t0), file=sys.stderr)
    PKG.update(tmp=tmp, pub=pem, out=out)
    for name in ("fieldd", "collectord"):
        deb = os.path.join(out, "%s_%s_%s.deb" % (name, VERSION, ARCH))
        x = os.path.join(tmp, "x-" + name)
        sh("dpkg-deb", "-x", deb, x)
        ctl = os.path.join(tmp, "ctl-" + name)
        sh("dpkg-deb", "-e", deb, ctl)
        PKG[name] = dict(deb=deb, x=x, ctl=ctl,
                         listing=listing(deb), fields=fields(deb))
    return PKG


def listing(deb):
    """path -> (mode string, owner, link target or None)."""
    out = {}
    for line in sh("dpkg-deb", "-c", deb).stdout.splitlines():
        parts = line.split(None, 5)
        mode, owner, name = parts[0], parts[1], parts[5]
        target = None
        if " -> " in name:
            name, target = name.split(" -> ", 1)
        name = name[2:] if name.startswith("./") else name
        out[name.rstrip("/")] = (mode, owner, target)
    out.pop("", None)
    return out


def fields(deb):
    text = sh("dpkg-deb", "-f", deb).stdout
    out = {}
    for m in re.finditer(r"^(\S+): (.*(?:\n .*)*)", text, re.M):
        out[m.group(1)] = m.group(2)
    return out


def read(*path):
    with open(os.path.join(*path)) as f:
        return f.read()


def uncommented(text, skip=()):
    """Every "# key = value" line made live (but keys in skip)."""
    lines = []
    for line in text.splitlines():
        m = re.match(r"^# (\w+) =(.*)$", line)
        if m and m.group(1) not in skip:
            line = m.group(1) + " =" + m.group(2)
        lines.append(line)
    return "\n".join(lines) + "\n"


def conf_keys(text):
    """The keys a config file shows, live or commented."""
    return set(re.findall(r"^(?:# )?(\w+) =", text, re.M))


class Package(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.p = build_packages()

    def files(self, name):
        """Files and links (not directories) of a package."""
        return {k for k, v in self.p[name]["listing"].items()
                if not v[0].startswith("d")}

    def test_fieldd_layout(self):
        rel = "usr/lib/fieldd/releases/%s/" % VERSION
        self.assertEqual(self.files("fieldd"), {
            "etc/fieldd/fieldd.conf", "etc/fieldd/release.pub",
            "lib/systemd/system/fieldd.service",
            "lib/systemd/system/fieldd-poweroff.path",
            "lib/systemd/system/fieldd-poweroff.service",
            rel + "fieldd", rel + "fieldctl", rel + "VERSION",
            "usr/bin/fieldctl",
            "usr/lib/systemd/journald.conf.d/fieldd.conf",
            "usr/lib/sysusers.d/fieldd.conf",
            "usr/share/doc/fieldd/copyright",
            "usr/share/doc/fieldd/changelog.gz",
            "usr/share/doc/fieldd/README.Debian",
            "usr/share/man/man8/fieldd.8.gz",
            "usr/share/man/man8/fieldctl.8.gz",
            "usr/share/man/man5/fieldd.conf.5.gz"})
        ls = self.p["fieldd"]["listing"]
        # current is postinst's, so that signed updates may flip it.
        self.assertNotIn("usr/lib/fieldd/current", ls)
        self.assertEqual(ls["usr/bin/fieldctl"][2],
                         "../lib/fieldd/current/fieldctl")
        x = self.p["fieldd"]["x"]
        with open(os.path.join(x, rel, "VERSION")) as f:
            self.assertEqual(f.read(), VERSION + "\n")
        with open(os.path.join(x, "etc/fieldd/release.pub")) as f:
            self.assertEqual(f.read(), self.p["pub"])
        # The packaged fieldd is this release.
        p = sh(os.path.join(x, rel, "fieldd"), "--version")
        self.assertEqual(p.stdout.strip(), "fieldd " + VERSION)

    def test_collectord_layout(self):
        self.assertEqual(self.files("collectord"), {
            "usr/bin/collectord", "usr/bin/collectctl",
            "etc/collectord/collectord.conf",
            "lib/systemd/system/collectord.service",
            "usr/lib/sysusers.d/collectord.conf",
            "usr/share/doc/collectord/copyright",
            "usr/share/doc/collectord/changelog.gz",
            "usr/share/doc/collectord/README.Debian",
            "usr/share/man/man8/collectord.8.gz",
            "usr/share/man/man8/collectctl.8.gz",
            "usr/share/man/man5/collectord.conf.5.gz"})

    def test_man_pages(self):
        """The pages docs/man/ makes, gzipped -9n (no name, no time)."""
        import gzip
        pages = {"fieldd": ["man8/fieldd.8", "man8/fieldctl.8",
                            "man5/fieldd.conf.5"],
                 "collectord": ["man8/collectord.8", "man8/collectctl.8",
                                "man5/collectord.conf.5"]}
        for name, paths in pages.items():
            for page in paths:
                path = os.path.join(self.p[name]["x"], "usr/share/man",
                                    page + ".gz")
                with open(path, "rb") as f:
                    raw = f.read()
                # gzip -n: no file name flag, no time stamp
                self.assertEqual(raw[3] & 0x08, 0, page)
                self.assertEqual(raw[4:8], b"\0\0\0\0", page)
                text = gzip.decompress(raw).decode()
                self.assertTrue(text.startswith(".\\\" Generated by scdoc"),
                                page)
                p = sh("man", "-l", path, env=dict(os.environ,
                                                   MANWIDTH="80"))
                self.assertIn(os.path.basename(page).rsplit(".", 1)[0],
                              p.stdout)

    def test_modes_and_owners(self):
        progs = {"usr/lib/fieldd/releases/%s/fieldd" % VERSION,
                 "usr/lib/fieldd/releases/%s/fieldctl" % VERSION,
                 "usr/bin/collectord", "usr/bin/collectctl"}
        for name in ("fieldd", "collectord"):
            for path, (mode, owner, target) in \
                    self.p[name]["listing"].items():
                self.assertEqual(owner, "root/root", path)
                # The data folders are postinst's (0700), never shipped.
                self.assertFalse(path.startswith("var/"), path)
                if mode.startswith("d"):
                    self.assertEqual(mode, "drwxr-xr-x", path)
                elif mode.startswith("l"):
                    self.assertIsNotNone(target, path)
                elif path in progs:
                    self.assertEqual(mode, "-rwxr-xr-x", path)
                    # stripped: no symbol table
                    sections = sh("readelf", "-S", "-W", os.path.join(
                        self.p[name]["x"], path)).stdout
                    self.assertNotIn(".symtab", sections, path)
                else:
                    self.assertEqual(mode, "-rw-r--r--", path)
        found = {p for n in ("fieldd", "collectord")
                 for p in self.p[n]["listing"] if p in progs}
        self.assertEqual(found, progs)

    def test_conffiles(self):
        for name, want in (("fieldd", ["/etc/fieldd/fieldd.conf",
                                       "/etc/fieldd/release.pub"]),
                           ("collectord",
                            ["/etc/collectord/collectord.conf"])):
            with open(os.path.join(self.p[name]["ctl"], "conffiles")) as f:
                self.assertEqual(sorted(f.read().split()), want)

    def test_depends(self):
        want = {"libc6", "libsqlite3-0", "libuv1", "libmbedtls14",
                "libmbedx509-1", "libmbedcrypto7", "libprotobuf-c1",
                "libzstd1", "libjansson4", "adduser"}
        extra = {"fieldd": {"libhttp-parser2.9", "libcsv3", "libexpat1"},
                 "collectord": {"libhttp-parser2.9", "libpq5"}}
        for name in ("fieldd", "collectord"):
            f = self.p[name]["fields"]
            self.assertEqual(f["Package"], name)
            self.assertEqual(f["Version"], VERSION)
            self.assertEqual(f["Architecture"], ARCH)
            deps = {}
            for d in f["Depends"].split(", "):
                m = re.match(r"^([a-z0-9.+-]+)(?: \(>= ([^)]+)\))?$", d)
                self.assertIsNotNone(m, d)
                deps[m.group(1)] = m.group(2)
            self.assertTrue(want | extra[name] <= set(deps),
                            "%s: missing %s" % (name, (want | extra[name]) -
                                                set(deps)))
            for pkg, minv in deps.items():
                if pkg == "adduser":
                    continue
                self.assertIsNotNone(minv, pkg + " without a version")
                # Satisfied here (the build machine is bookworm too).
                have = sh("dpkg-query", "-W", "-f=${Version}",
                          pkg + ":" + ARCH).stdout
                sh("dpkg", "--compare-versions", have, "ge", minv)
        # Each program's libraries are named (libsystemd0 once fieldd
        # links it for sd_notify).
        x = self.p["fieldd"]["x"]
        needed = sh("readelf", "-d", os.path.join(
            x, "usr/lib/fieldd/releases", VERSION, "fieldd")).stdout
        if "libsystemd.so.0" in needed:
            self.assertIn("libsystemd0 (>= ", self.p["fieldd"]["fields"][
                "Depends"])

    def test_maintainer_scripts(self):
        for name in ("fieldd", "collectord"):
            for s in ("postinst", "prerm", "postrm"):
                path = os.path.join(self.p[name]["ctl"], s)
                self.assertTrue(os.stat(path).st_mode & stat.S_IXUSR, path)
                sh("sh", "-n", path)
                text = read(path)
                self.assertTrue(text.startswith("#!/bin/sh\n"), path)
                self.assertIn("\nset -e\n", text, path)
                self.assertNotIn("@", text.replace("${DPKG_ROOT", ""), path)
            post = read(os.path.join(self.p[name]["ctl"], "postrm"))
            # Data go on purge only.
            purge = post.split("\npurge)")[1].split(";;")[0]
            self.assertIn("rm -rf /var/lib/" + name, purge)
            rms = lambda t: [l for l in t.splitlines()
                             if re.match(r"\s*rm .*/var/lib/", l)]
            self.assertEqual(rms(post), rms(purge))
            self.assertTrue(rms(purge))

    def flip(self, libdir, version):
        """Runs postinst's flip_current on libdir."""
        text = read(os.path.join(self.p["fieldd"]["ctl"], "postinst"))
        fn = re.search(r"^flip_current\(\) \{\n.*?^\}\n", text,
                       re.M | re.S).group(0)
        sh("sh", "-ec", 'LIBDIR="$1"; VERSION="$2"\n' + fn + "flip_current",
           "flip", libdir, version)
        return os.readlink(os.path.join(libdir, "current"))

    def test_current_link_flip(self):
        lib = os.path.join(self.p["tmp"], "flip")

        def release(v):
            d = os.path.join(lib, "releases", v)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "fieldd"), "w") as f:
                f.write("#!/bin/sh\n")
            os.chmod(os.path.join(d, "fieldd"), 0o755)

        release("0.6.0")
        self.assertEqual(self.flip(lib, "0.6.0"), "releases/0.6.0")
        release("0.10.0")       # an update, newer (dpkg's order, not text)
        os.remove(os.path.join(lib, "current"))
        os.symlink("releases/0.10.0", os.path.join(lib, "current"))
        self.assertEqual(self.flip(lib, "0.6.0"), "releases/0.10.0")
        self.assertEqual(self.flip(lib, "0.10.1"), "releases/0.10.1")
        # A link to a release that is gone is replaced.
        os.remove(os.path.join(lib, "current"))
        os.symlink("releases/9.9.9", os.path.join(lib, "current"))
        self.assertEqual(self.flip(lib, "0.6.0"), "releases/0.6.0")
        self.assertEqual(sorted(os.listdir(lib)), ["current", "releases"])

    def verify_root(self):
        """The two packages over the host's units and the commands the
        units name, with the link postinst makes."""
        r = os.path.join(self.p["tmp"], "verify-root")
        if os.path.isdir(r):
            return r
        os.makedirs(os.path.join(r, "lib/systemd"))
        shutil.copytree("/lib/systemd/system",
                        os.path.join(r, "lib/systemd/system"), symlinks=True)
        os.makedirs(os.path.join(r, "bin"))
        for c in ("systemctl", "kill"):
            shutil.copy("/bin/" + c, os.path.join(r, "bin", c))
        for name in ("fieldd", "collectord"):
            sh("dpkg-deb", "-x", self.p[name]["deb"], r)
        os.symlink("releases/" + VERSION,
                   os.path.join(r, "usr/lib/fieldd/current"))
        return r

    def test_units_verify(self):
        r = self.verify_root()
        units = ["/lib/systemd/system/" + u for u in (
            "fieldd.service", "fieldd-poweroff.path",
            "fieldd-poweroff.service", "collectord.service")]
        p = sh("systemd-analyze", "verify", "--root=" + r, *units,
               check=False)
        # Unknown keys and bad values are only warnings to systemd.
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))
        # And it does look: without the link, fieldd's ExecStart is not
        # there.
        os.rename(os.path.join(r, "usr/lib/fieldd/current"),
                  os.path.join(r, "current.away"))
        try:
            p = sh("systemd-analyze", "verify", "--root=" + r, units[0],
                   check=False)
            self.assertIn("/usr/lib/fieldd/current/fieldd", p.stderr)
        finally:
            os.rename(os.path.join(r, "current.away"),
                      os.path.join(r, "usr/lib/fieldd/current"))

    def test_units_hardening(self):
        r = self.verify_root()
        unit = read(os.path.join(r, "lib/systemd/system/fieldd.service"))
        for line in ("Type=notify", "WatchdogSec=30", "NotifyAccess=main",
                     "User=fieldd", "ProtectSystem=strict",
                     "NoNewPrivileges=yes", "CapabilityBoundingSet=\n",
                     "ConditionPathExists=/var/lib/fieldd/device.db",
                     "RuntimeDirectory=fieldd", "StateDirectory=fieldd",
                     "LimitCORE=0", "MemoryMax=64M",
                     "ExecStart=/usr/lib/fieldd/current/fieldd -d "
                     "/var/lib/fieldd -c /etc/fieldd/fieldd.conf"):
            self.assertIn(line, unit)
        path = read(os.path.join(
            r, "lib/systemd/system/fieldd-poweroff.path"))
        self.assertIn("PathExists=/run/fieldd/ready-for-shutdown", path)
        for name, most in (("fieldd.service", 2.5),
                           ("collectord.service", 2.0)):
            p = sh("systemd-analyze", "security", "--offline=true",
                   "--root=" + r, "/lib/systemd/system/" + name)
            m = re.search(r"Overall exposure level for \S+: ([\d.]+)",
                          p.stdout)
            self.assertIsNotNone(m, p.stdout)
            self.assertLessEqual(float(m.group(1)), most, p.stdout)

    def test_journald_dropin(self):
        text = read(os.path.join(
            self.p["fieldd"]["x"],
            "usr/lib/systemd/journald.conf.d/fieldd.conf"))
        live = [l for l in text.splitlines() if l and l[0] not in "#;"]
        self.assertEqual(live[0], "[Journal]")
        kv = dict(l.split("=", 1) for l in live[1:])
        self.assertEqual(kv["Storage"], "volatile")
        self.assertIn("RuntimeMaxUse", kv)
        self.assertIn("SyncIntervalSec", kv)

    def test_fieldd_conf(self):
        """Every key the parser knows is documented; the file as shipped
        and with every default made live parses with the real fieldd."""
        src = read(os.path.join(ROOT, "daemon/config.c"))
        keys = set(re.findall(r'\{\s*"(\w+)",\s*(?:\d|offsetof)', src)) | \
            set(re.findall(r'strcmp\(key, "(\w+)"\)', src))
        self.assertIn("suppress_threshold", keys)
        text = read(os.path.join(self.p["fieldd"]["x"],
                                 "etc/fieldd/fieldd.conf"))
        self.assertEqual(conf_keys(text), keys)
        # board is set only as a key fieldd knows.
        self.assertIn("\nboard = linux\n", text)
        dev = fl.Device()
        try:
            conf = os.path.join(dev.root, "conf")
            # collector: an example, not a default.
            for body in (text, uncommented(text, skip=("collector",))):
                with open(conf, "w") as f:
                    f.write(body)
                dev.start("-c", conf)
                self.assertEqual(dev.stop(), 0)
            # ... and a bad value would have been refused.
            with open(conf, "w") as f:
                f.write(uncommented(text).replace(
                    "max_body_kb = 256", "max_body_kb = 0"))
            p = fl.run("fieldd", "-d", dev.dir, "-c", conf, check=False,
                       timeout=60)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("max_body_kb", p.stderr)
        finally:
            dev.cleanup()

    def test_collectord_conf(self):
        """Every key documented with the default collectctl init writes;
        shipped and made live, the real collectord starts with it."""
        src = read(os.path.join(ROOT, "collector/csrv.c"))
        keys = set(re.findall(r'strcmp\(key, "(\w+)"\)', src))
        text = read(os.path.join(self.p["collectord"]["x"],
                                 "etc/collectord/collectord.conf"))
        self.assertEqual(conf_keys(text), keys)
        import synclib
        c = synclib.Collector()
        try:
            init = read(os.path.join(c.dir, "collectord.conf"))
            # store's example names a database that is not here (the
            # PostgreSQL pass and test_migrate.py run collectord on one).
            live = uncommented(text, skip=("store",))
            for k, v in re.findall(r"^(\w+) = (.*)$", init, re.M):
                if k not in ("listen", "store"):   # --host, --store
                    self.assertIn("\n%s = %s\n" % (k, v), live)
            for body in (text, live):
                with open(os.path.join(c.dir, "collectord.conf"), "w") as f:
                    f.write(body)
                c.start("--http", "127.0.0.1:0")
                self.assertEqual(c.stop(), 0)
            with open(os.path.join(c.dir, "collectord.conf"), "w") as f:
                f.write(live.replace("max_conns = 256", "max_conns = 0"))
            p = fl.run("collectord", "-d", c.dir, check=False, timeout=60)
            self.assertEqual(p.returncode, 2)
            self.assertIn("max_conns", p.stderr)
        finally:
            c.cleanup()

    def test_lintian(self):
        p = sh("lintian", "--allow-root", "--fail-on", "error", "-I",
               self.p["fieldd"]["deb"], self.p["collectord"]["deb"],
               check=False, timeout=600)
        print(p.stdout, file=sys.stderr)
        self.assertNotRegex(p.stdout, r"(?m)^E: ")
        # every program has its manual page (docs/man/)
        self.assertNotIn("no-manual-page", p.stdout)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


CACHE = os.path.join(ROOT, "build", "chroot-cache")
RUNTIME = ("systemd adduser libsqlite3-0 libuv1 libmbedtls14 libmbedx509-1 "
           "libmbedcrypto7 libprotobuf-c1 libzstd1 libjansson4 "
           "libhttp-parser2.9 libcsv3 libexpat1 libsystemd0 "
           "libseccomp2").split()


@unittest.skipUnless(INSTALL, "a chroot install: make test-package-install")
class Install(unittest.TestCase):
    """dpkg -i into a minimal bookworm (debootstrap) with systemd and the
    runtime libraries, cached; no systemd running there (as in an image
    being built)."""

    @classmethod
    def setUpClass(cls):
        cls.p = build_packages()
        base = os.path.join(CACHE, "bookworm-" + ARCH)
        t0 = time.time()
        if not os.path.isfile(os.path.join(base, ".ready")):
            shutil.rmtree(base, ignore_errors=True)
            os.makedirs(os.path.join(CACHE, "debs"), exist_ok=True)
            sh("debootstrap", "--variant=minbase",
               "--cache-dir=" + os.path.join(CACHE, "debs"), "bookworm",
               base, "http://deb.debian.org/debian", timeout=1800)
            shutil.copy("/etc/resolv.conf", os.path.join(base, "etc"))
            sh("chroot", base, "apt-get", "update", "-q", timeout=600)
            sh("chroot", base, "apt-get", "install", "-y", "-q",
               "--no-install-recommends", *RUNTIME, timeout=1800,
               env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
            sh("chroot", base, "apt-get", "clean")
            open(os.path.join(base, ".ready"), "w").close()
        cls.r = os.path.join(cls.p["tmp"], "chroot")
        sh("cp", "-a", base, cls.r)
        sh("mount", "-t", "proc", "proc", os.path.join(cls.r, "proc"))
        print("chroot ready: %.1f s" % (time.time() - t0), file=sys.stderr)
        for name in ("fieldd", "collectord"):
            shutil.copy(cls.p[name]["deb"], os.path.join(cls.r, "tmp"))
        cls.debs = ["/tmp/" + os.path.basename(cls.p[n]["deb"])
                    for n in ("fieldd", "collectord")]

    @classmethod
    def tearDownClass(cls):
        sh("umount", os.path.join(cls.r, "proc"), check=False)
        shutil.rmtree(cls.r, ignore_errors=True)

    def ch(self, *cmd, check=True, timeout=120):
        return sh("chroot", self.r, *cmd, check=check, timeout=timeout)

    def path(self, p):
        return os.path.join(self.r, p.lstrip("/"))

    def test_install_use_remove_purge(self):
        p = self.ch("dpkg", "-i", *self.debs)
        self.assertIn("fieldctl -d /var/lib/fieldd init", p.stderr)
        for user in ("fieldd", "collectord"):
            pw = self.ch("getent", "passwd", user).stdout.split(":")
            self.assertEqual(pw[5], "/var/lib/" + user)
            st = os.stat(self.path("/var/lib/" + user))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o700)
            self.assertEqual(st.st_uid, int(pw[2]))
        self.assertEqual(os.readlink(self.path("/usr/lib/fieldd/current")),
                         "releases/" + VERSION)
        wants = os.listdir(self.path(
            "/etc/systemd/system/multi-user.target.wants"))
        for u in ("fieldd.service", "fieldd-poweroff.path",
                  "collectord.service"):
            self.assertIn(u, wants)
        # The packaged programs run there, with the packaged settings,
        # as their users, on folders provisioned the documented way.
        self.ch("runuser", "-u", "collectord", "--", "collectctl", "-d",
                "/var/lib/collectord", "init", "--host", "127.0.0.1")
        self.ch("cp", "/var/lib/collectord/seal.pub", "/tmp/seal.pub")
        self.ch("runuser", "-u", "fieldd", "--", "fieldctl", "-d",
                "/var/lib/fieldd", "init", "--collector-key",
                "/tmp/seal.pub", "--device-id", "dev-pkg")
        self.assertIn("dev-pkg", self.ch(
            "runuser", "-u", "fieldd", "--", "fieldctl", "-d",
            "/var/lib/fieldd", "status").stdout)
        log = self.path("/tmp/fieldd.log")
        with open(log, "w") as f:
            d = subprocess.Popen(
                # setpriv execs (runuser would stay as the parent).
                ["chroot", self.r, "setpriv", "--reuid=fieldd",
                 "--regid=fieldd", "--init-groups",
                 "/usr/lib/fieldd/current/fieldd", "-d", "/var/lib/fieldd",
                 "-c", "/etc/fieldd/fieldd.conf", "--listen",
                 "127.0.0.1:0"], stdout=f, stderr=f)
        try:
            import synclib
            synclib.wait_for_line(log, r"listening on http://127\.0\.0\.1:",
                                  d, "fieldd in the chroot")
        finally:
            d.terminate()
            self.assertEqual(d.wait(timeout=30), 0)
        # An update moved current on; reinstalling this version keeps it.
        newer = self.path("/usr/lib/fieldd/releases/99.0.0")
        shutil.copytree(self.path("/usr/lib/fieldd/releases/" + VERSION),
                        newer)
        os.remove(self.path("/usr/lib/fieldd/current"))
        os.symlink("releases/99.0.0", self.path("/usr/lib/fieldd/current"))
        self.ch("dpkg", "-i", self.debs[0])
        self.assertEqual(os.readlink(self.path("/usr/lib/fieldd/current")),
                         "releases/99.0.0")
        # remove keeps the data; purge deletes them, and says so.
        self.ch("dpkg", "-r", "fieldd", "collectord")
        self.assertTrue(os.path.exists(self.path("/var/lib/fieldd/device.db")))
        self.assertTrue(os.path.exists(self.path("/var/lib/collectord/ca.key")))
        self.assertFalse(os.path.lexists(self.path("/usr/bin/fieldctl")))
        p = self.ch("dpkg", "--purge", "fieldd", "collectord")
        self.assertIn("deleting /var/lib/fieldd", p.stderr)
        self.assertIn("deleting /var/lib/collectord", p.stderr)
        for gone in ("/var/lib/fieldd", "/var/lib/collectord",
                     "/usr/lib/fieldd", "/etc/fieldd", "/etc/collectord",
                     "/etc/systemd/system/multi-user.target.wants/"
                     "fieldd.service"):
            self.assertFalse(os.path.lexists(self.path(gone)), gone)


if __name__ == "__main__":
    fl.main()
