# One image for web, worker and beat. Static files are collected at build time (hashed by whitenoise).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

WORKDIR /app
RUN useradd --create-home --uid 1000 app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# collectstatic needs a SECRET_KEY to import production settings; this throwaway one never runs a server.
RUN SECRET_KEY=build-only-collectstatic-key-not-used-at-runtime-000000 python manage.py collectstatic --noinput \
    && mkdir -p /app/media && chown -R app:app /app/media
USER app
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "30", "--access-logfile", "-"]
