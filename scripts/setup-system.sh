#!/usr/bin/env bash
# Installs the system packages pipeyard's demo and tests use, on Debian 12 as root.
# Idempotent: a second run installs nothing. Node tools come from tools/package.json.
set -euo pipefail

packages=(
  # the virtualenv `make` creates
  python3 python3-venv python3-pip
  # containers without a Docker engine
  podman buildah skopeo runc docker-registry debootstrap fuse-overlayfs uidmap
  # gitlab-ci-local copies artifacts with rsync; git for the example projects
  rsync git
  # tests make throwaway CAs and certificates
  openssl
  # the maven provider's tests: Debian's Maven and plugins play the company's Nexus content
  maven default-jdk-headless libmaven-compiler-plugin-java libmaven-jar-plugin-java libsurefire-java
  libmaven-resources-plugin-java libmaven-install-plugin-java libmaven-clean-plugin-java
  libmaven-deploy-plugin-java junit4
  # JaCoCo agent, core and report (0.8.6): the stand-in jacoco-maven-plugin of pipeyard.demo.jacoco_plugin
  # is compiled against them and the stand-in Nexus serves them
  libjacoco-java
  # the browser and fonts for screenshots and for the mail preview; the full chromium is the
  # screenshot benchmark's baseline and still a supported CHROMIUM_PATH
  chromium-headless-shell chromium fonts-liberation fonts-noto-cjk fonts-wqy-microhei
  # shell scripts in images are linted
  shellcheck
)

# Node runs gitlab-ci-local and verdaccio; keep a newer preinstalled Node if there is one.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
