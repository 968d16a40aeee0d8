"""App charts for the config repository: `pipeyard chart init` writes them from skeleton/."""
