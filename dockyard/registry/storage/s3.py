"""The S3 backend (any S3-compatible server): keys are objects under a prefix in one bucket.

Uploads are staged on the local root and sent with one (multipart, by boto3) upload at commit,
so an object only appears complete. Blobs are served by streaming ranged GETs through the
registry (no redirect to presigned URLs yet).
"""
from __future__ import annotations

from typing import Any, Iterator

from .base import Stat

CHUNK = 1024 * 1024


class S3Storage:
    blocking = True  # every call is a network round trip: run in worker threads

    def __init__(self, bucket: str, prefix: str = "", region: str | None = None,
                 endpoint: str | None = None, access_key: str | None = None,
                 secret_key: str | None = None, create_bucket: bool = False) -> None:
        import boto3  # optional dependency: only this backend needs it
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client: Any = boto3.client(
            "s3", region_name=region or "us-east-1", endpoint_url=endpoint,
            aws_access_key_id=access_key, aws_secret_access_key=secret_key,
            config=Config(max_pool_connections=32, retries={"max_attempts": 3}))
        if create_bucket:
            try:
                self.client.head_bucket(Bucket=bucket)
            except Exception:
                self.client.create_bucket(Bucket=bucket)

    def _key(self, key: str) -> str:
        key = key.strip("/")
        return f"{self.prefix}/{key}" if self.prefix else key

    def _rel(self, full: str) -> str:
        return full[len(self.prefix) + 1:] if self.prefix else full

    def _missing(self, exc: Exception) -> bool:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    def stat(self, key: str) -> Stat | None:
        try:
            r = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as e:
            if self._missing(e):
                return None
            raise
        return Stat(int(r["ContentLength"]), r["LastModified"].timestamp())

    def get(self, key: str) -> bytes | None:
        try:
            r = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as e:
            if self._missing(e):
                return None
            raise
        data: bytes = r["Body"].read()
        return data

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_file(self, key: str, path: str) -> None:
        import os

        self.client.upload_file(path, self.bucket, self._key(key))
        os.unlink(path)

    def touch(self, key: str) -> None:
        full = self._key(key)
        try:
            self.client.copy_object(Bucket=self.bucket, Key=full, CopySource={"Bucket": self.bucket, "Key": full},
                                    MetadataDirective="REPLACE")
        except Exception as e:
            if not self._missing(e):
                raise

    def delete(self, key: str) -> bool:
        if self.stat(key) is None:
            return False
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        return True

    def delete_prefix(self, prefix: str) -> None:
        keys = [{"Key": self._key(k)} for k, _ in self.walk(prefix)]
        for i in range(0, len(keys), 1000):
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys[i:i + 1000]})

    def list(self, prefix: str) -> list[str]:
        base = self._key(prefix) + "/"
        names: set[str] = set()
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=base, Delimiter="/"):
            for p in page.get("CommonPrefixes", []):
                names.add(p["Prefix"][len(base):].rstrip("/"))
            for o in page.get("Contents", []):
                names.add(o["Key"][len(base):])
        return sorted(n for n in names if n)

    def walk(self, prefix: str) -> Iterator[tuple[str, Stat]]:
        base = self._key(prefix) + "/"
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=base):
            for o in page.get("Contents", []):
                yield self._rel(o["Key"]), Stat(int(o["Size"]), o["LastModified"].timestamp())

    def local_path(self, key: str) -> str | None:
        return None

    def read_range(self, key: str, start: int, length: int) -> Iterator[bytes]:
        if length <= 0:
            return
        r = self.client.get_object(Bucket=self.bucket, Key=self._key(key),
                                   Range=f"bytes={start}-{start + length - 1}")
        body = r["Body"]
        try:
            while True:
                chunk = body.read(CHUNK)
                if not chunk:
                    return
                yield chunk
        finally:
            body.close()
