"""The public HTTP door:
decoding posts, screening, the origin secret, receipts, the API's own pages, the OpenAPI document.
"""

__all__ = [
    "openapi",
    "origin",
    "pages",
    "posts",
    "progress_page",
    "receipts",
    "reception",
    "screening",
]
