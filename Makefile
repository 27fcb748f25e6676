# The two commands of the README: `make bench` and `make test`.
GO ?= go

.PHONY: test bench vet generate check-generate fuzz rtlayout

# test: vet (amd64 and 386), the tests, the tests under the race detector and
# the tests as 386 (.ci/go386: built but not run on a host that refuses
# 32-bit x86 programs, with a line saying so).
test: vet
	$(GO) test ./...
	$(GO) test -race ./...
	GO=$(GO) .ci/go386 ./...

vet:
	@test -z "$$(gofmt -l aco cmd internal examples gen)" || { gofmt -l aco cmd internal examples gen; echo "vet: the files above need gofmt"; exit 1; }
	$(GO) vet ./...
	GOARCH=386 $(GO) vet ./...
	cd gen && $(GO) vet ./...

# bench: the benchmark report (aco against iter.Pull and goroutine+channel,
# measured in one run).
bench:
	$(GO) run ./cmd/acobench

# generate: the generated files: aco/zswitch*.{go,s} from the register
# contract in gen/ (go run -C gen, a module of its own), and the examples.
generate:
	$(GO) generate ./...

# check-generate fails if go generate changes any committed file or leaves
# a new one that is not committed.
check-generate: generate
	git diff --exit-code
	@test -z "$$(git status --porcelain --untracked-files=all -- aco examples)" || { git status --short -- aco examples; echo "check-generate: go generate left files that are not committed"; exit 1; }

# fuzz: the differential fuzz test (the same random programs on the
# copy-stack and the portable engine). Findings land in
# aco/testdata/fuzz/FuzzDifferential. GOARCH=386 make fuzz fuzzes the 386
# copy-stack engine (without coverage guidance: Go instruments for fuzzing on
# amd64 and arm64 only).
FUZZTIME ?= 10m
fuzz:
	$(GO) test ./aco -run '^$$' -fuzz FuzzDifferential -fuzztime $(FUZZTIME)

# rtlayout: the runtime layout tables (aco/zrtlayout_*.go) for every
# supported release and GOARCH, from the runtime's DWARF. Not part of go
# generate: it needs the Go 1.27 toolchain (fetched through the module proxy).
# The generator runs on the host and builds and reads a program of each
# GOARCH, which it never runs.
rtlayout:
	cd gen && for tc in local go1.27.3; do \
		GOTOOLCHAIN=$$tc $(GO) build -o "$${TMPDIR:-/tmp}/aco-rtlayout" ./rtlayout || exit 1; \
		for arch in amd64 386 arm64; do \
			GOTOOLCHAIN=$$tc GOARCH=$$arch "$${TMPDIR:-/tmp}/aco-rtlayout" -o ../aco || exit 1; done; done
