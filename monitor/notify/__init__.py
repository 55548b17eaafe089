"""Notification channels and their delivery (outbox, Slack, webhooks)."""
