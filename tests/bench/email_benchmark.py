"""`make bench`: email off the request path, measured on the local stack.

* Intake answer time with the table's stream off and on (posts alternated one
  by one between two servers on two tables, best round kept), and on while
  the stream reader sends every confirmation and alert to MailDev on the same
  machine: p50 and p99 of an enquiry POST over HTTP. The ratio on/off should
  stay at or under 1.05; in AWS the notifier is another function, so the
  "reader sending" line is the pessimistic case of one shared machine.
* Submission to inbox: from the POST until MailDev holds the confirmation,
  p50 and p99.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import urllib.request
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from aftercare_local import dynamodb as dynamodb_local
from aftercare_local import mail
from chalicelib.crypto.keys import ensure_local_keys
from chalicelib.forms import FORMS

from tests.conftest import free_port, local_client, serving
from tests.mailstack import CUSTOMER, MailStack
from tests.samples import payload_for

ENQUIRY = FORMS["enquiry"]
OFF, ON, SENDING = "stream off", "stream on", "stream on, reader sending"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def post(base_url: str) -> str:
    body = json.dumps(payload_for(ENQUIRY, date.today(), email=CUSTOMER)).encode()
    request = urllib.request.Request(f"{base_url}/api{ENQUIRY.path}", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "X-Form-Fill-Ms": "4000",
                                                  "Sec-Fetch-Site": "same-origin"})
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        return str(json.load(answer)["reference"])


def timed_posts(base_url: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        post(base_url)
        times.append((time.perf_counter() - started) * 1000)
    return times


def make_table(endpoint: str, stream: bool) -> str:
    client = local_client(endpoint)
    name = f"aftercare-bench-{uuid.uuid4().hex[:8]}"
    dynamodb_local.ensure_table(client, name)
    if not stream:
        client.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    return name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200, help="posts per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--inbox-samples", type=int, default=50)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="aftercare-email-bench-"))
    key_dir = work / "keys"
    ensure_local_keys(key_dir)
    with dynamodb_local.running(free_port(), data_dir=None) as endpoint, \
            mail.running(free_port(), free_port(), None) as maildev:
        quiet, streamed = make_table(endpoint, stream=False), make_table(endpoint, stream=True)
        with serving(endpoint, quiet, key_dir) as quiet_url, serving(endpoint, streamed, key_dir) as url:
            stack = MailStack(url, streamed, endpoint, key_dir, maildev=maildev, state_dir=work / "state")
            timed_posts(quiet_url, 20)  # warm both servers up
            timed_posts(url, 20)
            best: dict[str, list[float]] = {}

            def keep_best(name: str, times: list[float]) -> None:
                if name not in best or percentile(times, 0.5) < percentile(best[name], 0.5):
                    best[name] = times

            for _ in range(args.rounds):
                # Post by post, alternately: a busy moment of the machine hits both alike.
                pairs = [(timed_posts(quiet_url, 1)[0], timed_posts(url, 1)[0]) for _ in range(args.posts)]
                keep_best(OFF, [off for off, _ in pairs])
                keep_best(ON, [on for _, on in pairs])
            with stack.reader():
                # On one machine the reader, MailDev and the server share the CPU; in AWS the
                # notifier is another function, so this is the pessimistic case.
                for _ in range(args.rounds):
                    keep_best(SENDING, timed_posts(url, args.posts))
                sent_so_far = 2 * (20 + 2 * args.rounds * args.posts)
                stack.wait_for_mail(sent_so_far, timeout=600)
                maildev.clear()
                latencies = []
                for _ in range(args.inbox_samples):
                    started = time.perf_counter()
                    reference = post(url)
                    while not any(reference in m["subject"] for m in maildev.messages()):
                        time.sleep(0.01)
                    latencies.append((time.perf_counter() - started) * 1000)
                    time.sleep(0.2)
    report: dict[str, Any] = {}
    for name, times in best.items():
        report[name] = {"p50_ms": round(percentile(times, 0.5), 1),
                        "p99_ms": round(percentile(times, 0.99), 1)}
        print(f"intake, {name:26} p50 {report[name]['p50_ms']:6.1f} ms   p99 {report[name]['p99_ms']:6.1f} ms"
              f"   ({len(times)} posts)")
    for name in (ON, SENDING):
        ratio_p50 = report[name]["p50_ms"] / report[OFF]["p50_ms"]
        ratio_p99 = report[name]["p99_ms"] / report[OFF]["p99_ms"]
        print(f"ratio, {name:27} p50 {ratio_p50:.2f}x  p99 {ratio_p99:.2f}x  (target <= 1.05)")
    print(f"submission to inbox:              p50 {percentile(latencies, 0.5):6.1f} ms   "
          f"p99 {percentile(latencies, 0.99):6.1f} ms   ({len(latencies)} mails, mean "
          f"{statistics.mean(latencies):.1f} ms)")


if __name__ == "__main__":
    main()
