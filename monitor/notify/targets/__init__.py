"""Retraining targets as route types: Airflow, GitHub Actions, Argo, Kubeflow, Prefect, templates.

Each target is one module holding its adapter (the exact request the target's API
documents, and how its answer is classified), its route settings model in
`monitor.settings.targets`, and one row in `monitor.notify.registry.NOTIFIERS`. Delivery goes
through the outbox like every channel: one attempt per call, the outbox retries, and the
stable delivery id travels in the target's own idempotency field where it has one.
"""
