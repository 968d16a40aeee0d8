"""The inputs pipeyard reads: providers/<name>/provider.yaml and the site file, validated and typed."""
