"""Slack through slack-sdk: Block Kit rendering of a payload, and one post per attempt.

Feature, model and category names come from events: every untrusted string goes through
`esc` (Slack's &, <, > escaping), so a feature called `<!channel>` cannot ping anybody and
`<http://evil|x>` cannot become a link. The report link is a button (its URL is a JSON field,
never parsed as mrkdwn). slack-sdk's own retry handlers are switched off: the outbox retries,
with its backoff and its attempt/age limits.
"""

from __future__ import annotations

import http.client
import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from monitor.display import feature_label
from monitor.notify.channels import Outgoing, SendResult, classify_http
from monitor.settings import RouteSettings, SlackRoute
from monitor.verdict import comparison, how_far

SLACK_TIMEOUT_S = 10
MAX_FEATURES = 10  # top drifted features listed in a message
NAME_CHARS = 120  # an untrusted name is cut to this many characters
HEADER_CHARS = 150  # Slack's limit for a header block
# chat.postMessage errors worth retrying; any other `error` (channel_not_found,
# invalid_auth, not_in_channel, invalid_blocks, ...) will not fix itself.
RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)

# slack-sdk logs request URLs (the webhook URL is a secret) at DEBUG and errors on its own;
# we log one line per state change ourselves.
_SDK_LOG = logging.getLogger("monitor.notify.slack_sdk")
_SDK_LOG.setLevel(logging.CRITICAL)

SEVERITY_EMOJI = {
    "critical": ":red_circle:",
    "warning": ":large_orange_circle:",
    "info": ":large_blue_circle:",
}
FAMILY_TITLE = {
    "drift": "Drift",
    "data_quality": "Data quality issue",
    "insufficient_data": "Insufficient data",
    "performance": "Performance degradation",
    "retraining": "Retraining did not help",
}
KIND_TITLE = {"detected": "detected", "repeated": "still firing", "resolved": "resolved"}


def esc(value: Any, limit: int = NAME_CHARS) -> str:
    """Untrusted text for mrkdwn: one line, &<> escaped (no mentions, links or commands)."""
    text = " ".join(str(value).split())  # newlines and tabs would break the layout
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(value: Any, limit: int = NAME_CHARS) -> str:
    """Untrusted text as inline code; a backtick in it cannot close the span."""
    return "`" + esc(value, limit).replace("`", "'") + "`"


