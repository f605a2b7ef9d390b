"""Aftercare's domain, one package per capability.

store (items, the table, the bucket, references), crypto (keys, hashing), rules (data policy, catalog,
retailer, lifecycles), forms, intake (a form's write, uploads, checker, warranties), cases (lifecycle
moves, tracking, follow-up link), notify (stream emails), web (the public HTTP door), staff (every staff
operation, audited), console (the staff desk's web door); settings wires them to AWS or the local
stack, and links names the addresses on the site's origin that emails and pages send customers to.
"""
