"""Notification channels and their delivery (outbox, Slack, webhooks).

Public entry points: `deliver_due` (one outbox pass) and `OutboxWorker` (the polling loop)
in `monitor.notify.delivery`; channel senders in `slack` and `webhook`; the signature a
receiver checks in `signing`. Submodules are imported lazily by their users so that
importing `monitor.notify.signing` stays cheap.
"""
