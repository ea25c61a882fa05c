"""openrosa.py: the baseline of the wire-bytes budget.

Builds, for one record of a form in proto/forms/, the bytes ODK Collect
puts on the wire to submit it the OpenRosa way (Form Submission API):

  - the instance XML as Collect serialises it: an XML declaration, the
    primary instance's root with the form's id and version and the
    namespaces jr and orx, then one element per field in form order,
    unanswered fields as empty elements, a repeat group as one element per
    item, the usual metadata fields of a field team's form (start, end,
    deviceid) and meta/instanceID;
  - the multipart/form-data body OkHttp makes of it: one part named
    xml_submission_file with its file name, Content-Type and
    Content-Length, a UUID boundary;
  - the request line and the headers Collect (OkHttp) sends with it: Host,
    User-Agent, X-OpenRosa-Version, Date, Content-Type, Content-Length,
    Connection, Accept-Encoding, and a Digest Authorization computed
    for real (MD5, qop=auth).

Left out, so the baseline is if anything too small: the HEAD request and
the 401 challenge Collect makes once per batch, TLS (Collect usually talks
HTTPS), namespaces Collect adds beyond jr and orx.  submission_response()
builds the server's 201 answer for a figure that counts both directions.

Python 3 standard library only.  Deterministic for a given random.Random.
"""
import datetime
import hashlib
import json
import uuid

USER_AGENT = ("org.odk.collect.android/v2023.2.4 Dalvik/2.1.0 (Linux; U; "
              "Android 11; SM-A125F Build/RP1A.200720.012)")
HOST = "odk.example.org"
PATH = "/submission"
REALM = "ODK Aggregate"
USERNAME = "enumerator1"
PASSWORD = "field-team-password"

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
NS_JR = "http://openrosa.org/javarosa"
NS_ORX = "http://openrosa.org/xforms"


