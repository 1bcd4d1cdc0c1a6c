"""TLS and HTTP/2 targets for the integration tests: a throwaway CA and certificates made with
`openssl`, nginx (TLS, HTTP/2, a slow location through echo_sleep) and nghttpd (h2c, and TLS
that requires a client certificate), each started on a free loopback port."""
import os
import shutil
import subprocess
import tempfile
import time

from conlab_testlib import free_port, stop, wait_port

HOST = "conlab.test"  # the name in the server's certificate; reached with --resolve


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class Pki:
    """A CA, a server certificate for HOST, localhost and 127.0.0.1, a client certificate
    signed by the CA, and a second CA that signed nothing here. Files in self.dir."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="conlab-tls-")
        d = self.dir
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for ca in ("ca", "other-ca"):
            _openssl("req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.pem",
                     "-days", "2", "-subj", f"/CN=conlab test {ca}", cwd=d)
        with open(os.path.join(d, "server.ext"), "w") as f:
            f.write(f"subjectAltName=DNS:{HOST},DNS:localhost,IP:127.0.0.1\n")
        with open(os.path.join(d, "client.ext"), "w") as f:
            f.write("extendedKeyUsage=clientAuth\n")
        for name, subj in (("server", f"/CN={HOST}"), ("client", "/CN=conlab client")):
            _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                     "-subj", subj, cwd=d)
            _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                     "-CAcreateserial", "-days", "2", "-out", f"{name}.pem",
                     "-extfile", f"{name}.ext", cwd=d)

    def path(self, name):
        return os.path.join(self.dir, name)

    def text(self, name):
        with open(self.path(name)) as f:
            return f.read()

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Nginx:
    """nginx on free ports: `port` serves TLS with HTTP/2 and HTTP/1.1 by ALPN, `mtls_port` the
    same but requires a client certificate signed by the CA, `tls11_port` TLS with HTTP/1.1
    only, `plain_port` plain HTTP/1.1 only. `/` answers at once, `/slow` after `sleep` s
    (echo_sleep)."""

    def __init__(self, pki, sleep=0.5):
        self.dir = tempfile.mkdtemp(prefix="conlab-nginx-")
        # A port taken meanwhile by another test's server makes nginx fail to bind (and exit)
        # while wait_port still finds a listener: nginx is started again on other ports. Ports
        # are distinct: two server blocks on one port would share its HTTP/2 setting.
        for attempt in range(5):
            ports = set()
            while len(ports) < 4:
                ports.add(free_port())
            self.port, self.mtls_port, self.plain_port, self.tls11_port = sorted(ports)
            if self._start(pki, sleep):
                return
        raise AssertionError(f"nginx did not start: {self.errors()}")

    def errors(self):
        try:
            with open(os.path.join(self.dir, "error.log")) as f:
                return f.read()
        except OSError:
            return ""

    def _start(self, pki, sleep):
        """Starts nginx on this object's ports; True once it listens on all of them (its pid
        file is written after it has bound every port), False when it exited."""
        locs = f"""
            location = / {{ return 200 "hello over tls\\n"; }}
            location = /slow {{ echo_sleep {sleep}; echo "slow"; }}"""
        tls = f"""
            ssl_certificate {pki.path('server.pem')};
            ssl_certificate_key {pki.path('server.key')};"""
        conf = f"""
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
worker_processes 1;
error_log {self.dir}/error.log;
pid {self.dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {self.dir}/body;
    proxy_temp_path {self.dir}/proxy;
    fastcgi_temp_path {self.dir}/fastcgi;
    uwsgi_temp_path {self.dir}/uwsgi;
    scgi_temp_path {self.dir}/scgi;
    keepalive_requests 100000;
    http2_max_concurrent_streams 256;
    server {{ listen 127.0.0.1:{self.port} ssl http2; {tls} {locs} }}
    server {{ listen 127.0.0.1:{self.mtls_port} ssl http2; {tls}
             ssl_client_certificate {pki.path('ca.pem')}; ssl_verify_client on; {locs} }}
    server {{ listen 127.0.0.1:{self.tls11_port} ssl; {tls} {locs} }}
    server {{ listen 127.0.0.1:{self.plain_port}; {locs} }}
}}
"""
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write(conf)
        pidfile = os.path.join(self.dir, "nginx.pid")
        if os.path.exists(pidfile):
            os.remove(pidfile)
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", "nginx.conf", "-g",
                                      "daemon off;"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not os.path.exists(pidfile):
            if self.proc.poll() is not None:
                return False
            if time.monotonic() > deadline:
                raise AssertionError(f"nginx wrote no pid file in 10 s: {self.errors()}")
            time.sleep(0.02)
        for p in (self.port, self.mtls_port, self.tls11_port, self.plain_port):
            wait_port(p)
        return True

    def close(self):
        stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


class Nghttpd:
    """nghttpd serving a small file: h2c (prior knowledge and Upgrade) without TLS, or over TLS
    requiring a client certificate (`verify_client`)."""

    def __init__(self, pki=None, verify_client=False):
        self.dir = tempfile.mkdtemp(prefix="conlab-nghttpd-")
        with open(os.path.join(self.dir, "index.html"), "w") as f:
            f.write("hello over h2\n")
        self.port = free_port()
        cmd = ["nghttpd", "-d", self.dir, "--no-content-length"]
        if pki is None:
            cmd += ["--no-tls", str(self.port)]
        else:
            if verify_client:
                cmd += ["--verify-client"]
            cmd += [str(self.port), pki.path("server.key"), pki.path("server.pem")]
        cmd[1:1] = ["-a", "127.0.0.1"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_port(self.port)

    def close(self):
        stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)
