"""WSGI entry point: ``gunicorn api:app`` or ``flask --app api run``."""

from triage.web import create_app

app = create_app()
