"""Object storage's stand-in: moto's S3 server on loopback (a real HTTP server speaking the S3 API),
one bucket, and the MEDIA_S3_* variables that point production settings at it."""

import json
import logging

import boto3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from .processes import free_port

BUCKET = "coaching-media"
REGION = "us-east-1"
ACCESS_KEY_ID = "test-access-key"
SECRET_ACCESS_KEY = "test-secret-key"


def public_images_policy(bucket: str) -> dict:
    """The bucket policy README "Deploy (production)" gives: anyone may read images (originals and
    renditions), nobody else anything (documents are streamed through Wagtail's view). moto enforces it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicImages",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": [f"arn:aws:s3:::{bucket}/original_images/*", f"arn:aws:s3:::{bucket}/images/*"],
            }
        ],
    }


class S3Server:
    def __init__(self):
        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.endpoint_url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "S3Server":
        # werkzeug logs every request at INFO; the tests read the bucket, not the log.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.server.start()
        self.client().create_bucket(Bucket=BUCKET)
        self.client().put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(public_images_policy(BUCKET)))
        return self

    def __exit__(self, *exc_info):
        self.server.stop()

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )

    def environment(self) -> dict[str, str]:
        """What a production process needs to keep its uploads in this bucket."""
        return {
            "MEDIA_S3_BUCKET": BUCKET,
            "MEDIA_S3_ENDPOINT_URL": self.endpoint_url,
            "MEDIA_S3_REGION": REGION,
            "MEDIA_S3_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "MEDIA_S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        }

    def keys(self, prefix: str = "") -> list[str]:
        listing = self.client().list_objects_v2(Bucket=BUCKET, Prefix=prefix)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def object_bytes(self, key: str) -> bytes:
        return self.client().get_object(Bucket=BUCKET, Key=key)["Body"].read()
