"""Retraining targets as route types: Airflow, GitHub Actions, Argo, Kubeflow, Prefect, templates.

Each target is one module holding its route settings model and its adapter (the exact
request the target's API documents, and how its answer is classified), plus one row in
`registry.TARGETS`. Delivery goes through the outbox like every channel: one attempt per
call, the outbox retries, and the stable delivery id travels in the target's own
idempotency field where it has one.
"""

# The settings module registers these route types (it imports `registry` at its end); loading
# it first makes every import order of this package's modules resolve the same way.
import monitor.settings  # noqa: F401
