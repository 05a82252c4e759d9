"""What support staff and support tools ask about one buyer: why they cannot buy or watch
(explain.py), the e-mails they were sent (emails.py), everything that happened to them
(timeline.py). Read-only, except a staff note and an e-mail's resend, which are services."""
