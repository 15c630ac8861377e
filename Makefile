# corrigo — the two commands:
#   make demo   set up everything if needed, then run the simulated cell with the operator panel
#   make test   set up everything if needed, then build and pass all tests
# Both are idempotent: a second run downloads nothing.

CONFIG ?= hardware_configs/sim_panda.toml
CARGO  ?= cargo

.PHONY: setup demo test build bench lint fmt clean-runs

setup:
	@./scripts/setup.sh

# The dev profile (dependencies optimised) shares its build with `make test`.
demo: setup
	$(CARGO) run -p corrigo -- run --config $(CONFIG)

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
