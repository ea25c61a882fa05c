"""Every program's command line (common/cli.h): --help and -h print the
usage on stdout and exit 0, --version prints the release in VERSION, a
command's --help its usage; an unknown option or command, or a missing
argument, is named in the first line on stderr, exit 2.  And each
program's manual page (docs/man/, built into BIN/man) renders."""
import os
import shutil
import subprocess
import tempfile
import unittest

import fieldlib as fl

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
with open(os.path.join(ROOT, "VERSION")) as _f:
    VERSION = _f.read().strip()

# program: (arguments before a command, a command, its man page)
PROGRAMS = {
    "fieldd": ([], None, "fieldd.8"),
    "fieldctl": (["-d", "DATADIR"], "sync", "fieldctl.8"),
    "collectord": ([], None, "collectord.8"),
    "collectctl": (["-d", "CDIR"], "devices", "collectctl.8"),
    "fieldrelease": ([], "keygen", "fieldrelease.1"),
}
PAGES = ["fieldd.8", "fieldctl.8", "fieldd.conf.5", "collectord.8",
         "collectctl.8", "collectord.conf.5", "fieldrelease.1"]


class Help(unittest.TestCase):

    def setUp(self):
        # nothing here may touch a data directory: DATADIR and CDIR do
        # not exist, in a folder that is removed afterwards
        self.tmp = tempfile.mkdtemp(prefix="fieldtest.")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def run_(self, prog, *args):
        args = [a if a not in ("DATADIR", "CDIR") else
                os.path.join(self.tmp, a) for a in args]
        return fl.run(prog, *args, check=False, timeout=60)

    def test_help(self):
        for prog in PROGRAMS:
            for opt in ("--help", "-h"):
                with self.subTest(prog=prog, opt=opt):
                    p = self.run_(prog, opt)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    self.assertTrue(p.stdout.startswith("usage: " + prog),
                                    p.stdout)
                    self.assertEqual(p.stderr, "")

    def test_version(self):
        for prog in PROGRAMS:
            with self.subTest(prog=prog):
                p = self.run_(prog, "--version")
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(p.stdout, "%s %s\n" % (prog, VERSION))

    def first_err(self, p):
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertEqual(p.stdout, "")
        lines = p.stderr.splitlines()
        self.assertGreaterEqual(len(lines), 2, p.stderr)
        # a short hint, not the whole usage
        self.assertLessEqual(len(lines), 4, p.stderr)
        self.assertTrue(lines[1].startswith("usage: "), p.stderr)
        return lines[0]

    def test_unknown_option(self):
        for prog, (pre, cmd, _) in PROGRAMS.items():
            with self.subTest(prog=prog):
                line = self.first_err(self.run_(prog, "--frob"))
                self.assertEqual(line, "%s: unknown option '--frob'" % prog)
                line = self.first_err(self.run_(prog, "-Q"))
                self.assertEqual(line, "%s: unknown option '-Q'" % prog)
            if cmd:
                with self.subTest(prog=prog, cmd=cmd):
                    p = self.run_(prog, *pre, cmd, "--frob")
                    line = self.first_err(p)
                    self.assertEqual(line, "%s: unknown option '--frob' "
                                     "for %s" % (prog, cmd))
                    self.assertIn(cmd, p.stderr.splitlines()[1])

    def test_unknown_command(self):
        for prog, (pre, cmd, _) in PROGRAMS.items():
            with self.subTest(prog=prog):
                line = self.first_err(self.run_(prog, *pre, "frobnicate"))
                if cmd:
                    self.assertEqual(line, "%s: unknown command "
                                     "'frobnicate'" % prog)
                else:   # a daemon takes no operands
                    self.assertEqual(line, "%s: unexpected argument "
                                     "'frobnicate'" % prog)

    def test_command_help(self):
        for prog, (pre, cmd, _) in PROGRAMS.items():
            if not cmd:
                continue
            for opt in ("--help", "-h"):
                with self.subTest(prog=prog, cmd=cmd, opt=opt):
                    p = self.run_(prog, *pre, cmd, opt)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    self.assertTrue(p.stdout.startswith("usage: %s " % prog),
                                    p.stdout)
                    self.assertIn(" %s" % cmd, p.stdout.splitlines()[0])
        # without -d too, and the data directory is never made
        p = self.run_("fieldctl", "user", "--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("user add NAME", p.stdout)
        self.assertEqual(os.listdir(self.tmp), [])

    def test_missing_argument(self):
        cases = [
            (("fieldd",), "fieldd: missing -d DATADIR"),
            (("fieldd", "-d"), "fieldd: option '-d' needs a value"),
            (("collectord",), "collectord: missing -d CDIR"),
            (("fieldctl", "-d", "DATADIR", "user", "add"),
             "fieldctl: user add needs NAME"),
            (("fieldctl", "-d", "DATADIR", "submit"),
             "fieldctl: submit needs FORM_ID"),
            (("fieldctl", "sync"), "fieldctl: sync needs -d DATADIR"),
            (("fieldctl", "-d", "DATADIR", "init"),
             "fieldctl: init needs --collector-key FILE"),
            (("fieldctl", "-d", "DATADIR", "sync", "--attempts"),
             "fieldctl: option '--attempts' for sync needs a value"),
            (("fieldctl", "update", "verify"),
             "fieldctl: update verify needs BUNDLE"),
            (("fieldctl",), "fieldctl: no command given"),
            (("collectctl", "-d", "CDIR", "revoke"),
             "collectctl: revoke needs DEVICE"),
            (("collectctl", "-d", "CDIR", "counts"),
             "collectctl: counts needs --form F"),
            (("collectctl", "-d", "CDIR", "coordinator", "add"),
             "collectctl: coordinator add needs NAME"),
            (("collectctl", "devices"), "collectctl: devices needs -d CDIR"),
            (("fieldrelease", "keygen", "a.key"),
             "fieldrelease: keygen needs OUT.key and OUT.pub"),
            (("fieldrelease", "bundle"),
             "fieldrelease: bundle needs --key KEY, --version V, --arch A "
             "and --out FILE"),
        ]
        for args, want in cases:
            with self.subTest(args=args):
                self.assertEqual(self.first_err(self.run_(*args)), want)
        self.assertEqual(os.listdir(self.tmp), [])

    def test_man_pages(self):
        man = os.path.join(fl.BIN, "man")
        for page in PAGES:
            with self.subTest(page=page):
                path = os.path.join(man, page)
                with open(path) as f:
                    text = f.read()
                self.assertTrue(text.startswith(".\\\" Generated by scdoc"),
                                text[:80])
                name, sect = page.rsplit(".", 1)
                self.assertIn(".TH \"%s\" \"%s\"" % (name, sect), text)
                if shutil.which("man"):
                    p = subprocess.run(["man", "-l", path],
                                       capture_output=True, text=True,
                                       env=dict(os.environ, MANWIDTH="80",
                                                MAN_KEEP_FORMATTING=""),
                                       timeout=60)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    self.assertIn("NAME", p.stdout)
        # every option a daemon's --help names is in its page
        for prog in ("fieldd", "collectord"):
            with open(os.path.join(man, PROGRAMS[prog][2])) as f:
                page = f.read().replace("\\-", "-")
            for word in self.run_(prog, "--help").stdout.split():
                if word.startswith("-") and len(word) > 1:
                    self.assertIn(word.strip("[],"), page, prog)

    def test_conf_pages_name_every_key(self):
        """fieldd.conf(5) and collectord.conf(5) document every key of the
        shipped configuration files, with the same defaults."""
        import re
        for page, conf in (("fieldd.conf.5", "firmware/etc/fieldd.conf"),
                           ("collectord.conf.5",
                            "firmware/etc/collectord.conf")):
            with open(os.path.join(ROOT, "docs/man", page + ".scd")) as f:
                scd = f.read()
            with open(os.path.join(ROOT, conf)) as f:
                shipped = f.read()
            for key, val in re.findall(r"^(?:# )?(\w+) = ?(.*)$", shipped,
                                       re.M):
                with self.subTest(page=page, key=key):
                    m = re.search(r"^\*%s\* = .*\n((?:\t.*\n)+)" % key, scd,
                                  re.M)
                    self.assertIsNotNone(m, key)
                    if key in ("collector", "store", "http_listen") or \
                            val == "":
                        continue   # examples, not defaults; or empty
                    # the text without scdoc's * and _ around words
                    text = re.sub(r"(?<!\w)[*_]|[*_](?!\w)", "",
                                  re.sub(r"\s+", " ", m.group(1)))
                    self.assertRegex(text, r"Default: %s[.,]" % re.escape(val),
                                     key)


if __name__ == "__main__":
    fl.main()
