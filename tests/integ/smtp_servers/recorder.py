"""aiosmtpd server on 127.0.0.1 that records every transaction (a peer for Tern's SMTP client tests).

Usage: recorder.py OUTFILE [--auth] [--tls CERT KEY]
Prints the listening port on stdout, then serves until killed. Each accepted transaction
is appended to OUTFILE as one JSON line: mail_from, mail_options, rcpt_tos, rcpt_options,
content (latin-1), smtp_utf8, helo, auth. With --auth, PLAIN and LOGIN are offered on
plaintext too and only user/secret is accepted. With --tls, STARTTLS is offered.
"""
import asyncio
import json
import ssl
import logging
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Recorder:
    def __init__(self, path):
        self.path = path

    async def handle_DATA(self, server, session, envelope):
        rec = {
            "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options,
            "rcpt_tos": envelope.rcpt_tos,
            "rcpt_options": envelope.rcpt_options,
            "content": envelope.original_content.decode("latin-1"),
            "smtp_utf8": envelope.smtp_utf8,
            "helo": session.host_name,
            "auth": session.authenticated,
            "tls": session.ssl is not None,
        }
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")
        return "250 2.0.0 recorded"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"user" and auth_data.password == b"secret"
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 535


logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd warns about its own login_data


async def main():
    args = sys.argv[1:]
    out = args[0]
    kw = {"enable_SMTPUTF8": True, "hostname": "recorder.test", "data_size_limit": 5_000_000}
    if "--auth" in args:
        kw.update(authenticator=authenticator, auth_require_tls=False)
    if "--tls" in args:
        i = args.index("--tls")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args[i + 1], args[i + 2])
        kw["tls_context"] = ctx
    handler = Recorder(out)
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(lambda: SMTP(handler, **kw), "127.0.0.1", 0)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await srv.serve_forever()


asyncio.run(main())
