#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, fetches the model (its parity tests need it),
# builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [ -x scripts/fetch-model.sh ]; then scripts/fetch-model.sh; fi
# The end-to-end tests run the built binary, so build everything first.
swift build --build-tests
swift test --skip-build
