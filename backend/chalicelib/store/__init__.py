"""Storage:
the layout of stored items, the one module that talks to DynamoDB, the attachments bucket, references.
"""

__all__ = [
    "bucket",
    "items",
    "references",
    "table",
]
