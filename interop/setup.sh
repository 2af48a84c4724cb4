#!/usr/bin/env bash
# Installs what the interop suite needs, idempotently:
#   - checks for Node.js 20.19 or later and npm (preinstalled on the CI
#     machines; nothing is installed: Debian bookworm's nodejs package is
#     18.x, too old for oidc-provider 9, so install Node.js 20+ yourself,
#     for example from nodejs.org or NodeSource, when it is missing);
#   - the npm packages pinned in package-lock.json (npm ci);
#   - grpcurl at the version in grpcurl.version, built from the Go module
#     proxy into .bin/.
# Then: cd interop && go test -race -count=1 ./...
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "interop: Node.js 20.19 or later and npm are required and were not found on PATH;" >&2
  echo "interop: install them (Debian's nodejs package is too old on bookworm: 18.x), then rerun" >&2
  exit 1
fi
node_version=$(node -p 'process.versions.node')
echo "interop: node v$node_version, npm $(npm --version)"
if ! node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  process.exit(maj > 20 || (maj === 20 && min >= 19) ? 0 : 1);'; then
  echo "interop: oidc-provider 9 needs Node.js 20.19 or later, found v$node_version" >&2
  exit 1
fi

npm ci --no-audit --no-fund --loglevel=error

grpcurl_version=$(tr -d '[:space:]' < grpcurl.version)
grpcurl_module=github.com/fullstorydev/grpcurl
if ! go version -m .bin/grpcurl 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+${grpcurl_module}[[:space:]]+${grpcurl_version}[[:space:]]"; then
  GOBIN="$PWD/.bin" GOFLAGS= go install -ldflags "-X main.version=${grpcurl_version}" \
    "${grpcurl_module}/cmd/grpcurl@${grpcurl_version}"
fi
.bin/grpcurl -version
