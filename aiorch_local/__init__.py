"""The command line (``aiorch``) and the local server: wiring above the core, local use only.

Nothing deployed imports this package: the Lambda zip and the job image leave it out.
"""
