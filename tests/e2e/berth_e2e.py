"""Fixture for berth end-to-end tests: runs a real `berthd server` on a free
loopback port with a temporary data dir, and always stops it.

berthd is found in $BERTH_BUILD_DIR (set by ctest), else ./build. Nothing is
built here. Every server is started in its own process group and killed
with it in stop(), in tearDown and at interpreter exit, and its data dir is
removed unless the caller passed its own.
"""
import atexit
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

_live = []

# The node address tests give the private network namespace below.
NODE_IP = "10.77.0.1"


def _private_network():
    """Moves this test process (and so every berthd, pod and client it
    starts) into a network namespace of its own, with loopback and one dummy
    link (a veth pair) carrying NODE_IP: bridges, routes and nftables rules of the pods'
    network then never touch the machine's, and vanish with the process."""
    if os.geteuid() != 0 or os.environ.get("BERTH_E2E_HOST_NETWORK"):
        return
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    CLONE_NEWNET = 0x40000000
    if libc.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")
    for cmd in (["ip", "link", "set", "lo", "up"],
                # A veth pair stands for the node's network card (this
                # kernel may lack dummy links).
                ["ip", "link", "add", "berth-node0", "type", "veth", "peer", "name",
                 "berth-node1"],
                ["ip", "addr", "add", NODE_IP + "/24", "dev", "berth-node0"],
                ["ip", "link", "set", "berth-node1", "up"],
                ["ip", "link", "set", "berth-node0", "up"],
                # Like any host, a default route (to nowhere outside this
                # namespace): connecting to a ClusterIP needs a route
                # before the proxy's DNAT picks the real destination.
                ["ip", "route", "add", "default", "via", NODE_IP[:-1] + "2"]):
        subprocess.run(cmd, check=True)


_private_network()


def _build_dir():
    return os.environ.get("BERTH_BUILD_DIR") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")


def berthd_path():
    path = os.path.join(_build_dir(), "berthd")
    if not os.access(path, os.X_OK):
        raise unittest.SkipTest("berthd not built at %s (set BERTH_BUILD_DIR)" % path)
    return path


def wait_for(fn, timeout=30, what="condition", interval=0.05):
    """Calls fn until it returns something true, and returns that; fails the
    test with what and fn's last answer after timeout seconds."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """One berthd server. data_dir=None makes (and later removes) a temp dir."""

    def __init__(self, data_dir=None, port=None, extra_args=(), agent=False, host="127.0.0.1"):
        self.own_dir = data_dir is None
        self.host = host  # the address it serves on (other nodes may need another)
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="berth-e2e-")
        self.port = port or free_port()
        # No node agent unless a test asks for one: it would register this
        # machine as a Node and run the pods other tests only store.
        self.extra_args = list(extra_args) + ([] if agent else ["--no-agent"])
        self.proc = None
        self.log_path = os.path.join(self.data_dir, "berthd.log")
        self.token = None
        self.ctx = None

    # -- lifecycle --
    def start(self, timeout=15):
        self.log = open(self.log_path, "ab")
        seen = self.log.tell()
        self.proc = subprocess.Popen(
            [berthd_path(), "server", "--data-dir", self.data_dir,
             "--listen", "%s:%d" % (self.host, self.port)] + self.extra_args,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        _live.append(self)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("berthd exited with %s:\n%s" %
                                   (self.proc.returncode, self.read_log()))
            with open(self.log_path, "rb") as f:
                f.seek(seen)
                if b"ready:" in f.read():
                    break
            time.sleep(0.02)
        else:
            raise RuntimeError("berthd did not get ready:\n" + self.read_log())
        with open(os.path.join(self.data_dir, "admin.token")) as f:
            self.token = f.read().strip()
        self.ctx = ssl.create_default_context(
            cafile=os.path.join(self.data_dir, "pki", "ca.crt"))
        return self

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def send_signal(self, sig):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Stops the server (its whole process group); returns its exit code."""
        rc = None
        if self.proc:
            try:
                self.send_signal(sig)
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.send_signal(signal.SIGKILL)
                rc = self.proc.wait()
            except ProcessLookupError:
                rc = self.proc.wait()
            finally:
                # Anything left in the group (there should be nothing).
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            self.log.close()
            self.proc = None
        if self in _live:
            _live.remove(self)
        return rc

    def cleanup(self):
        """Stops the server (SIGTERM, then SIGKILL) and removes its own dir;
        returns the exit code."""
        rc = self.stop()
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        return rc

    # -- HTTP --
    @property
    def kubeconfig(self):
        return os.path.join(self.data_dir, "admin.kubeconfig")

    def connect(self, timeout=30):
        return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                           context=self.ctx)

    def request(self, method, path, body=None, ctype="application/json",
                token=True, headers=None, conn=None):
        """Returns (status, headers dict, parsed JSON or text)."""
        h = dict(headers or {})
        if token is True:
            token = self.token
        if token:
            h["Authorization"] = "Bearer " + token
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if body is not None:
            h["Content-Type"] = ctype
        own = conn is None
        conn = conn or self.connect()
        try:
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            data = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
        finally:
            if own:
                conn.close()
        text = data.decode(errors="replace")
        try:
            return resp.status, hdrs, json.loads(text)
        except ValueError:
            return resp.status, hdrs, text

    def watch(self, path, timeout=10):
        """Opens a watch; returns a Watch reading one event per line."""
        conn = self.connect(timeout)
        conn.request("GET", path, headers={"Authorization": "Bearer " + self.token})
        resp = conn.getresponse()
        return Watch(conn, resp)


