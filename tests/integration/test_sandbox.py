"""Both daemons serve under their system call allow-list
(common/sandbox.h): after start-up /proc says seccomp filter mode with
no_new_privs, and serving, SIGHUP, sync and a clean stop all work under
it (the other integration tests run under it too).  FIELD_SANDBOX=off
skips it and says so."""
import os
import signal
import time
import unittest

import fieldlib as fl
import synclib as sl


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


class Sandbox(unittest.TestCase):

    def assert_sandboxed(self, pid):
        st = proc_status(pid)
        self.assertEqual(st["Seccomp"], "2")      # filter mode
        self.assertEqual(st["NoNewPrivs"], "1")

    def test_fieldd(self):
        dev = fl.Device()
        try:
            dev.start()
            self.assert_sandboxed(dev.proc.pid)
            st, _, _ = dev.submit("dtm_site_assessment",
                                  fl.site_assessment())
            self.assertEqual(st, 201)
            dev.proc.send_signal(signal.SIGHUP)
            time.sleep(0.3)
            st, _, _ = dev.request("GET", "/api/status")
            self.assertEqual(st, 200)
            self.assertEqual(dev.stop(), 0)
            # the debugging switch
            os.environ["FIELD_SANDBOX"] = "off"
            try:
                dev.start()
            finally:
                del os.environ["FIELD_SANDBOX"]
            self.assertEqual(proc_status(dev.proc.pid)["Seccomp"], "0")
            self.assertIn("FIELD_SANDBOX=off", dev.log())
            self.assertEqual(dev.stop(), 0)
        finally:
            dev.cleanup()

    def test_collectord(self):
        c = sl.Collector()
        try:
            c.start()
            self.assert_sandboxed(c.proc.pid)
            d = sl.SyncDevice(c, "board-1")
            d.bulk(3)
            self.assertEqual(d.sync().returncode, 0)
            c.proc.send_signal(signal.SIGHUP)
            time.sleep(0.3)
            self.assertTrue(c.alive())
            self.assertEqual(d.sync().returncode, 0)
            self.assertEqual(len(c.open_records()), 3)
            self.assertEqual(c.stop(), 0)
        finally:
            c.cleanup()


if __name__ == "__main__":
    fl.main()
