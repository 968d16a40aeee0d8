"""MAVEN_EXTRA_SETTINGS: a project's own settings.xml, merged into the generated one.

Its servers, mirrors, proxies and profiles replace generated entries with the same
id and come first: Maven uses the first matching mirror pattern and the first
active proxy, so the project's own choice wins. Active profiles and plugin groups
are added. Anything else in the file (localRepository, offline...) is ignored,
because the provider's defaults own those.

Only a job that sets MAVEN_EXTRA_SETTINGS imports this module (and ElementTree).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from xml.parsers import expat

from pipeyard_maven import settings_xml
from pipeyard_maven.settings_xml import EXTRA_SETTINGS as NAME

BY_ID = (("servers", "server"), ("mirrors", "mirror"), ("proxies", "proxy"), ("profiles", "profile"))
BY_TEXT = (("activeProfiles", "activeProfile"), ("pluginGroups", "pluginGroup"))


def _strip_namespaces(root: ET.Element) -> ET.Element:
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = el.tag.split("}", 1)[1]
    return root


class _Doctype(Exception):
    """The file declares a DTD."""


def _refuse(*_args: object) -> None:
    raise _Doctype()


def _check_no_doctype(path: Path) -> None:
    """Raise _Doctype when the file declares a DTD: a settings.xml needs none, and its entities are how
    an XML file expands to gigabytes (a billion laughs) or reads other files (an external entity)."""
    scan = expat.ParserCreate()
    scan.StartDoctypeDeclHandler = _refuse
    scan.EntityDeclHandler = _refuse
    try:
        with path.open("rb") as f:
            scan.ParseFile(f)
    except expat.ExpatError:
        pass  # ElementTree reports it, with its line


def load(path: Path, problems: list[str]) -> ET.Element | None:
    try:
        _check_no_doctype(path)
        root = ET.parse(path).getroot()
    except _Doctype:
        problems.append(f"{NAME}={path} declares a DTD (<!DOCTYPE> or <!ENTITY>), which a settings.xml never needs: "
                        "remove it")
        return None
    except OSError as exc:
        problems.append(f"{NAME}={path} cannot be read ({exc.strerror}): point {NAME} at a settings.xml in the project")
        return None
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else "?"
        problems.append(f"{NAME}={path} is not valid XML (line {line}: {exc.msg}): fix the file or unset {NAME}")
        return None
    root = _strip_namespaces(root)
    if root.tag != "settings":
        problems.append(f"{NAME}={path} is a <{root.tag}> file, not Maven settings: point {NAME} at a settings.xml")
        return None
    return root


def _section(root: ET.Element, name: str) -> ET.Element:
    section = root.find(name)
    return section if section is not None else ET.SubElement(root, name)


def merged(generated: str, extra: ET.Element) -> str:
    """The generated file (rendered with keep_empty, so every section is in its place) with the
    project's settings merged in, written as settings_xml writes it."""
    root = _strip_namespaces(ET.fromstring(generated))
    # Parsed, the namespace declarations are no attributes any more: put them back as written.
    root.attrib.clear()
    root.attrib.update(settings_xml.ROOT_ATTRIBUTES)
    merge(root, extra)
    for name in settings_xml.SECTIONS:
        section = root.find(name)
        if section is not None and len(section) == 0:
            root.remove(section)
    ET.indent(root, space="  ")
    return settings_xml.DECLARATION + settings_xml.HEADER + ET.tostring(root, encoding="unicode") + "\n"


def merge(generated: ET.Element, extra: ET.Element) -> None:
    for section_name, item in BY_ID:
        theirs = extra.find(section_name)
        if theirs is None:
            continue
        items = theirs.findall(item)
        ours = _section(generated, section_name)
        taken = {(i.findtext("id") or "").strip() for i in items}
        for existing in list(ours):
            if (existing.findtext("id") or "").strip() in taken:
                ours.remove(existing)
        for position, element in enumerate(items):
            ours.insert(position, element)
    for section_name, item in BY_TEXT:
        theirs = extra.find(section_name)
        if theirs is None:
            continue
        ours = _section(generated, section_name)
        present = {(i.text or "").strip() for i in ours}
        for element in theirs.findall(item):
            if (element.text or "").strip() not in present:
                ours.append(element)
