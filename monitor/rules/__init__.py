"""Alert rules evaluated on one finished run: which (rule, subject) conditions hold.

Pure: a `RunFacts` in, `RuleHit`s out; storage and the lifecycle live in `monitor.alerts`.

Three outcomes per (rule, subject), because "no data" must not look like "all clear":
- a hit with condition True: the condition holds this run;
- a hit with condition False: it was evaluated and does not hold (an open alert resolves);
- no hit at all: it could not be evaluated (insufficient data, a statistic that was not
  computable, a metric without enough labels): an open alert keeps its state.
Per-feature rules therefore return one hit per evaluated feature, True or False. When a rule
returns hits but none for a subject that has an open alert (the feature left the run),
`monitor.alerts.apply_run` treats that subject as False.

Performance rules: `threshold` is an absolute bound, `max_drop` a bound relative to the
reference's value of the same metric; either being crossed fires. For higher-is-better
metrics (accuracy, f1, roc_auc, ...) the condition is value < threshold or
value < reference - max_drop; for lower-is-better ones (`LOWER_IS_BETTER`: log_loss, mae,
rmse, mape, ece, ...) it is value > threshold or value > reference + max_drop. The
boundary itself does not fire. Fewer than `min_rows` labelled rows: no verdict.
Drift and data-quality conditions use >= (the threshold itself fires).
"""

from monitor.rules.conditions import MAX_LISTED_CATEGORIES, evaluate
from monitor.rules.facts import Family, RuleHit, RunFacts, event_family
from monitor.rules.performance import LOWER_IS_BETTER, lower_is_better

__all__ = [
    "LOWER_IS_BETTER",
    "MAX_LISTED_CATEGORIES",
    "Family",
    "RuleHit",
    "RunFacts",
    "evaluate",
    "event_family",
    "lower_is_better",
]
