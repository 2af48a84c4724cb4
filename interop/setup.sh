#!/usr/bin/env bash
# Installs what the interop suite needs, idempotently:
#   - Node.js and npm (Debian's nodejs and npm packages, only when missing);
#   - the npm packages pinned in package-lock.json (npm ci);
#   - grpcurl at the version in grpcurl.version, built from the Go module
#     proxy into .bin/.
# Then: cd interop && go test -race -count=1 ./...
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "interop: installing nodejs and npm (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nodejs npm
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
echo "interop: node $(node --version), npm $(npm --version)"
if [ "$node_major" -lt 20 ]; then
  echo "interop: oidc-provider 9 needs Node.js 20.19 or later, found $(node --version)" >&2
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
