"""What a result means nothing without: library versions, CPU and GPU, BLAS, thread
settings, git commit, date and the command line — gathered once per sweep session."""
from __future__ import annotations

import datetime as _dt
from functools import lru_cache
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = ("numpy", "torch", "pandas", "matplotlib", "pytest", "pytest-benchmark",
            "threadpoolctl", "tqdm")
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def utc_now() -> str:
    """Now, in UTC, as 2026-01-31T12:00:00Z (sorts as text)."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def versions() -> dict:
    """Python's and the benchmark's libraries' versions."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _cpuinfo(field: str):
    """The first value of `field` in /proc/cpuinfo, or None (not Linux, or absent)."""
    return _cpuinfo_fields().get(field)


@lru_cache(maxsize=1)
def _cpuinfo_fields() -> dict:
    """/proc/cpuinfo's first CPU as {field: value}, read once per process."""
    out = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            out.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return out


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux, platform elsewhere)."""
    return _cpuinfo("model name") or platform.processor() or platform.machine()


def cpu_flags() -> set:
    """The instruction-set flags the CPU reports (empty where unknown)."""
    return set((_cpuinfo("flags") or "").split())


def llc_bytes():
    """The CPU's last-level cache in bytes (Linux sysfs), or None where unknown."""
    best = None
    for idx in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            level = int((idx / "level").read_text())
            size = (idx / "size").read_text().strip()
        except (OSError, ValueError):
            continue
        n = int(size.rstrip("KMG")) * {"K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30}.get(size[-1], 1)
        if best is None or level > best[0]:
            best = (level, n)
    return best[1] if best else None


def gpu_name():
    """The first CUDA GPU's name, or None without one."""
    from modes import cuda_available
    if not cuda_available():
        return None
    import torch
    return torch.cuda.get_device_name(0)


def blas_versions() -> list:
    """One "internal_api version" string per BLAS/OpenMP library in this process, sorted."""
    return sorted({f"{i.get('internal_api')} {i.get('version')}" for i in blas()})


def _threadpools() -> list:
    """threadpoolctl's view of the BLAS/OpenMP libraries numpy and torch loaded."""
    import numpy  # noqa: F401  threadpoolctl sees only libraries already loaded
    import torch  # noqa: F401
    from threadpoolctl import threadpool_info
    return threadpool_info()


def blas() -> list:
    """numpy's and torch's BLAS/OpenMP libraries as threadpoolctl sees them."""
    keep = ("internal_api", "prebuilt_with", "version", "num_threads", "user_api", "filepath",
            "architecture")
    return [{k: i.get(k) for k in keep if k in i} for i in _threadpools()]


def git_commit(repo: Path) -> dict:
    """The commit checked out in repo and whether tracked files differ from it; both None
    where repo is not the top of a git checkout (an installed wheel: its site-packages
    may sit inside some other project's repository, whose commit says nothing of fwdrev)."""
    def git(*args):
        try:
            r = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
        except OSError:  # no git on this machine
            return None
        return r.stdout.strip() if r.returncode == 0 else None
    top = git("rev-parse", "--show-toplevel")
    if not top or Path(top).resolve() != Path(repo).resolve():
        return {"commit": None, "dirty": None}
    commit = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(dirty) if dirty is not None else None}


def machine() -> dict:
    """The machine, for titles and meta.json: what tells two machines apart — the CPU as
    py-cpuinfo reads it (brand, family, model, stepping, flags, advertised clock), cores,
    cache, total memory, the GPU and its driver, and which torch build drives it."""
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "llc_bytes": llc_bytes(),
            "memory_bytes": memory_bytes(), "gpu": gpu_name(), "gpu_driver": gpu_driver(),
            "torch_build": torch_build(), "cpuinfo": cpu_details(),
            "platform": platform.platform(), "node": platform.node()}


def cpu_details() -> dict:
    """py-cpuinfo's view of the CPU (one call, up to about a second: once per sweep), or
    {} where py-cpuinfo is missing or fails."""
    try:
        import cpuinfo
        info = cpuinfo.get_cpu_info()
    except Exception:  # noqa: BLE001 - optional information, never fatal
        return {}
    hz = info.get("hz_advertised") or (None,)
    return {"brand": info.get("brand_raw"), "vendor": info.get("vendor_id_raw"),
            "family": info.get("family"), "model": info.get("model"),
            "stepping": info.get("stepping"), "hz_advertised": hz[0],
            "flags": sorted(info.get("flags", []))}


def memory_bytes():
    """The machine's total physical memory in bytes, or None where unknown."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def torch_build():
    """The CUDA version torch was built for, or "cpu" for a CPU-only build."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return None
    return torch.version.cuda or "cpu"


def gpu_driver():
    """The NVIDIA driver's version (nvidia-smi) where a CUDA GPU is present, else None."""
    if gpu_name() is None:
        return None
    try:
        r = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                           capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.splitlines()[0].strip() if r.returncode == 0 and r.stdout.strip() else None


