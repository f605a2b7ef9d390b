"""A cold start of the API loads only what its first request needs (`make bench` times it)."""

import importlib.util
import json
import subprocess
import sys

from aftercare_local.paths import BACKEND

# Loaded by the notifier, the digest and the OpenAPI route on their first call, never by a form's.
LOADED_ON_FIRST_USE = (
    "chalicelib.notify.notifier", "chalicelib.notify.case_emails", "chalicelib.notify.emails",
    "chalicelib.notify.mailer",
    "chalicelib.web.openapi", "jinja2",
    # Babel (catalogs, dates and numbers in a locale): on the first answer in another language than English.
    "babel",
    # The staff desk is the console's and the command's, never the public API's.
    "chalicelib.staff", "chalicelib.staff.desk", "openpyxl",
)

PROBE = """
import gc, json, sys
sys.path.insert(0, sys.argv[1])
import app
collector = {"frozen": gc.get_freeze_count(), "young_threshold": gc.get_threshold()[0]}
from chalicelib.forms import FORMS, InvalidSubmission, validate
from chalicelib.forms.answers import Accepted
loaded = sorted(set(sys.argv[2:]) & set(sys.modules))
built = [form.kind for form in FORMS.values() if form.model.__pydantic_complete__]
answer_built = Accepted.__pydantic_complete__
try:
    validate(FORMS["enquiry"].model, {})
except InvalidSubmission:
    pass
built_after_one_post = [form.kind for form in FORMS.values() if form.model.__pydantic_complete__]
print(json.dumps({"loaded": loaded, "built": built, "answer_built": answer_built,
                  "built_after_one_post": built_after_one_post, "collector": collector}))
"""


def probe() -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", PROBE, str(BACKEND), *LOADED_ON_FIRST_USE],
                          capture_output=True, text=True, timeout=60, check=True)
    answer: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def test_importing_the_app_loads_no_mail_nor_openapi_module() -> None:
    assert all(importlib.util.find_spec(name) for name in LOADED_ON_FIRST_USE)  # each still exists
    assert probe()["loaded"] == []


def test_importing_the_app_builds_no_form_or_answer_schema() -> None:
    answer = probe()
    assert answer["built"] == []
    assert answer["answer_built"] is False


def test_a_form_builds_its_own_schema_on_its_first_post_and_no_other() -> None:
    assert probe()["built_after_one_post"] == ["enquiry"]


RACE = """
import json, sys, threading
sys.path.insert(0, sys.argv[1])
from chalicelib.forms import FORMS, InvalidSubmission, validate
start = threading.Barrier(16)
named = []

def post() -> None:
    start.wait()
    try:
        validate(FORMS["enquiry"].model, {"not_a_field": "x"})
    except InvalidSubmission as refused:
        named.append(sorted(error.field for error in refused.errors))

threads = [threading.Thread(target=post) for _ in range(16)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(named))
"""


def test_threads_that_post_a_form_first_at_once_all_get_its_own_rules() -> None:
    # The local server answers from many threads: the first build must not race (pydantic >= 2.14).
    done = subprocess.run([sys.executable, "-c", RACE, str(BACKEND)],
                          capture_output=True, text=True, timeout=60, check=True)
    named = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(named) == 16
    assert all(fields == named[0] and "not_a_field" in fields for fields in named)


def test_what_the_import_loaded_is_frozen_out_of_the_collectors_walks() -> None:
    collector = probe()["collector"]
    assert isinstance(collector, dict)
    assert collector["frozen"] > 10_000  # the modules' objects, never walked again
    assert collector["young_threshold"] >= 50_000  # Python's 700 ran a collection one request in six
