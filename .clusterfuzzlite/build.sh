#!/bin/bash -eu
# ClusterFuzzLite build script (the builder runs it as `bash -eux
# $SRC/build.sh` from $SRC/pinata): builds the cargo-fuzz targets with the
# sanitizer the builder's RUSTFLAGS ask for and puts, for each target, the
# binary, a seed corpus, a dictionary and libFuzzer options in $OUT.
# Exercised on a development machine, without Docker, by
# `cargo xtask fuzz --cflite-check` (xtask/src/fuzz/cflite.rs), which also
# runs the checks and the targets as the runner would.
cd "$SRC/pinata"

# Every target in fuzz/fuzz_targets/, so a new one is picked up here too.
# (Not `cargo fuzz list`: in a coverage build the builder's cargo wrapper
# turns every `cargo fuzz ...` into a build.)
targets=$(for f in fuzz/fuzz_targets/*.rs; do basename "${f%.rs}"; done)

# -O: release, as the runner expects; cargo-fuzz adds its coverage flags to
# the builder's RUSTFLAGS (--cfg fuzzing -Zsanitizer=address ...).
cargo fuzz build -O

# Seeds are generated (handshakes and TCP conversations recorded in the
# deterministic fuzzing mode, fuzzkit/), not checked in: an ordinary debug
# build of the main workspace, without the builder's sanitizer and
# coverage flags (a release build would add minutes of LTO for a program
# that runs for a second).
env -u RUSTFLAGS -u CFLAGS -u CXXFLAGS CARGO_TARGET_DIR="$WORK/seeds-target" \
  cargo run --locked -p fuzzkit --bin fuzz_seeds -- "$WORK/seeds"

for target in $targets; do
  cp "fuzz/target/x86_64-unknown-linux-gnu/release/$target" "$OUT/"
  rm -f "$OUT/${target}_seed_corpus.zip"
  (cd "$WORK/seeds/$target" && zip -q -r "$OUT/${target}_seed_corpus.zip" .)
  # Dictionary and largest input, per target (as `cargo xtask fuzz` runs them).
  case "$target" in
    http_request) dict=http.dict; max_len=10240 ;;
    handshake_transcript) dict=tls.dict; max_len=1024 ;;
    stack_ingress) dict=net.dict; max_len=16384 ;;
    bounty_server | bounty_client) dict=tls.dict; max_len=16384 ;;
    *) echo "build.sh: no dictionary and max_len for new target $target" >&2; exit 1 ;;
  esac
  cp "fuzz/$dict" "$OUT/$target.dict"
  printf '[libfuzzer]\nmax_len = %s\nrss_limit_mb = 2048\nmalloc_limit_mb = 512\ntimeout = 10\n' \
    "$max_len" > "$OUT/$target.options"
done
