"""docker's `--format` contexts: table/raw rendering and the ps, images and history placeholders."""
from __future__ import annotations

import json
from typing import Any, Iterable

from dockyard.cli import references
from dockyard.cli.gofmt import go_quote
from dockyard.cli.gotemplate import HEADER_FUNCS, Template
from dockyard.cli.humanize import ellipsis, go_time_string, human_size, rfc3339, since, truncate_id
from dockyard.cli.tabwriter import tabulate

TABLE = "table"


def is_table(fmt: str) -> bool:
    return fmt.startswith(TABLE)


def prepare(fmt: str) -> str:
    """Drop the table directive and turn the two-character escapes \\t and \\n into real ones."""
    text = fmt[len(TABLE):] if is_table(fmt) else fmt
    return text.strip(" ").replace("\\t", "\t").replace("\\n", "\n")


def render(fmt: str, rows: Iterable[Any], header: dict[str, str] | None = None) -> str:
    """Execute the template once a row (each followed by a newline); tables get a header and alignment."""
    tmpl = Template(prepare(fmt))
    body = "".join(tmpl.execute(row) + "\n" for row in rows)
    if not is_table(fmt):
        return body
    head = tmpl.with_funcs(HEADER_FUNCS).execute(_Header(header or {})) + "\n"
    return tabulate(head + body)


class _Header:
    """The header row's data: each placeholder's column title; `.Label "a.b-c"` is titled "b c"."""

    def __init__(self, titles: dict[str, str]) -> None:
        self._titles = titles

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name == "Label":
            return lambda label: label.split(".")[-1].replace("-", " ").replace("_", " ")
        if name in self._titles:
            return self._titles[name]
        raise AttributeError(name)


class _Context:
    """Placeholders are methods; `{{json .}}` shows all of them."""

    fields: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name)() for name in sorted(self.fields)}

    def __str__(self) -> str:
        return "{" + " ".join(str(getattr(self, name)()) for name in self.fields) + "}"


# ------------------------------------------------------------------ ps

PS_FORMAT = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
PS_HEADER = {
    "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE",
    "Names": "NAMES", "Labels": "LABELS", "Label": "LABEL", "Mounts": "MOUNTS",
    "LocalVolumes": "LOCAL VOLUMES", "Networks": "NETWORKS",
}


def displayable_ports(ports: list[dict[str, Any]]) -> str:
    """api/types DisplayablePorts: consecutive ports grouped, host mappings last."""
    def key(p: dict[str, Any]) -> tuple[Any, ...]:
        return (p.get("PrivatePort", 0), p.get("PublicPort", 0), p.get("Type", ""), p.get("IP", ""))

    groups: dict[str, list[int]] = {}
    order: list[str] = []
    result: list[str] = []
    mappings: list[str] = []

    def form(group_key: str, first: int, last: int) -> str:
        ip, _, kind = group_key.rpartition("/")
        text = str(first) if first == last else f"{first}-{last}"
        if ip:
            text = f"{ip}:{text}->{text}"
        return f"{text}/{kind}"

    for port in sorted(ports or [], key=key):
        current = port.get("PrivatePort", 0)
        group_key = port.get("Type", "tcp")
        ip = port.get("IP", "")
        if ip:
            public = port.get("PublicPort", 0)
            if public != current:
                host = f"[{ip}]" if ":" in ip else ip
                mappings.append(f"{host}:{public}->{current}/{port.get('Type', 'tcp')}")
                continue
            group_key = f"{ip}/{group_key}"
        group = groups.get(group_key)
        if group is None:
            groups[group_key] = [current, current]
            order.append(group_key)
        elif current == group[1] + 1:
            group[1] = current
        else:
            result.append(form(group_key, group[0], group[1]))
            groups[group_key] = [current, current]
    result += [form(k, *groups[k]) for k in order]
    return ", ".join(result + mappings)


class ContainerContext(_Context):
    fields = ("ID", "Image", "Command", "CreatedAt", "RunningFor", "Ports", "State", "Status", "Size",
              "Names", "Labels", "Mounts", "LocalVolumes", "Networks", "Platform")

    def __init__(self, c: dict[str, Any], trunc: bool = True) -> None:
        self.c = c
        self.trunc = trunc

    def ID(self) -> str:
        return truncate_id(self.c.get("Id", "")) if self.trunc else self.c.get("Id", "")

    def Names(self) -> str:
        names = [n[1:] if n.startswith("/") else n for n in self.c.get("Names") or []]
        if self.trunc:
            plain = [n for n in names if "/" not in n]
            names = plain[:1] or names
        return ",".join(names)

    def Image(self) -> str:
        image = self.c.get("Image") or ""
        if not image:
            return "<no image>"
        if self.trunc:
            if truncate_id(self.c.get("ImageID", "")) == truncate_id(image):
                return truncate_id(image)
            return image.split("@", 1)[0] if "@" in image else image
        return image

    def Command(self) -> str:
        command = self.c.get("Command") or ""
        return go_quote(ellipsis(command, 20) if self.trunc else command)

    def CreatedAt(self) -> str:
        return go_time_string(self.c.get("Created"))

    def RunningFor(self) -> str:
        return since(self.c.get("Created"))

    def Ports(self) -> str:
        return displayable_ports(self.c.get("Ports") or [])

    def State(self) -> str:
        return str(self.c.get("State") or "")

    def Status(self) -> str:
        return str(self.c.get("Status") or "")

    def Size(self) -> str:
        rw = human_size(self.c.get("SizeRw") or 0, 3)
        rootfs = self.c.get("SizeRootFs") or 0
        return f"{rw} (virtual {human_size(rootfs, 3)})" if rootfs > 0 else rw

    def Labels(self) -> str:
        labels = self.c.get("Labels") or {}
        return ",".join(f"{k}={labels[k]}" for k in sorted(labels))

    def Label(self, name: str) -> str:
        return str((self.c.get("Labels") or {}).get(name, ""))

    def Mounts(self) -> str:
        names = []
        for m in self.c.get("Mounts") or []:
            name = m.get("Name") or m.get("Source") or ""
            names.append(ellipsis(name, 15) if self.trunc else name)
        return ",".join(names)

    def LocalVolumes(self) -> str:
        return str(sum(1 for m in self.c.get("Mounts") or [] if m.get("Driver") == "local"))

    def Platform(self) -> Any:
        return self.c.get("ImageManifestDescriptor", {}).get("platform") if "ImageManifestDescriptor" in self.c else None

    def Networks(self) -> str:
        networks = ((self.c.get("NetworkSettings") or {}).get("Networks") or {})
        return ",".join(sorted(networks))


