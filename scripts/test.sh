#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, fetches the model (its parity tests need it),
# builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
# tmux and bash-completion: the install tests type into a real bash to check completion.
scripts/install-deps.sh tmux bash-completion
if [ -x scripts/fetch-model.sh ]; then scripts/fetch-model.sh; fi
# The end-to-end tests run the built binary, so build everything first.
swift build --build-tests
# The man page generator (swift-argument-parser's generate-manual plugin's tool), which the install tests run
# through scripts/install.sh --binary: inside `swift test` no SwiftPM command can build it (.build is locked).
swift package plugin generate-manual --help >/dev/null
# The PostgreSQL store's suite drives a real server (started by the tests) and long-running children; run in the
# same process as the rest, it starved the timing-bound fleet tests of CPU. It runs on its own, after them.
swift test --skip-build --skip PostgresStoreCLITests
swift test --skip-build --filter PostgresStoreCLITests
