# corrigo — the two commands:
#   make demo   set up everything if needed, then run the simulated cell with the operator panel
#   make test   set up everything if needed, then build and pass all tests
# Both are idempotent: a second run downloads nothing.

CONFIG ?= hardware_configs/sim_panda.toml
CARGO  ?= cargo

.PHONY: setup demo test build bench lint fmt clean-runs fuzz fuzz-cov

setup:
	@./scripts/setup.sh

# The demo learns fast enough to watch a policy succeed within minutes on two cores: the simulated cell runs
# faster than real time (the panel says so) with demo-sized networks, in its own run directory.
# `make demo DEMO_FLAGS=` runs the cell at a real arm's policy rate with the config's networks instead.
DEMO_FLAGS ?= --fast --set 'agent.hidden=[64, 64]' --run-dir runs/demo

# The dev profile (dependencies optimised) shares its build with `make test`.
demo: setup
	$(CARGO) run -p corrigo -- run --config $(CONFIG) $(DEMO_FLAGS)

# One cargo invocation builds and runs every test of the workspace.
test: setup
	$(CARGO) test --workspace --no-fail-fast

build: setup
	$(CARGO) build --workspace --release

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench: setup
	$(CARGO) run --release -p corrigo -- bench bus
	$(CARGO) run --release -p corrigo -- bench controller --config $(CONFIG)
	$(CARGO) run --release -p corrigo -- bench learner
	$(CARGO) run --release -p corrigo -- bench learning --config $(CONFIG)

fmt:
	$(CARGO) fmt --all

# Fuzz every driver packet parser (stable Rust, seeded): FUZZ_ITERS iterations per target, FUZZ_SEED to replay.
FUZZ_ITERS ?= 2000000
FUZZ_SEED  ?= $(shell date +%s)
fuzz:
	CORRIGO_FUZZ_ITERS=$(FUZZ_ITERS) CORRIGO_FUZZ_SEED=$(FUZZ_SEED) $(CARGO) test --release -p controller --test fuzz_parsers -- --nocapture

# Coverage-guided fuzzing (cargo-fuzz + libFuzzer, the separate `fuzz/` workspace): every target in
# fuzz/fuzz_targets for FUZZ_TIME seconds, one after the other. Stable Rust: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass
# its -Z flags. cargo-fuzz is installed on first use. The seeds in fuzz/corpus/<target> are only read; inputs found
# go to fuzz/target/fuzz-corpus/<target>, a crashing input to fuzz/artifacts/<target>, each run's log to
# fuzz/target/fuzz-logs/<target>.log. FUZZ_TARGETS picks some targets, FUZZ_SANITIZER=address adds ASan.
FUZZ_TIME      ?= 60
FUZZ_SANITIZER ?= none
FUZZ_TARGETS   ?= $(sort $(notdir $(basename $(wildcard fuzz/fuzz_targets/*.rs))))
fuzz-cov:
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz build -s $(FUZZ_SANITIZER)
	@cd fuzz && mkdir -p target/fuzz-logs && for t in $(FUZZ_TARGETS); do \
	  mkdir -p target/fuzz-corpus/$$t; \
	  if RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -s $(FUZZ_SANITIZER) $$t target/fuzz-corpus/$$t corpus/$$t -- \
	      -max_total_time=$(FUZZ_TIME) > target/fuzz-logs/$$t.log 2>&1; then \
	    printf '%-18s %s\n' "$$t" "$$(grep -E '^#[0-9]+[[:space:]]+DONE' target/fuzz-logs/$$t.log)"; \
	  else \
	    tail -n 40 target/fuzz-logs/$$t.log; \
	    echo "fuzz-cov: $$t failed (log fuzz/target/fuzz-logs/$$t.log, input in fuzz/artifacts/$$t)"; exit 1; \
	  fi; \
	done
