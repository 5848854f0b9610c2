"""Email delivery: subscribers and the delivery ledger (:mod:`.store`), signed tokens
(:mod:`.tokens`), the message (:mod:`.render`) and its delivery over SMTP or into a Maildir
outbox (:mod:`.send`). Nothing here imports MkDocs.
"""
