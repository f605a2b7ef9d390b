"""Where the project's files and local state live."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BACKEND = REPO / "backend"
BUILT_SITE = REPO / "build" / "site"
LOCAL_STATE = REPO / ".local"
# Written by `make run` while it runs: its ports, table and keys, for the staff command line.
RUNNING_STACK = LOCAL_STATE / "stack.json"
INFRA_TEMPLATE = REPO / "infra" / "resources.yaml"
CHALICE_CONFIG = BACKEND / ".chalice" / "config.json"
NODE_MODULES = REPO / "node_modules"
