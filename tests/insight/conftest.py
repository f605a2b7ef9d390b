"""The staff tests' help desk (real submissions through Intake, on moto or DynamoDB Local)."""

from tests.staff.conftest import desk, local_desk  # noqa: F401 - fixtures shared with the staff tests
