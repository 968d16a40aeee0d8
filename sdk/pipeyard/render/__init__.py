"""`pipeyard render`: every generated file, from provider.yaml and the site file."""
