"""The Java level of the analysed bytecode, for the Java analyzer: sonar.java.source.

The scanner runs on the sonar image's own JRE, whatever JDK built the project (the maven provider's
variants: 8 to 25), so the analyzer cannot learn the language level from the JVM it runs on. The
build's classes say it: a class file's major version is the release it was compiled for (52 is
Java 8, 61 is 17, 69 is 25; JVM specification, table 4.1-A). The highest one among the binaries
is the project's level, as the analyzer's rules need it (no `var` hint below 10, no record hint
below 16). A level set in sonar-project.properties or SONAR_SCANNER_OPTS still wins. (SonarQube's
Java documentation, "Handling Java source version": sonar.java.source takes 8, 1.8, 17 and so on.)
sonar.java.jdkHome, the JDK whose classes the analyzer resolves, stays unset: only a job that runs
on the build's own JDK (the maven image, whose JAVA_HOME is the variant's JDK) could name it.
"""

from __future__ import annotations

from pathlib import Path

MAGIC = b"\xca\xfe\xba\xbe"
FIRST_RELEASE = 45  # major 45 is Java 1.1; 52 is 8, and every release since adds one


def release_of(class_file: Path) -> int | None:
    """The Java release a class file was compiled for, or None when it is no class file."""
    try:
        with open(class_file, "rb") as f:
            head = f.read(8)
    except OSError:
        return None
    if len(head) < 8 or head[:4] != MAGIC:
        return None
    major = int.from_bytes(head[6:8], "big")
    return major - 44 if major >= 49 else 1  # before Java 5 the levels were 1.x


def bytecode_level(folders: list[Path], sample: int = 200) -> int | None:
    """The highest release among the first `sample` classes of each folder (the build compiles them alike)."""
    found = []
    for folder in folders:
        for n, cls in enumerate(sorted(folder.rglob("*.class"))):
            if n >= sample:
                break
            level = release_of(cls)
            if level is not None:
                found.append(level)
    return max(found) if found else None


def properties(cwd: Path, binaries: str | None) -> dict[str, str]:
    """sonar.java.source from the classes in sonar.java.binaries (comma-separated, relative to cwd)."""
    if not binaries:
        return {}
    folders = [cwd / part.strip() for part in binaries.split(",") if part.strip() and "*" not in part]
    level = bytecode_level([f for f in folders if f.is_dir()])
    if level is None:
        return {}
    return {"sonar.java.source": str(level)}
