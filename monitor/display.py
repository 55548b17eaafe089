"""How stored names are shown to people (CLI, reports, dashboard, Slack, Alertmanager).

The model's output is compared like one more feature and stored under `PREDICTION_FEATURE`
(the key in results, the API and webhook JSON, so machines keep one stable name). Wherever
a person reads it, it is called `PREDICTION_LABEL`; it is not an input feature, so drift
share and "n of m features" never count it.
"""

from __future__ import annotations

PREDICTION_FEATURE = "__prediction__"
PREDICTION_LABEL = "prediction"


def feature_label(name: str) -> str:
    """The display name of a stored feature name (only the prediction's differs)."""
    return PREDICTION_LABEL if name == PREDICTION_FEATURE else name
