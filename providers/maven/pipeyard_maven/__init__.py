"""The maven provider: Maven settings from CI/CD variables, applied by the mvn wrapper on first use.

wrapstate, resolve, trust, probe and flags are shared with the npm provider (pipeyard_npm).
"""
