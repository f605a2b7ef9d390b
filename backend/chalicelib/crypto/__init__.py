"""Keys:
envelope encryption of personal fields and keyed hashing (the one module that talks to KMS), message keys.
"""

__all__ = [
    "exceptions",
    "keys",
    "message_keys",
]
