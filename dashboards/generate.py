"""Dashboards as code: writes drift.json, performance.json and service.json beside this file.

    .venv/bin/python dashboards/generate.py           # regenerate the committed JSON
    .venv/bin/python dashboards/generate.py --check   # exit 1 when regenerating would change it

Built with grafana-foundation-sdk (pinned exactly in pyproject: its versions carry an epoch,
so a loose pin can pick an older build). The SDK has no PostgreSQL query type, so `SqlQuery`
below is the thin one: the target JSON Grafana's SQL datasource reads (rawSql, format).

Every SQL query reads through the read-only role of `readonly_role.sql`, quotes variables
with Grafana's `${var:sqlstring}` format (single quotes doubled, so a feature name taken
from an event cannot break out of its literal) and filters time with `$__timeFilter`.
`SQL_COLUMNS` records the columns each SQL target must return; tests/dashboards runs every
query on a database filled by a real end-to-end run and checks them.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import heatmap, prometheus, stat, statetimeline, table
from grafana_foundation_sdk.builders import timeseries as ts
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models.heatmap import HeatmapColorMode

from monitor.drift.registry import METHODS
from monitor.rules import LOWER_IS_BETTER

HERE = Path(__file__).resolve().parent
PG = dm.DataSourceRef(type_val="grafana-postgresql-datasource", uid="monitor-postgres")
PROM = dm.DataSourceRef(type_val="prometheus", uid="monitor-prometheus")

# p-value tests decide on p_value < threshold, distances on statistic >= threshold
TESTS = ", ".join(
    f"'{m.name}'" for m in sorted(METHODS.values(), key=lambda m: m.name) if m.is_p_value
)
LOWER = ", ".join(f"'{m}'" for m in sorted(LOWER_IS_BETTER))
MONITOR = "${monitor:sqlstring}"
FEATURES = "${feature:sqlstring}"
METRICS = "${metric:sqlstring}"

# --- the thin SQL query type ---------------------------------------------------------------


@dataclass
class SqlDataquery(cogvariants.Dataquery):
    ref_id: str
    raw_sql: str
    format: str  # "table" | "time_series"

    def to_json(self) -> dict[str, Any]:
        return {
            "refId": self.ref_id,
            "datasource": PG.to_json(),
            "editorMode": "code",
            "format": self.format,
            "rawQuery": True,
            "rawSql": self.raw_sql,
        }


class SqlQuery(cogbuilder.Builder[SqlDataquery]):
    def __init__(self, raw_sql: str, *, fmt: str = "time_series", ref_id: str = "A") -> None:
        self._internal = SqlDataquery(ref_id, _clean(raw_sql), fmt)

    def build(self) -> SqlDataquery:
        return self._internal


def _clean(sql: str) -> str:
    """One clause per line, no indentation (interpolated blocks would indent unevenly)."""
    return "\n".join(line.strip() for line in sql.strip().splitlines() if line.strip())


# Columns each SQL target returns: (dashboard uid, panel title, refId) -> columns.
SQL_COLUMNS: dict[tuple[str, str, str], tuple[str, ...]] = {}


def sql(
    uid: str, title: str, query: str, columns: tuple[str, ...], *, fmt: str, ref: str = "A"
) -> SqlQuery:
    SQL_COLUMNS[(uid, title, ref)] = columns
    return SqlQuery(query, fmt=fmt, ref_id=ref)


def promql(expr: str, legend: str, ref: str = "A") -> prometheus.Dataquery:
    return (
        prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref).range().datasource(PROM)
    )


def sql_variable(name: str, label: str, query: str, *, multi: bool = False) -> db.QueryVariable:
    v = (
        db.QueryVariable(name)
        .label(label)
        .datasource(PG)
        .query(_clean(query))
        .refresh(dm.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
    )
    if multi:
        v = v.multi(True).include_all(True)
    return v


def thresholds(*steps: tuple[float | None, str]) -> db.ThresholdsConfig:
    return (
        db.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=v, color=c) for v, c in steps])
    )


def dashed(name_regex: str) -> tuple[str, list[dm.DynamicConfigValue]]:
    return name_regex, [
        dm.DynamicConfigValue(id_val="custom.lineStyle", value={"fill": "dash", "dash": [10, 10]}),
        dm.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": "red"}),
    ]


def time_series(title: str, description: str, *, unit: str = "none") -> ts.Panel:
    return (
        ts.Panel()
        .title(title)
        .description(description)
        .datasource(PG)
        .unit(unit)
        .line_width(2)
        .point_size(6)
        .show_points(common.VisibilityMode.ALWAYS)
        .span(12)
        .height(8)
    )


def sql_table(title: str, description: str) -> table.Panel:
    return table.Panel().title(title).description(description).datasource(PG).span(12).height(8)


def dashboard(uid: str, title: str, tags: list[str], time_from: str) -> db.Dashboard:
    return (
        db.Dashboard(title)
        .uid(uid)
        .tags(["monitor", *tags])
        .editable()
        .timezone("utc")
        .time(time_from, "now")
        .refresh("1m")
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
    )


# --- drift ------------------------------------------------------------------------------------

DRIFT = "monitor-drift"
SCORE = f"""CASE WHEN f.method IN ({TESTS}) THEN f.threshold / GREATEST(f.p_value, 1e-12)
                 ELSE f.statistic / NULLIF(f.threshold, 0) END"""
FEATURE_ROWS = f"""FROM drift_feature_results f
JOIN drift_runs r ON r.id = f.run_id
WHERE r.monitor = {MONITOR} AND r.status = 'succeeded'
  AND f.feature IN ({FEATURES})
  AND $__timeFilter(r.window_end)"""


def drift_dashboard() -> db.Dashboard:
    d = dashboard(DRIFT, "Monitor: data drift", ["drift"], "now-7d")
    d = d.with_variable(
        sql_variable(
            "model",
            "Model",
            """
            WITH RECURSIVE m(model) AS (
              (SELECT model FROM predictions ORDER BY model LIMIT 1)
              UNION ALL
              SELECT (SELECT p.model FROM predictions p WHERE p.model > m.model
                      ORDER BY p.model LIMIT 1)
              FROM m WHERE m.model IS NOT NULL
            )
            SELECT model FROM m WHERE model IS NOT NULL
            """,
        )
    )
    d = d.with_variable(
        sql_variable(
            "monitor",
            "Monitor",
            "SELECT monitor FROM drift_runs GROUP BY monitor ORDER BY monitor",
        )
    )
    d = d.with_variable(
        sql_variable(
            "feature",
            "Feature",
            f"""
            SELECT DISTINCT f.feature
            FROM drift_feature_results f JOIN drift_runs r ON r.id = f.run_id
            WHERE r.monitor = {MONITOR}
            ORDER BY 1
            """,
            multi=True,
        )
    )

    title = "Dataset drift"
    d = d.with_panel(
        statetimeline.Panel()
        .title(title)
        .description("Verdict of each window (from its start): drift, no drift, or why none.")
        .datasource(PG)
        .with_target(
            sql(
                DRIFT,
                title,
                f"""
                SELECT window_start AS "time",
                  CASE WHEN status = 'succeeded'
                       THEN CASE WHEN dataset_drift THEN 'drift' ELSE 'no drift' END
                       ELSE replace(status, '_', ' ') END AS "dataset drift"
                FROM drift_runs
                WHERE monitor = {MONITOR}
                  AND status IN ('succeeded', 'insufficient_data', 'failed', 'skipped')
                  AND $__timeFilter(window_start)
                ORDER BY 1
                """,
                ("time", "dataset drift"),
                fmt="table",
            )
        )
        .mappings(
            [
                dm.ValueMap(
                    options={
                        "drift": dm.ValueMappingResult(color="red", index=0),
                        "no drift": dm.ValueMappingResult(color="green", index=1),
                        "insufficient data": dm.ValueMappingResult(color="yellow", index=2),
                        "failed": dm.ValueMappingResult(color="purple", index=3),
                        "skipped": dm.ValueMappingResult(color="gray", index=4),
                    }
                )
            ]
        )
        .show_value(common.VisibilityMode.NEVER)
        .span(24)
        .height(5)
    )

    title = "Drift share"
    d = d.with_panel(
        time_series(title, "Share of features drifted per window; the dataset drifts at the line.")
        .with_target(
            sql(
                DRIFT,
                title,
                f"""
                SELECT window_end AS "time", drift_share AS "drift share",
                  (summary->>'drift_share_threshold')::float8 AS "threshold"
                FROM drift_runs
                WHERE monitor = {MONITOR} AND status = 'succeeded'
                  AND $__timeFilter(window_end)
                ORDER BY 1
                """,
                ("time", "drift share", "threshold"),
                fmt="time_series",
            )
        )
        .unit("percentunit")
        .min(0)
        .max(1)
        .override_by_name(*dashed("threshold"))
    )

    title = "Model traffic"
    d = d.with_panel(
        time_series(title, "Predictions and labels of $model stored per 5 minutes (event time).")
        .with_target(
            sql(
                DRIFT,
                title,
                """
                SELECT $__timeGroupAlias(ts, 5m), count(*) AS "predictions"
                FROM predictions
                WHERE model = ${model:sqlstring} AND $__timeFilter(ts)
                GROUP BY 1 ORDER BY 1
                """,
                ("time", "predictions"),
                fmt="time_series",
            )
        )
        .with_target(
            sql(
                DRIFT,
                title,
                """
                SELECT $__timeGroupAlias(ts, 5m), count(*) AS "labels"
                FROM labels
                WHERE model = ${model:sqlstring} AND $__timeFilter(ts)
                GROUP BY 1 ORDER BY 1
                """,
                ("time", "labels"),
                fmt="time_series",
                ref="B",
            )
        )
        .draw_style(common.GraphDrawStyle.BARS)
        .show_points(common.VisibilityMode.NEVER)
    )

    title = "Feature drift statistic"
    d = d.with_panel(
        time_series(
            title,
            "What each feature's verdict compares with its threshold (dashed): the p-value "
            "for tests (drift below the line), the distance for distances (drift at or above).",
        )
        .with_target(
            sql(
                DRIFT,
                title,
                f"""
                SELECT r.window_end AS "time",
                  f.feature || CASE WHEN f.method IN ({TESTS}) THEN ' p-value (' ELSE ' (' END
                    || f.method || ')' AS metric,
                  CASE WHEN f.method IN ({TESTS}) THEN f.p_value ELSE f.statistic END AS value
                {FEATURE_ROWS}
                UNION ALL
                SELECT r.window_end, f.feature || ' threshold', f.threshold
                {FEATURE_ROWS}
                ORDER BY 1, 2
                """,
                ("time", "metric", "value"),
                fmt="time_series",
            )
        )
        .override_by_regexp(*dashed(".* threshold$"))
    )

    title = "Drift score: feature × window"
    d = d.with_panel(
        heatmap.Panel()
        .title(title)
        .description(
            "statistic / threshold for distances, threshold / p-value for tests (capped at "
            "10): 1 or more means the feature drifted in that window."
        )
        .datasource(PG)
        .with_target(
            sql(
                DRIFT,
                title,
                f"""
                SELECT r.window_end AS "time", f.feature AS metric,
                  LEAST({SCORE}, 10) AS value
                {FEATURE_ROWS}
                ORDER BY 1, 2
                """,
                ("time", "metric", "value"),
                fmt="time_series",
            )
        )
        .calculate(False)
        .color(
            heatmap.HeatmapColorOptions()
            .mode(HeatmapColorMode.SCHEME)
            .scheme("RdYlGn")
            .reverse(True)
            .min(0)
            .max(2)
            .steps(64)
        )
        .cell_gap(2)
        .show_value(common.VisibilityMode.AUTO)
        .show_legend()
        .span(12)
        .height(8)
    )

    title = "Latest drifted features"
    d = d.with_panel(
        sql_table(
            title, "Features that drifted in the newest succeeded window, worst first."
        ).with_target(
            sql(
                DRIFT,
                title,
                f"""
                WITH last AS (
                  SELECT id, window_end FROM drift_runs
                  WHERE monitor = {MONITOR} AND status = 'succeeded'
                    AND $__timeFilter(window_end)
                  ORDER BY window_end DESC LIMIT 1
                )
                SELECT f.feature, f.kind, f.method, f.statistic, f.threshold,
                  f.p_value AS "p-value", last.window_end AS "window end"
                FROM drift_feature_results f JOIN last ON last.id = f.run_id
                WHERE f.drifted
                ORDER BY {SCORE} DESC NULLS LAST, f.feature
                """,
                ("feature", "kind", "method", "statistic", "threshold", "p-value", "window end"),
                fmt="table",
            )
        )
    )

    title = "New categories"
    d = d.with_panel(
        sql_table(
            title,
            "Categories absent from the reference, per window and feature (share of the "
            "window's values). Sketch-based runs know the share but not the names.",
        )
        .with_target(
            sql(
                DRIFT,
                title,
                f"""
                SELECT r.window_end AS "window end", f.feature,
                  COALESCE((f.stats->'stats'->>'new_category_count')::int,
                           CASE WHEN (f.stats->'stats'->>'new_category_share')::float8 > 0
                                THEN NULL ELSE 0 END) AS "count",
                  COALESCE((f.stats->'stats'->>'new_category_share')::float8,
                           (SELECT sum(c.value::float8)
                            FROM jsonb_each_text(f.stats->'stats'->'new_categories') c))
                    AS "share",
                  (SELECT string_agg(c.key, ', ' ORDER BY c.value::float8 DESC, c.key)
                   FROM jsonb_each_text(f.stats->'stats'->'new_categories') c) AS "categories"
                {FEATURE_ROWS}
                  AND (jsonb_typeof(f.stats->'stats'->'new_categories') = 'object'
                       AND f.stats->'stats'->'new_categories' <> '{{}}'::jsonb
                       OR (f.stats->'stats'->>'new_category_share')::float8 > 0)
                ORDER BY 1 DESC, 4 DESC
                """,
                ("window end", "feature", "count", "share", "categories"),
                fmt="table",
            )
        )
        .override_by_name("share", [dm.DynamicConfigValue(id_val="unit", value="percentunit")])
    )

    title = "Missing share"
    d = d.with_panel(
        time_series(title, "Share of missing values per feature in each window.")
        .with_target(
            sql(
                DRIFT,
                title,
                f"""
                SELECT r.window_end AS "time", f.feature AS metric,
                  (f.stats->>'missing_share_current')::float8 AS value
                {FEATURE_ROWS}
                  AND f.kind <> 'prediction'
                ORDER BY 1, 2
                """,
                ("time", "metric", "value"),
                fmt="time_series",
            )
        )
        .unit("percentunit")
        .min(0)
    )

    title = "Alerts"
    d = d.with_panel(
        sql_table(title, "Alerts of the monitor: open ones, and those that fired in the range.")
        .with_target(
            sql(
                DRIFT,
                title,
                f"""
                SELECT a.state, a.severity, a.rule, a.subject, a.fired_at AS "fired",
                  a.resolved_at AS "resolved", a.consecutive AS "windows"
                FROM alerts a
                WHERE a.monitor = {MONITOR}
                  AND (a.resolved_at IS NULL OR $__timeFilter(a.fired_at))
                ORDER BY a.resolved_at IS NULL DESC, a.fired_at DESC NULLS LAST
                """,
                ("state", "severity", "rule", "subject", "fired", "resolved", "windows"),
                fmt="table",
            )
        )
        .span(24)
    )
    return d


# --- performance ------------------------------------------------------------------------------

PERF = "monitor-performance"
REFERENCE = f"""ref AS (
  SELECT spec->'performance' AS perf FROM reference_datasets
  WHERE monitor = {MONITOR} ORDER BY version DESC LIMIT 1
)"""
NEWEST_REVISIONS = f"""runs AS (
  SELECT DISTINCT ON (window_start, window_end) window_end, status, metrics
  FROM performance_runs
  WHERE monitor = {MONITOR} AND $__timeFilter(window_end)
  ORDER BY window_start, window_end, revision DESC
)"""
# worst first: the largest fall below the reference (a rise for lower-is-better metrics)
BADNESS = f"""CASE WHEN m.metric IN ({LOWER}) THEN -1 ELSE 1 END
    * ((s->'metrics'->>m.metric)::float8 - COALESCE((ref.perf->>m.metric)::float8, 0))"""


def slice_query(source: str) -> str:
    """Per-slice (model version or segment) rows of the newest succeeded window."""
    name = (
        "s->>'model_version' AS \"model version\""
        if source == "versions"
        else "s->>'key' AS \"segment\", s->>'value' AS \"segment value\""
    )
    elements = "last.metrics->'versions'" if source == "versions" else "last.segments"
    return f"""
        WITH last AS (
          SELECT metrics, segments, window_end FROM performance_runs
          WHERE monitor = {MONITOR} AND status = 'succeeded' AND $__timeFilter(window_end)
          ORDER BY window_end DESC, revision DESC LIMIT 1
        ), {REFERENCE}
        SELECT {name}, m.metric,
          (s->'metrics'->>m.metric)::float8 AS "value",
          (ref.perf->>m.metric)::float8 AS "reference",
          (s->>'predictions')::bigint AS "predictions", (s->>'labelled')::bigint AS "labelled",
          (s->>'coverage')::float8 AS "coverage", s->>'status' AS "status"
        FROM last
        CROSS JOIN jsonb_array_elements({elements}) s
        CROSS JOIN unnest(ARRAY[{METRICS}]::text[]) m(metric)
        LEFT JOIN ref ON true
        ORDER BY {BADNESS} ASC NULLS LAST, 1
        """


def performance_dashboard() -> db.Dashboard:
    d = dashboard(PERF, "Monitor: model performance", ["performance"], "now-7d")
    d = d.with_variable(
        sql_variable(
            "monitor",
            "Monitor",
            "SELECT monitor FROM performance_runs GROUP BY monitor ORDER BY monitor",
        )
    )
    d = d.with_variable(
        sql_variable(
            "metric",
            "Metric",
            f"""
            SELECT DISTINCT e.key
            FROM performance_runs p,
              jsonb_each(p.metrics->'overall'->'metrics') e
            WHERE p.monitor = {MONITOR} AND p.status = 'succeeded'
              AND jsonb_typeof(e.value) = 'number' AND e.key NOT IN ('n', 'n_proba')
            ORDER BY 1
            """,
            multi=True,
        )
    )

    title = "$metric"
    d = d.with_panel(
        time_series(
            title,
            "The metric per window (newest revision: late labels revise a window) and the "
            "reference's value (dashed), computed on the training file.",
        )
        .with_target(
            sql(
                PERF,
                title,
                f"""
                WITH {NEWEST_REVISIONS}, {REFERENCE}
                SELECT runs.window_end AS "time",
                  (runs.metrics->'overall'->'metrics'->>{METRICS})::float8 AS "value",
                  (SELECT (ref.perf->>{METRICS})::float8 FROM ref) AS "reference"
                FROM runs WHERE runs.status = 'succeeded'
                ORDER BY 1
                """,
                ("time", "value", "reference"),
                fmt="time_series",
            )
        )
        .repeat("metric")
        .repeat_direction("h")
        .max_per_row(3)
        .span(8)
        .override_by_name(*dashed("reference"))
    )

    title = "Label coverage"
    d = d.with_panel(
        time_series(title, "Share of each window's predictions that have a label by now.")
        .with_target(
            sql(
                PERF,
                title,
                f"""
                WITH {NEWEST_REVISIONS}
                SELECT window_end AS "time", (metrics->'coverage'->>'share')::float8 AS "coverage"
                FROM runs ORDER BY 1
                """,
                ("time", "coverage"),
                fmt="time_series",
            )
        )
        .unit("percentunit")
        .min(0)
        .max(1)
    )

    title = "Label delay"
    d = d.with_panel(
        time_series(title, "Seconds from prediction to label over each window's labelled rows.")
        .with_target(
            sql(
                PERF,
                title,
                f"""
                WITH {NEWEST_REVISIONS}
                SELECT window_end AS "time",
                  (metrics->'label_delay'->>'p50_s')::float8 AS "p50",
                  (metrics->'label_delay'->>'p95_s')::float8 AS "p95",
                  (metrics->'label_delay'->>'max_s')::float8 AS "max"
                FROM runs WHERE (metrics->'label_delay'->>'n')::bigint > 0
                ORDER BY 1
                """,
                ("time", "p50", "p95", "max"),
                fmt="time_series",
            )
        )
        .unit("s")
    )

    for title, source, first in (
        ("Per model version (newest window), worst first", "versions", ("model version",)),
        ("Per segment (newest window), worst first", "segments", ("segment", "segment value")),
    ):
        d = d.with_panel(
            sql_table(
                title,
                "Each selected metric per slice against the reference, the largest fall "
                "below it first (a rise for lower-is-better metrics).",
            ).with_target(
                sql(
                    PERF,
                    title,
                    slice_query(source),
                    (
                        *first,
                        "metric",
                        "value",
                        "reference",
                        "predictions",
                        "labelled",
                        "coverage",
                        "status",
                    ),
                    fmt="table",
                )
            )
        )
    return d


# --- service (Prometheus) ---------------------------------------------------------------------

SERVICE = "monitor-service"
RATE = "$__rate_interval"


def prom_panel(title: str, description: str, unit: str, *targets: tuple[str, str]) -> ts.Panel:
    panel = (
        ts.Panel()
        .title(title)
        .description(description)
        .datasource(PROM)
        .unit(unit)
        .span(12)
        .height(8)
    )
    for i, (expr, legend) in enumerate(targets):
        panel = panel.with_target(promql(expr, legend, chr(ord("A") + i)))
    return panel


def service_dashboard() -> db.Dashboard:
    d = dashboard(SERVICE, "Monitor: service health", ["service"], "now-6h")
    d = d.with_panel(
        stat.Panel()
        .title("Database reachable")
        .description("Replicas whose last scrape could read the monitoring database.")
        .datasource(PROM)
        .with_target(promql("min(monitor_database_up)", "database up"))
        .mappings(
            [
                dm.ValueMap(
                    options={
                        "0": dm.ValueMappingResult(text="down", color="red", index=0),
                        "1": dm.ValueMappingResult(text="up", color="green", index=1),
                    }
                )
            ]
        )
        .span(6)
        .height(4)
    )
    d = d.with_panel(
        stat.Panel()
        .title("Alerts firing")
        .description("Open alerts by severity (stored state: max across replicas).")
        .datasource(PROM)
        .with_target(
            promql(
                "sum by (severity) (max by (monitor, severity) (monitor_alerts_firing))",
                "{{severity}}",
            )
        )
        .thresholds(thresholds((None, "green"), (1, "red")))
        .span(6)
        .height(4)
    )
    d = d.with_panel(
        stat.Panel()
        .title("Notifications pending / failed")
        .description("Outbox rows waiting to be delivered, and those that failed for good.")
        .datasource(PROM)
        .with_target(
            promql(
                'max by (channel, status) (monitor_notifications{status=~"pending|failed"})',
                "{{channel}} {{status}}",
            )
        )
        .thresholds(thresholds((None, "green"), (1, "orange")))
        .span(6)
        .height(4)
    )
    d = d.with_panel(
        stat.Panel()
        .title("Since the last finished run")
        .description("Per monitor; compare with its expected interval (alert at 2x).")
        .datasource(PROM)
        .with_target(
            promql(
                "time() - max by (monitor) (monitor_run_last_finished_timestamp_seconds)",
                "{{monitor}}",
            )
        )
        .unit("s")
        .span(6)
        .height(4)
    )
    panels = [
        prom_panel(
            "Ingest rate",
            "Events consumed per topic and stored per model (process counters, summed over "
            "consumer replicas).",
            "reqps",
            (
                f"sum by (topic) (rate(monitor_ingest_events_consumed_total[{RATE}]))",
                "consumed {{topic}}",
            ),
            (
                f"sum by (model, kind) (rate(monitor_ingest_events_stored_total[{RATE}]))",
                "stored {{model}} {{kind}}",
            ),
        ),
        prom_panel(
            "Rejected events by reason",
            "Messages dead-lettered per second, by reason (GET /api/v1/dead-letters has samples).",
            "reqps",
            (
                f"sum by (reason) (rate(monitor_ingest_events_rejected_total[{RATE}])) > 0",
                "{{reason}}",
            ),
        ),
        prom_panel(
            "Consumer lag",
            "Records behind the high-water mark per topic, summed over consumers.",
            "short",
            ("sum by (topic) (monitor_ingest_consumer_lag)", "{{topic}}"),
        ),
        prom_panel(
            "Batch write latency",
            "Poll to offsets committed (rows stored first), per batch; and event delay.",
            "s",
            *(
                (
                    f"histogram_quantile({q}, sum by (le) (rate(monitor_ingest_batch_duration_seconds_bucket[{RATE}])))",
                    f"batch p{int(q * 100)}",
                )
                for q in (0.5, 0.95, 0.99)
            ),
            (
                f"histogram_quantile(0.95, sum by (le, kind) (rate(monitor_ingest_event_delay_seconds_bucket[{RATE}])))",
                "event delay p95 {{kind}}",
            ),
        ),
        prom_panel(
            "Runs and failures",
            "Finished runs per monitor and status in each interval (stored: max across "
            "replicas, never sum).",
            "short",
            (
                f"max by (monitor, status) (increase(monitor_runs_total[{RATE}])) > 0",
                "{{monitor}} {{status}}",
            ),
        ),
        prom_panel(
            "Run duration",
            "Quantiles and mean of finished runs' duration, per monitor.",
            "s",
            (
                f"histogram_quantile(0.95, max by (monitor, le) (rate(monitor_run_duration_seconds_bucket[{RATE}])))",
                "p95 {{monitor}}",
            ),
            (
                f"max by (monitor) (rate(monitor_run_duration_seconds_sum[{RATE}]))"
                f" / max by (monitor) (rate(monitor_run_duration_seconds_count[{RATE}]))",
                "mean {{monitor}}",
            ),
        ),
        prom_panel(
            "Alerts firing",
            "Open alerts per monitor and severity.",
            "short",
            ("max by (monitor, severity) (monitor_alerts_firing) > 0", "{{monitor}} {{severity}}"),
        ),
        prom_panel(
            "Notifications",
            "Outbox rows pending and failed per channel, and delivery attempts per second.",
            "short",
            (
                'max by (channel, status) (monitor_notifications{status=~"pending|failed"})',
                "{{channel}} {{status}}",
            ),
            (
                f"max by (channel) (rate(monitor_notification_attempts_total[{RATE}]))",
                "{{channel}} attempts/s",
            ),
        ),
        prom_panel(
            "Drift share",
            "Share of features drifted in each monitor's newest succeeded run.",
            "percentunit",
            ("max by (monitor) (monitor_drift_share_ratio)", "{{monitor}}"),
        ),
        prom_panel(
            "Dead letters stored",
            "Rejected messages kept in the database, per reason (retention deletes old ones).",
            "short",
            ("max by (reason) (monitor_dead_letters) > 0", "{{reason}}"),
        ),
    ]
    for panel in panels:
        d = d.with_panel(panel)
    return d


# --- output -----------------------------------------------------------------------------------

BUILDERS = {
    "drift.json": drift_dashboard,
    "performance.json": performance_dashboard,
    "service.json": service_dashboard,
}


def render() -> dict[str, str]:
    """File name -> JSON text, deterministic (panel ids by position)."""
    SQL_COLUMNS.clear()
    out = {}
    for name, build in BUILDERS.items():
        doc = json.loads(json.dumps(build().build(), cls=JSONEncoder))
        for i, panel in enumerate(doc.get("panels", []), start=1):
            panel["id"] = i
        out[name] = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the JSON is stale")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = HERE / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"stale: {', '.join(stale)}: run python dashboards/generate.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
