#!/usr/bin/env bash
# Static checks of every Terraform root, offline: fmt, init (providers from the
# local mirror, see iac/terraformrc), validate, and `terraform test` where a
# module has tests (they use mock_provider, so no cloud and no emulator).
# Usage: iac/scripts/check.sh            (from anywhere)
set -euo pipefail

iac="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TF_CLI_CONFIG_FILE="${TF_CLI_CONFIG_FILE_OVERRIDE:-$iac/terraformrc}"
export TF_IN_AUTOMATION=1
export CHECKPOINT_DISABLE=1

echo "== terraform fmt -check -recursive"
terraform fmt -check -recursive -diff "$iac"

status=0
for dir in "$iac"/modules/* "$iac"/envs/*; do
  name="${dir#"$iac"/}"
  # Modules are not roots: keep their init scratch out of the tree's way (ignored by git).
  # A root (envs/*) installs exactly the provider its committed .terraform.lock.hcl names.
  lockfile=()
  [[ "$name" == envs/* ]] && lockfile=(-lockfile=readonly)
  if ! out=$(terraform -chdir="$dir" init -backend=false -input=false -no-color "${lockfile[@]}" 2>&1); then
    echo "$out"; echo "FAIL init $name"; status=1; continue
  fi
  if out=$(terraform -chdir="$dir" validate -no-color 2>&1); then
    echo "ok   validate $name"
  else
    echo "$out"; echo "FAIL validate $name"; status=1
  fi
  if compgen -G "$dir/tests/*.tftest.hcl" >/dev/null; then
    if out=$(terraform -chdir="$dir" test -no-color 2>&1); then
      echo "ok   test     $name: $(grep -E '^Success!' <<<"$out")"
    else
      echo "$out"; echo "FAIL test $name"; status=1
    fi
  fi
done
exit $status
