"""Plugin code runs in child processes that the kernel confines (Landlock), not in the warehouse's own.

The security scanner is a speed bump; this is the wall. Uploaded plugins may use ``requests``,
``pd.read_csv`` or ``torch.load``, so any plugin could read any file and reach any host unless the process
stops it. A confined child:

- reads only the Python environment (``sys.prefix``, the base interpreter, the ``warehouse`` package), the
  plugin's own folder, the model cache and a few system files (shared libraries, certificates, time zones,
  ``/proc/self``, CPU topology) — not ``WAREHOUSE_HOME`` (catalog, API keys, index, other plugins, other
  namespaces' objects), not ``/etc/shadow``, not other processes' ``/proc/<pid>/environ``;
- writes only its own temporary folder (``TMPDIR``, ``HOME``);
- opens TCP connections only to the ports it is given (none by default: not the API, not the index owner);
- cannot signal or reach abstract unix sockets outside itself (ABI 6 scopes);
- starts with an environment stripped of the warehouse's settings and secrets.

The rules are applied by the child to itself (``landlock_restrict_self`` after ``PR_SET_NO_NEW_PRIVS``) before
it imports any plugin module, and they hold for everything it starts. Landlock needs no privileges and no
helper binary; the syscalls are made through ``ctypes`` here, in the trusted host code.

Children: this module's own (the confirm gate's lint, which imports the manifest and calls ``build_steps``) and
:mod:`warehouse.batch.confined` (a batch step group served over a pipe: Arrow IPC frames in and out, never pickle).

Where the kernel has no Landlock, :func:`available` is False: untrusted plugins are refused unless the
operator sets ``WAREHOUSE_ALLOW_UNSANDBOXED_PLUGINS=1`` (``/v1/health`` says which).
"""

from __future__ import annotations

import asyncio
import base64
import ctypes
import http.client
import io
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pyarrow as pa

import warehouse
from warehouse.extractors.loader import load_plugin
from warehouse.extractors.steps import call_inference
from warehouse.extractors.tools.lint import lint_path
from warehouse.outbound import OutboundPolicy, OutboundRefused, resolve_checked
from warehouse.settings import Settings

# Landlock ABI (include/uapi/linux/landlock.h); the syscall numbers are the same on every architecture
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
_PR_SET_NO_NEW_PRIVS = 38
FS = {"execute": 1 << 0, "write_file": 1 << 1, "read_file": 1 << 2, "read_dir": 1 << 3, "remove_dir": 1 << 4,
      "remove_file": 1 << 5, "make_char": 1 << 6, "make_dir": 1 << 7, "make_reg": 1 << 8, "make_sock": 1 << 9,
      "make_fifo": 1 << 10, "make_block": 1 << 11, "make_sym": 1 << 12, "refer": 1 << 13, "truncate": 1 << 14,
      "ioctl_dev": 1 << 15}
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1, 2
_READ = FS["execute"] | FS["read_file"] | FS["read_dir"]

