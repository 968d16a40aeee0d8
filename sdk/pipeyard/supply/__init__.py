"""The supply chain: what is inside an image (CycloneDX SBOMs), who built it (cosign-compatible
signatures and attestations), and the air-gap bundle that carries both into an offline site."""
