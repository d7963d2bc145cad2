"""deploy/nginx/thingsnxt.conf run by the real nginx in front of test servers, with a certificate made here.

The site file is used as it is; only what names the production host changes
(listen addresses, certificate paths, the instances' addresses), and each of
those must be found, so the file cannot drift from what is tested. An access
log of the test's own says which instance answered each request.
"""
import os
import re
import shutil
import socket
import subprocess
import time

from tests.live_server import ROOT, free_port

SITE = os.path.join(ROOT, "deploy", "nginx", "thingsnxt.conf")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
START_TIMEOUT = 15
# The request header a test marks a request with, to find it in the access log.
MARK = "X-Test-Mark"


def make_certificate(directory):
    """A self-signed certificate for 127.0.0.1: (certificate path, key path)."""
    certificate, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate,
        ],
        check=True, capture_output=True,
    )
    return certificate, key


def site_for_test(https_port, http_port, upstream_ports, certificate, key):
    with open(SITE) as site_file:
        site = site_file.read()
    replacements = {
        "server 10.0.0.11:8000 ": f"server 127.0.0.1:{upstream_ports[0]} ",
        "server 10.0.0.12:8000 ": f"server 127.0.0.1:{upstream_ports[1]} ",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "/etc/letsencrypt/live/thingsnxt.example.com/fullchain.pem": certificate,
        "/etc/letsencrypt/live/thingsnxt.example.com/privkey.pem": key,
    }
    for production, test in replacements.items():
        assert site.count(production) == 1, f"{SITE} no longer has {production!r} once"
        site = site.replace(production, test)
    return site


class Nginx:
    def __init__(self, directory, upstream_ports):
        self.directory = str(directory)
        self.https_port, self.http_port = free_port(), free_port()
        self.url = f"https://127.0.0.1:{self.https_port}"
        self.certificate, key = make_certificate(self.directory)
        self.access_log = os.path.join(self.directory, "access.log")
        self.error_log = os.path.join(self.directory, "error.log")
        with open(os.path.join(self.directory, "thingsnxt.conf"), "w") as site:
            site.write(site_for_test(self.https_port, self.http_port, upstream_ports, self.certificate, key))
        self.config = os.path.join(self.directory, "nginx.conf")
        with open(self.config, "w") as config:
            config.write(self._main_config())
        self.process = subprocess.Popen(
            [NGINX, "-p", self.directory, "-c", self.config, "-e", self.error_log], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        self._wait_until_listening()

    def _main_config(self):
        # As root, nginx's workers would run as nobody, who may not enter the test's directory.
        user = "user root;\n" if os.geteuid() == 0 else ""
        return (
            f"{user}daemon off;\nworker_processes 1;\npid {self.directory}/nginx.pid;\nerror_log {self.error_log} warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"    log_format upstreams '$upstream_addr $status $http_{MARK.lower().replace('-', '_')}';\n"
            f"    access_log {self.access_log} upstreams;\n"
            f"    include {self.directory}/thingsnxt.conf;\n"
            "}\n"
        )

    def _wait_until_listening(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}:\n{self.errors()}")
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen within {START_TIMEOUT} s:\n{self.errors()}")

    def errors(self):
        with open(self.error_log, errors="replace") as log:
            return log.read()

    def upstreams_of(self, mark):
        """The instance ports that answered the requests marked `mark` (nginx logs a request once it ends),
        the last one for a request nginx passed on from one instance to the other."""
        ports = []
        with open(self.access_log) as log:
            for line in log:
                upstreams, _, logged_mark = line.rstrip("\n").rsplit(" ", 2)
                if logged_mark == mark:
                    addresses = re.findall(r":(\d+)", upstreams)
                    ports.append(int(addresses[-1]) if addresses else None)
        return ports

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=START_TIMEOUT)
