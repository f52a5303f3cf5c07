# hienmau-bot: `docker build -t hienmau-bot .`, or `docker compose up -d` with compose.yaml.
# See docs/deploy.md. The bot runs as an unprivileged user; its data (a SQLite database, the
# generated card secret) lives in the volume /var/lib/hienmau.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The project's own files only; pip installs the dependencies pyproject.toml names.
COPY pyproject.toml README.md /tmp/hienmau/
COPY bot /tmp/hienmau/bot
COPY channels /tmp/hienmau/channels
COPY db /tmp/hienmau/db
COPY handlers /tmp/hienmau/handlers
COPY locales /tmp/hienmau/locales
COPY scheduler /tmp/hienmau/scheduler
COPY services /tmp/hienmau/services
RUN pip install /tmp/hienmau && rm -rf /tmp/hienmau

RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/hienmau --create-home \
        --shell /usr/sbin/nologin hienmau
USER hienmau
WORKDIR /var/lib/hienmau
VOLUME ["/var/lib/hienmau"]

# /healthz (docs/deploy.md): served always in the container, checked on [health] port 8445.
ENV HIENMAU_HEALTH_SERVE=always
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8445/healthz', timeout=8)"]

# Telegram webhook, Zalo webhook and media (set [telegram]/[zalo] listen = "0.0.0.0").
EXPOSE 8443 8444
ENTRYPOINT ["hienmau"]
CMD ["run"]
