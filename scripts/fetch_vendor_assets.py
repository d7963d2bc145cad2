"""Fetch the pinned browser assets of webapp/vendor_assets.json from the npm registry.

Each file is checked against its pinned integrity hash before it is written
to webapp/static/vendor/; files already there and intact are left alone.
Run by `make setup`.
"""
import io
import os
import sys
import tarfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from webapp.http import vendor_assets  # noqa: E402

REGISTRY = os.environ.get("NPM_REGISTRY", "https://registry.npmjs.org")


def tarball_url(package, version):
    return f"{REGISTRY}/{package}/-/{package.rsplit('/', 1)[-1]}-{version}.tgz"


def fetch(name, asset):
    target = os.path.join(vendor_assets.VENDOR_DIR, vendor_assets.local_filename(name, asset))
    if os.path.exists(target):
        with open(target, "rb") as existing:
            if vendor_assets.subresource_integrity(existing.read()) == asset["integrity"]:
                return False
    with urllib.request.urlopen(tarball_url(asset["package"], asset["version"]), timeout=60) as response:
        packed = response.read()
    with tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as tarball:
        content = tarball.extractfile(f"package/{asset['path']}").read()
    actual = vendor_assets.subresource_integrity(content)
    if actual != asset["integrity"]:
        sys.exit(f"{name}: {asset['package']}@{asset['version']}/{asset['path']} has integrity {actual}, pinned {asset['integrity']}")
    os.makedirs(vendor_assets.VENDOR_DIR, exist_ok=True)
    with open(target, "wb") as out:
        out.write(content)
    return True


def main():
    for name, asset in vendor_assets.manifest().items():
        if fetch(name, asset):
            print(f"fetched {name} {asset['package']}@{asset['version']}")


if __name__ == "__main__":
    main()
