"""The admin API: a Starlette app on its own listener, behind a bearer token.

The app is built in gateway/admin/app.py; this package file stays empty so that a program
needing one light piece of it (the CLI needs a view helper) does not import the whole app.
"""
