"""The npm provider: npm's registry, token and cache from CI/CD variables, applied by the npm wrapper on first use."""
