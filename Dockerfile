# syntax=docker/dockerfile:1
# The API image: `docker build -t storefront-api .` (see docs/deploy.md and compose.yaml).

# ---- build: the runtime dependencies of pyproject.toml, pinned by requirements.lock
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml requirements.lock ./
RUN python -m venv /opt/venv \
 && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > runtime.txt \
 && /opt/venv/bin/pip install -r runtime.txt --constraint requirements.lock

# ---- final: no compiler, no pip cache, a user without a login or root rights
FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/app/.data \
    LOG_FORMAT=json
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin storefront
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --chown=root:root . /app
RUN mkdir -p /app/.data && chown storefront /app/.data
USER storefront
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
  CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
CMD ["python", "main.py", "serve"]
