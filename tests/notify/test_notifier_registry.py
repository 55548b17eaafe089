"""The notifier registry: one row per route type (settings model + sender), checked against
the settings' route models; settings load without the notify package."""

from __future__ import annotations

import subprocess
import sys

import pytest

from monitor.notify.registry import NOTIFIERS, Notifier, check_registry, default_senders, route_type
from monitor.settings import ROUTE_MODELS, SlackRoute, WebhookRoute


def test_rows_cover_the_settings_route_models() -> None:
    assert [route_type(m) for m in ROUTE_MODELS] == list(NOTIFIERS)
    assert all(NOTIFIERS[route_type(m)].route is m for m in ROUTE_MODELS)
    senders = default_senders()
    assert set(senders) == set(NOTIFIERS) and all(hasattr(s, "send") for s in senders.values())


def test_a_row_must_match_its_model_and_the_settings() -> None:
    wrong_key = {**NOTIFIERS, "slack": Notifier(WebhookRoute, lambda: default_senders()["webhook"])}
    with pytest.raises(TypeError, match="'slack' holds the WebhookRoute model"):
        check_registry(wrong_key)
    missing = {k: v for k, v in NOTIFIERS.items() if k != "prefect"}
    with pytest.raises(TypeError, match="prefect"):
        check_registry(missing)
    check_registry({**NOTIFIERS, "slack": Notifier(SlackRoute, NOTIFIERS["slack"].sender)})


def test_settings_do_not_load_notify() -> None:
    code = (
        "import sys, monitor.settings\n"
        "print(sorted(m for m in sys.modules if m.startswith('monitor.notify')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == "[]"
