"""GitOps: pin a published image in the config repository that ArgoCD syncs.

The config repository holds one Helm chart per app (see `pipeyard chart init`) and a
values-<env>.yaml per environment. `gitops-bump` rewrites image.tag and image.digest
in one of those files and pushes the change, or opens a merge request for
protected environments.
"""
