"""The one home of OCI and Docker media types (manifests, indexes, configs, layers) and the manifest size cap.

A leaf with no Dockyard imports: the daemon's images and distribution packages and the registry
server's own process all read these names from here.
"""
from __future__ import annotations

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDISTRIBUTABLE_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
           "application/vnd.docker.distribution.manifest.v1+prettyjws")

MANIFESTS = (DOCKER_MANIFEST, OCI_MANIFEST)   # single-platform image manifests
INDEXES = (DOCKER_LIST, OCI_INDEX)            # manifest lists / image indexes
ALL_MANIFESTS = MANIFESTS + INDEXES
LAYER_TYPES = (DOCKER_LAYER_GZIP, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD,
               OCI_LAYER_NONDISTRIBUTABLE_GZIP, DOCKER_FOREIGN_LAYER)

# Manifests larger than this are refused on both sides (Docker's registry uses the same 4 MiB).
MAX_MANIFEST = 4 * 1024 * 1024
