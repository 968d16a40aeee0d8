# gitlab-ci-local's helper container, built locally because docker.io can't be reached:
# it copies the project in and artifacts out, with sh, bash, coreutils and rsync.
ARG BASE_REGISTRY=localhost/pipeyard
FROM ${BASE_REGISTRY}/debian:trixie
RUN apt-get update \
 && apt-get install -y --no-install-recommends rsync \
 && rm -rf /var/lib/apt/lists/*
