"""What can go wrong with keys: one family, so a door maps it in one place."""


class CryptoError(Exception):
    """A key could not be used, or a ciphertext is not what it claims to be."""


class KeyServiceUnavailable(CryptoError):
    """KMS (or the local key) could not be used just now; nothing was stored."""


class CiphertextMismatch(CryptoError):
    """A ciphertext was opened under a reference or kind it was not sealed for."""