def load_form(path):
    """The form definition (proto/forms/*.json) as a dict."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def form_tree(form):
    """The survey as a tree: [(name, type)] where a repeat's type is the
    list of its own fields."""
    root = []
    stack = [root]
    for row in form["survey"]:
        t = row["type"].split()[0]
        if t == "begin_repeat" or t == "begin_group":
            sub = []
            stack[-1].append((row["name"], sub if t == "begin_repeat"
                              else ("group", sub)))
            stack.append(sub)
        elif t in ("end_repeat", "end_group"):
            stack.pop()
        else:
            stack[-1].append((row["name"], row["type"]))
    return root


def _esc(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def _value(v):
    if isinstance(v, list):             # select_multiple
        return " ".join(v)
    return str(v)


def _fields(out, tree, rec):
    for name, t in tree:
        if isinstance(t, list):         # repeat: one element per item
            for item in rec.get(name, []):
                out.append("<%s>" % name)
                _fields(out, t, item)
                out.append("</%s>" % name)
            continue
        if isinstance(t, tuple):        # group
            out.append("<%s>" % name)
            _fields(out, t[1], rec)
            out.append("</%s>" % name)
            continue
        v = rec.get(name)
        if v is None or v == "" or v == []:
            out.append("<%s />" % name)     # kXML writes " />"
        else:
            out.append("<%s>%s</%s>" % (name, _esc(_value(v)), name))


def iso_local(dt):
    """2026-11-28T10:15:30.123+03:00, as Collect writes start and end."""
    return dt.isoformat(timespec="milliseconds")


def instance_xml(form, rec, start, end, deviceid):
    """The instance document Collect submits, as bytes (UTF-8)."""
    out = ["<?xml version='1.0' ?>",
           '<data id="%s" version="%s" xmlns:jr="%s" xmlns:orx="%s">'
           % (form["form_id"], form["version"], NS_JR, NS_ORX),
           "<start>%s</start>" % iso_local(start),
           "<end>%s</end>" % iso_local(end),
           "<deviceid>%s</deviceid>" % deviceid]
    _fields(out, form_tree(form), rec)
    out.append("<meta><instanceID>uuid:%s</instanceID></meta>" % rec["_id"])
    out.append("</data>")
    return "".join(out).encode("utf-8")


def _http_date(dt):
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
              "Oct", "Nov", "Dec"]
    u = dt.astimezone(datetime.timezone.utc)
    return "%s, %02d %s %d %02d:%02d:%02d GMT" % (
        days[u.weekday()], u.day, months[u.month - 1], u.year, u.hour,
        u.minute, u.second)


def _md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def _digest(rng, nc):
    """An Authorization header value as okhttp-digest computes it."""
    nonce = "%032x" % rng.getrandbits(128)
    opaque = "%032x" % rng.getrandbits(128)
    cnonce = "%016x" % rng.getrandbits(64)
    ha1 = _md5("%s:%s:%s" % (USERNAME, REALM, PASSWORD))
    ha2 = _md5("POST:%s" % PATH)
    ncs = "%08x" % nc
    resp = _md5("%s:%s:%s:%s:auth:%s" % (ha1, nonce, ncs, cnonce, ha2))
    return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", '
            'response="%s", qop=auth, nc=%s, cnonce="%s", algorithm=MD5, '
            'opaque="%s"' % (USERNAME, REALM, nonce, PATH, resp, ncs, cnonce,
                             opaque))


def submission_request(form, rec, rng, created, nc=1):
    """The whole POST (request line, headers, multipart body) as bytes.

    rec: the record as JSON (field -> value, repeats as lists, "_id");
    rng: a random.Random for the boundary, device id and digest nonces;
    created: an aware datetime, when the enumerator opened the form."""
    start = created
    end = created + datetime.timedelta(seconds=rng.randint(120, 600),
                                       milliseconds=rng.randint(0, 999))
    deviceid = "collect:" + "".join(rng.choice(ALNUM) for _ in range(16))
    xml = instance_xml(form, rec, start, end, deviceid)
    boundary = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    fname = "%s_%s.xml" % (form.get("title::English", form["form_id"]),
                           end.strftime("%Y-%m-%d_%H-%M-%S"))
    body = b"".join([
        b"--", boundary.encode(), b"\r\n",
        ('Content-Disposition: form-data; name="xml_submission_file"; '
         'filename="%s"\r\n' % fname).encode(),
        b"Content-Type: text/xml\r\n",
        b"Content-Length: %d\r\n" % len(xml),
        b"\r\n", xml, b"\r\n",
        b"--", boundary.encode(), b"--\r\n"])
    headers = [
        ("X-OpenRosa-Version", "1.0"),
        ("User-Agent", USER_AGENT),
        ("Date", _http_date(end)),
        ("Authorization", _digest(rng, nc)),
        ("Content-Type", "multipart/form-data; boundary=" + boundary),
        ("Content-Length", str(len(body))),
        ("Host", HOST),
        ("Connection", "Keep-Alive"),
        ("Accept-Encoding", "gzip"),
    ]
    head = "POST %s HTTP/1.1\r\n" % PATH + "".join(
        "%s: %s\r\n" % kv for kv in headers) + "\r\n"
    return head.encode() + body


def submission_response(rec, when):
    """The server's 201 answer (OpenRosaResponse), as bytes."""
    xml = ('<OpenRosaResponse xmlns="http://openrosa.org/http/response">'
           '<message nature="">full submission upload was successful!'
           '</message></OpenRosaResponse>').encode()
    head = ("HTTP/1.1 201 Created\r\n"
            "Date: %s\r\n"
            "Location: https://%s%s\r\n"
            "X-OpenRosa-Version: 1.0\r\n"
            "X-OpenRosa-Accept-Content-Length: 10485760\r\n"
            "Content-Type: text/xml; charset=utf-8\r\n"
            "Content-Length: %d\r\n"
            "\r\n" % (_http_date(when), HOST, PATH, len(xml)))
    return head.encode() + xml


if __name__ == "__main__":
    # A look at one submission: python3 bench/openrosa.py
    import os
    import random
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_sync
    rng = random.Random(1)
    form = load_form(bench_sync.FORM_PATH)
    rec = bench_sync.household(rng, 0)
    tz = datetime.timezone(datetime.timedelta(hours=3))
    req = submission_request(form, rec, rng,
                             datetime.datetime(2026, 11, 28, 10, 15, 30,
                                               tzinfo=tz))
    sys.stdout.write(req.decode())
    print("\n-- %d bytes" % len(req))
