"""The sendmail provider: `send-mail sonar|pipeline|text`.

report.py and pipeline.py collect what a mail says (SonarQube, GitLab),
render.py turns it into HTML and text with Jinja2, smtp.py sends it with
yagmail, cli.py wires the flags and settings.
"""
