#!/bin/bash -eu
# ClusterFuzzLite build script: builds the cargo-fuzz targets with the
# sanitizer the infrastructure asks for and puts, for each target, the
# binary, a seed corpus, a dictionary and libFuzzer options in $OUT.
# UNTESTED here (no Docker engine); written from the ClusterFuzzLite Rust
# integration docs. Local equivalent: cargo xtask fuzz.
cd "$SRC/pinata"

targets="bounty_server bounty_client handshake_transcript http_request stack_ingress"

# cargo fuzz reads the sanitizer flags from the environment the builder
# sets up; -O: release with debug assertions.
cargo fuzz build -O

# Seeds are generated (handshakes recorded in the deterministic fuzzing
# mode), not checked in: an ordinary build of the main workspace, without
# the builder's sanitizer and coverage flags.
env -u RUSTFLAGS -u CFLAGS -u CXXFLAGS CARGO_TARGET_DIR="$WORK/seeds-target" \
  cargo run --locked --release -p fuzzkit --bin fuzz_seeds -- "$WORK/seeds"

for target in $targets; do
  cp "fuzz/target/x86_64-unknown-linux-gnu/release/$target" "$OUT/"
  if [ -d "$WORK/seeds/$target" ]; then
    (cd "$WORK/seeds/$target" && zip -q -r "$OUT/${target}_seed_corpus.zip" .)
  fi
  case "$target" in
    http_request) cp fuzz/http.dict "$OUT/$target.dict"; max_len=10240 ;;
    handshake_transcript) cp fuzz/tls.dict "$OUT/$target.dict"; max_len=1024 ;;
    stack_ingress) max_len=16384 ;;
    *) cp fuzz/tls.dict "$OUT/$target.dict"; max_len=16384 ;;
  esac
  printf '[libfuzzer]\nmax_len = %s\nrss_limit_mb = 2048\nmalloc_limit_mb = 512\ntimeout = 10\n' \
    "$max_len" > "$OUT/$target.options"
done
