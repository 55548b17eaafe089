"""Slack delivery through slack-sdk against a local stand-in: webhook and bot-token modes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest
from notify_support import (
    T0,
    Recorded,
    Reply,
    enqueue,
    feature,
    firing_payload,
    resolved_payload,
    row,
)

from monitor.notify.delivery import deliver_due
from monitor.notify.slack import render
from monitor.settings import AlertingSettings

HOOK_SECRET_PART = "B0000/XyZsecretPathPart"
TOKEN = "xoxb-test-token-0123456789"


def webhook_mode(url: str) -> AlertingSettings:
    return AlertingSettings.model_validate(
        {
            "routes": {
                "ml-slack": {
                    "type": "slack",
                    "webhook_url": f"{url}/services/T0000/{HOOK_SECRET_PART}",
                }
            }
        }
    )


def bot_mode(url: str) -> AlertingSettings:
    return AlertingSettings.model_validate(
        {
            "routes": {
                "ml-slack": {
                    "type": "slack",
                    "token": TOKEN,
                    "channel": "#ml-alerts",
                    "base_url": f"{url}/api/",
                }
            }
        }
    )


def slack_api(rec: Recorded, n: int) -> Reply:
    """chat.postMessage as Slack answers it: 200 with ok and the new message's ts."""
    body = {"ok": True, "channel": "C0123", "ts": f"1772366400.{n:06d}"}
    return Reply(200, orjson.dumps(body), {"Content-Type": "application/json"})


FIRING_BODY = {
    "text": "CRITICAL Drift detected: churn-daily — 3 of 6 features drifted (share 0.50 &gt;= 0.40)",
    "blocks": [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": ":red_circle: CRITICAL · Drift detected · churn-daily",
                "emoji": True,
            },
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "3 of 6 features drifted (share 0.50 &gt;= 0.40)"},
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*Model*\n`churn` v`3`"},
                {"type": "mrkdwn", "text": "*Window*\n2026-03-01 10:00 UTC → 2026-03-01 11:00 UTC"},
                {"type": "mrkdwn", "text": "*Rule*\nshare (drift_share)"},
                {"type": "mrkdwn", "text": "*Subject*\n`dataset`"},
                {"type": "mrkdwn", "text": "*Dataset drift*\nyes (drift share 0.5 ≥ 0.4)"},
            ],
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*Top drifted features*\n"
                "• `age` — ks p = 0.0003 &lt; 0.05\n"  # Slack shows "<"
                "• `income` — wasserstein 0.9 ≥ 0.1\n"
                "• `plan` — psi 0.25 ≥ 0.2",
            },
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open drift report"},
                    "url": "https://reports.example/runs/42.html",
                }
            ],
        },
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": "alert 7 · run 42 · fired 2026-03-01 11:00:05 UTC"}
            ],
        },
    ],
}

RESOLVED_BODY = {
    "text": "Drift resolved: churn-daily — 0 of 6 features drifted (share 0.00 &lt; 0.40)",
    "blocks": [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": ":white_check_mark: Drift resolved · churn-daily",
                "emoji": True,
            },
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "0 of 6 features drifted (share 0.00 &lt; 0.40)"},
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*Model*\n`churn` v`3`"},
                {"type": "mrkdwn", "text": "*Window*\n2026-03-01 10:00 UTC → 2026-03-01 11:00 UTC"},
                {"type": "mrkdwn", "text": "*Rule*\nshare (drift_share)"},
                {"type": "mrkdwn", "text": "*Subject*\n`dataset`"},
            ],
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "alert 7 · run 42 · fired 2026-03-01 11:00:05 UTC"
                    " · resolved 2026-03-01 13:00:02 UTC",
                }
            ],
        },
    ],
}


@pytest.mark.parametrize(
    ("payload", "expected"), [(firing_payload(), FIRING_BODY), (resolved_payload(), RESOLVED_BODY)]
)
def test_webhook_mode_exact_body(engine, receiver, payload, expected) -> None:
    recv = receiver()
    did = enqueue(engine, payload, channel="slack", route="ml-slack")

    stats = deliver_due(engine, webhook_mode(recv.url), now=T0)

    assert stats.delivered == 1
    [req] = recv.requests
    assert req.path == f"/services/T0000/{HOOK_SECRET_PART}"
    assert req.headers["Content-Type"].startswith("application/json")
    assert req.json() == expected
    r = row(engine, did)
    assert (r["status"], r["external_id"]) == ("delivered", None)


