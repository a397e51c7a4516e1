"""POSTs one body to handsync with Python's standard HTTP client (an independent
implementation of HTTP and of gzip/zlib) and prints what came back, for tests/http_compression.rs.

Usage: post_compressed.py URL BODY_FILE CONTENT_TYPE PACKING CONTENT_ENCODING ACCEPT_ENCODING
PACKING: plain, gzip, zlib, raw-deflate (the file's bytes so packed), bomb (50 MB of zeros,
gzipped), garbage (bytes that are no compressed stream). "-" for a header: not sent
(urllib then sends Accept-Encoding: identity itself).
Output: key=value lines; body= is the answer, decoded from its Content-Encoding, in hex.
"""

import gzip
import sys
import time
import urllib.error
import urllib.request
import zlib

url, body_file, content_type, packing, content_encoding, accept_encoding = sys.argv[1:7]
with open(body_file, "rb") as f:
    plain = f.read()

if packing == "plain":
    body = plain
elif packing == "gzip":
    body = gzip.compress(plain)
elif packing == "zlib":
    body = zlib.compress(plain)
elif packing == "raw-deflate":
    packer = zlib.compressobj(wbits=-15)
    body = packer.compress(plain) + packer.flush()
elif packing == "bomb":
    body = gzip.compress(bytes(50_000_000), compresslevel=9)
elif packing == "garbage":
    body = b"\x1f\x8b this is not a gzip stream, whatever the header says " * 20
else:
    sys.exit("unknown packing " + packing)

headers = {"Content-Type": content_type}
if content_encoding != "-":
    headers["Content-Encoding"] = content_encoding
if accept_encoding != "-":
    headers["Accept-Encoding"] = accept_encoding
request = urllib.request.Request(url, data=body, headers=headers, method="POST")

started = time.monotonic()
try:
    with urllib.request.urlopen(request, timeout=60) as response:
        status, answer_headers, data = response.status, response.headers, response.read()
except urllib.error.HTTPError as error:
    status, answer_headers, data = error.code, error.headers, error.read()
seconds = time.monotonic() - started

coding = answer_headers.get("Content-Encoding", "")
if coding == "gzip":
    decoded = gzip.decompress(data)
elif coding == "deflate":
    decoded = zlib.decompress(data)
else:
    decoded = data

print("status=%d" % status)
print("content-type=" + answer_headers.get("Content-Type", ""))
print("content-encoding=" + coding)
print("vary=" + answer_headers.get("Vary", ""))
print("content-length=" + answer_headers.get("Content-Length", ""))
print("received=%d" % len(data))
print("sent=%d" % len(body))
print("seconds=%.3f" % seconds)
print("body=" + decoded.hex())
