"""Images built with no daemon: a base image in a registry, plus layers written as tar streams in Python.

What Jib does for Maven output and ko for Go: no Docker Engine, no root, no user namespaces, no
privileged pod. `base` reads the base's manifest and config by digest; `layer` writes each new layer
as a deterministic tar (sorted entries, fixed mtime, uid, gid and mode) and `cache` gzips it
deterministically, once; `config` derives the new config (created from the commit, never the clock);
`push` mounts or copies the base's layers, uploads what the registry lacks, then the manifest by
digest, then the tags. In the kit because the B2I provider image runs it in a pipeline job, and
`pipeyard b2i build` on a laptop runs the same code.
"""
