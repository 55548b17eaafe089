"""Route settings of the retraining targets (Airflow, GitHub Actions, Argo, Kubeflow, Prefect,
templated webhooks): what every target shares (`TargetRoute`, auth from the environment, the
facts a trigger carries) and one model per target. Their senders are in
`monitor.notify.targets`; `TARGET_ROUTE_MODELS` feeds the `Route` union.
"""

from __future__ import annotations

import functools
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from monitor.settings.base import Duration, RuleCondition, Severity, StrictModel

if TYPE_CHECKING:
    from jinja2 import Template

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DEFAULT_EVENTS = ("drift.detected", "performance.detected")  # a resolve must not retrain


def _env_name(name: str) -> str:
    if not _ENV_NAME.match(name):  # never echo the value: it may be a pasted secret
        raise ValueError("expected the NAME of an environment variable (letters, digits, _)")
    return name


EnvName = Annotated[str, AfterValidator(_env_name)]


class BearerAuth(StrictModel):
    """`Authorization: Bearer <token>`, the token read from `token_env` at send time."""

    type: Literal["bearer"]
    token_env: EnvName


class BasicAuth(StrictModel):
    """HTTP basic auth (RFC 7617) from two environment variables."""

    type: Literal["basic"]
    username_env: EnvName
    password_env: EnvName


Auth = Annotated[BearerAuth | BasicAuth, Field(discriminator="type")]


class TargetRoute(StrictModel):
    """Fields of every retraining route; `url` is the target's API base URL."""

    url: str = Field(pattern=r"^https?://")
    auth: Auth | None = None
    min_severity: Severity = "info"
    rules: list[str] = Field(default_factory=list)  # empty: every rule
    conditions: list[RuleCondition] = Field(default_factory=list)  # empty: every condition
    events: list[str] = Field(default_factory=lambda: list(DEFAULT_EVENTS))
    cooldown: Duration = timedelta(0)  # one trigger per alert subject per cooldown
    timeout: Duration = timedelta(seconds=10)

    def endpoint(self, path: str) -> str:
        return self.url.rstrip("/") + path


Fact = Literal[
    "delivery_id",
    "alert_id",
    "monitor",
    "model",
    "model_version",
    "window_start",
    "window_end",
    "drifted_features",
    "report_url",
    "event",
    "rule",
    "severity",
]
DEFAULT_FACTS: tuple[str, ...] = (
    "delivery_id",
    "alert_id",
    "monitor",
    "window_start",
    "window_end",
    "drifted_features",
    "report_url",
)


def with_delivery_id(names: list[str]) -> list[str]:
    """Validator: the delivery id always travels (it is how a run is traced to its trigger)."""
    if len(set(names)) != len(names):
        raise ValueError("a fact is listed twice")
    if "delivery_id" not in names:
        raise ValueError("must include delivery_id (the trigger's idempotency and trace key)")
    return names


Facts = Annotated[list[Fact], AfterValidator(with_delivery_id)]


def _default_facts() -> list[Fact]:
    return list(DEFAULT_FACTS)  # type: ignore[arg-type]  # DEFAULT_FACTS holds Fact names


# --- Airflow ------------------------------------------------------------------------------


class AirflowRoute(TargetRoute):
    """What the Airflow 2 and 3 routes share."""

    dag_id: str = Field(min_length=1)
    run_id_prefix: str = Field("monitor__", pattern=r"^[A-Za-z0-9_.~:+-]*$")
    ui_url: str | None = Field(None, pattern=r"^https?://")  # link base; default: url


class Airflow2Route(AirflowRoute):
    """`url`: the webserver base (e.g. http://airflow:8080); the API is under /api/v1."""

    type: Literal["airflow2"]


class Airflow3Route(AirflowRoute):
    """`url`: the API server base; `logical_date`: "now" (the attempt's time) or "none" (null)."""

    type: Literal["airflow3"]
    logical_date: Literal["now", "none"] = "now"


# --- GitHub Actions -----------------------------------------------------------------------