def _num(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "n/a"
    return f"{value:.4g}"


def when(value: Any) -> str:
    """An ISO-8601 timestamp as `2026-03-01 10:00 UTC` (seconds when not zero)."""
    try:
        ts = datetime.fromisoformat(str(value))
    except ValueError:
        return esc(value or "?", 40)
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%d %H:%M" + (":%S" if ts.second else "") + " UTC")


def _plain(value: Any, limit: int) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def title(event: str) -> str:
    family, _, kind = event.partition(".")
    head = FAMILY_TITLE.get(family, family.replace("_", " ").capitalize() or "Alert")
    return f"{head} {KIND_TITLE.get(kind, kind)}".strip()


def top_features(
    features: list[Mapping[str, Any]], n: int = MAX_FEATURES
) -> list[Mapping[str, Any]]:
    """The n most drifted features, by how far past their threshold (`verdict.how_far`:
    statistic / threshold for distances, threshold / p-value for tests; unknown last)."""
    return sorted(features, key=how_far, reverse=True)[:n]


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _fields(p: Mapping[str, Any], resolved: bool) -> list[dict[str, Any]]:
    model = code(p.get("model", ""))
    if p.get("model_version"):
        model += f" v{code(p['model_version'])}"
    window = p.get("window") or {}
    fields = [
        _mrkdwn(f"*Model*\n{model}"),
        _mrkdwn(f"*Window*\n{when(window.get('start'))} → {when(window.get('end'))}"),
        _mrkdwn(f"*Rule*\n{esc(p.get('rule', ''))} ({esc(p.get('condition', ''))})"),
    ]
    if p.get("subject"):
        fields.append(_mrkdwn(f"*Subject*\n{code(p['subject'])}"))
    if not resolved and p.get("dataset_drift") is not None:
        share, limit = p.get("drift_share"), p.get("drift_share_threshold")
        text = "yes" if p["dataset_drift"] else "no"
        if share is not None:
            text += f" (drift share {comparison({'statistic': share, 'threshold': limit})})"
        fields.append(_mrkdwn(f"*Dataset drift*\n{text}"))
    news = p.get("new_categories")
    if not resolved and isinstance(news, Mapping):
        fields.append(_mrkdwn(f"*New categories*\n{_new_categories(news)}"))
    seq = p.get("sequential")
    if not resolved and isinstance(seq, Mapping):
        fields.append(_mrkdwn(f"*Sequential (CUSUM)*\n{_sequential(seq)}"))
    perf = p.get("performance")
    if not resolved and isinstance(perf, Mapping):
        text = f"{_num(perf.get('value'))}"
        extra = []
        band = perf.get("band") if perf.get("estimated") else None
        if isinstance(band, Mapping):
            extra.append(f"band {_num(band.get('lower'))} to {_num(band.get('upper'))}")
        if perf.get("reference") is not None:
            extra.append(f"reference {_num(perf['reference'])}")
        if perf.get("threshold") is not None:
            extra.append(f"threshold {_num(perf['threshold'])}")
        if extra:
            text += f" ({', '.join(extra)})"
        name = esc(perf.get("metric", "metric"), 60)
        if perf.get("estimated"):
            name = f"estimated {name}"
        fields.append(_mrkdwn(f"*{name}*\n{text}"))
    return fields


def _sequential(seq: Mapping[str, Any]) -> str:
    """ "6.21 > bound 5.08, 14 windows since start; delay ≈ 3.1 windows for 2 sd" (a
    sequential_drift payload's `sequential`)."""
    text = f"{_num(seq.get('statistic'))} vs bound {_num(seq.get('bound'))}"
    text += f", {esc(seq.get('windows_since_start', '?'), 12)} windows since start"
    if seq.get("warming_up"):
        text += (
            f" (warming up: {esc(seq.get('warmup_windows'), 12)} of {esc(seq.get('warmup'), 12)})"
        )
    delay = seq.get("expected_delay")
    if isinstance(delay, Mapping):
        text += f"; delay ≈ {_num(delay.get('windows'))} windows for {_num(delay.get('shift'))} sd"
    return text


def _new_categories(news: Mapping[str, Any], shown: int = 5) -> str:
    """ "4 (75% of values): `zeta`, `eta`, …" from a payload's `new_categories`."""
    share = news.get("share")
    text = esc(news.get("count", "?"), 20)
    if isinstance(share, int | float) and not isinstance(share, bool) and math.isfinite(share):
        text += f" ({share:.1%} of values)"
    cats = [c for c in news.get("categories") or [] if isinstance(c, Mapping)]
    if cats:
        text += ": " + ", ".join(code(c.get("name", ""), 60) for c in cats[:shown])
        count = news.get("count")
        if isinstance(count, int) and count > min(len(cats), shown):
            text += ", …"
    return text


def _features_block(features: list[Mapping[str, Any]]) -> dict[str, Any] | None:
    if not features:
        return None
    lines = ["*Top drifted features*"]
    for f in top_features(features):
        name = code(feature_label(str(f.get("name", ""))))
        method = esc(f.get("method", ""), 40)
        lines.append(f"• {name} — {method} {esc(comparison(f), 80)}")
    if len(features) > MAX_FEATURES:
        lines.append(f"_…and {len(features) - MAX_FEATURES} more_")
    return {"type": "section", "text": _mrkdwn("\n".join(lines))}


def render(payload: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, Block Kit blocks) for a notification payload."""
    p = payload
    event = str(p.get("event", ""))
    resolved = event.endswith(".resolved")
    severity = str(p.get("severity", "info"))
    what = title(event)
    if p.get("condition") == "estimated_performance":
        what = f"Estimated {what[0].lower()}{what[1:]}"  # "Estimated performance degradation"
    monitor = p.get("monitor", "")
    if resolved:
        header = f":white_check_mark: {what} · {_plain(monitor, 80)}"
        fallback = f"{what}: {esc(monitor)}"
    else:
        emoji = SEVERITY_EMOJI.get(severity, ":grey_question:")
        header = f"{emoji} {_plain(severity.upper(), 10)} · {what} · {_plain(monitor, 80)}"
        fallback = f"{esc(severity.upper(), 10)} {what}: {esc(monitor)}"
    summary = p.get("summary") or ""
    if summary:
        fallback += f" — {esc(summary, 300)}"
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _plain(header, HEADER_CHARS), "emoji": True},
        }
    ]
    if summary:
        blocks.append({"type": "section", "text": _mrkdwn(esc(summary, 500))})
    blocks.append({"type": "section", "fields": _fields(p, resolved)})
    if not resolved:
        feats = _features_block(list(p.get("drifted_features") or []))
        if feats is not None:
            blocks.append(feats)
        url = p.get("report_url")
        if isinstance(url, str) and url.startswith(("https://", "http://")) and len(url) <= 3000:
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "Open drift report"},
                            "url": url,
                        }
                    ],
                }
            )
        elif url:
            blocks.append({"type": "context", "elements": [_mrkdwn(f"Report: {code(url, 300)}")]})
    context = [f"alert {esc(p.get('alert_id', ''))}"]
    if p.get("run_id") is not None:
        context.append(f"run {esc(p['run_id'])}")
    context.append(f"fired {when(p.get('fired_at'))}")
    if resolved and p.get("resolved_at"):
        context.append(f"resolved {when(p['resolved_at'])}")
    blocks.append({"type": "context", "elements": [_mrkdwn(" · ".join(context))]})
    return fallback, blocks


class SlackSender:
    """Posts through an incoming webhook, or chat.postMessage with a bot token.

    With a bot token a resolved notification is posted in the thread of the firing message
    (`Outgoing.thread_id`, the firing row's stored `ts`).
    """

    def send(self, note: Outgoing, route: RouteSettings) -> SendResult:
        if not isinstance(route, SlackRoute):
            return SendResult.failed(f"route {note.route!r} is not a slack route")
        text, blocks = render(note.payload)
        try:
            if route.webhook_url is not None:
                return self._via_webhook(route, text, blocks)
            return self._via_api(route, note, text, blocks)
        except SlackApiError as exc:
            return _classify_api_error(exc)
        except SlackClientError as exc:  # e.g. an unusable URL: configuration, not transient
            return SendResult.failed(f"slack client error: {type(exc).__name__}")
        except URLError as exc:
            return SendResult.retry(f"connection error: {exc.reason}")
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            return SendResult.retry(f"connection error: {type(exc).__name__}: {exc}")

    def _via_webhook(
        self, route: SlackRoute, text: str, blocks: list[dict[str, Any]]
    ) -> SendResult:
        assert route.webhook_url is not None
        client = WebhookClient(
            route.webhook_url.get_secret_value(),
            timeout=SLACK_TIMEOUT_S,
            logger=_SDK_LOG,
            retry_handlers=[],
        )
        resp = client.send_dict({"text": text, "blocks": blocks})
        headers = {k.lower(): v for k, v in (resp.headers or {}).items()}
        return classify_http(resp.status_code, resp.body or "", headers.get("retry-after"))

    def _via_api(
        self, route: SlackRoute, note: Outgoing, text: str, blocks: list[dict[str, Any]]
    ) -> SendResult:
        assert route.token is not None and route.channel  # SlackRoute validates both together
        client = WebClient(
            token=route.token.get_secret_value(),
            base_url=route.base_url or WebClient.BASE_URL,
            timeout=SLACK_TIMEOUT_S,
            logger=_SDK_LOG,
            retry_handlers=[],
        )
        extra: dict[str, Any] = {}
        if note.thread_id and note.event.endswith(".resolved"):
            extra["thread_ts"] = note.thread_id
        resp = client.chat_postMessage(channel=route.channel, text=text, blocks=blocks, **extra)
        ts = resp.get("ts")
        return SendResult.delivered(external_id=str(ts) if ts else None)


def _classify_api_error(exc: SlackApiError) -> SendResult:
    """HTTP 429 / 5xx and Slack's transient error codes retry; other errors are terminal.
    (The exception's own message holds the API URL; only status and error code are kept.)"""
    resp = exc.response
    status = int(getattr(resp, "status_code", 0) or 0)
    data = getattr(resp, "data", None)
    code_ = data.get("error") if isinstance(data, dict) else None
    code_ = esc(code_, 100) if code_ else "unknown_error"
    error = f"slack API error {code_} (HTTP {status})"
    headers = {k.lower(): v for k, v in (getattr(resp, "headers", None) or {}).items()}
    if status == 429 or status >= 500 or code_ in RETRYABLE_ERRORS:
        return SendResult.retry(error, headers.get("retry-after") if status in (429, 503) else None)
    return SendResult.failed(error)
