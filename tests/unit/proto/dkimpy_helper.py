"""Cross-check helper for dkim_test.c: Debian's dkimpy (python3-dkim), an
implementation nobody here wrote, signs and verifies messages for the C tests.

  dkimpy_helper.py verify MSG DNS      DNS: lines "name<TAB>TXT"; prints one
                                       "<index> <True|False>" per signature
  dkimpy_helper.py sign MSG KEY SEL DOMAIN ALGO HCANON BCANON LENGTH
                                       KEY: PKCS#8 PEM from openssl genpkey;
                                       LENGTH 0/1 (l= tag); prints the
                                       DKIM-Signature field to stdout
Run with /usr/bin/python3 (Debian's modules)."""
import base64
import sys

import dkim


def load_dns(path):
    table = {}
    with open(path, "rb") as f:
        for line in f.read().split(b"\n"):
            if line:
                name, txt = line.split(b"\t", 1)
                table[name.rstrip(b".") + b"."] = txt
    return table


def verify(msgpath, dnspath):
    msg = open(msgpath, "rb").read()
    table = load_dns(dnspath)

    def dnsfunc(name, timeout=5):
        if isinstance(name, str):
            name = name.encode()
        return table.get(name.rstrip(b".") + b".")

    d = dkim.DKIM(msg)
    n = sum(1 for h in d.headers if h[0].lower() == b"dkim-signature")
    for i in range(n):
        print(i, d.verify(idx=i, dnsfunc=dnsfunc))


def sign(msgpath, keypath, sel, domain, algo, hc, bc, length):
    msg = open(msgpath, "rb").read()
    pem = open(keypath, "rb").read()
    if algo == "ed25519-sha256":
        body = b"".join(l for l in pem.splitlines() if not l.startswith(b"-----"))
        key = base64.b64encode(base64.b64decode(body)[-32:])
    else:
        key = pem
    sig = dkim.sign(msg, sel.encode(), domain.encode(), key,
                    canonicalize=(hc.encode(), bc.encode()),
                    signature_algorithm=algo.encode(), length=length == "1",
                    include_headers=[b"from", b"to", b"subject", b"date"])
    sys.stdout.buffer.write(sig)


if __name__ == "__main__":
    if sys.argv[1] == "verify":
        verify(sys.argv[2], sys.argv[3])
    else:
        sign(*sys.argv[2:10])
