# The project's commands. `make test` is the whole test suite (the README's test command);
# `make check` is what CI runs: formatting, lints, then the whole suite.

.PHONY: run test lint check bench

run:
	cargo run --release

test:
	./tests/run

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	command -v cargo-machete >/dev/null || cargo install --locked --quiet cargo-machete
	cargo machete

check: lint test

bench:
	./tests/bench/run
	./tests/bench/backoffice
	./tests/bench/faq
	./tests/bench/statistics
	./tests/bench/search
	./tests/bench/mail_in
	./tests/bench/api