def test_bot_token_posts_and_threads_the_resolved_message(engine, receiver) -> None:
    recv = receiver(default=slack_api)
    settings = bot_mode(recv.url)
    firing = enqueue(engine, firing_payload(), channel="slack", route="ml-slack")
    other = enqueue(
        engine,
        firing_payload(fingerprint="fp-other", alert_id=8),
        channel="slack",
        route="ml-slack",
        created_at=T0 + timedelta(seconds=1),
    )
    assert deliver_due(engine, settings, now=T0 + timedelta(seconds=1)).delivered == 2
    firing_ts = row(engine, firing)["external_id"]
    assert firing_ts == "1772366400.000001"
    assert row(engine, other)["external_id"] == "1772366400.000002"

    resolved = enqueue(
        engine,
        resolved_payload(),
        channel="slack",
        route="ml-slack",
        created_at=T0 + timedelta(hours=2),
    )
    assert deliver_due(engine, settings, now=T0 + timedelta(hours=2)).delivered == 1

    first, _, last = recv.requests
    assert first.path == "/api/chat.postMessage"
    assert first.headers["Authorization"] == f"Bearer {TOKEN}"
    sent = first.json()
    assert sent["channel"] == "#ml-alerts"
    assert "thread_ts" not in sent
    assert (sent["text"], sent["blocks"]) == (FIRING_BODY["text"], FIRING_BODY["blocks"])
    reply = last.json()
    assert reply["thread_ts"] == firing_ts  # the same alert's message, not fp-other's
    assert reply["blocks"] == RESOLVED_BODY["blocks"]
    assert row(engine, resolved)["status"] == "delivered"


def test_resolved_without_a_delivered_firing_is_posted_top_level(sqlite_engine, receiver) -> None:
    recv = receiver(default=slack_api)
    enqueue(sqlite_engine, resolved_payload(), channel="slack", route="ml-slack")
    assert deliver_due(sqlite_engine, bot_mode(recv.url), now=T0).delivered == 1
    assert "thread_ts" not in recv.requests[0].json()


MALICIOUS = [
    "<!channel>",
    "<http://evil.example|click me>",
    "a`<!here>`b",
    "<@U024BE7LH> & co",
    "line\nbreak *bold*",
]


def _mrkdwn_texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return own + [t for v in node.values() for t in _mrkdwn_texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _mrkdwn_texts(v)]
    return []


def test_untrusted_names_cannot_ping_or_link(sqlite_engine, receiver) -> None:
    recv = receiver()
    payload = firing_payload(
        model="<!everyone>",
        model_version="<http://x|y>",
        subject="<!subteam^S123>",
        summary="new category <!here> in plan",
        drifted_features=[
            {"name": n, "method": "psi", "statistic": 0.5 + i, "threshold": 0.2}
            for i, n in enumerate(MALICIOUS)
        ],
    )
    enqueue(sqlite_engine, payload, channel="slack", route="ml-slack")
    assert deliver_due(sqlite_engine, webhook_mode(recv.url), now=T0).delivered == 1

    body = recv.requests[0].json()
    texts = [body["text"], *_mrkdwn_texts(body["blocks"])]
    for text in texts:
        assert "<" not in text and ">" not in text, text
    features = body["blocks"][3]["text"]["text"]
    assert "`&lt;!channel&gt;`" in features
    assert "`&lt;http://evil.example|click me&gt;`" in features
    assert "`a'&lt;!here&gt;'b`" in features  # a backtick cannot close the code span
    assert "`&lt;@U024BE7LH&gt; &amp; co`" in features
    assert "`line break *bold*`" in features  # one line per feature
    assert "*Model*\n`&lt;!everyone&gt;` v`&lt;http://x|y&gt;`" in texts


def test_top_features_are_the_ten_most_drifted_by_ratio() -> None:
    """Distances by statistic / threshold, tests by threshold / p-value (their statistic
    says nothing against a p-value threshold); unknown last."""
    feats = [feature(f"f{i:02d}", "psi", 0.1 * i, 0.1) for i in range(1, 12)]
    feats.append(feature("tiny_p", "ks", 0.01, 0.05, p_value=0.001))  # 50x past
    feats.append(feature("big_stat_weak_p", "ks", 0.9, 0.05, p_value=0.04))  # 1.25x
    feats.append(feature("no_p", "ks", 0.3, 0.05))
    _, blocks = render(firing_payload(drifted_features=feats))
    lines = blocks[3]["text"]["text"].split("\n")
    names = [line.split("`")[1] for line in lines[1:11]]
    assert names == [
        "tiny_p",
        "f11",
        "f10",
        "f09",
        "f08",
        "f07",
        "f06",
        "f05",
        "f04",
        "f03",
    ]
    assert lines[11] == "_…and 4 more_"
    assert len(lines) == 12


