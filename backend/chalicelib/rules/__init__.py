"""The rules as data:
the data policy, the product catalog, the retailer's facts, case lifecycles and promises, saved replies.
"""

__all__ = [
    "catalog",
    "lifecycles",
    "policy",
    "saved_replies",
    "retailer",
]