# ------------------------------------------------------------------ images

IMAGES_FORMAT = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
IMAGES_DIGEST_FORMAT = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
IMAGES_HEADER = {
    "ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
    "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS",
    "VirtualSize": "VIRTUAL SIZE", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE",
}


class ImageContext(_Context):
    fields = ("ID", "Repository", "Tag", "Digest", "CreatedSince", "CreatedAt", "Size", "Containers",
              "VirtualSize", "SharedSize", "UniqueSize")

    def __init__(self, image: dict[str, Any], repo: str, tag: str, digest: str, trunc: bool = True) -> None:
        self.i, self.repo, self.tag, self.digest, self.trunc = image, repo, tag, digest, trunc

    def ID(self) -> str:
        return truncate_id(self.i.get("Id", "")) if self.trunc else self.i.get("Id", "")

    def Repository(self) -> str:
        return self.repo

    def Tag(self) -> str:
        return self.tag

    def Digest(self) -> str:
        return self.digest

    def CreatedSince(self) -> str:
        return since(self.i.get("Created"))

    def CreatedAt(self) -> str:
        return go_time_string(self.i.get("Created"))

    def Size(self) -> str:
        return human_size(self.i.get("Size") or 0, 3)

    def VirtualSize(self) -> str:
        return human_size(self.i.get("VirtualSize", self.i.get("Size")) or 0)

    def Containers(self) -> str:
        count = self.i.get("Containers", -1)
        return "N/A" if count in (-1, None) else str(count)

    def SharedSize(self) -> str:
        shared = self.i.get("SharedSize", -1)
        return "N/A" if shared in (-1, None) else human_size(shared, 3)

    def UniqueSize(self) -> str:
        shared = self.i.get("SharedSize", -1)
        if shared in (-1, None):
            return "N/A"
        return human_size((self.i.get("Size") or 0) - shared, 3)


def image_rows(image: dict[str, Any], digests: bool, trunc: bool) -> list[ImageContext]:
    """One row per repository:tag (and per digest with --digests), as docker's imageEntries."""
    tags = [t for t in image.get("RepoTags") or [] if t != "<none>:<none>"]
    repo_digests = [d for d in image.get("RepoDigests") or [] if d != "<none>@<none>"]
    if not tags and not repo_digests:
        return [ImageContext(image, "<none>", "<none>", "<none>", trunc)]
    by_repo_tags: dict[str, list[str]] = {}
    for ref in tags:
        name, tag, _ = references.split(ref)
        by_repo_tags.setdefault(references.familiar_name(references.normalize_name(name)), []).append(tag)
    by_repo_digests: dict[str, list[str]] = {}
    for ref in repo_digests:
        name, _, digest = references.split(ref)
        by_repo_digests.setdefault(references.familiar_name(references.normalize_name(name)), []).append(digest)
    rows = []
    for repo, repo_tags in by_repo_tags.items():
        found = by_repo_digests.pop(repo, [])
        repo_dgsts = found if digests else []
        for tag in repo_tags:
            for dgst in repo_dgsts or ["<none>"]:
                rows.append(ImageContext(image, repo, tag, dgst, trunc))
    for repo, repo_dgsts in by_repo_digests.items():
        if digests:
            rows += [ImageContext(image, repo, "<none>", d, trunc) for d in repo_dgsts]
        else:
            rows.append(ImageContext(image, repo, "<none>", "", trunc))
    return rows


# ------------------------------------------------------------------ history

HISTORY_FORMAT = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
HISTORY_HEADER = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
                  "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT"}


class HistoryContext(_Context):
    fields = ("ID", "CreatedSince", "CreatedAt", "CreatedBy", "Size", "Comment")

    def __init__(self, h: dict[str, Any], trunc: bool = True, human: bool = True) -> None:
        self.h, self.trunc, self.human = h, trunc, human

    def ID(self) -> str:
        ident = self.h.get("Id") or "<missing>"
        return truncate_id(ident) if self.trunc and ident != "<missing>" else ident

    def CreatedAt(self) -> str:
        return rfc3339(self.h.get("Created"))

    def CreatedSince(self) -> str:
        return since(self.h.get("Created")) if self.human else self.CreatedAt()

    def CreatedBy(self) -> str:
        created_by = (self.h.get("CreatedBy") or "").replace("\t", " ")
        return ellipsis(created_by, 45) if self.trunc else created_by

    def Size(self) -> str:
        size = self.h.get("Size") or 0
        return human_size(size, 3) if self.human else str(size)

    def Comment(self) -> str:
        return str(self.h.get("Comment") or "")


def indent_json(value: Any) -> str:
    """docker inspect's JSON: the daemon's objects re-indented by 4 spaces (json.Indent: no escaping)."""
    return json.dumps(value, indent=4, ensure_ascii=False)
