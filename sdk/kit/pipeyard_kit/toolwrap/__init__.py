"""What the maven and npm wrappers share: the state file the bash wrappers read,
settings resolution for tools, trust stores, credential probes and CLI flags."""
