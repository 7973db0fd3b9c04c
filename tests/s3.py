"""A real S3-protocol server on loopback (moto's ThreadedMotoServer) and settings that point
Django's default storage at a fresh bucket on it, as STORAGE_BACKEND=s3 does.

    def test_something(s3_media):          # default_storage is S3Storage on a new bucket
        s3_media.client.list_objects_v2(Bucket=s3_media.bucket)

`s3_media.worker_env` holds the environment a Celery worker process needs for the same bucket.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from django.core.files.storage import default_storage

from tests.ports import free_port

REGION = "us-east-1"
KEY_ID, SECRET = "test-key-id", "test-secret"


@dataclass
class S3Media:
    endpoint: str
    bucket: str
    client: object  # boto3 S3 client with the same credentials

    @property
    def worker_env(self) -> dict[str, str]:
        return {
            "STORAGE_BACKEND": "s3",
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_ACCESS_KEY_ID": KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET,
        }

    def keys(self) -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def download(self, key: str, target: Path) -> Path:
        self.client.download_file(self.bucket, key, str(target))
        return target


@pytest.fixture(scope="session")
def s3_server() -> str:
    """The endpoint URL of an S3 server running in this test process, for the session."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_media(settings, s3_server) -> S3Media:
    """Default storage = django-storages' S3Storage on a new, empty bucket (as settings.py
    builds it for STORAGE_BACKEND=s3). Overriding STORAGES resets Django's storage handler."""
    bucket = f"media-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )
    client.create_bucket(Bucket=bucket)
    settings.STORAGE_BACKEND = "s3"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": s3_server,
                "region_name": REGION,
                "access_key": KEY_ID,
                "secret_key": SECRET,
                "location": "",
                "default_acl": None,
                "querystring_auth": True,
                "querystring_expire": 600,
                "signature_version": "s3v4",
                "file_overwrite": False,
                "max_memory_size": 1024 * 1024,
            },
        },
    }
    # The setting_changed signal dropped the resolved storages: the next use builds S3Storage.
    assert default_storage.bucket_name == bucket
    return S3Media(endpoint=s3_server, bucket=bucket, client=client)
