#!/usr/bin/env bash
# Lint template.yaml with cfn-lint, checkov and `sam validate --lint`. Once the virtual environments
# exist, no step needs network access or AWS credentials.
#
# checkov and aws-sam-cli pin dependencies that conflict with the application's, so each gets its
# own virtual environment (.venv-checkov, .venv-sam), created from its requirements file when
# missing. Set INSTALL_SAM=0 to skip creating .venv-sam, and the SAM step then runs only if it exists.
# Exits non-zero when any linter reports a finding that the template does not suppress.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

TEMPLATE=template.yaml
PYTHON=${PYTHON:-python3}

# Create virtual environment $1 from requirements file $2 unless it already contains the command $3.
# Checking the command, not the interpreter, repairs an environment whose install was interrupted.
ensure_venv() {
    local venv_dir=$1 requirements=$2 command=$3
    if [[ ! -x "$venv_dir/bin/$command" ]]; then
        echo "==> Creating $venv_dir from $requirements"
        "$PYTHON" -m venv "$venv_dir"
        "$venv_dir/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    fi
}

if [[ ! -x .venv/bin/cfn-lint ]]; then
    echo "error: .venv/bin/cfn-lint not found. Install the development requirements into .venv first." >&2
    exit 1
fi

ensure_venv .venv-checkov requirements-checkov.txt checkov
if [[ "${INSTALL_SAM:-1}" != 0 ]]; then
    ensure_venv .venv-sam requirements-sam.txt sam
fi

echo "==> cfn-lint $TEMPLATE"
.venv/bin/cfn-lint "$TEMPLATE"

# --skip-download and BC_SKIP_MAPPING stop checkov from fetching policy metadata from Prisma Cloud,
# CKV_SKIP_PACKAGE_UPDATE_CHECK stops its PyPI version check, and with no API key it uploads nothing.
# Suppressions live in each resource's Metadata.checkov.skip, next to their reason.
echo "==> checkov $TEMPLATE"
env -u BC_API_KEY -u PRISMA_API_URL \
    BC_SKIP_MAPPING=TRUE \
    CKV_SKIP_PACKAGE_UPDATE_CHECK=TRUE \
    .venv-checkov/bin/checkov \
    --file "$TEMPLATE" \
    --framework cloudformation \
    --skip-download \
    --quiet \
    --compact

if [[ -x .venv-sam/bin/sam ]]; then
    # The region comes from samconfig.toml. With --lint, SAM runs cfn-lint in-process and needs no
    # credentials. NOTE: SAM CLI 1.170.0 also queries PyPI for a newer release about once a week and has
    # no setting to turn that off. Without network access the request fails quietly.
    echo "==> sam validate --lint"
    SAM_CLI_TELEMETRY=0 .venv-sam/bin/sam validate --lint --template-file "$TEMPLATE"
else
    echo "==> sam validate skipped: .venv-sam/bin/sam not found (INSTALL_SAM=0)"
fi

echo "==> template lint passed"
