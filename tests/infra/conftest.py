"""Fixtures for the infrastructure tests: the templates as written and as packaged."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from aftercare_local import template as cloudformation_template

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
SITE_DIR = ROOT / "build" / "site"


load_template = cloudformation_template.load


def load_deploy_module():
    """infra/deploy.py as a module (infra/ is scripts, not a package)."""
    if "aftercare_deploy" not in sys.modules:
        spec = importlib.util.spec_from_file_location("aftercare_deploy", INFRA / "deploy.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["aftercare_deploy"] = module
        spec.loader.exec_module(module)
    return sys.modules["aftercare_deploy"]


@pytest.fixture(scope="session")
def deploy_module():
    return load_deploy_module()


@pytest.fixture(scope="session")
def resources() -> dict[str, Any]:
    return load_template(INFRA / "resources.yaml")


@pytest.fixture(scope="session")
def side_templates() -> dict[str, dict[str, Any]]:
    return {
        name: load_template(INFRA / f"{name}.yaml") for name in ("edge", "offsite", "artifacts")
    }


@pytest.fixture(scope="session")
def package_dir(tmp_path_factory, deploy_module) -> Path:
    """`make package`'s output, built here offline from the cached wheels."""
    if not (ROOT / "backend" / "app.py").is_file():
        pytest.skip("backend/app.py is not on this branch yet; packaging needs the app")
    out = tmp_path_factory.mktemp("package")
    deploy_module.package(out_dir=out)
    return out


@pytest.fixture(scope="session")
def packaged(package_dir, deploy_module) -> dict[str, Any]:
    return load_template(package_dir / deploy_module.MAIN_TEMPLATE)


@pytest.fixture(scope="session")
def read_cfn():
    """The CloudFormation-aware YAML reader, for tests that load templates themselves."""
    return load_template
