#!/usr/bin/env bash
# Installs everything corrigo needs to build, test and run, and does nothing that is already done.
#  - Debian packages (OpenCV, clang for bindgen, udev for serial ports, Mesa's EGL for headless MuJoCo rendering,
#    FFmpeg's libraries for LeRobot dataset videos: AV1 through SVT-AV1 and dav1d, H.264 through x264)
#  - a project-local Python virtualenv (.venv) with torch==2.11.0 (libtorch for tch 0.24) and mujoco==3.17.0
#  - .deps/: the symlinks the Rust bindings want (libtorch root, libmujoco.so + its SONAME)
#  - .cargo/config.toml: build variables and run-time library paths (rpath), so plain cargo works afterwards
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

TORCH_VERSION=2.11.0
MUJOCO_VERSION=3.17.0
# Python packages of .venv: the two native libraries, plus what the cross-language bus test, the independent
# LeRobot dataset reader (pyarrow, PyAV with its own FFmpeg), the TensorBoard reader of the run-log test and the Python
# reference benchmarks use.
PY_PACKAGES=("torch==$TORCH_VERSION" "mujoco==$MUJOCO_VERSION" "cbor2==6.3.0" "eclipse-zenoh==1.10.2"
  "pyarrow==26.0.1" "av==18.1.0" "tensorboard==2.21.0")
APT_PACKAGES=(libopencv-dev clang libclang-dev libudev-dev pkg-config libegl1 libegl-mesa0 libgl1-mesa-dri
  libgles2 libxkbcommon-dev mesa-vulkan-drivers libvulkan1 python3-venv
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev iproute2)

# --- Debian packages -------------------------------------------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  say "Debian packages: present"
fi

# --- Python virtualenv with the native libraries ----------------------------------------------------------------
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $($PY --version)"
  $PY -m venv .venv
fi
if ! .venv/bin/python - "${PY_PACKAGES[@]}" <<'PYEOF' 2>/dev/null
import importlib.metadata as m, sys
for spec in sys.argv[1:]:
    name, version = spec.split("==")
    if m.version(name).split("+")[0] != version:
        sys.exit(1)
PYEOF
then
  say "installing ${PY_PACKAGES[*]} into .venv (first time only; torch is a large download)"
  .venv/bin/pip install --disable-pip-version-check -q "${PY_PACKAGES[@]}"
else
  say "Python packages present in .venv: ${PY_PACKAGES[*]}"
fi
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

# --- .deps: stable paths for the bindings -----------------------------------------------------------------------
mkdir -p .deps/mujoco/lib
ln -sfn "$site/torch" .deps/libtorch
mjlib="$site/mujoco/libmujoco.so.$MUJOCO_VERSION"
[ -f "$mjlib" ] || { echo "setup: $mjlib not found: the mujoco wheel's layout changed" >&2; exit 1; }
ln -sfn "$mjlib" ".deps/mujoco/lib/libmujoco.so.$MUJOCO_VERSION"
ln -sfn "$mjlib" .deps/mujoco/lib/libmujoco.so
ln -sfn "$site/mujoco/include" .deps/mujoco/include

# --- cargo configuration ----------------------------------------------------------------------------------------
mkdir -p .cargo
cat > .cargo/config.toml.new <<CFG
# Written by scripts/setup.sh (make setup); do not edit by hand, re-run the setup instead.
[env]
LIBTORCH = "$root/.deps/libtorch"
LIBTORCH_CXX11_ABI = "1"
MUJOCO_DYNAMIC_LINK_DIR = "$root/.deps/mujoco/lib"
CORRIGO_VENV_PYTHON = "$root/.venv/bin/python"

[target.x86_64-unknown-linux-gnu]
rustflags = ["-C", "link-arg=-Wl,-rpath,$root/.deps/libtorch/lib", "-C", "link-arg=-Wl,-rpath,$root/.deps/mujoco/lib"]
CFG
if ! cmp -s .cargo/config.toml.new .cargo/config.toml; then
  mv .cargo/config.toml.new .cargo/config.toml
  say "wrote .cargo/config.toml"
else
  rm .cargo/config.toml.new
fi
say "ready"
