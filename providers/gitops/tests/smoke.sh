#!/bin/sh
# Smoke checks for the gitops image, run inside it as its own user (tests/images mounts this
# folder read-only). The tools must work when a job script calls them directly.
set -eu

git --version | grep -q '^git version 2\.'
gitops-bump --help > /dev/null

# git commits as the image's non-root user, offline, in a fresh repository.
work=$(mktemp -d)
git init -q -b main "$work/repo"
cd "$work/repo"
echo 'image: {tag: "1.0.0"}' > values.yaml
git add values.yaml
git -c user.name=smoke -c user.email=smoke@example.com commit -q -m smoke
test "$(git rev-list --count HEAD)" = 1

cd /
rm -rf "$work"
echo "gitops smoke: ok"
