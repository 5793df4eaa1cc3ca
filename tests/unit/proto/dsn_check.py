#!/usr/bin/python3
"""Reference parse of a DSN for tests/unit/proto/dsn_test.c.

Reads the DSN file named on the command line with Python's own email package
(BytesParser, policy=email.policy.default), which nobody on Tern wrote, and
prints what it found as JSON on stdout: top-level headers, MIME structure,
parameters, the decoded text part, the delivery-status blocks (per-message and
per-recipient fields, with folded values unfolded by the parser) and part 3.
The C test compares these against what queue.md §5 demands.
"""
import email
import json
import sys
from email import policy
from email.parser import BytesParser


def fix(s):
    """Header text as UTF-8: undo the surrogateescape of 8-bit input bytes."""
    return str(s).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def fields(msg):
    """Ordered [name, value] pairs of a Message's headers, values unfolded."""
    return [[k, fix(v)] for k, v in msg.items()]


def status_blocks(part):
    """The delivery-status blocks of part 2, each as [name, value] pairs."""
    ct = part.get_content_type()
    payload = part.get_payload()
    if ct == "message/delivery-status":
        return [fields(b) for b in payload]
    # message/global-delivery-status: the parser treats it as message/*, i.e.
    # one sub-message whose headers are the first block and whose body holds
    # the recipient blocks. Each block is parsed by the same parser.
    sub = payload[0]
    blocks = [fields(sub)]
    body = sub.get_payload(decode=True).decode("utf-8", "replace").replace("\r\n", "\n")
    for chunk in body.split("\n\n"):
        if chunk.strip():
            blocks.append(fields(email.message_from_string(chunk + "\n", policy=policy.default)))
    return blocks


def defects_of(msg):
    """Defect class names, with the header they were found in."""
    out = []
    for p in msg.walk():
        out += [type(d).__name__ for d in p.defects]
        for k, v in p.items():
            out += [k + ":" + type(d).__name__ for d in getattr(v, "defects", ())]
    return out


def part3(part):
    ct = part.get_content_type()
    info = {"type": ct, "charset": part.get_param("charset"),
            "cte": part.get("Content-Transfer-Encoding", "")}
    if ct.startswith("message/"):
        sub = part.get_payload(0)
        info["headers"] = fields(sub)
        body = b"" if sub.is_multipart() else sub.get_payload(decode=True)
        info["body"] = body.decode("utf-8", "replace")
    else:
        info["text"] = fix(part.get_content())
    return info


def main():
    with open(sys.argv[1], "rb") as f:
        raw = f.read()
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    parts = msg.get_payload() if msg.is_multipart() else []
    out = {
        "headers": fields(msg),
        "content_type": msg.get_content_type(),
        "report_type": msg.get_param("report-type"),
        "boundary": msg.get_boundary(),
        "defects": defects_of(msg),
        "parts": [{"type": p.get_content_type(), "charset": p.get_param("charset"),
                   "cte": str(p.get("Content-Transfer-Encoding", ""))} for p in parts],
    }
    if len(parts) >= 1:
        # Line endings are checked on the raw bytes by the C test.
        out["text"] = fix(parts[0].get_content()).replace("\r\n", "\n")
    if len(parts) >= 2:
        out["status"] = status_blocks(parts[1])
    if len(parts) >= 3:
        out["part3"] = part3(parts[2])
    json.dump(out, sys.stdout, ensure_ascii=True)


main()
