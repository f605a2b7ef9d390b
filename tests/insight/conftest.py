"""The staff tests' help desk (real submissions through Intake, on moto or DynamoDB Local) and the
console on moto, as the console's own tests have them."""

from tests.staff.conftest import desk, local_desk  # noqa: F401 - fixtures shared with the staff tests
from tests.staff.test_console import console, help_desk  # noqa: F401
