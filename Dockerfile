# syntax=docker/dockerfile:1
# Slim multi-stage image running `monitor serve` as a non-root user.
# Not built in CI: no container engine runs on the project's machines (see README).

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY monitor ./monitor
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MONITOR_HEARTBEAT_FILE=/tmp/monitor.heartbeat \
    MONITOR_API_HOST=0.0.0.0
RUN useradd --system --uid 10001 --user-group --home-dir /app --create-home monitor
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY config/monitor.example.yaml /etc/monitor/monitor.yaml
USER monitor
EXPOSE 8080
WORKDIR /app
# Healthy while the serving loop keeps touching its heartbeat file.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["monitor", "healthcheck", "--max-age", "90"]
ENTRYPOINT ["monitor"]
CMD ["serve", "--config", "/etc/monitor/monitor.yaml", "--role", "all"]
