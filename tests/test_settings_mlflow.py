"""Settings of MLflow references (issue 16 item 5): the URI forms, one source, the options
that belong to an MLflow reference, and the tracking server copied from `mlflow:`."""

from __future__ import annotations

import pytest

from monitor.errors import ConfigError
from monitor.settings import parse_model_uri, parse_settings


def _monitor(reference: object) -> dict[str, object]:
    return {"monitors": [{"name": "m", "model": "churn", "reference": reference}]}


def test_model_uris() -> None:
    assert parse_model_uri("models:/churn/3") == ("churn", "3", None)
    assert parse_model_uri("models:/churn@champion") == ("churn", None, "champion")
    assert parse_model_uri("models:/prod.ml.churn@best-1") == ("prod.ml.churn", None, "best-1")
    for bad in ("models:/churn", "models:/churn/latest", "runs:/abc/model", "models:/@x"):
        with pytest.raises(ValueError, match="not an MLflow model URI"):
            parse_model_uri(bad)


def test_tracking_uri_from_the_mlflow_section() -> None:
    data = {**_monitor("models:/churn@champion"), "mlflow": {"tracking_uri": "http://mlf:5000"}}
    ref = parse_settings(data).monitors[0].reference
    assert ref is not None and (ref.mlflow, ref.tracking_uri) == (
        "models:/churn@champion",
        "http://mlf:5000",
    )
    own = {"mlflow": "models:/churn/3", "tracking_uri": "https://other"}
    ref = (
        parse_settings({**_monitor(own), "mlflow": {"tracking_uri": "http://mlf"}})
        .monitors[0]
        .reference
    )
    assert ref is not None and ref.tracking_uri == "https://other"
    ref = parse_settings(_monitor({"mlflow": "models:/churn/3"})).monitors[0].reference
    assert ref is not None and ref.tracking_uri is None  # MLFLOW_TRACKING_URI at read time


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ({"mlflow": "models:/churn"}, "is not an MLflow model URI"),
        ({"mlflow": "models:/c/1", "path": "x.csv"}, "exactly one of path, start+end"),
        ({"mlflow": "models:/c/1", "dataset": "d", "artifact": "a.csv"}, "dataset or artifact"),
        ({"path": "x.csv", "dataset": "d"}, "options of an mlflow reference"),
        ({"mlflow": "models:/c/1", "artifact": "../etc/passwd"}, "a path inside the run"),
        ({"mlflow": "models:/c/1", "tracking_uri": "file:///tmp"}, "http(s) URL"),
    ],
)
def test_bad_mlflow_references(reference: object, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(_monitor(reference))
    assert "monitors[0].reference" in str(info.value) and expected in str(info.value)


def test_mlflow_section() -> None:
    with pytest.raises(ConfigError, match=r"mlflow\.poll_interval"):
        parse_settings({"mlflow": {"poll_interval": "0s"}})
    with pytest.raises(ConfigError, match=r"mlflow\.tracking_uri"):
        parse_settings({"mlflow": {"tracking_uri": "mlflow:5000"}})
    assert parse_settings({}).mlflow.watch_alias is False


def test_watched_aliases() -> None:
    from monitor.mlflow_watch import watched

    monitors = [
        {"name": "a", "model": "churn", "reference": "models:/churn@champion"},
        {
            "name": "b",
            "model": "churn",
            "segment": {"r": "eu"},
            "reference": "models:/churn@champion",
        },
        {"name": "c", "model": "churn", "reference": "models:/churn/3"},  # a version: fixed
        {"name": "d", "model": "fraud", "reference": {"mlflow": "models:/fraud@prod"}},
        {"name": "e", "model": "x", "reference": "x.parquet"},
    ]
    data = {"monitors": monitors, "mlflow": {"tracking_uri": "http://mlf", "watch_alias": True}}
    found = [
        (w.model, w.registered_model, w.alias, w.monitors) for w in watched(parse_settings(data))
    ]
    assert found == [("churn", "churn", "champion", ("a", "b")), ("fraud", "fraud", "prod", ("d",))]
    assert watched(parse_settings({**data, "mlflow": {"tracking_uri": "http://mlf"}})) == []
