"""The form models and the item layout are pure: the site build and the form tests load no AWS library."""

import json
import subprocess
import sys

import pytest
from aftercare_local.paths import BACKEND

AWS_LIBRARIES = ("boto3", "botocore", "aws_encryption_sdk")


@pytest.mark.parametrize("module", ["chalicelib.forms", "chalicelib.store.items", "chalicelib.rules.catalog",
                                    "chalicelib.intake.filecheck",
                                    "chalicelib.rules.policy", "chalicelib.rules.lifecycles"])
def test_importing_a_pure_module_loads_no_aws_library(module: str) -> None:
    probe = (
        f"import json, sys; import {module}; "
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    loaded = json.loads(subprocess.run(
        [sys.executable, "-c", probe], cwd=BACKEND, capture_output=True, text=True, check=True,
    ).stdout)
    assert module.split(".")[0] in loaded  # the probe did import it
    assert [name for name in AWS_LIBRARIES if name in loaded] == []
