# corrigo — the two commands:
#   make demo   set up everything if needed, then run the simulated cell with the operator panel
#   make test   set up everything if needed, then build and pass all tests
# Both are idempotent: a second run downloads nothing.

CONFIG ?= hardware_configs/sim_panda.toml
CARGO  ?= cargo

.PHONY: setup demo test build bench lint fmt clean-runs

setup:
	@./scripts/setup.sh

demo: setup
	$(CARGO) run --release -p corrigo -- run --config $(CONFIG)

# One cargo invocation builds and runs every test of the workspace.
test: setup
	$(CARGO) test --workspace --no-fail-fast

build: setup
	$(CARGO) build --workspace --release

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench: setup
	$(CARGO) run --release -p corrigo -- bench all --config $(CONFIG)

fmt:
	$(CARGO) fmt --all
