"""What the browser tests share: Debian's chromium driven by
playwright-core from npm (tests/browser), installed by the test when
missing, and a folder for screenshots.  A missing tool is a failure that
says what to install, never a skip."""
import os
import re
import shutil
import subprocess

import fieldlib as fl

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BROWSER = os.path.join(ROOT, "tests", "browser")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def artefacts_dir(name):
    """$TEST_ARTEFACTS/name, or build/artefacts/name."""
    base = os.environ.get("TEST_ARTEFACTS") or os.path.join(
        ROOT, "build", "artefacts")
    d = os.path.join(base, name)
    os.makedirs(d, exist_ok=True)
    return d


def need_browser_tools(what):
    """node, npm and chromium, and playwright-core installed; an
    AssertionError that says what is missing otherwise."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise AssertionError("%s is missing: the %s test needs Node.js "
                                 ">= 20 and npm" % (tool, what))
    v = subprocess.run(["node", "--version"], capture_output=True,
                       text=True).stdout.strip()
    m = re.match(r"v(\d+)", v)
    if not m or int(m.group(1)) < 20:
        raise AssertionError("node %s is too old: playwright-core needs "
                             ">= 20" % v)
    if not os.access(CHROMIUM, os.X_OK):
        raise AssertionError(
            "%s is missing: install Debian's chromium (sh tools/deps.sh, "
            "or apt-get install chromium)" % CHROMIUM)
    fl.npm_ready(BROWSER, "playwright-core")
