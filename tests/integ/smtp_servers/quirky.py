"""A small, deliberately awkward SMTP server on 127.0.0.1 for Tern's SMTP client tests.

Usage: quirky.py OUTFILE MODE
Prints the listening port on stdout, then serves until killed. Every session announces
PIPELINING, SIZE, DSN and CHUNKING but never 8BITMIME, and handles pipelined commands
by answering them in order. MODE:
  rcptmax  announce "LIMITS RCPTMAX=2" and refuse a 3rd RCPT in a transaction with 452
  limit    announce no limit, but answer 452 to the 3rd and later RCPT of a transaction
Recipients whose local part is "reject" get a three-line 550. Each finished transaction
(DATA or BDAT LAST) is appended to OUTFILE as a JSON line: mail, rcpts (the accepted
RCPT lines), via ("DATA"/"BDAT"), chunks (BDAT sizes), body (latin-1, dot-unstuffed).
"""
import asyncio
import json
import sys

OUT, MODE = sys.argv[1], sys.argv[2]


def record(rec):
    with open(OUT, "a", encoding="utf-8") as f:
        f.write(json.dumps(rec) + "\n")


async def session(reader, writer):
    def send(s):
        writer.write(s.encode("latin-1"))

    send("220 quirky.test ESMTP\r\n")
    mail, rcpts, chunks, body = None, [], [], b""

    def reset():
        nonlocal mail, rcpts, chunks, body
        mail, rcpts, chunks, body = None, [], [], b""

    for _ in range(100000):
        line = await reader.readline()
        if not line:
            break
        cmd = line.decode("latin-1").rstrip("\r\n")
        verb = cmd.split(" ", 1)[0].upper()
        if verb == "EHLO":
            caps = ["quirky.test", "PIPELINING", "SIZE 10000000", "DSN", "CHUNKING"]
            if MODE == "rcptmax":
                caps.append("LIMITS RCPTMAX=2")
            send("".join("250-%s\r\n" % c for c in caps[:-1]) + "250 %s\r\n" % caps[-1])
        elif verb == "MAIL":
            reset()
            mail = cmd
            send("250 2.1.0 ok\r\n")
        elif verb == "RCPT":
            if mail is None:
                send("503 5.5.1 need MAIL\r\n")
            elif "<reject@" in cmd.lower():
                send("550-5.1.1 the account does not exist\r\n550-5.1.1 at all\r\n550 5.1.1 really\r\n")
            elif len(rcpts) >= 2:
                send("452 4.5.3 too many recipients\r\n")
            else:
                rcpts.append(cmd)
                send("250 2.1.5 ok\r\n")
        elif verb == "DATA":
            if not rcpts:
                send("554 5.5.1 no valid recipients\r\n")
                continue
            send("354 go ahead\r\n")
            lines = []
            for _ in range(10000000):
                l = await reader.readline()
                if not l or l == b".\r\n":
                    break
                lines.append(l[1:] if l.startswith(b".") else l)
            record({"mail": mail, "rcpts": rcpts, "via": "DATA", "chunks": [],
                    "body": b"".join(lines).decode("latin-1")})
            send("250 2.0.0 data ok\r\n")
            reset()
        elif verb == "BDAT":
            parts = cmd.split()
            n = int(parts[1])
            last = len(parts) > 2 and parts[2].upper() == "LAST"
            data = await reader.readexactly(n)
            if not rcpts:
                send("554 5.5.1 no valid recipients\r\n")
                continue
            chunks.append(n)
            body += data
            if last:
                record({"mail": mail, "rcpts": rcpts, "via": "BDAT", "chunks": chunks,
                        "body": body.decode("latin-1")})
                send("250 2.0.0 bdat ok\r\n")
                reset()
            else:
                send("250 2.0.0 chunk ok\r\n")
        elif verb == "RSET":
            reset()
            send("250 2.0.0 ok\r\n")
        elif verb == "QUIT":
            send("221 2.0.0 bye\r\n")
            break
        else:
            send("502 5.5.2 unknown command\r\n")
        await writer.drain()
    await writer.drain()
    writer.close()


async def main():
    srv = await asyncio.start_server(session, "127.0.0.1", 0, limit=1 << 20)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await srv.serve_forever()


asyncio.run(main())
