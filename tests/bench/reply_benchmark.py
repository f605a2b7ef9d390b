"""`make bench`: a customer's reply, from received to on its case, on the local stack.

DynamoDB Local, s3rver and MailDev (the team's alerts) as `make run` starts them,
and the SMTP listener `make run` starts, handing each message to the app's inbound
handler. Each round files a complaint and moves it to resolved (untimed), then
sends a reply over SMTP to the case's reply address with a photo carrying GPS
data, and times until the case's history holds the reply: its new text sealed,
the photo checked and kept without its metadata, the case back in work and the
team told. Prints p50 and p99 in ms.
"""

from __future__ import annotations

import json
import os
import smtplib
import threading
import time
from datetime import date

from aftercare_local import inbound, mail
from aftercare_local.processes import free_port

from tests.bench.attachments_benchmark import local_stack, rounds_and_photo
from tests.bench.email_benchmark import percentile
from tests.inbound.mails import reply
from tests.samples import payload_for

DOMAIN = "reply.aftercare.localhost"
CUSTOMER = "zed.q@example.net"
FORM_HEADERS = {"Content-Type": "application/json", "X-Form-Fill-Ms": "4000", "Sec-Fetch-Site": "same-origin"}


def main(argv: list[str] | None = None) -> None:
    options, data = rounds_and_photo(__doc__.splitlines()[0], argv, rounds=100, megapixels=1.0)
    with local_stack("aftercare-bench-replies"), mail.running(free_port(), free_port(), None) as maildev:
        os.environ.update(AFTERCARE_REPLY_DOMAIN=DOMAIN, AFTERCARE_SMTP_PORT=str(maildev.smtp_port))
        import app as app_module
        from chalice.test import Client
        from chalicelib.cases.book import Change
        from chalicelib.forms import FORMS
        from chalicelib.inbound.address import reply_address
        from chalicelib.store import items

        desk = app_module.get_inbound()
        book, form = desk.book, FORMS["complaint"]
        latencies: list[float] = []
        handled: list[float] = []  # until the listener's 250: the reply on its case and the team told
        with Client(app_module.app) as client, inbound.listening(free_port(), inbound.app_receiver()) as port:
            for number in range(options.rounds):
                answer = client.http.post(form.path, headers=FORM_HEADERS, body=json.dumps(
                    payload_for(form, date.today(), email=CUSTOMER)))
                if answer.status_code != 201:
                    raise SystemExit(f"{form.path} answered {answer.status_code}: {answer.body[:300]!r}")
                reference = answer.json_body["reference"]
                book.change(reference, Change(status="acknowledged", handler="Sam Patel"), actor="bench")
                book.change(reference, Change(status="resolved", note="fixed"), actor="bench")
                to = reply_address(desk.hasher, reference, DOMAIN)
                raw = reply(to, CUSTOMER, f"Still loose ({number}).", photo=data,
                            message_id=f"<bench-{number}@mail.example>")
                accepted: list[float] = []

                def send(raw: bytes = raw, to: str = to, accepted: list[float] = accepted) -> None:
                    with smtplib.SMTP(inbound.LOOPBACK, port, timeout=30) as smtp:
                        smtp.sendmail(CUSTOMER, [to], raw)
                    accepted.append(time.perf_counter())

                # The sender in a thread of its own: the clock stops when the reply is on the case,
                # whatever the listener does after (its 250, after the team's alert has gone).
                sender = threading.Thread(target=send)
                started = time.perf_counter()
                sender.start()
                while not any(entry.get(items.REPLY_FILES_ATTRIBUTE) for entry in book.history(reference)):
                    if time.perf_counter() - started > 30:
                        raise SystemExit("the reply was not on its case within 30 s")
                    time.sleep(0.01)
                latencies.append((time.perf_counter() - started) * 1000)
                sender.join(30)
                if not accepted:
                    raise SystemExit("the listener did not accept the reply")
                handled.append((accepted[0] - started) * 1000)
                if book.read(reference)["status"] != "in_progress":
                    raise SystemExit("the reply did not move the case back to work")
    print(f"reply received to reply on the case, {options.rounds} rounds, {len(data) / 1e6:.2f} MB JPEG "
          f"with GPS: p50 {percentile(latencies, 0.5):.0f} ms, p99 {percentile(latencies, 0.99):.0f} ms, "
          f"max {max(latencies):.0f} ms")
    print(f"reply received to accepted (on the case and the team alerted through MailDev): "
          f"p50 {percentile(handled, 0.5):.0f} ms, p99 {percentile(handled, 0.99):.0f} ms")


if __name__ == "__main__":
    main()
