"""The retraining targets by route type: one row per target (its route model and adapter).

Adding a target is one module (a `TargetRoute` subclass with `type: Literal["<name>"]` and an
adapter) plus one row here; `monitor.settings` accepts its routes and `default_senders()`
delivers them, both through this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args

from pydantic import Field

import monitor.settings as _settings
from monitor.notify.targets.airflow import Airflow2Route, Airflow3Route, AirflowAdapter
from monitor.notify.targets.argo import ArgoWorkflowsAdapter, ArgoWorkflowsRoute
from monitor.notify.targets.base import Adapter, TargetRoute, TargetSender
from monitor.notify.targets.github import GithubActionsAdapter, GithubActionsRoute
from monitor.notify.targets.kubeflow import KubeflowPipelinesAdapter, KubeflowPipelinesRoute
from monitor.notify.targets.prefect import PrefectAdapter, PrefectRoute
from monitor.notify.targets.template import TemplateWebhookAdapter, TemplateWebhookRoute


@dataclass(frozen=True)
class Target:
    route: type[TargetRoute]
    adapter: Adapter


TARGETS: dict[str, Target] = {
    "airflow2": Target(Airflow2Route, AirflowAdapter(2)),
    "airflow3": Target(Airflow3Route, AirflowAdapter(3)),
    "github_actions": Target(GithubActionsRoute, GithubActionsAdapter()),
    "argo_workflows": Target(ArgoWorkflowsRoute, ArgoWorkflowsAdapter()),
    "kubeflow_pipelines": Target(KubeflowPipelinesRoute, KubeflowPipelinesAdapter()),
    "prefect": Target(PrefectRoute, PrefectAdapter()),
    "template_webhook": Target(TemplateWebhookRoute, TemplateWebhookAdapter()),
}

for _name, _t in TARGETS.items():  # the row's key is the route model's `type`
    assert get_args(_t.route.model_fields["type"].annotation) == (_name,), _name


def target_senders() -> dict[str, Any]:
    """Route type -> sender, merged into `monitor.notify.channels.default_senders()`."""
    return {name: TargetSender(t.adapter, t.route) for name, t in TARGETS.items()}


TargetRoutes = Annotated[
    Union[tuple(t.route for t in TARGETS.values())],  # noqa: UP007 (built from the table)
    Field(discriminator="type"),
]
_settings.AlertingSettings.model_rebuild(_types_namespace={"TargetRoutes": TargetRoutes})
_settings.Settings.model_rebuild(_types_namespace={"TargetRoutes": TargetRoutes})
