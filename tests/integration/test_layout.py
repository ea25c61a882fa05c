"""The tree says who links what, and the binaries keep to it.

- collector/open/ holds every file that opens a sealed record or writes
  the private sealing key: no function defined there may be in fieldd,
  fieldctl or collectord, and collectctl must have them.
- The same for the other rooms one program family owns: daemon/ (the
  board's programs) is not in collectord, collector/ is not in fieldd or
  fieldctl.
- Every source folder's README.md names each of its files, so a reader
  can tell from the tree alone which programs link a file.
- No two library sources share a base name (the static library keeps
  members by base name: one would silently replace the other).
- Nothing in the tree points outside it.
"""
import os
import re
import subprocess
import unittest

import fieldlib as fl

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
SOURCE_DIRS = ["common", "form", "sync", "http", "daemon", "collector",
               "collector/open", "analysis", "board", "firmware", "proto",
               "tools", "bench", "web"]
LIB_DIRS = ["common", "form", "sync", "http", "daemon", "collector",
            "collector/open", "analysis", "board", "firmware"]


def defined(path):
    """Global functions and data a binary or object defines."""
    out = subprocess.run(["nm", "--defined-only", "-g", path],
                         capture_output=True, text=True, check=True).stdout
    return {line.split()[-1] for line in out.splitlines()
            if len(line.split()) == 3 and line.split()[1] in "TDBR"}


def objects(folder):
    d = os.path.join(fl.BIN, "obj", folder)
    srcs = [f for f in os.listdir(os.path.join(ROOT, folder))
            if f.endswith(".c")]
    return [os.path.join(d, f[:-2] + ".o") for f in srcs]


class Layout(unittest.TestCase):

    def symbols_of(self, folder, skip=()):
        syms = set()
        for o in objects(folder):
            if os.path.basename(o)[:-2] in skip:
                continue
            self.assertTrue(os.path.exists(o), o + " not built")
            syms |= defined(o)
        self.assertTrue(syms, folder)
        return syms

    def test_only_collectctl_opens_records(self):
        opener = self.symbols_of("collector/open")
        for prog in ("fieldd", "fieldctl", "collectord"):
            got = opener & defined(os.path.join(fl.BIN, prog))
            self.assertEqual(got, set(), prog + " links collector/open/")
        have = defined(os.path.join(fl.BIN, "collectctl"))
        self.assertEqual(opener - have, set(),
                         "collectctl lacks collector/open/")

    def test_rooms_keep_to_their_programs(self):
        # The board's own code is not in the collector's daemon, and the
        # collector's is not on the board.  (collectctl reads a device's
        # database with daemon/store.c: `collectctl open DBFILE`.)
        device = self.symbols_of("daemon", skip=("fieldd", "fieldctl"))
        collector = self.symbols_of("collector",
                                    skip=("collectord", "collectctl"))
        self.assertEqual(device & defined(os.path.join(fl.BIN,
                                                       "collectord")), set())
        for prog in ("fieldd", "fieldctl"):
            self.assertEqual(collector & defined(os.path.join(fl.BIN, prog)),
                             set(), prog + " links collector/")

    def test_readmes_name_every_file(self):
        for folder in SOURCE_DIRS:
            readme = os.path.join(ROOT, folder, "README.md")
            self.assertTrue(os.path.exists(readme), readme)
            text = open(readme, encoding="utf-8").read()
            for f in sorted(os.listdir(os.path.join(ROOT, folder))):
                if f == "README.md" or f.startswith("."):
                    continue
                if os.path.isdir(os.path.join(ROOT, folder, f)):
                    f += "/"
                self.assertIn(f, text, "%s/README.md does not name %s"
                              % (folder, f))

    def test_no_two_library_sources_share_a_name(self):
        seen = {}
        for folder in LIB_DIRS:
            for f in os.listdir(os.path.join(ROOT, folder)):
                if f.endswith(".c"):
                    self.assertNotIn(f, seen, "%s/%s and %s/%s" %
                                     (folder, f, seen.get(f), f))
                    seen[f] = folder

    def test_nothing_points_outside_the_tree(self):
        files = subprocess.run(["git", "ls-files"], cwd=ROOT,
                               capture_output=True, text=True).stdout.split()
        if not files:
            self.skipTest("not a git checkout")
        bad = []
        for f in files:
            p = os.path.join(ROOT, f)
            if f.startswith("tests/fuzz/corpus/") or not os.path.isfile(p):
                continue
            try:
                text = open(p, encoding="utf-8").read()
            except (UnicodeDecodeError, OSError):
                continue
            if re.search(r"\.\./shared\b", text):
                bad.append(f)
        self.assertEqual(bad, [])


if __name__ == "__main__":
    fl.main()
