# syntax=docker/dockerfile:1
# Build stage: wheels for the project and its dependencies.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY monitor ./monitor
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: no compilers, non-root, health-checked.
FROM python:3.11-slim
RUN groupadd --system --gid 10001 monitor \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/monitor \
      --shell /usr/sbin/nologin monitor \
 && mkdir -p /var/lib/monitor /etc/monitor && chown 10001:10001 /var/lib/monitor
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY rules /etc/monitor/rules
COPY deploy/config.container.yaml /etc/monitor/monitor.yaml
COPY deploy/entrypoint.sh /usr/local/bin/monitor-entrypoint
ENV MONITOR_CONFIG=/etc/monitor/monitor.yaml PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /var/lib/monitor
VOLUME ["/var/lib/monitor"]
EXPOSE 9464
STOPSIGNAL SIGTERM
# /healthz: 503 while down or degraded (the reasons are in its JSON); exec form, no shell
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:9464/healthz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["monitor-entrypoint"]
CMD ["run"]
