#!/usr/bin/env bash
# Installs everything Usher needs on a fresh machine; safe to run again (it skips what is done).
#   - a Python virtualenv in .venv with the pinned packages of pyproject.toml
#   - the Apache Kafka broker jars from Maven Central in .infra/kafka-libs
#   - with WITH_BROWSER=1: Debian's chromium for the browser tests, and axe-core from npm
#     (infra/npm, pinned by its package-lock.json) for their accessibility check
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "provision: creating .venv and installing Python packages"
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

if ! ls .infra/kafka-libs/kafka_2.13-*.jar >/dev/null 2>&1; then
  command -v java >/dev/null || { echo "provision: Java 17+ is required (apt-get install openjdk-17-jre-headless)"; exit 1; }
  if ! command -v mvn >/dev/null; then
    echo "provision: installing maven"
    apt-get update -qq && apt-get install -y -qq maven >/dev/null
  fi
  echo "provision: fetching the Kafka broker jars from Maven Central"
  mvn -B -q -f infra/kafka/pom.xml dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$PWD/.infra/kafka-libs"
fi

if [ "${WITH_BROWSER:-0}" = "1" ] && ! command -v chromium >/dev/null; then
  echo "provision: installing chromium for the browser tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ "${WITH_BROWSER:-0}" = "1" ] && [ ! -f infra/npm/node_modules/axe-core/axe.min.js ]; then
  if ! command -v npm >/dev/null; then
    echo "provision: installing npm"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  fi
  echo "provision: installing axe-core (the browser tests' accessibility check) from npm"
  npm ci --prefix infra/npm --no-audit --no-fund --loglevel=error
fi
echo "provision: ready"
