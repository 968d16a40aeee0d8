"""pipeyard's own pipeline: its generated .gitlab-ci.yml, the release by digest, the catalog release
and the nightly tool updates."""
