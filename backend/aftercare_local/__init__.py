"""Running Aftercare on one machine: DynamoDB Local, local keys, and one origin for site and API."""
