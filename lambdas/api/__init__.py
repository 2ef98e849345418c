"""The /image-ai-analysis HTTP API (FastAPI): ``create_app`` in app.py, Lambda entry in handler.py."""