def test_performance_and_non_http_report_rendering() -> None:
    text, blocks = render(
        firing_payload(
            event="performance.detected",
            severity="warning",
            dataset_drift=None,
            drift_share=None,
            drifted_features=[],
            report_url="file:///var/reports/42.html",
            performance={"metric": "f1", "value": 0.712, "reference": 0.8, "threshold": 0.75},
            summary="f1 0.712 < 0.75",
        )
    )
    assert text == "WARNING Performance degradation detected: churn-daily — f1 0.712 &lt; 0.75"
    assert blocks[0]["text"]["text"].startswith(":large_orange_circle: WARNING · Performance")
    assert {"type": "mrkdwn", "text": "*f1*\n0.712 (reference 0.8, threshold 0.75)"} in blocks[2][
        "fields"
    ]
    assert not any(b["type"] == "actions" for b in blocks)  # a file:// URL is no button
    assert blocks[3] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "Report: `file:///var/reports/42.html`"}],
    }


@pytest.mark.parametrize("mode", ["webhook", "bot"])
def test_429_retry_after_goes_to_the_outbox_not_the_sdk(sqlite_engine, receiver, mode) -> None:
    recv = receiver(
        [Reply(429, b'{"ok":false,"error":"ratelimited"}', {"Retry-After": "3"})],
        default=slack_api,
    )
    settings = webhook_mode(recv.url) if mode == "webhook" else bot_mode(recv.url)
    did = enqueue(sqlite_engine, firing_payload(), channel="slack", route="ml-slack")

    assert deliver_due(sqlite_engine, settings, now=T0).retried == 1
    assert len(recv.requests) == 1  # slack-sdk's RetryHandlers did not retry on their own
    r = row(sqlite_engine, did)
    assert r["next_attempt_at"] == T0 + timedelta(seconds=3)
    assert r["last_error"].startswith(("HTTP 429", "slack API error ratelimited (HTTP 429)"))

    assert deliver_due(sqlite_engine, settings, now=T0 + timedelta(seconds=3)).delivered == 1


@pytest.mark.parametrize(
    ("mode", "reply", "state", "error"),
    [
        ("webhook", Reply(500, b"rollup_error"), "pending", "HTTP 500: rollup_error"),
        ("webhook", Reply(404, b"no_service"), "failed", "HTTP 404: no_service"),
        ("webhook", Reply(410, b"channel_is_archived"), "failed", "HTTP 410: channel_is_archived"),
        (
            "bot",
            Reply(200, b'{"ok":false,"error":"channel_not_found"}'),
            "failed",
            "slack API error channel_not_found (HTTP 200)",
        ),
        (
            "bot",
            Reply(200, b'{"ok":false,"error":"internal_error"}'),
            "pending",
            "slack API error internal_error (HTTP 200)",
        ),
        ("bot", Reply(503, b"<html>down</html>"), "pending", "slack API error"),
    ],
)
def test_slack_error_classification_keeps_secrets_out(
    sqlite_engine, receiver, caplog, mode, reply, state, error
) -> None:
    recv = receiver([reply])
    settings = webhook_mode(recv.url) if mode == "webhook" else bot_mode(recv.url)
    did = enqueue(sqlite_engine, firing_payload(), channel="slack", route="ml-slack")
    with caplog.at_level("DEBUG"):
        deliver_due(sqlite_engine, settings, now=T0)
    r = row(sqlite_engine, did)
    assert r["status"] == state
    assert r["last_error"].startswith(error)
    assert len(recv.requests) == 1
    seen = caplog.text + repr([rec.__dict__ for rec in caplog.records]) + str(r)
    assert TOKEN not in seen and "XyZsecretPathPart" not in seen


@pytest.mark.parametrize("mode", ["webhook", "bot"])
def test_dropped_connection_is_one_attempt(sqlite_engine, receiver, mode) -> None:
    """slack-sdk's default ConnectionErrorRetryHandler would send a second request here."""
    recv = receiver([Reply(drop=True)], default=slack_api)
    settings = webhook_mode(recv.url) if mode == "webhook" else bot_mode(recv.url)
    did = enqueue(sqlite_engine, firing_payload(), channel="slack", route="ml-slack")
    assert deliver_due(sqlite_engine, settings, now=T0).retried == 1
    assert len(recv.requests) == 1
    assert row(sqlite_engine, did)["last_error"].startswith("connection error:")


def test_an_estimated_performance_alert_says_estimated_and_shows_the_band() -> None:
    perf = {
        "metric": "accuracy",
        "value": 0.52,
        "reference": 0.75,
        "threshold": 0.65,
        "estimated": True,
        "method": "cbpe",
        "band": {"lower": 0.46, "upper": 0.58, "sampling_error": 0.02},
        "band_rule": "outside",
    }
    _, blocks = render(
        firing_payload(
            event="performance.detected",
            condition="estimated_performance",
            dataset_drift=None,
            drift_share=None,
            drifted_features=[],
            performance=perf,
            summary="estimated accuracy 0.52",
        )
    )
    field = {
        "type": "mrkdwn",
        "text": "*estimated accuracy*\n0.52 (band 0.46 to 0.58, reference 0.75, threshold 0.65)",
    }
    assert field in blocks[2]["fields"]
