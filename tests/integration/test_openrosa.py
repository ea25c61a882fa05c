"""OpenRosa on a real fieldd, driven with curl as ODK Collect drives it:
the form list and XForms with Digest auth, HEAD then a multipart POST of
instances built from the XForms' own templates, the records found sealed
with the submitted values; then every bad input refused with a clear
OpenRosa message and nothing written (malformed multipart and XML, an XML
bomb, an external entity, DOCTYPEs, deep nesting, unknown forms and
versions, a value that breaks a rule), resubmissions not counted twice,
nonce replays refused, wrong PINs answered 401 and then locked out (429),
X-OpenRosa-Version on every answer and no submitted value in any."""
import hashlib
import json
import os
import re
import subprocess
import tempfile
import unittest
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import fieldlib as fl

USER = "enumerator-1"
PIN = "2468"
NS = {"h": "http://www.w3.org/1999/xhtml",
      "x": "http://www.w3.org/2002/xforms",
      "jr": "http://openrosa.org/javarosa",
      "l": "http://openrosa.org/xforms/xformsList",
      "r": "http://openrosa.org/http/response"}
JR_TEMPLATE = "{http://openrosa.org/javarosa}template"
FORMS = ("dtm_household", "dtm_site_assessment", "mrc_visit")

# Values that must never come back in any answer.
SECRETS = ("Amina Test", "SECRET-NOTE", "lowercase-secret", "777777",
           "root:x:0:0")


def local(tag):
    return tag.split("}")[-1]


def set_pin(dev, name, pin):
    dev.ctl("user", "pin", name, input=pin + "\n")


class Curl:
    """curl against one fieldd; remembers every answer for the privacy
    check."""

    def __init__(self, dev):
        self.dev = dev
        self.tmp = tempfile.mkdtemp(prefix="orcurl.", dir=dev.root)
        self.bodies = []

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.dev.port, path)

    def __call__(self, *args, auth="digest", user=USER, pin=PIN,
                 path="/formList"):
        hdr = os.path.join(self.tmp, "h")
        body = os.path.join(self.tmp, "b")
        for f in (hdr, body):
            if os.path.exists(f):
                os.unlink(f)
        cmd = ["curl", "-sS", "--max-time", "30",
               "-H", "X-OpenRosa-Version: 1.0", "-D", hdr, "-o", body,
               "-w", "%{http_code}"]
        if auth == "digest":
            cmd += ["--digest", "-u", "%s:%s" % (user, pin)]
        elif auth == "bearer":
            cmd += ["-H", "Authorization: Bearer " + self.dev.token]
        cmd += list(args) + [self.url(path) if path.startswith("/")
                             else path]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
        if p.returncode != 0:
            raise AssertionError("curl failed: %s %s" % (cmd, p.stderr))
        with open(hdr, "rb") as f:
            raw = f.read().decode("latin-1")
        data = b""
        if os.path.exists(body):
            with open(body, "rb") as f:
                data = f.read()
        blocks = [b for b in raw.split("\r\n\r\n") if b.startswith("HTTP/")]
        heads = []
        for b in blocks:
            h = {}
            for line in b.split("\r\n")[1:]:
                k, _, v = line.partition(":")
                h.setdefault(k.strip().lower(), v.strip())
            heads.append(h)
        self.bodies.append(raw.encode("latin-1") + data)
        return int(p.stdout), data, heads[-1], heads


def message(body):
    """The text of an OpenRosaResponse."""
    root = ET.fromstring(body)
    assert local(root.tag) == "OpenRosaResponse", body
    return root.find("r:message", NS).text or ""


def instance_xml(xform, values, instance_id):
    """An instance as Collect would fill it in from the XForm's template:
    values by field name (repeats as lists of dicts, select_multiple as
    lists, geopoints as dicts)."""
    root = ET.fromstring(xform)
    data = root.find("h:head/x:model/x:instance", NS)[0]

    def elem(name, v):
        if v is None:
            return "<%s/>" % name
        if isinstance(v, list):
            v = " ".join(v)
        elif isinstance(v, dict):
            v = "%s %s %s %s" % (v["latitude"], v["longitude"],
                                 v.get("altitude", 0), v.get("accuracy", 0))
        return "<%s>%s</%s>" % (name, escape(str(v)), name)

    out = ['<?xml version="1.0" ?><%s xmlns:jr="http://openrosa.org/'
           'javarosa" xmlns:orx="http://openrosa.org/xforms" id="%s" '
           'version="%s">' % (local(data.tag), data.get("id"),
                              data.get("version"))]
    for child in data:
        name = local(child.tag)
        if name == "meta":
            out.append("<orx:meta><orx:instanceID>%s</orx:instanceID>"
                       "</orx:meta>" % instance_id)
        elif child.get(JR_TEMPLATE) is not None:
            for item in values.get(name, []):
                out.append("<%s>" % name)
                out.extend(elem(local(g.tag), item.get(local(g.tag)))
                           for g in child)
                out.append("</%s>" % name)
        else:
            out.append(elem(name, values.get(name)))
    out.append("</%s>" % local(data.tag))
    return "".join(out)


