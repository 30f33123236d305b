# ZIAS web (daphne) and ingest image.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb-dev pkg-config gcc mosquitto-clients \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# Static files for the admin and API docs are collected into the image; a placeholder key
# lets settings load for this step only.
RUN SECRET_KEY=build-only-collectstatic-key DEBUG=0 python manage.py collectstatic --no-input

RUN useradd --system --home /app zias && chown -R zias /app
# The mqtt-sync service writes the broker's dynamic security file into /mosquitto/data (or,
# for a broker without the plugin, its auth files into /mosquitto/auth) as the broker's
# uid/gid (1883, eclipse-mosquitto's `mosquitto` user); a new named volume mounted here starts
# with this owner, so the broker can read, and rewrite, what mqtt-sync wrote.
RUN mkdir -p /mosquitto/auth /mosquitto/data && chown 1883:1883 /mosquitto/auth /mosquitto/data \
    && chmod 0750 /mosquitto/auth /mosquitto/data
USER zias
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "zias.asgi:application"]
