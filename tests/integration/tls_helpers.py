"""Certificates made with the `openssl` CLI for the TLS tests, and a fake PostgreSQL that answers
an SSLRequest with 'S' and then handshakes with a given certificate (to see the SNI the proxy sends
and to present certificates a real server will not: an expired one)."""
import os
import shutil
import socket
import ssl
import struct
import subprocess
import threading

from ouro_testlib import missing_dependency

CA_CONFIG = """[ ca ]
default_ca = test_ca
[ test_ca ]
database = {dir}/index.txt
new_certs_dir = {dir}
serial = {dir}/serial
default_md = sha256
policy = any_name
copy_extensions = copy
[ any_name ]
commonName = supplied
"""


class Certificates:
    """In `directory`: ca (the trusted CA), foreign_ca (another CA), server (localhost and
    127.0.0.1, signed by ca), client (CN ouro), certuser (CN certuser), foreign_server (signed by
    foreign_ca), expired_server (signed by ca, expired in 2020), server2 (like server, another
    key: a renewed certificate). Each NAME has NAME.crt and NAME.key."""

    def __init__(self, directory):
        if shutil.which("openssl") is None:
            missing_dependency("the openssl command-line tool is not installed")
        self.dir = str(directory)
        os.chmod(self.dir, 0o755)
        self._ca("ca", "Ouroboros Test CA")
        self._ca("foreign_ca", "Foreign Test CA")
        server_names = "subjectAltName=DNS:localhost,IP:127.0.0.1"
        self._leaf("server", "ca", "localhost", server_names)
        self._leaf("server2", "ca", "localhost", server_names)
        self._leaf("client", "ca", "ouro")
        self._leaf("certuser", "ca", "certuser")
        self._leaf("foreign_server", "foreign_ca", "localhost", server_names)
        self._expired("expired_server", "ca", "localhost", server_names)

    def path(self, name, kind="crt"):
        return os.path.join(self.dir, f"{name}.{kind}")

    def _openssl(self, *args):
        proc = subprocess.run(["openssl", *args], cwd=self.dir, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, f"openssl {' '.join(args)} failed:\n{proc.stderr}"

    def _key_and_csr(self, name, cn):
        self._openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}")
        os.chmod(self.path(name, "key"), 0o600)

    def _ca(self, name, cn):
        self._openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-subj", f"/CN={cn}",
                      "-days", "30")

    def _leaf(self, name, ca, cn, extension=None):
        self._key_and_csr(name, cn)
        args = ["x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
                "-CAcreateserial", "-days", "30", "-sha256", "-out", f"{name}.crt"]
        if extension:
            with open(self.path(name, "ext"), "w") as f:
                f.write(extension + "\n")
            args += ["-extfile", f"{name}.ext"]
        self._openssl(*args)

    def _expired(self, name, ca, cn, extension):
        # `openssl ca` sets any validity period, also one that ended long ago.
        self._key_and_csr(name, cn)
        with open(self.path("index", "txt"), "w"):
            pass
        with open(self.path("serial", "txt").replace(".txt", ""), "w") as f:
            f.write("1000\n")
        with open(self.path("ca", "cnf"), "w") as f:
            f.write(CA_CONFIG.format(dir=self.dir))
        with open(self.path(name, "ext"), "w") as f:
            f.write(extension + "\n")
        self._openssl("ca", "-batch", "-config", "ca.cnf", "-cert", f"{ca}.crt", "-keyfile",
                      f"{ca}.key", "-in", f"{name}.csr", "-out", f"{name}.crt", "-notext",
                      "-startdate", "20200101000000Z", "-enddate", "20200201000000Z",
                      "-extfile", f"{name}.ext")


class FakeTlsPostgres:
    """Accepts connections on 127.0.0.1: reads an SSLRequest, answers 'S', handshakes as a TLS
    server with `cert`/`key`, records the SNI name the client sent (None without one), then
    closes. `server_names` lists one entry per handshake attempted."""

    def __init__(self, cert, key):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.server_names = []
        self.context.sni_callback = self._sni
        self._current_sni = None
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _sni(self, ssl_socket, server_name, context):
        self._current_sni = server_name

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                try:
                    request = conn.recv(8)
                    if struct.unpack("!II", request) != (8, 80877103):
                        continue
                    conn.sendall(b"S")
                    self._current_sni = None
                    try:
                        with self.context.wrap_socket(conn, server_side=True):
                            pass
                    finally:
                        self.server_names.append(self._current_sni)
                except (OSError, ssl.SSLError, struct.error):
                    continue

    def close(self):
        self.sock.close()
