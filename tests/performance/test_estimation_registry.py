"""The estimator table: lookups, errors that list names, AC/ATC arithmetic, purity."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

import monitor.performance.estimation as estimation
from monitor.errors import EstimationError
from monitor.performance.estimation import ESTIMATORS, classification_data, get_estimator


def test_unknown_and_wrong_task_list_valid_names():
    with pytest.raises(EstimationError, match="valid estimators: ac, atc, cbpe, dle"):
        get_estimator("nope")
    with pytest.raises(EstimationError, match="valid for regression: dle"):
        get_estimator("cbpe", "regression")
    assert get_estimator("atc", "classification").name == "atc"


def digits():
    x, y = load_digits(return_X_y=True)
    perm = np.random.default_rng(0).permutation(len(y))
    x, y = x[perm] / 16.0, y[perm]
    model = LogisticRegression(max_iter=2000, C=0.05).fit(x[:600], y[:600])
    classes = list(model.classes_)

    def data(rows):
        return classification_data(model.predict_proba(x[rows]), classes, None, y[rows])

    return data(slice(600, 1200)), data(slice(1200, None))


def test_ac_and_atc_arithmetic():
    ref, cur = digits()
    conf = cur.scores.max(axis=1)
    ac = ESTIMATORS["ac"].estimate(ESTIMATORS["ac"].fit(ref), cur).metrics["accuracy"]
    assert ac.value == pytest.approx(conf.mean(), rel=1e-12)
    assert ac.sampling_error == pytest.approx(np.sqrt((conf * (1 - conf)).sum()) / cur.rows)
    state = ESTIMATORS["atc"].fit(ref)
    ref_conf = ref.scores.max(axis=1)
    ref_acc = (ref.labels == ref.pred).mean()
    assert (ref_conf > state["threshold"]).mean() == pytest.approx(ref_acc, abs=1.5 / ref.rows)
    atc = ESTIMATORS["atc"].estimate(state, cur).metrics["accuracy"]
    assert atc.value == pytest.approx((conf > state["threshold"]).mean())
    assert atc.realised == pytest.approx((cur.labels == cur.pred).mean())


def test_every_state_is_json_and_estimates_the_same_after_a_round_trip():
    ref, cur = digits()
    for name in ("cbpe", "ac", "atc"):
        e = ESTIMATORS[name]
        state = e.fit(ref)
        loaded = json.loads(json.dumps(state, allow_nan=False))
        assert e.estimate(loaded, cur).to_dict() == e.estimate(state, cur).to_dict()


def test_classes_must_match_the_reference():
    ref, cur = digits()
    state = ESTIMATORS["cbpe"].fit(ref)
    other = classification_data(cur.scores[:, :2] / cur.scores[:, :2].sum(1, keepdims=True), [0, 1])
    with pytest.raises(EstimationError, match="differ from the reference"):
        ESTIMATORS["cbpe"].estimate(state, other)


def test_bad_probabilities_are_refused():
    with pytest.raises(EstimationError, match=r"\[0, 1\]"):
        classification_data(np.array([0.2, 1.4]), [0, 1])
    with pytest.raises(EstimationError, match="not one of the classes"):
        classification_data(np.array([0.2, 0.4]), [0, 1], ["0", "yes"])


def test_package_imports_no_storage_kafka_or_db():
    banned = ("monitor.storage", "sqlalchemy", "confluent_kafka", "psycopg", "monitor.ingest")
    for path in Path(estimation.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(banned), f"{path.name} imports {name}"
