"""reporting.md §8 metrics end to end, read with `tern metrics`: Python's smtplib submits
over the submission port (RelayNetworks, no AUTH); Tern queues and relays over an SMTP
transport into Postfix's smtp-sink. Two messages one after the other travel over one
outgoing connection (the second reuses the idle one); a third goes to a transport whose
port has no listener. Each step must move the spec-named series by exactly what
happened: incoming connections and commands with their reply codes, submissions,
delivery attempts by attempt/transport/tlsmode/result, dials, reuse, the client's
commands, open connections."""
import smtplib

from ternlib import check
from ternlib.relay import relay_to_sink
from ternlib.server import free_port

ROUTES = """  - ToDomain: [dead.test]
    Transport: dead
  - Transport: sink
"""

MSG = "From: a@example.org\r\nTo: b@remote.test\r\nSubject: metrics\r\n\r\nhello\r\n"


def wait_for(srv, what, cond, timeout=60):
    """Polls the metrics until cond(metrics) holds; returns them."""
    return check.wait_until(what, srv.metrics, cond, timeout,
                            describe=lambda m: {k: v for k, v in m.items() if "_bucket" not in k and v})


def submit(srv, rcpt):
    with smtplib.SMTP("127.0.0.1", srv.ports["submission"], timeout=30) as c:
        c.ehlo("client.test")
        refused = c.sendmail("a@example.org", [rcpt], MSG)
        assert refused == {}, refused


def total(m, prefix):
    return sum(v for k, v in m.items() if k.startswith(prefix))


def test_spec_metrics_move_with_a_relayed_message():
    dead_port = free_port()  # nothing listens on it
    with relay_to_sink("tern-metrics", more_transports={"dead": dead_port}, routes=ROUTES) as (srv, _):
        srv.start()
        # The start-up probe's MX session must be gone before the snapshot.
        before = wait_for(srv, "idle server", lambda m: m.get("tern_smtp_sessions") == 0)

        def delta(m, key):
            return m.get(key, 0.0) - before.get(key, 0.0)
        delivered = 'tern_queue_deliveries_total{result="delivered"}'
        for n in (1, 2):  # one after the other: the second finds the first's connection idle
            submit(srv, f"b{n}@remote.test")
            wait_for(srv, f"delivery {n}", lambda m: delta(m, delivered) == n)
        m = wait_for(srv, "sessions closed", lambda m: m.get("tern_smtp_sessions") == 0)

        # incoming: connections, commands with their final replies, submissions
        assert delta(m, 'tern_smtpserver_connection_total{kind="submission"}') == 2
        assert delta(m, 'tern_smtpserver_connection_total{kind="mx"}') == 0
        cmd = 'tern_smtpserver_command_duration_seconds_count{kind="submission",cmd="%s",code="%s",ecode="%s"}'
        for verb, code, ecode in [("ehlo", 250, ""), ("mail", 250, "2.1.0"), ("rcpt", 250, "2.1.5"),
                                  ("data", 250, "2.0.0"), ("quit", 221, "2.0.0")]:
            assert delta(m, cmd % (verb, code, ecode)) == 2, (verb, m.get(cmd % (verb, code, ecode)))
        assert delta(m, 'tern_smtpserver_submission_total{result="ok"}') == 2
        assert delta(m, 'tern_smtpserver_errors_total{error="commit"}') == 0

        # outgoing: one attempt each, one dial, the second transaction reused the connection
        attempt = ('tern_queue_delivery_duration_seconds_count'
                   '{attempt="1",transport="sink",tlsmode="skip",result="%s"}')
        assert delta(m, attempt % "ok") == 2
        assert total(m, "tern_queue_delivery_duration_seconds_count") - \
            total(before, "tern_queue_delivery_duration_seconds_count") == 2
        assert delta(m, 'tern_queue_connection_total{result="ok"}') == 1
        assert delta(m, "tern_queue_connection_reuse_total") == 1
        assert m.get("tern_queue_connections_open") == 1  # idle, waiting for more
        assert m.get("tern_connections_count") == 1       # that one; the sessions are gone
        client = 'tern_smtpclient_command_duration_seconds_count{cmd="%s",code="%s",secode="%s"}'
        assert delta(m, client % ("ehlo", 250, "")) == 1
        assert delta(m, client % ("mail", 250, "1.0")) == 2
        assert delta(m, client % ("rcpt", 250, "1.5")) == 2
        assert delta(m, client % ("data", 354, "")) == 2
        assert total(m, 'tern_smtpclient_command_duration_seconds_count{cmd="dot",code="250"') - \
            total(before, 'tern_smtpclient_command_duration_seconds_count{cmd="dot",code="250"') == 2
        assert m.get("tern_queue_messages") == 0 and m.get("tern_queue_hold") == 0

        # a transport nobody listens on: a failed dial, a temporary failure of attempt 1
        submit(srv, "c@dead.test")
        dead = ('tern_queue_delivery_duration_seconds_count'
                '{attempt="1",transport="dead",tlsmode="skip",result="temperror"}')
        m = wait_for(srv, "failed attempt", lambda m: delta(m, dead) == 1)
        assert delta(m, 'tern_queue_connection_total{result="error"}') == 1
        assert delta(m, 'tern_queue_connection_total{result="ok"}') == 1
        assert m.get("tern_queue_messages") == 1  # waits for its retry
        srv.stop_clean()


if __name__ == "__main__":
    check.run(globals())