_NAME = r"^[A-Za-z0-9_.-]+$"


class GithubActionsRoute(TargetRoute):
    """`workflow`: the workflow file name (retrain.yml) or its numeric id."""

    type: Literal["github_actions"]
    url: str = Field("https://api.github.com", pattern=r"^https?://")  # GHES: https://host/api/v3
    auth: Auth  # a token with actions:write (fine-grained) or repo scope
    owner: str = Field(pattern=_NAME)
    repo: str = Field(pattern=_NAME)
    workflow: str = Field(pattern=_NAME)
    ref: str = Field("main", min_length=1)
    inputs: Facts = Field(default_factory=_default_facts, max_length=25)
    api_version: str = "2022-11-28"


# --- Argo Workflows -----------------------------------------------------------------------

_DNS = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class ArgoWorkflowsRoute(TargetRoute):
    type: Literal["argo_workflows"]
    namespace: str = Field(pattern=_DNS, max_length=63)
    template: str = Field(pattern=r"^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$", max_length=253)
    cluster_template: bool = False  # resourceKind ClusterWorkflowTemplate
    name_prefix: str = Field("retrain-", pattern=r"^[a-z0-9][-a-z0-9]*$", max_length=30)
    parameters: Facts = Field(default_factory=_default_facts)
    ui_url: str | None = Field(None, pattern=r"^https?://")  # link base; default: url


# --- Kubeflow Pipelines -------------------------------------------------------------------


class KubeflowPipelinesRoute(TargetRoute):
    type: Literal["kubeflow_pipelines"]
    pipeline_id: str = Field(min_length=1)
    pipeline_version_id: str | None = None
    experiment_id: str | None = None
    display_name_prefix: str = "retrain-"
    parameters: Facts = Field(default_factory=_default_facts)
    ui_url: str | None = Field(None, pattern=r"^https?://")  # link base; default: url


# --- Prefect ------------------------------------------------------------------------------


class PrefectRoute(TargetRoute):
    type: Literal["prefect"]
    deployment_id: str = Field(pattern=r"^[0-9a-fA-F-]{32,36}$")
    parameters: Facts = Field(default_factory=_default_facts)
    tags: list[str] = Field(default_factory=lambda: ["drift-monitor"])
    ui_url: str | None = Field(None, pattern=r"^https?://")  # e.g. http://host:4200


# --- templated webhook --------------------------------------------------------------------

_RESERVED = {"authorization", "content-type", "content-length", "host", "user-agent"}


@functools.lru_cache(maxsize=64)
def compile_template(source: str) -> Template:
    """The body template, compiled once (sandboxed; an undefined name is an error)."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    return env.from_string(source)


class TemplateWebhookRoute(TargetRoute):
    type: Literal["template_webhook"]
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    body: str = Field(min_length=1)
    content_type: str = "application/json"
    headers: dict[str, str] = Field(default_factory=dict)  # static, not secret (use auth)
    idempotency_header: str | None = "Idempotency-Key"
    run_id_field: str | None = None  # key of the answer's JSON object recorded as run id
    url_field: str | None = None  # key of the answer's JSON object recorded as run URL

    @field_validator("body")
    @classmethod
    def _compiles(cls, body: str) -> str:
        from jinja2 import TemplateSyntaxError

        try:
            compile_template(body)
        except TemplateSyntaxError as exc:
            raise ValueError(f"template syntax error on line {exc.lineno}: {exc.message}") from None
        return body

    @field_validator("headers")
    @classmethod
    def _not_reserved(cls, headers: dict[str, str]) -> dict[str, str]:
        for name in headers:
            if name.lower() in _RESERVED:
                raise ValueError(f"header {name!r} is set by the monitor (credentials: use auth)")
        return headers


TARGET_ROUTE_MODELS: tuple[type[TargetRoute], ...] = (
    Airflow2Route,
    Airflow3Route,
    GithubActionsRoute,
    ArgoWorkflowsRoute,
    KubeflowPipelinesRoute,
    PrefectRoute,
    TemplateWebhookRoute,
)