class OpenRosa(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dev = fl.Device()
        set_pin(cls.dev, USER, PIN)
        cls.dev.start()
        cls.curl = Curl(cls.dev)
        cls.xforms = {}

    @classmethod
    def tearDownClass(cls):
        try:
            for b in cls.curl.bodies:
                for s in SECRETS:
                    assert s.encode() not in b, \
                        "an answer holds a submitted value: %r in %r" % (
                            s, b)
        finally:
            rc = cls.dev.stop()
            cls.dev.cleanup()
        assert rc == 0, "fieldd did not stop cleanly: %r" % rc

    def records(self):
        return self.dev.status()["records"]

    def xform(self, form):
        if form not in self.xforms:
            st, body, _, _ = self.curl(path="/forms/%s.xml" % form)
            self.assertEqual(st, 200)
            self.xforms[form] = body
        return self.xforms[form]

    def post(self, xml, *extra, **kw):
        path = os.path.join(self.curl.tmp, "instance.xml")
        with open(path, "w") as f:
            f.write(xml)
        return self.curl("-F", "xml_submission_file=@%s;type=text/xml" %
                         path, *extra, path="/submission", **kw)

    def assert_openrosa(self, heads):
        for h in heads:
            self.assertEqual(h.get("x-openrosa-version"), "1.0", h)
            self.assertIn("GMT", h.get("date", ""))

    def assert_refused(self, status, want, xml=None, raw=None, ctype=None):
        """Posts xml (as curl -F) or raw bytes; asserts status, a message
        holding want, and nothing written."""
        before = self.records()
        if xml is not None:
            st, body, h, heads = self.post(xml)
        else:
            path = os.path.join(self.curl.tmp, "raw")
            with open(path, "wb") as f:
                f.write(raw)
            st, body, h, heads = self.curl(
                "-H", "Content-Type: " + ctype, "--data-binary", "@" + path,
                path="/submission")
        self.assertEqual(st, status, body)
        self.assert_openrosa(heads)
        text = message(body)
        self.assertIn(want, text)
        self.assertEqual(self.records(), before, "a refused instance wrote")
        return text

    # The sequence Collect goes through.

    def test_1_form_list_and_xforms(self):
        st, body, h, heads = self.curl()
        self.assertEqual(st, 200, body)
        self.assert_openrosa(heads)
        self.assertEqual(len(heads), 2, "no Digest challenge first")
        self.assertIn('Digest realm="fieldd"', heads[0]["www-authenticate"])
        self.assertIn('qop="auth"', heads[0]["www-authenticate"])
        self.assertTrue(h["content-type"].startswith("text/xml"))
        root = ET.fromstring(body)
        self.assertEqual(root.tag, "{%s}xforms" % NS["l"])
        listed = {x.find("l:formID", NS).text: x
                  for x in root.findall("l:xform", NS)}
        self.assertEqual(sorted(listed), sorted(FORMS))
        for form, x in listed.items():
            self.assertEqual(x.find("l:version", NS).text, "2026.11.1")
            self.assertTrue(x.find("l:name", NS).text)
            url = x.find("l:downloadUrl", NS).text
            self.assertEqual(url, self.curl.url("/forms/%s.xml" % form))
            st, xf, _, heads = self.curl(path=url)
            self.assertEqual(st, 200)
            self.assert_openrosa(heads)
            self.assertEqual(x.find("l:hash", NS).text,
                             "md5:" + hashlib.md5(xf).hexdigest())
            self.xforms[form] = xf
            self.check_xform(form, xf)
        st, body, _, _ = self.curl("-G", "-d", "formID=mrc_visit")
        self.assertEqual(st, 200)
        self.assertEqual([e.text for e in ET.fromstring(body).iter(
            "{%s}formID" % NS["l"])], ["mrc_visit"])
        st, body, _, heads = self.curl(path="/forms/nope.xml")
        self.assertEqual(st, 404)
        self.assert_openrosa(heads)
        self.assertIn("no such form", message(body))

    def check_xform(self, form, xf):
        root = ET.fromstring(xf)             # well formed
        self.assertEqual(root.tag, "{%s}html" % NS["h"])
        model = root.find("h:head/x:model", NS)
        langs = [t.get("lang") for t in
                 model.findall("x:itext/x:translation", NS)]
        want = ["English", "Français"] + (["العربية"]
                                           if form == "mrc_visit" else [])
        self.assertEqual(langs, want)
        ids = None
        for t in model.findall("x:itext/x:translation", NS):
            got = [x.get("id") for x in t.findall("x:text", NS)]
            self.assertEqual(got, ids or got, "a text missing in a language")
            ids = got
            for x in t.findall("x:text", NS):
                self.assertTrue(x.find("x:value", NS).text)
        data = model.find("x:instance", NS)[0]
        self.assertEqual(data.get("id"), form)
        self.assertEqual(data.get("version"), "2026.11.1")
        binds = {b.get("nodeset"): b for b in model.findall("x:bind", NS)}
        iid = binds["/%s/meta/instanceID" % form]
        self.assertEqual(iid.get("{%s}preload" % NS["jr"]), "uid")
        self.assertEqual(binds["/%s/visit_date" % form if form ==
                               "mrc_visit" else "/%s/site_id" % form]
                         .get("required"), "true()")
        for b in binds.values():
            if b.get("constraint"):
                self.assertNotIn("${", b.get("constraint"))
                self.assertNotIn("count-if", b.get("constraint"))
        for ref in root.iter():
            r = ref.get("ref", "")
            m = re.match(r"jr:itext\('(.*)'\)$", r)
            if m:
                self.assertIn(m.group(1), ids, "a label without its text")
        if form == "dtm_household":
            self.assertEqual(data.find("x:members", NS).get(JR_TEMPLATE), "")
            rep = root.find("h:body/x:group/x:repeat", NS)
            self.assertEqual(rep.get("nodeset"), "/dtm_household/members")
            self.assertEqual(binds["/dtm_household/head_name"]
                             .get("relevant"),
                             "/dtm_household/consent = 'yes'")
            # the repeat's rules, which no ODK engine checks on a repeat,
            # on a check beside it: relevant when broken, then required
            # and never met
            check = binds["/dtm_household/_check_members"]
            self.assertIn("count(/dtm_household/members[relationship = "
                          "'head']) = 1", check.get("relevant"))
            self.assertIn("count(/dtm_household/members) &gt;= 1"
                          .replace("&gt;", ">"), check.get("relevant"))
            self.assertEqual(check.get("required"), "true()")
            self.assertEqual(check.get("constraint"), "false()")
            self.assertIsNone(binds.get("/dtm_household/members"))
            self.assertEqual(binds["/dtm_household/members/age_years"]
                             .get("type"), "int")
            msg = binds["/dtm_household/members/age_years"].get(
                "{%s}constraintMsg" % NS["jr"])
            self.assertEqual(msg, "jr:itext('/dtm_household/members/"
                             "age_years:constraintMsg')")
        if form == "mrc_visit":
            self.assertEqual(binds["/mrc_visit/centre_id"]
                             .get("constraint"),
                             "regex(., '^(?:[A-Z0-9-]{3,32})$')")
            self.assertIsNotNone(root.find("h:body/x:select[@ref="
                                           "'/mrc_visit/reasons']", NS))
        if form == "dtm_site_assessment":
            self.assertEqual(binds["/dtm_site_assessment/location"]
                             .get("type"), "geopoint")

    def test_2_submit_each_form(self):
        site = fl.site_assessment()
        site["location"] = {"latitude": 4.85, "longitude": 31.6,
                            "altitude": 410.5, "accuracy": 12.5}
        mrc = fl.mrc_visit()
        mrc["notes"] = "SECRET-NOTE"
        sent = {}
        st, body, h, heads = self.curl("-I", path="/submission")
        self.assertEqual(st, 204)
        self.assert_openrosa(heads)
        self.assertEqual(h["x-openrosa-accept-content-length"],
                         str(256 * 1024))
        for form, rec in (("dtm_household", fl.household()),
                          ("dtm_site_assessment", site),
                          ("mrc_visit", mrc)):
            iid = str(uuid.uuid4())
            before = self.records()
            st, body, h, heads = self.post(instance_xml(
                self.xform(form), rec, "uuid:" + iid))
            self.assertEqual(st, 201, body)
            self.assert_openrosa(heads)
            self.assertIn("stored", message(body))
            self.assertEqual(self.records(), before + 1)
            sent[iid] = (form, rec)
        opened = {r["_id"]: r for r in self.dev.open_records()}
        for iid, (form, rec) in sent.items():
            r = opened[iid]
            self.assertEqual(r["_form"], form)
            self.assertEqual(r["_version"], "2026.11.1")
            for k, v in rec.items():
                self.assertEqual(r[k], v, k)
            extra = set(k for k in r if not k.startswith("_")) - set(rec)
            self.assertEqual(extra, set(), "fields not submitted")

    def test_3_resubmission_is_not_a_second_record(self):
        iid = "uuid:" + str(uuid.uuid4())
        xml = instance_xml(self.xform("mrc_visit"), fl.mrc_visit(), iid)
        st, body, _, _ = self.post(xml)
        self.assertEqual(st, 201, body)
        n = self.records()
        for _ in range(2):
            st, body, _, heads = self.post(xml)
            self.assertEqual(st, 202, body)
            self.assert_openrosa(heads)
            self.assertIn("already stored", message(body))
            self.assertEqual(self.records(), n)
        ids = [r["_id"] for r in self.dev.open_records()]
        self.assertEqual(ids.count(iid[5:]), 1)

    # Bad inputs: a clear answer, nothing written.

    def good_xml(self, **over):
        rec = fl.mrc_visit()
        rec.update(over)
        return instance_xml(self.xform("mrc_visit"), rec,
                            "uuid:" + str(uuid.uuid4()))

    def test_4_bad_multipart(self):
        xml = self.good_xml().encode()
        b = "XyZzy"
        part = (b"--" + b.encode() + b"\r\nContent-Disposition: form-data; "
                b"name=\"xml_submission_file\"\r\n\r\n" + xml)
        t = self.assert_refused(400, "no boundary after the part's data",
                                raw=part, ctype="multipart/form-data; "
                                "boundary=" + b)
        self.assertIn("byte 71", t)
        self.assert_refused(400, "a bare LF", raw=part.replace(
            b"\r\n\r\n", b"\n\r\n", 1) + b"\r\n--XyZzy--",
            ctype="multipart/form-data; boundary=" + b)
        self.assert_refused(400, "byte 0: the body must begin",
                            raw=b"junk\r\n" + part + b"\r\n--XyZzy--",
                            ctype="multipart/form-data; boundary=" + b)
        self.assert_refused(400, "no boundary parameter", raw=part,
                            ctype="multipart/form-data")
        self.assert_refused(415, "multipart/form-data", raw=xml,
                            ctype="text/xml")
        # an attachment: refused, with the rule
        path = os.path.join(self.curl.tmp, "photo.jpg")
        with open(path, "wb") as f:
            f.write(b"\xff\xd8\xff\xe0 not really")
        before = self.records()
        with open(os.path.join(self.curl.tmp, "i.xml"), "wb") as f:
            f.write(xml)
        st, body, _, heads = self.curl(
            "-F", "xml_submission_file=@%s;type=text/xml" %
            os.path.join(self.curl.tmp, "i.xml"),
            "-F", "photo.jpg=@%s;type=image/jpeg" % path, path="/submission")
        self.assertEqual(st, 400)
        self.assertIn("takes no attachments", message(body))
        self.assertIn("part 2", message(body))
        self.assertEqual(self.records(), before)
        # no xml_submission_file at all
        self.assert_refused(400, "not xml_submission_file", raw=(
            b"--XyZzy\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n"
            + xml + b"\r\n--XyZzy--\r\n"),
            ctype="multipart/form-data; boundary=XyZzy")

    def test_5_bad_xml(self):
        self.assert_refused(400, "malformed XML: mismatched tag (line 1",
                            xml='<d id="mrc_visit"><notes>x</d>')
        self.assert_refused(400, "malformed XML: no element found",
                            xml=self.good_xml().rsplit("<", 1)[0])
        bomb = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n'
                ' <!ENTITY lol "lol">\n' +
                "".join(' <!ENTITY lol%d "%s">\n' % (
                    i, ("&lol%s;" % (i - 1 if i > 1 else "")) * 10)
                    for i in range(1, 10)) +
                ']>\n<mrc_visit id="mrc_visit"><notes>&lol9;</notes>'
                '</mrc_visit>')
        t = self.assert_refused(400, "a DOCTYPE is not accepted", xml=bomb)
        self.assertIn("line 2", t)
        t = self.assert_refused(400, "a DOCTYPE is not accepted", xml=(
            '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM '
            '"file:///etc/passwd">]><mrc_visit id="mrc_visit"><notes>&xxe;'
            '</notes></mrc_visit>'))
        self.assert_refused(400, "a DOCTYPE is not accepted", xml=(
            '<!DOCTYPE mrc_visit><mrc_visit id="mrc_visit"/>'))
        self.assert_refused(400, "undefined entity", xml=(
            '<mrc_visit id="mrc_visit"><notes>&xxe;</notes></mrc_visit>'))
        self.assert_refused(400, "nested deeper than 32 levels", xml=(
            '<mrc_visit id="mrc_visit">' + "<x>" * 50 + "</x>" * 50 +
            "</mrc_visit>"))
        self.assert_refused(400, "more than 10000 elements", xml=(
            '<mrc_visit id="mrc_visit"><meta>' + "<y/>" * 10000 +
            "</meta></mrc_visit>"))
        self.assert_refused(400, "notes: longer than 2000 bytes",
                            xml=self.good_xml(notes="SECRET-NOTE" * 200))
        self.assert_refused(400, "meta.instanceID: must be", xml=(
            self.good_xml().replace("uuid:", "uuid:SECRET-NOTE")))

    def test_6_unknown_form_and_version(self):
        self.assert_refused(404, "unknown form nope", xml=(
            self.good_xml().replace('id="mrc_visit"', 'id="nope"')))
        self.assert_refused(404, "no such version", xml=(
            self.good_xml().replace('version="2026.11.1"',
                                    'version="1999.1"')))

    def test_7_invalid_values_name_the_field(self):
        t = self.assert_refused(400, "age_years: must be 10 to 100",
                                xml=self.good_xml(age_years=777777))
        self.assertIn("mrc_visit", t)
        t = self.assert_refused(
            400, "centre_id: 3 to 32 capital letters",
            xml=self.good_xml(centre_id="lowercase-secret",
                              nationality="lowercase-secret"))
        self.assertIn("nationality: a country code", t)
        self.assert_refused(400, "age_years: must be a whole number",
                            xml=self.good_xml(age_years="x777777"))
        self.assert_refused(400, "reasons: ", xml=self.good_xml(
            reasons=["lowercase-secret"]))
        self.assert_refused(400, "visit_date", xml=self.good_xml(
            visit_date=fl.today(3)))
        self.assert_refused(400, "not_a_field: unknown field", xml=(
            self.good_xml().replace("<notes/>", "<not_a_field>SECRET-NOTE"
                                    "</not_a_field>")))

    # Authentication.

    def test_8_bearer_and_methods(self):
        st, body, _, heads = self.curl(auth="bearer")
        self.assertEqual(st, 200)
        self.assert_openrosa(heads)
        st, body, h, heads = self.curl(auth=None)
        self.assertEqual(st, 401)
        self.assert_openrosa(heads)
        self.assertIn("Digest", h["www-authenticate"])
        st, body, h, heads = self.curl(auth=None, path="/submission")
        self.assertEqual(st, 405)
        self.assertEqual(h["allow"], "HEAD, POST")
        self.assert_openrosa(heads)
        st, body, h, heads = self.curl("-X", "POST", path="/formList")
        self.assertEqual(st, 405)

    def digest(self, method, uri, nonce, nc, pin=PIN, cnonce="0a4f113b"):
        md5 = lambda s: hashlib.md5(s.encode()).hexdigest()
        ha1 = md5("%s:fieldd:%s" % (USER, pin))
        ha2 = md5("%s:%s" % (method, uri))
        resp = md5("%s:%s:%s:%s:auth:%s" % (ha1, nonce, nc, cnonce, ha2))
        return ('Digest username="%s", realm="fieldd", nonce="%s", '
                'uri="%s", qop=auth, nc=%s, cnonce="%s", response="%s", '
                'algorithm=MD5' % (USER, nonce, uri, nc, cnonce, resp))

    def test_9_nonce_counts_and_uris(self):
        st, _, h = self.dev.request("GET", "/formList", token=None)
        self.assertEqual(st, 401)
        nonce = re.search(r'nonce="([^"]+)"',
                          h["WWW-Authenticate"]).group(1)
        auth = self.digest("GET", "/formList", nonce, "00000001")
        st, _, _ = self.dev.request("GET", "/formList", token=None,
                                    headers={"Authorization": auth})
        self.assertEqual(st, 200)
        # the same count again is a replay
        st, _, h = self.dev.request("GET", "/formList", token=None,
                                    headers={"Authorization": auth})
        self.assertEqual(st, 401)
        self.assertIn("stale=true", h["WWW-Authenticate"])
        st, _, _ = self.dev.request(
            "GET", "/formList", token=None, headers={
                "Authorization": self.digest("GET", "/formList", nonce,
                                             "00000002")})
        self.assertEqual(st, 200)
        # signed for another request
        st, body, _ = self.dev.request(
            "GET", "/formList", token=None, headers={
                "Authorization": self.digest("GET", "/forms/x.xml", nonce,
                                             "00000003")})
        self.assertEqual(st, 400)
        self.assertIn("uri", body)
        # a nonce the board never made
        forged = "0" * 16 + nonce[16:]
        st, _, h = self.dev.request(
            "GET", "/formList", token=None, headers={
                "Authorization": self.digest("GET", "/formList", forged,
                                             "00000001")})
        self.assertEqual(st, 401)


