"""`pipeyard check` and `pipeyard lint`: GitLab's schema, merged pipeline views, drift and skeleton checks."""
