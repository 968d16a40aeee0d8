"""Images out of the build engine and into registries: the OCI registry client, Harbor and mirroring."""
