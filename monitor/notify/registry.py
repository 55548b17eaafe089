"""The notifiers: one row per route type, holding the route's settings model and its sender.

`alerting.routes` entries are validated by the models in `monitor.settings` (the `Route` union
is built from `monitor.settings.ROUTE_MODELS`); delivery sends each outbox row through the
sender of its channel (the route's `type`). Adding a notifier: its settings model (with
`type: Literal["<name>"]`) in `monitor/settings/routes.py` or `targets.py`, its sender module
here, and one row below (docs/architecture.md, "Adding a notifier"). Importing this module
checks that the rows and the settings' route models agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import get_args

from monitor.notify.alertmanager import AlertmanagerSender
from monitor.notify.channels import Sender
from monitor.notify.targets.airflow import AirflowAdapter
from monitor.notify.targets.argo import ArgoWorkflowsAdapter
from monitor.notify.targets.base import Adapter, TargetSender
from monitor.notify.targets.github import GithubActionsAdapter
from monitor.notify.targets.kubeflow import KubeflowPipelinesAdapter
from monitor.notify.targets.prefect import PrefectAdapter
from monitor.notify.targets.template import TemplateWebhookAdapter
from monitor.notify.webhook import WebhookSender
from monitor.settings import ROUTE_MODELS, AlertmanagerRoute, SlackRoute, StrictModel, WebhookRoute
from monitor.settings.targets import (
    Airflow2Route,
    Airflow3Route,
    ArgoWorkflowsRoute,
    GithubActionsRoute,
    KubeflowPipelinesRoute,
    PrefectRoute,
    TargetRoute,
    TemplateWebhookRoute,
)


@dataclass(frozen=True)
class Notifier:
    """A route type: the settings model of its routes and how to make its sender."""

    route: type[StrictModel]
    sender: Callable[[], Sender]


def _slack() -> Sender:
    from monitor.notify.slack import SlackSender  # slack-sdk: loaded when sending only

    return SlackSender()


def _target(route: type[TargetRoute], adapter: Adapter) -> Notifier:
    """A retraining target: its adapter behind the shared TargetSender."""
    return Notifier(route, lambda: TargetSender(adapter, route))


NOTIFIERS: dict[str, Notifier] = {
    "slack": Notifier(SlackRoute, _slack),
    "webhook": Notifier(WebhookRoute, WebhookSender),
    "alertmanager": Notifier(AlertmanagerRoute, AlertmanagerSender),
    "airflow2": _target(Airflow2Route, AirflowAdapter(2)),
    "airflow3": _target(Airflow3Route, AirflowAdapter(3)),
    "github_actions": _target(GithubActionsRoute, GithubActionsAdapter()),
    "argo_workflows": _target(ArgoWorkflowsRoute, ArgoWorkflowsAdapter()),
    "kubeflow_pipelines": _target(KubeflowPipelinesRoute, KubeflowPipelinesAdapter()),
    "prefect": _target(PrefectRoute, PrefectAdapter()),
    "template_webhook": _target(TemplateWebhookRoute, TemplateWebhookAdapter()),
}


def route_type(model: type[StrictModel]) -> str:
    """The `type` literal a route model is selected by."""
    (name,) = get_args(model.model_fields["type"].annotation)
    return str(name)


def check_registry(notifiers: dict[str, Notifier] = NOTIFIERS) -> None:
    """Each row's key is its model's `type`, and the rows cover exactly the settings' routes."""
    for name, notifier in notifiers.items():
        if route_type(notifier.route) != name:
            raise TypeError(f"notifier row {name!r} holds the {notifier.route.__name__} model")
    missing = {route_type(m) for m in ROUTE_MODELS} ^ set(notifiers)
    if missing:
        raise TypeError(f"route types without both a settings model and a notifier: {missing}")


check_registry()


def default_senders() -> dict[str, Sender]:
    """Channel name (notifications.channel, the route's `type`) -> sender."""
    return {name: notifier.sender() for name, notifier in NOTIFIERS.items()}