class NewLanguage(unittest.TestCase):
    """A form of the whole language (groups, notes, calculations,
    cascading selects, metadata) is offered to ODK clients; one whose
    XForm cannot carry a part of it (a trigger naming an expression) is
    not, with the reason, and the other forms still are: offered, its
    rules would go unchecked on the phone and the board would refuse the
    record on every retry."""

    def test_form_list_whole_beside_a_form_odk_is_not_given(self):
        dev = fl.Device()
        try:
            set_pin(dev, USER, PIN)
            dev.ctl("form", "add", os.path.join(
                os.path.dirname(os.path.abspath(__file__)), "..", "data",
                "xlsform", "rapid_needs.xlsx"))
            bad = os.path.join(dev.root, "triggered.json")
            with open(bad, "w") as f:
                json.dump({"form_id": "triggered", "version": "1",
                           "title": "Triggered", "survey": [
                               {"type": "integer", "name": "a",
                                "label": "A"},
                               {"type": "integer", "name": "b",
                                "label": "B", "calculation": "${a} + 1",
                                "trigger": "${a} + 1"}]}, f)
            dev.ctl("form", "add", bad)
            dev.start()
            curl = Curl(dev)
            st, body, _, _ = curl()
            self.assertEqual(st, 200, body)
            listed = [e.text for e in ET.fromstring(body).iter(
                "{%s}formID" % NS["l"])]
            self.assertEqual(sorted(listed), sorted(FORMS + ("rapid_needs",)))
            st, body, _, _ = curl(path="/forms/rapid_needs.xml")
            self.assertEqual(st, 200)
            model = ET.fromstring(body).find("h:head/x:model", NS)
            self.assertIsNotNone(model.find("x:instance[@id='admin2']", NS))
            st, body, _, _ = curl(path="/forms/triggered.xml")
            self.assertEqual(st, 404)
            self.assertIn("b: a trigger must name one question",
                          message(body))
            # the board itself takes it (the JSON API)
            st, _, _ = dev.request("GET", "/api/forms/triggered")
            self.assertEqual(st, 200)
            self.assertEqual(dev.stop(), 0)
        finally:
            dev.cleanup()


class Lockout(unittest.TestCase):
    """Its own fieldd: lockouts are per process."""

    def test_wrong_pins_lock_out(self):
        dev = fl.Device()
        try:
            set_pin(dev, USER, PIN)
            dev.start()
            curl = Curl(dev)
            for i in range(4):
                st, body, h, heads = curl(pin="9999")
                self.assertEqual(st, 401, i)
                self.assertIn("wrong name or PIN", message(body))
                self.assertIn("Digest", h["www-authenticate"])
                self.assertEqual(heads[-1].get("x-openrosa-version"), "1.0")
            st, body, _, _ = curl(pin="9999")
            self.assertEqual(st, 429)
            self.assertIn("wait", message(body))
            st, body, _, _ = curl()            # the right PIN, too late
            self.assertEqual(st, 429)
            st, body, _, _ = curl(user="nobody", pin="1234")
            self.assertEqual(st, 401)
            self.assertEqual(dev.stop(), 0)
        finally:
            dev.cleanup()


if __name__ == "__main__":
    fl.main()