class Watch:
    def __init__(self, conn, resp):
        self.conn, self.resp = conn, resp
        self.status = resp.status

    def next(self):
        """The next event as a dict, or None when the stream ended."""
        line = self.resp.readline()
        if not line:
            return None
        return json.loads(line)

    def close(self):
        self.conn.close()


def kill_node_leftovers(data_dir):
    """Whatever a failed test left on a node whose data dir is data_dir:
    container processes, their cgroups, and every mount under the dir
    (tmpfs volumes, pods' network namespace files)."""
    import glob
    base = os.path.join(data_dir, "plugins", "runtime-process", "containers")
    for d in glob.glob(base + "/*"):
        try:
            with open(os.path.join(d, "pids")) as f:
                mon, _, pid = f.read().split()[:3]
            if not os.path.exists(os.path.join(d, "exit")):
                for p in (int(pid), int(mon)):
                    try:
                        os.kill(p, signal.SIGKILL)
                    except (ProcessLookupError, ValueError):
                        pass
        except (OSError, ValueError):
            pass
        cid = os.path.basename(d)
        for ctrl in ("memory", "cpu", "pids", "unified"):
            for cg in glob.glob("/sys/fs/cgroup/%s/berth/%s" % (ctrl, cid)):
                try:
                    os.rmdir(cg)
                except OSError:
                    pass
    with open("/proc/mounts") as f:
        mounts = [line.split()[1] for line in f]
    for mnt in reversed(mounts):
        if mnt.startswith(data_dir):
            subprocess.call(["umount", "-l", mnt])


def _stop_all():
    for s in list(_live):
        s.cleanup()


atexit.register(_stop_all)


class ServerTestCase(unittest.TestCase):
    """A test class sharing one server; setUpClass starts it."""
    server_args = ()
    agent = False

    @classmethod
    def setUpClass(cls):
        cls.server = Server(extra_args=cls.server_args, agent=cls.agent)
        try:
            cls.server.start()
        except BaseException:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        log = cls.server.read_log()
        rc = cls.server.cleanup()
        if rc != 0:
            raise AssertionError("berthd exited with %s on SIGTERM:\n%s" % (rc, log))