ENV_KEEP = ("PATH", "LANG", "LC_ALL", "TZ", "HF_HOME", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
            "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
_SYSTEM_READ = ("/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
                "/etc/ssl", "/etc/ca-certificates", "/etc/localtime", "/usr/share/zoneinfo", "/etc/hosts",
                "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf", "/etc/mime.types",
                "/proc/self", "/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/sys/devices/system/cpu",
                "/sys/fs/cgroup", "/dev/null", "/dev/urandom", "/dev/random", "/dev/zero", "/dev/shm")
_DEVICES_RW = ("/dev/null", "/dev/shm")


class SandboxError(RuntimeError):
    """The confined child could not start, or broke the protocol; the message says what and how to fix it."""


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def abi_version() -> int:
    """The kernel's Landlock ABI (0: none)."""
    if not sys.platform.startswith("linux"):
        return 0
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    version = libc.syscall(ctypes.c_long(_SYS_CREATE_RULESET), None, ctypes.c_size_t(0),
                           ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(0, int(version))


def available() -> bool:
    return abi_version() >= 1


def unsandboxed_allowed() -> bool:
    return os.environ.get("WAREHOUSE_ALLOW_UNSANDBOXED_PLUGINS", "").lower() in ("1", "true", "yes")


@dataclass
class Policy:
    """What a confined child may touch: trees it reads, trees it writes, TCP ports it may connect to."""

    read: list[str] = field(default_factory=list)
    write: list[str] = field(default_factory=list)
    connect_ports: list[int] = field(default_factory=list)
    #: the operator's model folder ``load_namespace_model`` reads (read-only), if any
    models_dir: str | None = None

    @classmethod
    def for_plugin(cls, plugin_dir: Path, scratch: Path, connect_ports: list[int] | None = None,
                   models_dir: str | Path | None = None) -> Policy:
        read = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable)),
                str(Path(warehouse.__file__).resolve().parent), str(Path(plugin_dir).resolve()), *_SYSTEM_READ}
        hf = os.environ.get("HF_HOME")
        if hf:
            read.add(hf)
        if models_dir:
            read.add(str(models_dir))
        return cls(read=sorted(read), write=[str(scratch), *_DEVICES_RW], connect_ports=sorted(connect_ports or []),
                   models_dir=str(models_dir) if models_dir else None)


