# flakegate API server: gunicorn on port 8080, the embedded SQLite database on a volume (or
# -e FLAKEGATE_DATABASE=postgresql://... for several servers on one PostgreSQL: docs/deploy.md).
#   docker build -t flakegate .
#   docker run -p 8080:8080 -v flakegate-data:/data -e FLAKEGATE_ADMIN_TOKEN=... -e FLAKEGATE_SECRET_KEY=... flakegate
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md openapi.yaml ./
COPY api ./api
COPY client ./client
# api/openapi.yaml is a symlink to ../openapi.yaml in the repository; make it a real file so
# the wheel carries the contract whatever the build context does with links.
RUN rm -f api/openapi.yaml && cp openapi.yaml api/openapi.yaml \
 && pip wheel --no-cache-dir --wheel-dir /wheels '.[server,postgres]'

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FLAKEGATE_DATABASE=sqlite:////data/flakegate.db
RUN groupadd --system --gid 10001 flakegate \
 && useradd --system --uid 10001 --gid flakegate --home-dir /data --shell /usr/sbin/nologin flakegate \
 && mkdir -p /data && chown flakegate:flakegate /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels 'flakegate[server,postgres]' && rm -rf /wheels
USER flakegate
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"]
# `serve` migrates the schema (idempotent) in the master before forking workers.
ENTRYPOINT ["flakegate"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080", "--workers", "4"]
