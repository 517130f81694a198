# One image for every Usher process; docker-compose.yml picks the command:
#   python -m infra.init               migrations + Kafka topics (one-shot)
#   python -m services.<name>.main     upload | parser | merger | messenger
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONPATH=/app

WORKDIR /app

# The runtime dependencies only (not the [dev] extra).
COPY pyproject.toml ./
COPY shared/ shared/
COPY services/ services/
COPY infra/ infra/
RUN pip install --no-cache-dir . \
    && rm -rf build *.egg-info

# The processes run from /app (PYTHONPATH and `python -m` put it first on sys.path), so the
# non-Python files beside the code (shared/migrations/*.sql, the upload UI) are found there.
RUN groupadd --system --gid 10001 usher \
    && useradd --system --uid 10001 --gid usher --home-dir /app --no-create-home usher \
    && mkdir -p /data/uploads /data/faust \
    && chown -R usher:usher /data

USER usher

# No CMD of our own: docker-compose.yml sets the command of every service.
