"""A SCRAM client (RFC 5802, RFC 7677, channel binding per RFC 5929 / RFC 9266) for the
SMTP AUTH tests, written from the RFCs with hashlib/hmac only, so it shares no code
with Tern's C implementation.

    sc = Scram("sha256", "user@example.test", "secret", cb_type="tls-unique", cb_data=b"...")
    first = sc.client_first()            # bytes to base64 into AUTH SCRAM-SHA-256[-PLUS]
    final = sc.client_final(server_first)
    sc.verify_server_final(server_final) # raises if the server signature is wrong

gs2_flag overrides the GS2 channel-binding flag: "n" (client does not support
binding), "y" (client supports it but thinks the server does not: downgrade
detection), or "p" (binding in use; cb_type names the type).
"""
import base64
import hashlib
import hmac
import os

HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}


def saslname(s):
    """RFC 5802 saslname escaping: ',' -> '=2C', '=' -> '=3D'."""
    return s.replace("=", "=3D").replace(",", "=2C")


def parse_attrs(msg):
    """'a=1,b=2' -> {'a': '1', 'b': '2'} (values may contain '=')."""
    out = {}
    for part in msg.split(","):
        if len(part) < 2 or part[1] != "=":
            raise ValueError(f"bad SCRAM attribute {part!r} in {msg!r}")
        out[part[0]] = part[2:]
    return out


class Scram:
    def __init__(self, hash_name, user, password, cb_type=None, cb_data=b"", gs2_flag=None, authzid=None,
                 nonce=None):
        self.h = HASHES[hash_name]
        self.user = user
        self.password = password.encode()
        self.cb_type = cb_type
        self.cb_data = cb_data
        if gs2_flag is None:
            gs2_flag = "p" if cb_type else "n"
        self.gs2_flag = gs2_flag
        self.authzid = authzid
        self.cnonce = nonce or base64.b64encode(os.urandom(18)).decode()
        self.server_signature = None

    def gs2_header(self):
        flag = f"p={self.cb_type}" if self.gs2_flag == "p" else self.gs2_flag
        return f"{flag},{'a=' + saslname(self.authzid) if self.authzid else ''},"

    def client_first(self):
        self.first_bare = f"n={saslname(self.user)},r={self.cnonce}"
        return (self.gs2_header() + self.first_bare).encode()

    def _hmac(self, key, msg):
        return hmac.new(key, msg, self.h).digest()

    def client_final(self, server_first, proof_override=None, nonce_override=None):
        server_first = server_first.decode() if isinstance(server_first, bytes) else server_first
        a = parse_attrs(server_first)
        nonce, salt, iters = a["r"], base64.b64decode(a["s"]), int(a["i"])
        if not nonce.startswith(self.cnonce) or len(nonce) <= len(self.cnonce):
            raise ValueError("server nonce does not extend the client nonce")
        cbind = self.gs2_header().encode() + (self.cb_data if self.gs2_flag == "p" else b"")
        without_proof = f"c={base64.b64encode(cbind).decode()},r={nonce_override or nonce}"
        auth_msg = f"{self.first_bare},{server_first},{without_proof}".encode()
        salted = hashlib.pbkdf2_hmac(self.h().name, self.password, salt, iters)
        client_key = self._hmac(salted, b"Client Key")
        stored_key = self.h(client_key).digest()
        client_sig = self._hmac(stored_key, auth_msg)
        proof = bytes(x ^ y for x, y in zip(client_key, client_sig))
        if proof_override is not None:
            proof = proof_override
        self.server_signature = self._hmac(self._hmac(salted, b"Server Key"), auth_msg)
        self.iterations = iters
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify_server_final(self, server_final):
        server_final = server_final.decode() if isinstance(server_final, bytes) else server_final
        a = parse_attrs(server_final)
        if "e" in a:
            raise ValueError(f"server error {a['e']}")
        if base64.b64decode(a["v"]) != self.server_signature:
            raise ValueError("server signature mismatch")
        return True


def b64(b):
    return base64.b64encode(b).decode()


def unb64(s):
    return base64.b64decode(s, validate=True)


def smtp_scram(conn, mech, user, password, cb_type=None, cb_data=b"", gs2_flag=None, authzid=None,
               proof_override=None):
    """Runs AUTH <mech> with a SCRAM client on an smtpclient.Conn.

    Returns (final Reply, Scram). On success the server's signature has been verified."""
    hash_name = "sha256" if "SHA-256" in mech else "sha1"
    sc = Scram(hash_name, user, password, cb_type=cb_type, cb_data=cb_data, gs2_flag=gs2_flag, authzid=authzid)
    r = conn.cmd(f"AUTH {mech} {b64(sc.client_first())}")
    if r.code != 334:
        return r, sc
    r = conn.cmd(b64(sc.client_final(unb64(r.text), proof_override=proof_override)))
    if r.code != 334:
        return r, sc
    sc.verify_server_final(unb64(r.text))
    return conn.cmd(""), sc
