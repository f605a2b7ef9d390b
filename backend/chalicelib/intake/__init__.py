"""Taking submissions in: the one write of a form, uploads and their checker, registered warranties."""

__all__ = [
    "checker",
    "filecheck",
    "receiving",
    "uploads",
    "warranty",
    "warranty_link",
]
