"""The air-gap kit: one tar that is an OCI image layout (every image by digest, shared blobs once,
their SBOMs, signatures and attestations) plus the pipeline templates, the chart skeleton and the
B2I agents, with pipeyard-bundle.json naming the sha256 of every part."""
