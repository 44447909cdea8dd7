"""How ``flakegate serve`` runs under gunicorn: the worker class, its access log, its limits.

See docs/serving.md for the serving model and the reasons behind each limit.
"""
