"""`aftercare`: the staff command line (exports, data-subject requests, consent, complaints)."""