def confine(policy: Policy) -> int:
    """Apply ``policy`` to this process and its future children, for good. Returns the ABI used.

    Raises:
        SandboxError: the kernel has no Landlock, or refused the rules.
    """
    abi = abi_version()
    if abi < 1:
        raise SandboxError("this kernel has no Landlock, so plugin code cannot be confined")
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    handled_fs = _FS_BY_ABI.get(abi, (1 << 16) - 1)
    handled_net = (_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0
    scoped = (_SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL) if abi >= 6 else 0
    attr = struct.pack("=QQQ", handled_fs, handled_net, scoped)
    size = 24 if abi >= 6 else (16 if abi >= 4 else 8)
    buf = ctypes.create_string_buffer(attr[:size], size)
    fd = libc.syscall(ctypes.c_long(_SYS_CREATE_RULESET), buf, ctypes.c_size_t(size), ctypes.c_uint32(0))
    if fd < 0:
        raise SandboxError(f"landlock_create_ruleset failed: {os.strerror(ctypes.get_errno())}")
    try:
        for path, access in [*((p, _READ) for p in policy.read), *((p, handled_fs) for p in policy.write)]:
            _add_path_rule(libc, fd, path, access & handled_fs)
        if handled_net:
            for port in policy.connect_ports:
                rule = ctypes.create_string_buffer(struct.pack("=QQ", _NET_CONNECT_TCP, int(port)), 16)
                if libc.syscall(ctypes.c_long(_SYS_ADD_RULE), ctypes.c_int(fd), ctypes.c_int(_RULE_NET_PORT), rule,
                                ctypes.c_uint32(0)) < 0:
                    raise SandboxError(f"landlock_add_rule(port {port}) failed: {os.strerror(ctypes.get_errno())}")
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise SandboxError(f"prctl(NO_NEW_PRIVS) failed: {os.strerror(ctypes.get_errno())}")
        if libc.syscall(ctypes.c_long(_SYS_RESTRICT_SELF), ctypes.c_int(fd), ctypes.c_uint32(0)) < 0:
            raise SandboxError(f"landlock_restrict_self failed: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(fd)
    return abi


def _add_path_rule(libc, ruleset_fd: int, path: str, access: int) -> None:
    try:
        parent = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # not on this machine: nothing to allow
    try:
        if not os.path.isdir(path):  # a file may carry only file rights
            access &= FS["execute"] | FS["write_file"] | FS["read_file"] | FS["truncate"] | FS["ioctl_dev"]
        rule = ctypes.create_string_buffer(struct.pack("=Qi", access, parent), 12)
        if libc.syscall(ctypes.c_long(_SYS_ADD_RULE), ctypes.c_int(ruleset_fd), ctypes.c_int(_RULE_PATH_BENEATH),
                        rule, ctypes.c_uint32(0)) < 0:
            raise SandboxError(f"landlock_add_rule({path}) failed: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(parent)


def child_env(scratch: Path, policy: Policy | None = None) -> dict[str, str]:
    """The environment of a confined child: a few neutral variables, none of the warehouse's settings or secrets."""
    env = {k: os.environ[k] for k in ENV_KEEP if k in os.environ}
    env.update({"HOME": str(scratch), "TMPDIR": str(scratch), "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONNOUSERSITE": "1", "WAREHOUSE_HOME": str(scratch / "home")})
    if policy is not None and policy.models_dir:
        env["WAREHOUSE_NAMESPACE_MODELS"] = policy.models_dir
    return env


def start_child(module: str, request: dict[str, Any], scratch: Path, threads: int | None = None,
                extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``python -m module`` confined: it calls :func:`enter` with ``request`` before anything else. Its
    stderr (the plugin's prints and logs) goes to ``scratch/stderr.log``: see :func:`stderr_tail`."""
    if not available() and not unsandboxed_allowed():
        raise SandboxError("this kernel has no Landlock, so uploaded plugin code cannot be confined; run on a Linux "
                           "kernel ≥ 5.13 with Landlock enabled, or set WAREHOUSE_ALLOW_UNSANDBOXED_PLUGINS=1 to run "
                           "trusted plugins unconfined")
    with open(scratch / "stderr.log", "wb") as err:
        policy = Policy(**request["policy"]) if "policy" in request else None
        env = child_env(scratch, policy)
        if threads:  # the worker's share of the cores (a Ray worker's own OMP_NUM_THREADS is 1)
            env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        env.update(extra_env or {})
        proc = subprocess.Popen([sys.executable, "-m", module], cwd=scratch, env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, close_fds=True)
    write_frame(proc.stdin, json.dumps(request).encode())
    return proc


def stderr_tail(scratch: Path, limit: int = 2000) -> str:
    try:
        return (scratch / "stderr.log").read_bytes()[-limit:].decode(errors="replace")
    except OSError:
        return ""


def lint_confined(folder: Path, timeout: float = 300) -> dict[str, Any]:
    """The lint report of a plugin folder, computed in a confined child (it imports plugin code)."""
    with tempfile.TemporaryDirectory(prefix="wh-sbx-") as tmp:
        scratch = Path(tmp)
        policy = Policy.for_plugin(folder, scratch)
        proc = start_child("warehouse.extractors.sandbox",
                           {"task": "lint", "policy": asdict(policy), "folder": str(Path(folder).resolve())}, scratch)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return {"extractor": None, "spec": None, "findings": [{
                "file": "pipeline.py", "line": 1, "severity": "error", "code": "SBX002",
                "message": f"checking the plugin took longer than {timeout:g} s (its import or build_steps hangs)",
                "fix": "load models lazily in setup(), not at import or in build_steps"}]}
        try:
            return json.loads(last_frame(out))
        except (ValueError, SandboxError):
            raise SandboxError(f"the confined lint process failed (exit {proc.returncode}): "
                               f"{stderr_tail(scratch)}") from None


class LLMRelay:
    """The operator's LLM endpoint as a sandboxed plugin sees it: a loopback port that forwards
    ``POST …/chat/completions`` to ``WAREHOUSE_LLM_BASE_URL`` and adds the API key there, so ``container.llm``
    works behind the wall while the key never enters it. Anything else answers 404."""

    MAX_BODY = 16 * 2**20

    def __init__(self, base_url: str, api_key: str | None, timeout: float = 120) -> None:
        target, headers = base_url.rstrip("/") + "/chat/completions", {"Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # the plugin's calls are not the host's log
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                size = int(self.headers.get("Content-Length") or 0)
                if not self.path.rstrip("/").endswith("/chat/completions") or size > LLMRelay.MAX_BODY:
                    self._answer(404, b'{"error": "this relay forwards POST /chat/completions only"}')
                    return
                try:
                    resp = httpx.post(target, content=self.rfile.read(size), headers=headers, timeout=timeout)
                    self._answer(resp.status_code, resp.content)
                except httpx.HTTPError as exc:
                    self._answer(502, json.dumps({"error": f"LLM endpoint unreachable: {exc}"}).encode())

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, name="llm-relay", daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class EgressProxy:
    """The only door out of the sandbox for TCP: an HTTP proxy on a loopback port of the host process (the child's
    ``HTTP(S)_PROXY``; Landlock lets it connect to this port and no other). It forwards to the hosts the manifest
    declares in ``allowed_hosts`` and nothing else — ``CONNECT host:port`` for https, absolute-URI requests for
    http — after the outbound check (public addresses only unless the operator allows a host), connecting to the
    checked address itself, so neither another host, nor loopback, link-local or the warehouse's own services, nor
    a DNS answer that changes after the check is reachable. Every refusal is a 403 that says why."""

    def __init__(self, allowed_hosts: list[str], policy: OutboundPolicy, timeout: float = 60) -> None:
        allowed = {(h.rsplit(":", 1)[0].lower(), int(h.rsplit(":", 1)[1]) if ":" in h else None) for h in allowed_hosts}

        def permit(host: str, port: int) -> str:
            host = host.lower()
            if (host, port) not in allowed and not ((host, None) in allowed and port in (80, 443)):
                raise OutboundRefused(f"{host}:{port} is not in the plugin's allowed_hosts "
                                      f"{sorted(allowed_hosts)}; declare it in manifest.py")
            return resolve_checked(host, port, policy)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _refuse(self, reason: str) -> None:
                body = json.dumps({"error": f"blocked by the sandbox: {reason}"}).encode()
                self.send_response(403)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            def do_CONNECT(self) -> None:  # noqa: N802 - http.server's naming
                host, _, port = self.path.rpartition(":")
                try:
                    address = permit(host, int(port))
                    upstream = socket.create_connection((address, int(port)), timeout=timeout)
                except (OutboundRefused, ValueError, OSError) as exc:
                    self._refuse(str(exc))
                    return
                self.send_response(200, "Connection established")
                self.end_headers()
                _pipe(self.connection, upstream)

            def _forward(self) -> None:
                url = urlsplit(self.path)
                if url.scheme != "http" or not url.hostname:
                    self._refuse(f"{self.path!r}: send absolute http:// URLs, or https through CONNECT")
                    return
                port = url.port or 80
                try:
                    address = permit(url.hostname, port)
                except OutboundRefused as exc:
                    self._refuse(str(exc))
                    return
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size) if size else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("proxy-connection", "proxy-authorization", "connection")}
                conn = http.client.HTTPConnection(address, port, timeout=timeout)
                try:
                    conn.request(self.command, url.path + (f"?{url.query}" if url.query else "") or "/", body, headers)
                    resp = conn.getresponse()
                    data = resp.read()
                except OSError as exc:
                    self._refuse(f"{url.hostname}:{port} did not answer: {exc}")
                    return
                finally:
                    conn.close()
                self.send_response(resp.status, resp.reason)
                for key, value in resp.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _forward  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, name="egress-proxy", daemon=True).start()

    def env(self) -> dict[str, str]:
        """What points a child's HTTP clients (requests, httpx, urllib) at this proxy."""
        return {"HTTP_PROXY": self.url, "HTTPS_PROXY": self.url, "http_proxy": self.url, "https_proxy": self.url,
                "NO_PROXY": "", "no_proxy": ""}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _pipe(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes (an https tunnel: the proxy never sees inside it)."""

    def copy(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    other = threading.Thread(target=copy, args=(upstream, client), daemon=True)
    other.start()
    copy(client, upstream)
    other.join(timeout=5)
    upstream.close()


def llm_relay(settings) -> tuple[LLMRelay | None, dict[str, str]]:
    """A relay to ``settings``' LLM endpoint (None without one) and the environment that points a child at it."""
    if not settings.llm_base_url:
        return None, {}
    relay = LLMRelay(settings.llm_base_url, settings.llm_api_key)
    env = {"WAREHOUSE_LLM_BASE_URL": relay.url}
    if settings.llm_model:
        env["WAREHOUSE_LLM_MODEL"] = settings.llm_model
    return relay, env


class Gateways:
    """What a confined child may reach, opened for it in the host process: the egress proxy (its declared
    ``allowed_hosts``) and the LLM relay. ``ports`` go into its Landlock policy, ``env`` into its environment."""

    def __init__(self, allowed_hosts: list[str] | None, outbound: dict[str, Any] | None = None) -> None:
        settings = Settings()
        if outbound is None:
            policy = OutboundPolicy.from_settings(settings)
        else:
            policy = OutboundPolicy(bool(outbound.get("allow_private")), frozenset(outbound.get("allowed_hosts") or []))
        self.proxy = EgressProxy(list(allowed_hosts), policy) if allowed_hosts else None
        self.relay, llm_env = llm_relay(settings)
        if self.relay is not None:  # the relay is reached directly, not through the proxy
            llm_env["WAREHOUSE_LLM_BASE_URL"] = f"http://localhost:{self.relay.port}"
        self.env = {**(self.proxy.env() if self.proxy else {}), **llm_env}
        if self.proxy is not None:
            self.env.update(NO_PROXY="localhost", no_proxy="localhost")
        self.ports = [g.port for g in (self.proxy, self.relay) if g is not None]

    def close(self) -> None:
        for gate in (self.proxy, self.relay):
            if gate is not None:
                gate.close()
        self.proxy = self.relay = None


def outbound_of(settings) -> dict[str, Any]:
    """The outbound policy as plain data, to hand to the processes that open gateways for their children."""
    policy = OutboundPolicy.from_settings(settings)
    return {"allow_private": policy.allow_private, "allowed_hosts": sorted(policy.allowed_hosts)}


# -- the pipe protocol: 8-byte little-endian length, then the bytes --------------------------------------------

def write_frame(stream, data: bytes) -> None:
    stream.write(struct.pack("<Q", len(data)))
    stream.write(data)
    stream.flush()


def read_frame(stream) -> bytes | None:
    head = stream.read(8)
    if not head:
        return None
    if len(head) < 8:
        raise SandboxError("the confined process closed its pipe mid-frame")
    (size,) = struct.unpack("<Q", head)
    data = stream.read(size)
    if len(data) < size:
        raise SandboxError("the confined process closed its pipe mid-frame")
    return data


def last_frame(out: bytes) -> bytes:
    """The last frame of a finished child's stdout (its answer)."""
    stream, last = io.BytesIO(out), None
    while (frame := read_frame(stream)) is not None:
        last = frame
    if last is None:
        raise SandboxError("no answer from the confined process")
    return last


def frame_to_arrow(frame) -> bytes:
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def arrow_to_frame(data: bytes):
    return pa.ipc.open_stream(data).read_all().to_pandas()


# -- the child side ------------------------------------------------------------------------------------------

def _child_lint(request: dict[str, Any]) -> dict[str, Any]:
    folder = Path(request["folder"])
    report = lint_path(folder)
    spec = load_plugin(folder).spec.to_dict() if report.ok else None
    return {"extractor": report.extractor, "findings": [f.to_dict() for f in report.findings], "spec": spec}


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _child_realtime(request: dict[str, Any], stdin, stdout) -> None:
    try:
        service = load_plugin(Path(request["plugin_path"])).realtime_service()
    except Exception as exc:  # noqa: BLE001 - reported to the host, which fails the deployment with it
        write_frame(stdout, json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
        return
    write_frame(stdout, json.dumps({"ready": True}).encode())
    while (frame := read_frame(stdin)) is not None:
        call = json.loads(frame)
        try:
            result = asyncio.run(call_inference(service, call["inputs"], call.get("parameters") or {}))
            answer = {"result": _jsonable(result)}
        except Exception as exc:  # noqa: BLE001 - the query fails with this message
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        write_frame(stdout, json.dumps(answer).encode())


def _bytes_as_data_uri(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "data:application/octet-stream;base64," + base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} cannot cross into the sandbox")


class ConfinedChild:
    """A long-lived confined child and what the host opened for it: its scratch folder and its gateways. Subclasses
    start the process (``self._proc``) in ``__init__``; answers are JSON frames (:meth:`_receive`)."""

    what = "plugin"

    def __init__(self, allowed_hosts: list[str] | None, outbound: dict[str, Any] | None) -> None:
        self._scratch = tempfile.TemporaryDirectory(prefix="wh-sbx-")
        self._gates = Gateways(allowed_hosts, outbound)
        self._lock = threading.Lock()

    @property
    def scratch(self) -> Path:
        return Path(self._scratch.name)

    def _receive(self) -> dict[str, Any]:
        frame = read_frame(self._proc.stdout)
        if frame is None:
            self._proc.wait(timeout=5)
            raise SandboxError(f"the confined {self.what} process exited ({self._proc.returncode}): "
                               f"{stderr_tail(self.scratch)}")
        return json.loads(frame)

    def _ready(self) -> None:
        ready = self._receive()
        if ready.get("error"):
            self.close()
            raise SandboxError(f"the {self.what} could not start in its sandbox: {ready['error']}")

    def close(self) -> None:
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        scratch, gates = getattr(self, "_scratch", None), getattr(self, "_gates", None)
        self._scratch = self._gates = None
        if scratch is not None:
            scratch.cleanup()
        if gates is not None:
            gates.close()

    def __del__(self) -> None:
        self.close()


class ConfinedRealtime(ConfinedChild):
    """An uploaded plugin's realtime service, in a confined child: ``run_inference(inputs, parameters)`` sends
    JSON and gets the service's dict back (vectors as lists). One call at a time per child."""

    what = "realtime service"

    def __init__(self, plugin_path: Path, allowed_hosts: list[str] | None = None,
                 outbound: dict[str, Any] | None = None) -> None:
        super().__init__(allowed_hosts, outbound)
        policy = Policy.for_plugin(Path(plugin_path), self.scratch, self._gates.ports)
        self._proc = start_child("warehouse.extractors.sandbox", {
            "task": "realtime", "policy": asdict(policy), "plugin_path": str(plugin_path)}, self.scratch,
            extra_env=self._gates.env)
        self._ready()

    def run_inference(self, inputs: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        with self._lock:
            call = {"inputs": inputs, "parameters": parameters or {}}
            # a file (a query by example) crosses as a base64 data URI: JSON has no bytes
            write_frame(self._proc.stdin, json.dumps(call, default=_bytes_as_data_uri).encode())
            answer = self._receive()
        if "error" in answer:
            raise RuntimeError(f"realtime service failed: {answer['error']}")
        return answer["result"]


def enter() -> tuple[dict[str, Any], Any, Any]:
    """The child's first step: read the request, confine this process by its policy, and route ``print`` to
    stderr (stdout carries frames only). Returns ``(request, stdin, stdout)`` as binary streams."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    request = json.loads(read_frame(stdin))
    if available():
        confine(Policy(**request["policy"]))
    elif not unsandboxed_allowed():
        write_frame(stdout, json.dumps({"error": "no Landlock on this kernel"}).encode())
        raise SystemExit(2)
    return request, stdin, stdout


if __name__ == "__main__":
    request, stdin_, stdout_ = enter()
    if request.get("task") == "realtime":
        _child_realtime(request, stdin_, stdout_)
    else:
        write_frame(stdout_, json.dumps(_child_lint(request)).encode())
