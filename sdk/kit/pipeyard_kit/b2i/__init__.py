"""B2I app images from a jar: what both the platform's `pipeyard b2i build` and the B2I provider's
pipeline job need, so it lives in the kit.

`jar` reads a jar's shape; `layout` turns it into layers under /app; `request` checks a build request
and names the environment and labels baked into the image; `build` assembles the image on a base in
a registry and pushes it with no daemon (pipeyard_kit.ocibuild).
"""
