# Source this file (bash) to get a CPU libtorch 2.4.0 for the `rust-bert` feature, offline after
# the first run: it downloads the torch 2.4.0 wheel and two small CUDA runtime wheels from PyPI
# once (about 800 MB) into a cache folder, unpacks only the C++ headers and libraries, and exports
#   LIBTORCH, LIBTORCH_CXX11_ABI=0                 (build time, read by torch-sys)
#   LD_LIBRARY_PATH, OMP_NUM_THREADS, OMP_WAIT_POLICY (run time)
# Cache folder: $DEEPRECS_LIBTORCH_CACHE (default ~/.cache/deeprecs-libtorch).
# Recipe: ../shared/TECH-NOTES.md ("rust-bert"); why these versions: rust-bert 0.23 -> tch 0.17
# -> libtorch 2.4.0. The CPU build of torch 2.4.0 for Linux x86_64 still links libcudart and
# libcupti, hence the two CUDA runtime wheels (no GPU is used).

deeprecs_libtorch_setup() {
  local cache="${DEEPRECS_LIBTORCH_CACHE:-$HOME/.cache/deeprecs-libtorch}"
  local lib="$cache/torch/lib"
  if [ ! -f "$lib/libtorch_cpu.so" ] || [ ! -f "$lib/libcudart.so.12" ] || [ ! -f "$lib/libcupti.so.12" ] \
    || [ ! -d "$cache/torch/include/torch" ]; then
    mkdir -p "$cache/whl"
    python3 -m pip download --no-deps --disable-pip-version-check -q -d "$cache/whl" \
      torch==2.4.0 nvidia-cuda-runtime-cu12==12.1.105 nvidia-cuda-cupti-cu12==12.1.105 || return 1
    python3 - "$cache" <<'PY' || return 1
import glob, os, sys, zipfile
cache = sys.argv[1]
lib = os.path.join(cache, "torch", "lib")
os.makedirs(lib, exist_ok=True)
(torch,) = glob.glob(cache + "/whl/torch-2.4.0-*-manylinux1_x86_64.whl")
keep = {"torch/lib/libtorch_cpu.so", "torch/lib/libtorch.so", "torch/lib/libc10.so",
        "torch/lib/libgomp-a34b3233.so.1"}
with zipfile.ZipFile(torch) as z:
    z.extractall(cache, [n for n in z.namelist() if n.startswith("torch/include/") or n in keep])
for pattern, member in [("nvidia_cuda_runtime_cu12-*.whl", "nvidia/cuda_runtime/lib/libcudart.so.12"),
                        ("nvidia_cuda_cupti_cu12-*.whl", "nvidia/cuda_cupti/lib/libcupti.so.12")]:
    (wheel,) = glob.glob(os.path.join(cache, "whl", pattern))
    with zipfile.ZipFile(wheel) as z, open(os.path.join(lib, os.path.basename(member)), "wb") as out:
        out.write(z.read(member))
PY
    # The wheels are not needed once unpacked.
    rm -rf "$cache/whl"
  fi
  export LIBTORCH="$cache/torch" LIBTORCH_CXX11_ABI=0
  export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
}