def machine_label(m: dict) -> str:
    """A short one-line name of the machine for plot titles."""
    text = f"{m.get('cpu') or 'unknown CPU'}, {m.get('cores')} cores"
    return text + (f", {m['gpu']}" if m.get("gpu") else "")


CPU_FIELDS = {"vendor": "vendor_id", "family": "cpu family", "model": "model",
              "stepping": "stepping", "model_name": "model name", "mhz": "cpu MHz"}
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def torch_cpu_capability():
    """The SIMD level torch's CPU kernels dispatch to (e.g. AVX2, AVX512), or None."""
    try:
        import torch
        return torch.backends.cpu.get_cpu_capability()
    except (ImportError, AttributeError):  # pragma: no cover - torch is a dependency
        return None


def fingerprint() -> dict:
    """The exact machine and software a timing came from, for information: CPU vendor,
    family, model, stepping, the BLAS kernel each library dispatched to (threadpoolctl's
    `architecture`), OPENBLAS_CORETYPE, torch's CPU capability and the versions. Two runs
    whose fingerprints differ ran on different hardware or kernels (nothing decides on it)."""
    cpu = {k: _cpuinfo(field) for k, field in CPU_FIELDS.items()}
    cpu["model_name"] = cpu["model_name"] or cpu_model()
    flags = cpu_flags()
    cpu["simd"] = [s for s in ("avx512f", "avx2", "fma", "avx", "sse4_2") if s in flags]
    kernels = [{k: i.get(k) for k in ("internal_api", "version", "architecture",
                                       "threading_layer")} for i in _threadpools()]
    kernels.sort(key=lambda k: str(k["internal_api"]))
    return {"cpu": cpu, "cpus": os.cpu_count(), "arch": platform.machine(),
            "blas_kernels": kernels, "blas_env": {k: os.environ.get(k) for k in BLAS_ENV},
            "torch_cpu_capability": torch_cpu_capability(), "versions": versions()}


def fingerprint_diff(a: dict, b: dict) -> list:
    """["cpu.model_name X -> Y", ...]: where two fingerprints differ (clock speeds left out:
    they move on one machine)."""
    def flat(d, prefix=""):
        out = {}
        for k, v in d.items():
            if isinstance(v, dict):
                out.update(flat(v, f"{prefix}{k}."))
            else:
                out[f"{prefix}{k}"] = str(v) if isinstance(v, list) else v
        return out
    fa, fb = flat(a or {}), flat(b or {})
    return [f"{k} {fa.get(k)} -> {fb.get(k)}" for k in sorted(set(fa) | set(fb))
            if fa.get(k) != fb.get(k) and not k.endswith(".mhz")]


def fwdrev_version() -> str:
    """fwdrev's installed version (what `fwdrev --version` prints), or a note that it is not
    installed (run from a bare checkout)."""
    try:
        return metadata.version("fwdrev")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a bare checkout
        return "unknown (not installed)"


def gather(repo: Path, threads: dict) -> dict:
    """Everything about the environment a sweep runs in, for meta.json."""
    return {
        "date": utc_now(),
        "fwdrev": fwdrev_version(),
        "machine": machine(),
        "fingerprint": fingerprint(),
        "versions": versions(),
        "blas": blas(),
        "threads": threads,
        "thread_env": {k: os.environ.get(k) for k in THREAD_ENV},
        "git": git_commit(repo),
        "command": " ".join([Path(sys.executable).name] + sys.argv),
    }


# -- meta.json, read back checked ----------------------------------------------------------
_NONE = type(None)
META_TYPES = {
    "schema": str, "run_id": str, "preset": (str, _NONE), "spec_hash": str,
    "shard": (str, _NONE), "axes": dict, "grids": list, "timing": dict, "guards": dict,
    "tolerance_by_dtype": dict, "date": str, "fwdrev": (str, _NONE), "machine": dict,
    "fingerprint": dict, "versions": dict, "blas": list, "threads": dict, "thread_env": dict,
    "git": dict, "command": str, "calibration": dict, "complete": bool, "sessions": list,
    "counts": dict, "planned": dict, "finished": str, "merged_from": list, "sources": dict,
}
"""The type of every field a run's meta.json may hold (results/README.md); a field of
another type makes the file damaged."""


def meta_problem(doc: dict):
    """What is wrong with a run's meta.json (a dict already), or None when it checks out:
    a known field of the wrong type, a session that is not an object, a machine whose cpu
    is not text."""
    for key, kind in META_TYPES.items():
        if key in doc and not isinstance(doc[key], kind):
            return f"{key!r} is {type(doc[key]).__name__}"
    if not all(isinstance(s, dict) for s in doc.get("sessions", [])):
        return "'sessions' holds a non-object"
    if not isinstance(doc.get("machine", {}).get("cpu", ""), str):
        return "'machine.cpu' is not text"
    if not isinstance(doc.get("fingerprint", {}).get("cpu", {}), dict):
        return "'fingerprint.cpu' is not an object"
    if "merged_from" in doc and not all(isinstance(s, str) for s in doc["merged_from"]):
        return "'merged_from' holds a non-string"
    return None
